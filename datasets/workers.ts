/**
 * Data preparation on every core: chunks of work (datasets/data_tasks.ts)
 * handed out one at a time to worker threads (datasets/data_worker.ts), each
 * taking the next chunk when it is done with its last, so fast and slow
 * chunks balance out. The results do not depend on how many workers run or
 * in which order chunks finish: each chunk's output goes to its own place.
 *
 * The worker count is, in order: the caller's `workers` option, the
 * environment variable `DEEPID2_DATA_WORKERS` (a positive integer), or the
 * number of cores (`navigator.hardwareConcurrency`), at most
 * {@linkcode MAX_DEFAULT_WORKERS} and, by default, at most one per few
 * hundred images of the job (a worker costs ~0.25 s to start). With 1 (or a
 * single chunk) the chunks run inline on the calling thread, with no worker
 * at all.
 *
 * A chunk that throws fails the whole run: every worker is terminated and
 * the call rejects with the chunk's error (a missing file stays a
 * `Deno.errors.NotFound`), so nothing waits forever and the caller writes
 * nothing from a half-done run.
 *
 * @module
 */
import {
  type TaskInput,
  type TaskName,
  type TaskOutput,
  TASKS,
} from "./data_tasks.ts";

/** The environment variable that sets the worker count. */
export const WORKERS_ENV = "DEEPID2_DATA_WORKERS";

/**
 * The most workers the default (the core count) starts: each holds its own
 * JavaScript heap, sharp and canvases (tens of MB), and data preparation
 * stops scaling well before that on most disks.
 */
export const MAX_DEFAULT_WORKERS = 16;

/**
 * The worker count: `requested`, else `DEEPID2_DATA_WORKERS`, else the
 * cores, but no more than one per `work.perWorker` of the job's
 * `work.items`: starting a worker (its modules, sharp, a cold JIT) costs
 * about a quarter of a second, which small jobs (the smoke and test sets)
 * would not win back. An explicit count is taken as given.
 */
export function dataWorkerCount(
  requested?: number,
  work?: { items: number; perWorker: number },
): number {
  const check = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`${what} must be a positive integer, got ${n}`);
    }
    return n;
  };
  if (requested !== undefined) return check(requested, "workers");
  let env: string | undefined;
  try {
    env = Deno.env.get(WORKERS_ENV);
  } catch { /* no env permission: the default */ }
  if (env !== undefined && env.trim() !== "") {
    return check(Number(env), WORKERS_ENV);
  }
  const cores = Math.max(
    1,
    Math.min(MAX_DEFAULT_WORKERS, navigator.hardwareConcurrency || 1),
  );
  if (!work) return cores;
  return Math.max(1, Math.min(cores, Math.floor(work.items / work.perWorker)));
}

interface Reply {
  id: number;
  ok: boolean;
  output?: unknown;
  error?: { name: string; message: string };
}

function rebuildError(e: { name: string; message: string }): Error {
  return e.name === "NotFound"
    ? new Deno.errors.NotFound(e.message)
    : new Error(e.message);
}

/**
 * Runs `task` on every input (one chunk each) over `workers` threads and
 * calls `onResult(index, output)` on this thread as each chunk finishes (in
 * any order). Resolves when all are done; rejects on the first failure,
 * after terminating every worker.
 */
export async function runTasks<K extends TaskName>(
  task: K,
  inputs: readonly TaskInput<K>[],
  options: {
    workers: number;
    onResult: (index: number, output: TaskOutput<K>) => void;
  },
): Promise<void> {
  const count = Math.min(options.workers, inputs.length);
  if (count <= 1) {
    const run = TASKS[task] as (x: TaskInput<K>) => Promise<TaskOutput<K>>;
    for (let i = 0; i < inputs.length; i++) {
      options.onResult(i, await run(inputs[i]));
    }
    return;
  }
  const url = new URL("./data_worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0, done = 0, failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const give = (w: Worker) => {
        if (next >= inputs.length) return;
        const id = next++;
        w.postMessage({ id, task, input: inputs[id] });
      };
      for (let k = 0; k < count; k++) {
        const w = new Worker(url, { type: "module" });
        workers.push(w);
        w.onmessage = (event: MessageEvent<Reply>) => {
          if (failed) return;
          const r = event.data;
          if (!r.ok) {
            fail(rebuildError(r.error ?? { name: "Error", message: "?" }));
            return;
          }
          try {
            options.onResult(r.id, r.output as TaskOutput<K>);
          } catch (e) {
            fail(e as Error);
            return;
          }
          if (++done === inputs.length) resolve();
          else give(w);
        };
        w.onerror = (event: ErrorEvent) => {
          event.preventDefault(); // ours to report, not the process's
          fail(
            new Error(
              `data worker failed: ${event.message} (${event.filename}:${event.lineno})`,
            ),
          );
        };
        w.onmessageerror = () =>
          fail(new Error("data worker sent a message that cannot be read"));
        give(w);
      }
    });
  } finally {
    for (const w of workers) w.terminate();
  }
}

/**
 * A data-preparation worker thread (datasets/workers.ts): runs the chunks
 * it is sent with datasets/data_tasks.ts and posts each result back, or
 * the error that stopped it.
 *
 * Messages in: `{ id, task, input }`. Out: `{ id, ok: true, output }` or
 * `{ id, ok: false, error: { name, message } }`.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type TaskName, TASKS, transferables } from "./data_tasks.ts";

self.onmessage = async (
  event: MessageEvent<{ id: number; task: TaskName; input: unknown }>,
) => {
  const { id, task, input } = event.data;
  try {
    // deno-lint-ignore no-explicit-any
    const output = await (TASKS[task] as (x: any) => Promise<unknown>)(input);
    self.postMessage({ id, ok: true, output }, transferables(output));
  } catch (e) {
    const err = e as Error;
    self.postMessage({
      id,
      ok: false,
      error: { name: err?.name ?? "Error", message: err?.message ?? String(e) },
    });
  }
};

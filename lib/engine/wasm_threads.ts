/**
 * The wasm backend on more than one thread under Deno.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK on a pthread
 * pool of Web Workers) but never starts it under Node or Deno: its
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag is false there, its pthread script
 * reaches the workers as a `blob:` URL, which Deno's `node:worker_threads`
 * refuses, and its C side sizes the pool to half the logical cores (it
 * assumes two hardware threads per core; on a 2-core host without them that
 * is one thread). This module loads the same build itself: the glue and the
 * `.wasm` from the package, its own pthread script (`wasm_worker.cjs`), and a
 * core count that gives the pool the threads asked for. The backend object is
 * tfjs-backend-wasm's own `BackendWasm`, so every kernel, ours in
 * `wasm_kernels.ts` included, runs unchanged.
 *
 * XNNPACK splits a convolution or a product between threads by output tiles,
 * each tile summed whole by one thread, so the values do not depend on the
 * thread count: `wasm_threads_test.ts` checks that training steps on one and
 * on two threads give the same bits. The kernels written in JavaScript
 * (`wasm_kernels.ts`) and tfjs-wasm's own non-XNNPACK kernels (sums,
 * transposes, slices) stay on the calling thread.
 *
 * @module
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.ts";

const require = createRequire(import.meta.url);

/** The most threads tfjs-backend-wasm's C side accepts (its pool has 8 workers). */
export const MAX_WASM_THREADS = 8;

/**
 * The wasm threads to run: `DEEPID2_WASM_THREADS` when set (1 to 8), else
 * every core, at most {@linkcode MAX_WASM_THREADS}.
 *
 * @throws when `DEEPID2_WASM_THREADS` is not an integer from 1 to 8
 */
export function wasmThreadsWanted(): number {
  const raw = Deno.env.get("DEEPID2_WASM_THREADS");
  if (raw === undefined || raw === "") {
    return Math.min(availableParallelism(), MAX_WASM_THREADS);
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new Error(
      `DEEPID2_WASM_THREADS=${raw}: give a whole number of threads from 1 to ${MAX_WASM_THREADS} (or unset it for every core)`,
    );
  }
  return n;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): unknown;
  PThread: {
    unusedWorkers: { unref(): void }[];
    runningWorkers: { unref(): void }[];
  };
  tfjs?: unknown;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** Where the package keeps its Emscripten output (`wasm-out/`). */
function wasmOutDir(): string {
  const index = require.resolve("@tensorflow/tfjs-backend-wasm");
  return index.replace(/dist\/[^/]*$/, "wasm-out/");
}

/**
 * Loads the threaded SIMD build with `threads` XNNPACK threads and returns
 * tfjs-backend-wasm's backend object on it.
 *
 * @throws when the build cannot start or gets another thread count
 */
export async function loadThreadedWasm(threads: number): Promise<BackendWasm> {
  const dir = wasmOutDir();
  const glue = `${dir}tfjs-backend-wasm-threaded-simd.js`;
  const factory = require(glue) as Factory;
  const worker = fileURLToPath(new URL("./wasm_worker.cjs", import.meta.url));
  // The C side reads the logical core count once, while the module starts,
  // and uses half of it as its thread limit: report twice the threads wanted.
  const os = require("node:os") as { cpus: () => unknown[] };
  const cpus = os.cpus;
  os.cpus = () => new Array(2 * threads).fill(cpus()[0]);
  let module: EmscriptenModule;
  try {
    module = await factory({
      locateFile: (path: string, prefix: string) =>
        path.endsWith(".worker.js")
          ? worker
          : path.endsWith(".wasm")
          ? `${dir}tfjs-backend-wasm-threaded-simd.wasm`
          : prefix + path,
      // The workers load the glue from here (a path, not a blob: URL).
      mainScriptUrlOrBlob: glue,
    });
  } finally {
    os.cpus = cpus;
  }
  // The same entry points tfjs-backend-wasm's own loader wraps.
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, [
      "number",
    ]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, [
      "number",
      "number",
      "number",
    ]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
  setThreadsCount(threads);
  const backend = new BackendWasm(
    module as unknown as ConstructorParameters<typeof BackendWasm>[0],
  );
  // The pool's workers must not keep the process alive once the script ends.
  for (const w of module.PThread.runningWorkers) w.unref();
  for (const w of module.PThread.unusedWorkers) w.unref();
  const got = (module.tfjs as { getThreadsCount: () => number })
    .getThreadsCount();
  if (got !== threads) {
    throw new Error(`asked for ${threads} wasm threads, XNNPACK runs ${got}`);
  }
  return backend;
}

/** Threads of the running wasm backend; why it runs one when more were wanted. */
const state: { threads: number; fallback: string | null } = {
  threads: 1,
  fallback: null,
};
let installed = false;

/** The wasm backend's threads and, if the threaded build failed, why. */
export function wasmThreadsInfo(): {
  threads: number;
  fallback: string | null;
} {
  return { ...state };
}

/**
 * Makes `tf.setBackend("wasm")` start the threaded build when more than one
 * thread is wanted ({@linkcode wasmThreadsWanted}). With one thread, or when
 * the threaded build fails to start, tfjs-backend-wasm's own single-threaded
 * SIMD build runs, and {@linkcode wasmThreadsInfo} says why. Call it before
 * the wasm backend is first set (idempotent).
 *
 * @throws when `DEEPID2_WASM_THREADS` is invalid
 */
export function installThreadedWasm(): void {
  if (installed) return;
  const wanted = wasmThreadsWanted();
  installed = true;
  if (wanted === 1) return;
  const registry = (tf.engine() as unknown as {
    registryFactory: Record<
      string,
      { factory: () => Promise<tf.KernelBackend>; priority: number }
    >;
  }).registryFactory;
  const stock = registry["wasm"];
  if (!stock) return;
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    try {
      const backend = await loadThreadedWasm(wanted);
      state.threads = wanted;
      return backend;
    } catch (e) {
      state.fallback = `threaded build failed: ${(e as Error).message}`;
      return await stock.factory();
    }
  }, stock.priority);
}

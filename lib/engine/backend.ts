/**
 * Backend selection. `auto` tries the native GPU and CPU packages, then wasm
 * (XNNPACK + SIMD, the embedded default), then the pure-JS cpu backend, and
 * says which one runs and why the others did not. The backend is process-wide
 * (tfjs keeps one engine); the formulations that are fastest on it come back
 * as a value, `BackendInfo.paths`, for the caller to hand to the network
 * (`createDeepID2(config, seed, { paths: info.paths })`).
 *
 * @module
 */
import { tf } from "./tf.ts";
import { type FastPaths, fastPathsFor } from "./fast_paths.ts";
import { installWasmKernels, installWasmSimd } from "./wasm_kernels.ts";
import { installThreadedWasm, wasmThreadsInfo } from "./wasm_threads.ts";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { loadNative } from "./native.ts";
import { installNativeKernels } from "./native_kernels.ts";

/** The names `--backend` accepts. */
export const BACKENDS = [
  "auto",
  "tensorflow-gpu",
  "tensorflow",
  "wasm",
  "cpu",
] as const;
/** A backend name. */
export type BackendName = typeof BACKENDS[number];

/** What {@linkcode initBackend} chose. */
export interface BackendInfo {
  /** The name asked for. */
  requested: BackendName;
  /** The tfjs backend that runs (`tensorflow`, `wasm`, `cpu`). */
  backend: string;
  /** Our name for it (`tensorflow-gpu` when the GPU package runs). */
  name: Exclude<BackendName, "auto">;
  /** Why each earlier candidate was not used. */
  skipped: string[];
  /**
   * The formulations to run on this backend, decided once when it started:
   * {@linkcode fastPathsFor} plus the native kernels that passed their
   * start-up check (frozen).
   */
  paths: Readonly<FastPaths>;
  /**
   * wasm only: the threads XNNPACK runs on (`DEEPID2_WASM_THREADS`, else every
   * core; see `wasm_threads.ts`), and why it runs one when more were wanted;
   * why our kernels' SIMD loops do not run (`heap_simd.ts`; null when they
   * do: without them the JavaScript loops give the same values).
   */
  wasm?: { threads: number; fallback: string | null; simd: string | null };
}

/** Checks a `--backend` value, with an error that lists the valid ones. */
export function parseBackend(value: string): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) {
    return value as BackendName;
  }
  throw new Error(
    `unknown backend "${value}"; valid backends: ${BACKENDS.join(", ")}`,
  );
}

/** `tf.setBackend` then `tf.ready()`; false when it failed to initialise. */
export async function activateBackend(tfName: string): Promise<boolean> {
  const ok = await tf.setBackend(tfName);
  if (ok) await tf.ready();
  return ok;
}

async function trySet(tfName: string): Promise<string | null> {
  try {
    const ok = await activateBackend(tfName);
    if (!ok) return `${tfName}: failed to initialise`;
  } catch (e) {
    return `${tfName}: ${(e as Error).message}`;
  }
  // A wasm backend that could not read its .wasm file silently becomes cpu.
  if (tf.getBackend() !== tfName) {
    return `${tfName}: asked for it but tfjs runs "${tf.getBackend()}"`;
  }
  return null;
}

let current: BackendInfo | undefined;

/**
 * Selects and initialises a backend once per process, with the formulations
 * to run on it.
 *
 * @param requested a name from {@linkcode BACKENDS}
 * @param options `quiet` suppresses the one-line report on stderr
 * @example
 * ```ts
 * const info = await initBackend("auto");
 * console.log(info.name); // "wasm" on a machine without libtensorflow
 * info.paths.batchedRegions; // false on wasm; hand info.paths to the network
 * ```
 */
export async function initBackend(
  requested: BackendName | string,
  options: { quiet?: boolean } = {},
): Promise<BackendInfo> {
  const want = parseBackend(requested);
  if (current && (current.requested === want || current.name === want)) {
    return current;
  }
  const order: Exclude<BackendName, "auto">[] = want === "auto"
    ? ["tensorflow-gpu", "tensorflow", "wasm", "cpu"]
    : [want];
  const skipped: string[] = [];
  for (const name of order) {
    let why: string | null;
    if (name === "tensorflow-gpu" || name === "tensorflow") {
      why = await loadNative(name);
      if (why === null) why = await trySet("tensorflow");
    } else {
      if (name === "wasm") {
        installThreadedWasm();
        installWasmKernels();
      }
      why = await trySet(name);
    }
    if (why === null) {
      const backend = tf.getBackend();
      const paths = Object.freeze({
        ...fastPathsFor(backend),
        ...(backend === "tensorflow" ? await installNativeKernels() : {}),
      });
      const wasm = backend === "wasm"
        ? { ...wasmThreadsInfo(), simd: await installWasmSimd() }
        : undefined;
      current = { requested: want, backend, name, skipped, paths, wasm };
      if (!options.quiet) {
        const threads = wasm
          ? ` (${wasm.threads} thread${wasm.threads === 1 ? "" : "s"}${
            wasm.fallback ? `: ${wasm.fallback}` : ""
          }${wasm.simd ? `; JavaScript loops: ${wasm.simd}` : ""})`
          : "";
        const rest = skipped.length ? ` (skipped: ${skipped.join("; ")})` : "";
        console.error(`backend: ${name}${threads}${rest}`);
      }
      return current;
    }
    skipped.push(why);
  }
  throw new Error(`no usable backend: ${skipped.join("; ")}`);
}

/** The backend chosen by {@linkcode initBackend}, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/**
 * The probe `lib/engine/wasm_threads_test.ts` runs in a fresh process (the wasm build
 * and its thread count are fixed once per process): `probeTraining` on the
 * wasm backend, and one JSON line with the threads that ran and a SHA-256
 * of every weight and feature bit.
 *
 * `DEEPID2_WASM_THREADS=2 deno run -A lib/train/_wasm_threads_probe.ts`
 *
 * @module
 */
import { probeTraining } from "./_probe_training.ts";

const { info, hash } = await probeTraining("wasm", 16);
console.log(JSON.stringify({
  threads: info.wasm?.threads,
  fallback: info.wasm?.fallback,
  sha256: hash.digest("hex"),
}));

/**
 * The probe `wasm_threads_test.ts` runs in a fresh process (the wasm build
 * and its thread count are fixed once per process): a few joint training
 * steps of a small DeepID2 network on the wasm backend, then feature
 * extraction, and one JSON line with the threads that ran and a SHA-256 of
 * every weight and feature bit.
 *
 * `DEEPID2_WASM_THREADS=2 deno run -A lib/engine/_wasm_threads_probe.ts`
 *
 * @module
 */
import { createHash } from "node:crypto";
import { initBackend } from "./backend.ts";
import { Rng } from "../base/rng.ts";
import {
  createDeepID2,
  defaultModelConfig,
  extractFeatures,
} from "../nn/model.ts";
import { DEFAULT_TRAIN, train } from "../train/train.ts";

const info = await initBackend("wasm", { quiet: true });
const identities = 40;
const cfg = defaultModelConfig(identities);
const [h, w, c] = cfg.inputShape;
const n = identities * 4;
const rng = new Rng(11);
const images = new Uint8Array(n * h * w * c).map(() => rng.int(256));
const labels = Int32Array.from({ length: n }, (_, i) => i % identities);
const net = createDeepID2(cfg, 3, { paths: info.paths });
await train(net, { images, shape: cfg.inputShape, labels }, {
  ...DEFAULT_TRAIN,
  steps: 4,
  pairsPerBatch: 16,
  checkpointEvery: 0,
}, { progressLabel: null });
const hash = createHash("sha256");
for (const [name, v] of net.params) {
  hash.update(name).update(new Uint8Array(v.dataSync().buffer));
}
const features = await extractFeatures(net, images, cfg.inputShape);
hash.update(new Uint8Array(features.buffer));
console.log(JSON.stringify({
  threads: info.wasm?.threads,
  fallback: info.wasm?.fallback,
  sha256: hash.digest("hex"),
}));

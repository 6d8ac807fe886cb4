/**
 * What the probes of `lib/engine/wasm_threads_test.ts` and
 * `lib/engine/native_test.ts` run in a
 * fresh process (a backend's thread count and vector path are fixed once
 * per process): a few joint training steps of a small DeepID2 network on
 * `backend`, then feature extraction; the SHA-256 state of every weight and
 * feature bit, for the probe to add its own and print.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { type BackendInfo, initBackend } from "../engine/backend.ts";
import { Rng } from "../base/rng.ts";
import {
  createDeepID2,
  defaultModelConfig,
  extractFeatures,
} from "../nn/model.ts";
import { DEFAULT_TRAIN, train } from "./train.ts";

/** Trains 4 steps of `pairsPerBatch` pairs on `backend` and hashes the result. */
export async function probeTraining(
  backend: string,
  pairsPerBatch: number,
): Promise<{ info: BackendInfo; hash: Hash }> {
  const info = await initBackend(backend, { quiet: true });
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
    pairsPerBatch,
    checkpointEvery: 0,
  }, { progressLabel: null });
  const hash = createHash("sha256");
  for (const [name, v] of net.params) {
    hash.update(name).update(new Uint8Array(v.dataSync().buffer));
  }
  const features = await extractFeatures(net, images, cfg.inputShape);
  hash.update(new Uint8Array(features.buffer));
  return { info, hash };
}

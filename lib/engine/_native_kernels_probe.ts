/**
 * The probe `native_test.ts` runs in a fresh process (the kernels' thread
 * pool and vector path are fixed once per process, by
 * `DEEPID2_KERNEL_THREADS` and `DEEPID2_KERNEL_ISA`): a few joint training
 * steps of a small DeepID2 network on the tensorflow backend, feature
 * extraction, and one of our products on values so small that their
 * products are denormal; then one JSON line with the vector path that ran,
 * a SHA-256 of every weight, feature and output bit, and how many variables
 * the fused SGD had to copy.
 *
 * `DEEPID2_KERNEL_THREADS=1 deno run -A lib/engine/_native_kernels_probe.ts`
 *
 * @module
 */
import { createHash } from "node:crypto";
import { initBackend } from "./backend.ts";
import { productKernel, productsIsa, sgdCopies } from "./native_kernels.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "./tf.ts";
import {
  createDeepID2,
  defaultModelConfig,
  extractFeatures,
} from "../nn/model.ts";
import { DEFAULT_TRAIN, train } from "../train/train.ts";

const info = await initBackend("tensorflow", { quiet: true });
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
  pairsPerBatch: 24,
  checkpointEvery: 0,
}, { progressLabel: null });
const hash = createHash("sha256");
for (const [name, v] of net.params) {
  hash.update(name).update(new Uint8Array(v.dataSync().buffer));
}
const features = await extractFeatures(net, images, cfg.inputShape);
hash.update(new Uint8Array(features.buffer));
// ~1e-20 x ~1e-20: denormal products, which every thread flushes to zero.
const tiny = tf.tidy(() => {
  const x = tf.mul(tf.randomNormal([64, 300], 0, 1, "float32", 5), 1e-20);
  const wt = tf.mul(tf.randomNormal([300, 90], 0, 1, "float32", 6), 1e-20);
  const spec = { kh: 1, kw: 1, rh: 1, rw: 1, relu: false };
  return productKernel(x, wt, tf.zeros([90]), spec);
});
hash.update(new Uint8Array(tiny.dataSync().buffer));
console.log(JSON.stringify({
  isa: productsIsa(),
  products: info.paths.ownProducts,
  sgd: info.paths.ownSgd,
  sha256: hash.digest("hex"),
  copies: sgdCopies(),
}));

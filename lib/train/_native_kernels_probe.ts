/**
 * The probe `lib/engine/native_test.ts` runs in a fresh process (the kernels' thread
 * pool and vector path are fixed once per process, by
 * `DEEPID2_KERNEL_THREADS` and `DEEPID2_KERNEL_ISA`): `probeTraining` on the
 * tensorflow backend, and one of our products on values so small that their
 * products are denormal; then one JSON line with the vector path that ran,
 * a SHA-256 of every weight, feature and output bit, and how many variables
 * the fused SGD had to copy.
 *
 * `DEEPID2_KERNEL_THREADS=1 deno run -A lib/train/_native_kernels_probe.ts`
 *
 * @module
 */
import { probeTraining } from "./_probe_training.ts";
import {
  productKernel,
  productsIsa,
  sgdCopies,
} from "../engine/native_kernels.ts";
import { tf } from "../engine/tf.ts";

const { info, hash } = await probeTraining("tensorflow", 24);
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

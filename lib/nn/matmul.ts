/**
 * `x · w` with a gradient made of untransposed products. tfjs's own matMul
 * gradient multiplies with `transposeA` / `transposeB`, which tfjs-wasm runs
 * outside XNNPACK (8x slower here, see `lib/nn/locally_shared.ts`); explicit
 * 2-D transposes followed by plain products give the same numbers fast.
 * Where the backend's transposed products are fast (TensorFlow: the
 * `builtinGradients` path of `lib/engine/fast_paths.ts`), this is plain
 * `tf.matMul`.
 *
 * @module
 */
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import { productKernel } from "../engine/native_kernels.ts";
import { relu } from "./activations.ts";
import { tf } from "../engine/tf.ts";

const op = tf.customGrad((...args: unknown[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor2D;
      return [tf.matMul(d, tf.transpose(ws)), tf.matMul(tf.transpose(xs), d)];
    },
  };
});

/**
 * Matrix product `[N, K] · [K, M]` for fully connected layers; `paths`
 * portable by default.
 *
 * @example
 * ```ts
 * dense(tf.ones([2, 3]), tf.ones([3, 4])); // [2, 4] of 3s
 * ```
 */
export function dense(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  paths: Pick<FastPaths, "builtinGradients"> = PORTABLE,
): tf.Tensor2D {
  if (paths.builtinGradients) return tf.matMul(x, w);
  return op(x, w) as tf.Tensor2D;
}

/**
 * A fully connected layer, `x · w + b`, then the ReLU where `relu`: tfjs
 * ops on {@linkcode dense}, or where `paths.ownProducts` one kernel of our
 * own each way (`lib/engine/native/products.c`).
 *
 * @param x `[N, K]`
 * @param w `[K, M]`
 * @param b `[M]`
 * @returns `[N, M]`
 * @example
 * ```ts
 * fullyConnected(tf.ones([2, 3]), tf.ones([3, 4]), tf.ones([4]), { relu: true }); // [2, 4] of 4s
 * ```
 */
export function fullyConnected(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  options: {
    relu: boolean;
    paths?: Pick<FastPaths, "builtinGradients" | "nativeOps" | "ownProducts">;
  },
): tf.Tensor2D {
  const paths = options.paths ?? PORTABLE;
  if (paths.ownProducts) {
    const spec = { kh: 1, kw: 1, rh: 1, rw: 1, relu: options.relu };
    return productKernel(x, w, b, spec) as tf.Tensor2D;
  }
  const y = tf.add(dense(x, w, paths), b) as tf.Tensor2D;
  return options.relu ? relu(y, paths) : y;
}

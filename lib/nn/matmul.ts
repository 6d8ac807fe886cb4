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

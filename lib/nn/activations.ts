/**
 * The network's ReLU and 2x2 max-pooling, with two formulations:
 * tfjs's own ops and gradients everywhere, or on the `tensorflow` backend
 * TensorFlow's fused `ReluGrad` and oneDNN's max-pooling that keeps its
 * argmax for the backward pass (`lib/engine/native_kernels.ts`). Same values
 * and gradients; the caller's paths (`lib/engine/fast_paths.ts`, portable by
 * default) say which runs.
 *
 * @module
 */
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import {
  maxPoolGradWorkspaceKernel,
  maxPoolWorkspaceKernel,
  reluGradKernel,
} from "../engine/native_kernels.ts";
import { tf } from "../engine/tf.ts";

const reluNative = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const y = tf.relu(x);
  save([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      reluGradKernel(dy, saved[0]),
  };
});

const maxPoolNative = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const [p, workspace] = maxPoolWorkspaceKernel(x);
  save([x, p, workspace]);
  return {
    value: p,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ps, ws] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor];
      return maxPoolGradWorkspaceKernel(xs, ps, dy as tf.Tensor4D, ws);
    },
  };
});

/** `tf.relu`, with TensorFlow's fused gradient where `paths.nativeOps`. */
export function relu<T extends tf.Tensor>(
  x: T,
  paths: Pick<FastPaths, "nativeOps"> = PORTABLE,
): T {
  return (paths.nativeOps ? reluNative(x) : tf.relu(x)) as T;
}

/**
 * 2x2, stride-2, valid max-pooling of `x` `[B, H, W, C]` to
 * `[B, floor(H / 2), floor(W / 2), C]`; by oneDNN where `paths.poolWorkspace`.
 */
export function maxPool2x2(
  x: tf.Tensor4D,
  paths: Pick<FastPaths, "poolWorkspace"> = PORTABLE,
): tf.Tensor4D {
  if (paths.poolWorkspace) return maxPoolNative(x) as tf.Tensor4D;
  return tf.maxPool(x, 2, 2, "valid");
}

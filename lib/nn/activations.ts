/**
 * The network's ReLU and 2x2 max-pooling, with two formulations:
 * tfjs's own ops and gradients everywhere, or on the `tensorflow` backend
 * TensorFlow's fused `ReluGrad` and oneDNN's max-pooling that keeps its
 * argmax for the backward pass (`lib/native_kernels.ts`). Same values and
 * gradients; `lib/fast_paths.ts` says which runs.
 *
 * @module
 */
import { fastPaths } from "../engine/fast_paths.ts";
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

/** `tf.relu`, with TensorFlow's fused gradient where available. */
export function relu<T extends tf.Tensor>(x: T): T {
  return (fastPaths.nativeOps ? reluNative(x) : tf.relu(x)) as T;
}

/** 2x2, stride-2, valid max-pooling of `x` `[B, H, W, C]`. */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  if (fastPaths.poolWorkspace) return maxPoolNative(x) as tf.Tensor4D;
  return tf.maxPool(x, 2, 2, "valid");
}

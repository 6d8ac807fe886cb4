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
 * `[B, floor(H / 2), floor(W / 2), C]`; by oneDNN where `paths.poolWorkspace`
 * and C is a multiple of 8, by the stock kernels otherwise.
 *
 * oneDNN pools in a blocked channel layout (8 or 16 channels a block): with
 * C a multiple of 8 (conv2's 40) its workspace pooling took 2.7 + 2.1 ms
 * (forward + gradient, batch 64, AVX2 host) against the stock 0.5 + 6.0 ms;
 * with C = 20 (conv1's map, 64 x 52 x 44) it took 15.8 + 15.7 ms against
 * 1.8 + 13.9 ms, and with C = 60 (conv3) 1.1 + 1.1 against 0.2 + 1.5 ms.
 * Both send the gradient to the first maximum of each window: the same
 * values and gradients either way.
 */
export function maxPool2x2(
  x: tf.Tensor4D,
  paths: Pick<FastPaths, "poolWorkspace"> = PORTABLE,
): tf.Tensor4D {
  if (paths.poolWorkspace && x.shape[3] % 8 === 0) {
    return maxPoolNative(x) as tf.Tensor4D;
  }
  return tf.maxPool(x, 2, 2, "valid");
}

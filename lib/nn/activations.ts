/**
 * The network's ReLU and 2x2 max-pooling, with two formulations:
 * tfjs's own ops and gradients everywhere, or on the `tensorflow` backend
 * TensorFlow's fused `ReluGrad` and a max-pooling gradient of our own, or
 * oneDNN's max-pooling that keeps its argmax for the backward pass
 * (`lib/engine/native_kernels.ts`); and conv1-conv3's whole tail,
 * `relu(maxPool(x) + bias)`, as one kernel of our own each way. Same values
 * and gradients; the caller's paths (`lib/engine/fast_paths.ts`, portable by
 * default) say which runs.
 *
 * @module
 */
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import {
  maxPoolGrad2x2Kernel,
  maxPoolGradWorkspaceKernel,
  maxPoolWorkspaceKernel,
  poolBiasReluGradKernel,
  poolBiasReluKernel,
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

// The stock forward pass, the gradient by our own kernel.
const maxPoolOwnGrad = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.maxPool(x, 2, 2, "valid"),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      maxPoolGrad2x2Kernel(saved[0] as tf.Tensor4D, dy as tf.Tensor4D),
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
 * `[B, floor(H / 2), floor(W / 2), C]`. Where `paths.poolGrad2x2`, the stock
 * forward pass with our own gradient kernel
 * (`lib/engine/native/pooling.c`); else, where `paths.poolWorkspace`
 * and C is a multiple of 8, oneDNN's pooling with its argmax workspace; else
 * the stock kernels.
 *
 * Forward + gradient, batch 64, AVX-512 host (Intel Xeon), per call: the
 * stock forward with our gradient took 2.6-3.0 ms on conv1's map
 * (64 x 52 x 44 x 20), 1.2-1.3 ms on conv2's (40 channels) and 0.7-0.9 ms on
 * conv3's (60), against oneDNN's 6.3-8.5, 2.2-2.4 and 0.8-1.3 ms and the
 * stock `MaxPoolGrad` alone at 12-18 ms on conv1's map. oneDNN pools in a
 * blocked channel layout (8 or 16 channels a block), which is why it is kept
 * to C a multiple of 8: on an AVX2 host with C = 20 it took 15.8 + 15.7 ms
 * against the stock 1.8 + 13.9 ms, and with C = 40 2.7 + 2.1 ms against the
 * stock 0.5 + 6.0 ms. All three send the gradient to the first maximum of
 * each window: the same values and gradients either way.
 */
export function maxPool2x2(
  x: tf.Tensor4D,
  paths: Pick<FastPaths, "poolWorkspace" | "poolGrad2x2"> = PORTABLE,
): tf.Tensor4D {
  if (paths.poolGrad2x2) return maxPoolOwnGrad(x) as tf.Tensor4D;
  if (paths.poolWorkspace && x.shape[3] % 8 === 0) {
    return maxPoolNative(x) as tf.Tensor4D;
  }
  return tf.maxPool(x, 2, 2, "valid");
}

// relu(maxPool(x) + bias) by one kernel each way; the gradient kernel also
// returns the bias's, in the bias's shape. The saved tensors: [x, y, bias].
const poolBiasReluFused = tf.customGrad((...args: unknown[]) => {
  const [x, bias, save] = args as [tf.Tensor4D, tf.Tensor, tf.GradSaveFunc];
  const y = poolBiasReluKernel(x, bias as tf.Tensor1D);
  save([x, y, bias]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ys, b] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor];
      return poolBiasReluGradKernel(xs, ys, dy as tf.Tensor4D, b);
    },
  };
});

const poolReluFused = tf.customGrad((...args: unknown[]) => {
  const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
  const y = poolBiasReluKernel(x, null);
  save([x, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ys] = saved as [tf.Tensor4D, tf.Tensor4D];
      const [dx, none] = poolBiasReluGradKernel(
        xs,
        ys,
        dy as tf.Tensor4D,
        null,
      );
      none.dispose();
      return dx;
    },
  };
});

/**
 * `relu(maxPool2x2(x) + bias)` (no bias added when `bias` is null): `x`
 * `[B, H, W, C]`, `bias` `[C]` or `[1, C]`, result `[B, H/2, W/2, C]`. Where
 * `paths.poolBiasRelu`, one kernel of our own forward and one backward
 * (`lib/engine/native/pooling.c`): the values and the input
 * gradient are bit for bit the composition below, which runs otherwise
 * (three ops each way, each a pass over memory and an eager dispatch); the
 * bias gradient is the same sum in another order.
 *
 * Forward + gradient, batch 64, AVX-512 host (AMD EPYC), per call on conv1's
 * map (64 x 52 x 44 x 20): 0.17-0.24 + 0.77 ms with AVX-512 and the bias
 * gradient included, where the previous version's 4-wide kernels took 0.57
 * + 0.82 ms and TensorFlow's `Sum` for the bias gradient about 0.4 ms more;
 * the stock composition (MaxPool, Add, Relu, ReluGrad, our pooling
 * gradient) took 4.5-5.0 ms. The kernels are passes over memory, so the
 * gain is the passes and dispatches saved.
 */
export function maxPoolBiasRelu(
  x: tf.Tensor4D,
  bias: tf.Tensor1D | tf.Tensor2D | null,
  paths: Pick<
    FastPaths,
    "poolBiasRelu" | "poolWorkspace" | "poolGrad2x2" | "nativeOps"
  > = PORTABLE,
): tf.Tensor4D {
  if (paths.poolBiasRelu) {
    return (bias
      ? poolBiasReluFused(x, bias)
      : poolReluFused(x)) as tf.Tensor4D;
  }
  const p = maxPool2x2(x, paths);
  return relu(bias ? tf.add(p, bias) : p, paths);
}

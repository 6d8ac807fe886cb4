/**
 * Which of two numerically identical formulations the layers use. The
 * locally shared layer and the convolution gradient are written for the
 * wasm backend (per-region 2-D products, a filter gradient made of conv2d),
 * because its batched and transposed products and its own filter gradient
 * are slow or missing. TensorFlow's kernels have the opposite profile: few
 * large ops (one batched product over all regions, its own
 * Conv2DBackpropFilter/Input) are faster there, and it has fused kernels
 * tfjs does not use (lib/native_kernels.ts). {@linkcode initBackend}
 * picks the paths for the backend it starts; tests set them directly to check
 * that both give the same numbers.
 *
 * @module
 */

/** The formulation switches. */
export interface FastPaths {
  /** tfjs's own conv2d and matMul gradients (Conv2DBackpropFilter/Input, transposed products). */
  builtinGradients: boolean;
  /** Locally shared layers as one batched product over all regions (autodiff gradient). */
  batchedRegions: boolean;
  /** ReLU gradient by TensorFlow's fused `ReluGrad` (lib/native_kernels.ts). */
  nativeOps: boolean;
  /** Max-pooling by oneDNN with an argmax workspace (lib/native_kernels.ts). */
  poolWorkspace: boolean;
  /** The locally shared layers' transposes by oneDNN (lib/native_kernels.ts). */
  mklTranspose: boolean;
  /** Their patches by one gather (and one scatter back) (lib/native_kernels.ts). */
  gatherPatches: boolean;
  /** conv1/conv2's per-channel bias added after max-pooling (lib/model.ts). */
  biasAfterPool: boolean;
  /** The joint loss and its gradient computed on the host (lib/joint_loss.ts). */
  hostLoss: boolean;
  /** SGD on TensorFlow resource variables, updated in place (lib/native_sgd.ts). */
  nativeSgd: boolean;
}

/** The switches in force (process-wide, like the tfjs backend). */
export const fastPaths: FastPaths = {
  builtinGradients: false,
  batchedRegions: false,
  nativeOps: false,
  poolWorkspace: false,
  mklTranspose: false,
  gatherPatches: false,
  biasAfterPool: false,
  hostLoss: false,
  nativeSgd: false,
};

/**
 * The paths that are fastest on a backend (measured on these machines). The
 * native kernels are off here: {@linkcode initBackend} turns on those that
 * `installNativeKernels` found working.
 */
export function fastPathsFor(backend: string): FastPaths {
  const native = backend === "tensorflow";
  return {
    builtinGradients: native,
    batchedRegions: native,
    nativeOps: false,
    poolWorkspace: false,
    mklTranspose: false,
    gatherPatches: false,
    biasAfterPool: native,
    hostLoss: native,
    nativeSgd: false,
  };
}

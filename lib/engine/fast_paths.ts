/**
 * Which of two formulations of the same arithmetic the layers and the
 * trainer use. The locally shared layer and the convolution gradient are
 * written for the wasm backend (per-region 2-D products, a filter gradient
 * made of conv2d), because its batched and transposed products and its own
 * filter gradient are slow or missing. TensorFlow's kernels have the
 * opposite profile: few large ops (one batched product over all regions, its
 * own Conv2DBackpropFilter/Input) are faster there, and it has fused kernels
 * tfjs does not use (`lib/engine/native_kernels.ts`). Each pair gives the
 * same values and gradients up to float32 rounding; the tests compare them.
 *
 * The switches are a value, not process state: {@linkcode initBackend} builds
 * them once for the backend it starts (`BackendInfo.paths`), the network
 * carries them (`createDeepID2(config, seed, { paths })`, `net.paths` in
 * `lib/nn/model.ts`) and hands them to its layers on every forward pass, and
 * `train` reads them from the network. Without them everything runs
 * {@linkcode PORTABLE}, which is correct on every backend.
 *
 * @module
 */

/** The formulation switches. */
export interface FastPaths {
  /** tfjs's own conv2d and matMul gradients (Conv2DBackpropFilter/Input, transposed products). */
  readonly builtinGradients: boolean;
  /** Locally shared layers as one batched product over all regions (autodiff gradient). */
  readonly batchedRegions: boolean;
  /** ReLU gradient by TensorFlow's fused `ReluGrad` (`lib/engine/native_kernels.ts`). */
  readonly nativeOps: boolean;
  /** Max-pooling by oneDNN with an argmax workspace where the channels are a multiple of 8 (`lib/nn/activations.ts`). */
  readonly poolWorkspace: boolean;
  /** Elsewhere, max-pooling's gradient by our own kernel (`lib/engine/native/pooling.c`). */
  readonly poolGrad2x2: boolean;
  /** conv1-conv3's max-pooling, bias and ReLU as one kernel each way (`lib/engine/native/pooling.c`). */
  readonly poolBiasRelu: boolean;
  /** The locally shared layers' transposes by oneDNN (`lib/engine/native_kernels.ts`). */
  readonly mklTranspose: boolean;
  /** Their patches by one gather (and one scatter back) (`lib/engine/native_kernels.ts`). */
  readonly gatherPatches: boolean;
  /** conv1/conv2's per-channel bias added after max-pooling (`lib/nn/model.ts`). */
  readonly biasAfterPool: boolean;
  /** The locally shared and fully connected layers (product, bias, ReLU) by our own kernels (`lib/engine/native/products.c`). */
  readonly ownProducts: boolean;
  /** The joint loss and its gradient computed on the host (`lib/train/joint_loss.ts`). */
  readonly hostLoss: boolean;
  /** SGD on TensorFlow resource variables, updated in place (`lib/engine/native_sgd.ts`). */
  readonly nativeSgd: boolean;
  /** That update by one kernel of our own for all parameters (`lib/engine/native/sgd.c`). */
  readonly ownSgd: boolean;
}

/** Every switch off: tfjs ops and the wasm-friendly formulations, on any backend. */
export const PORTABLE: Readonly<FastPaths> = Object.freeze({
  builtinGradients: false,
  batchedRegions: false,
  nativeOps: false,
  poolWorkspace: false,
  poolGrad2x2: false,
  poolBiasRelu: false,
  mklTranspose: false,
  gatherPatches: false,
  biasAfterPool: false,
  ownProducts: false,
  hostLoss: false,
  nativeSgd: false,
  ownSgd: false,
});

/**
 * The paths that are fastest on a backend (measured on these machines),
 * without the native kernels: {@linkcode initBackend} adds those that
 * `installNativeKernels` found working.
 */
export function fastPathsFor(backend: string): Readonly<FastPaths> {
  const native = backend === "tensorflow";
  return Object.freeze({
    ...PORTABLE,
    builtinGradients: native,
    batchedRegions: native,
    biasAfterPool: native,
    hostLoss: native,
  });
}

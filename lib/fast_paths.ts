/**
 * Which of two numerically identical formulations the layers use. The
 * locally shared layer and the convolution gradient are written for the
 * wasm backend (per-region 2-D products, a filter gradient made of conv2d),
 * because its batched and transposed products and its own filter gradient
 * are slow or missing. TensorFlow's kernels have the opposite profile: few
 * large ops (one batched product over all regions, its own
 * Conv2DBackpropFilter/Input) are faster there. {@linkcode initBackend}
 * picks the paths for the backend it starts; tests set them directly to check
 * that both give the same numbers.
 *
 * @module
 */

/** The formulation switches. */
export interface FastPaths {
  /** Use tfjs's own conv2d gradient (Conv2DBackpropFilter/Input kernels). */
  builtinConvGradient: boolean;
  /** Locally shared layers as one batched product over all regions (autodiff gradient). */
  batchedRegions: boolean;
}

/** The switches in force (process-wide, like the tfjs backend). */
export const fastPaths: FastPaths = {
  builtinConvGradient: false,
  batchedRegions: false,
};

/** The paths that are fastest on a backend (measured on these machines). */
export function fastPathsFor(backend: string): FastPaths {
  const native = backend === "tensorflow";
  return { builtinConvGradient: native, batchedRegions: native };
}

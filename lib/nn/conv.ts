/**
 * Stride-1 valid 2-D convolution with a gradient built from kernels every
 * backend has. The wasm backend has no `Conv2DBackpropFilter`; the filter
 * gradient of a stride-1 valid convolution is itself a valid convolution:
 *
 *   dW[i, j, c, o] = sum_{b, y, x} X[b, y + i, x + j, c] * dY[b, y, x, o]
 *
 * i.e. conv2d(X transposed to [Cin, H, W, B], dY transposed to
 * [Ho, Wo, B, Cout]) = [Cin, kh, kw, Cout], transposed to [kh, kw, Cin, Cout].
 * The input gradient is the full convolution of dY with the filter rotated
 * by 180 degrees and its channel axes swapped: dX = conv2d(pad(dY, k - 1),
 * rot180(W) as [kh, kw, Cout, Cin]). That is an ordinary conv2d, which every
 * backend has; tfjs-wasm's own `Conv2DBackpropInput` skips XNNPACK and was
 * 8x slower here.
 *
 * @module
 */
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import { tf } from "../engine/tf.ts";

/**
 * `conv2dValid(x, w)` = `tf.conv2d(x, w, 1, "valid")` with the custom gradient.
 *
 * Where the backend's own filter gradient is faster (`builtinGradients` of
 * `lib/engine/fast_paths.ts`, in `options.paths`), this is plain `tf.conv2d`.
 *
 * @param x input `[B, H, W, Cin]`
 * @param w filter `[kh, kw, Cin, Cout]`
 * @param options `inputGradient: false` skips the gradient for `x` (zeros:
 *   the network input); `paths` the formulation (portable by default)
 * @returns `[B, H - kh + 1, W - kw + 1, Cout]`
 * @example
 * ```ts
 * const y = conv2dValid(tf.ones([1, 5, 5, 1]), tf.ones([3, 3, 1, 2])); // [1, 3, 3, 2]
 * ```
 */
export function conv2dValid(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  options: {
    inputGradient?: boolean;
    paths?: Pick<FastPaths, "builtinGradients">;
  } = {},
): tf.Tensor4D {
  const paths = options.paths ?? PORTABLE;
  if (paths.builtinGradients) return tf.conv2d(x, w, 1, "valid");
  return (options.inputGradient === false ? convNoDx : convOp)(
    x,
    w,
  ) as tf.Tensor4D;
}

/** The custom-gradient op; `dx` is skipped (zeros) for network inputs. */
function makeConvOp(inputGradient: boolean) {
  return tf.customGrad((...args: unknown[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, 1, "valid"),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        const [kh, kw] = ws.shape;
        const dx = inputGradient
          ? tf.conv2d(
            tf.pad(dy4, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]),
            tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D,
            1,
            "valid",
          )
          : tf.zerosLike(xs);
        const xt = tf.transpose(xs, [3, 1, 2, 0]); // [Cin, H, W, B]
        const dyt = tf.transpose(dy4, [1, 2, 0, 3]); // [Ho, Wo, B, Cout]
        const dwt = tf.conv2d(xt, dyt, 1, "valid"); // [Cin, kh, kw, Cout]
        const dw = tf.transpose(dwt, [1, 2, 0, 3]); // [kh, kw, Cin, Cout]
        return [dx, dw];
      },
    };
  });
}

const convOp = makeConvOp(true);
const convNoDx = makeConvOp(false);

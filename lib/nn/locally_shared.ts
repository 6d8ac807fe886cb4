/**
 * Convolution with weights shared only inside regions of output positions
 * (Sec. 2, Fig. 1 and `lib/PAPER.md`: DeepID2's conv3 shares weights within
 * 2x2 blocks of output positions, conv4 not at all). One layer type covers
 * three cases:
 *
 * - one region covering the whole output map = an ordinary convolution;
 * - `rh x rw` regions = locally shared (conv3: 5 x 4 = 20 filter banks);
 * - `1 x 1` regions = locally connected (conv4: one bank per position).
 *
 * Built from patch extraction (k*k slices concatenated on the channel axis,
 * ordered (dy, dx, cin) like a conv2d filter `[kh, kw, Cin, Cout]`) and one
 * 2-D matrix product per region, with a hand-written gradient. The layout is
 * chosen for the wasm backend (XNNPACK), measured on these 2-core machines:
 * its `BatchMatMul` and any transposed product skip XNNPACK (30x and 8x
 * slower than a plain 2-D product), slices along the leading axis and
 * `SplitV`/`Unpack` are slow, and tfjs's default slice gradient pads every
 * region back to the full tensor. So the regions are cut from the patch
 * tensor with the batch axis kept whole, each region's bank is cut from the
 * layer's `[R, K, outC]` weights along the leading axis (a contiguous copy),
 * and the backward pass uses explicit 2-D transposes. On TensorFlow the layer
 * is one kernel of our own each way, bias and ReLU included (`ownProducts`:
 * `productKernel` of `lib/engine/native_kernels.ts`), or without our kernels
 * a few large ops (the `batchedRegions` path, below), chosen by the caller's
 * paths (`lib/engine/fast_paths.ts`; portable by default).
 *
 * Stride 1, valid padding; the output size must be divisible by the region.
 *
 * @module
 */
import { conv2dValid } from "./conv.ts";
import { relu } from "./activations.ts";
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import {
  gatherPatchesKernel,
  productKernel,
  transposeKernel,
} from "../engine/native_kernels.ts";
import { tf } from "../engine/tf.ts";

/** The switches the layer reads. */
export type LocallySharedPaths = Pick<
  FastPaths,
  | "builtinGradients"
  | "batchedRegions"
  | "mklTranspose"
  | "gatherPatches"
  | "ownProducts"
  | "nativeOps"
>;

/** Geometry of a locally shared convolution. */
export interface LocallySharedSpec {
  /** Input height, width, channels. */
  inH: number;
  inW: number;
  inC: number;
  /** Filter size. */
  kh: number;
  kw: number;
  /** Output channels per position. */
  outC: number;
  /** Region of output positions that share one filter bank. */
  rh: number;
  rw: number;
}

/** Derived sizes of a {@linkcode LocallySharedSpec}. */
export interface LocallySharedShape {
  outH: number;
  outW: number;
  /** Regions along height and width. */
  gh: number;
  gw: number;
  /** Number of filter banks = gh * gw. */
  regions: number;
  /** Patch length kh * kw * inC. */
  patch: number;
}

/**
 * Checks a spec and returns its derived sizes.
 *
 * @example
 * ```ts
 * locallySharedShape({ inH: 12, inW: 10, inC: 40, kh: 3, kw: 3, outC: 60, rh: 2, rw: 2 });
 * // { outH: 10, outW: 8, gh: 5, gw: 4, regions: 20, patch: 360 }
 * ```
 */
export function locallySharedShape(s: LocallySharedSpec): LocallySharedShape {
  const outH = s.inH - s.kh + 1;
  const outW = s.inW - s.kw + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `filter ${s.kh}x${s.kw} larger than input ${s.inH}x${s.inW}`,
    );
  }
  if (outH % s.rh !== 0 || outW % s.rw !== 0) {
    throw new Error(
      `output ${outH}x${outW} is not divisible by the sharing region ${s.rh}x${s.rw}`,
    );
  }
  const gh = outH / s.rh;
  const gw = outW / s.rw;
  return {
    outH,
    outW,
    gh,
    gw,
    regions: gh * gw,
    patch: s.kh * s.kw * s.inC,
  };
}

/**
 * Patches of a stride-1 valid convolution, channels ordered (dy, dx, cin).
 *
 * @param x `[B, H, W, C]`
 * @returns `[B, H - kh + 1, W - kw + 1, kh * kw * C]`
 */
export function extractPatches(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const oh = h - kh + 1;
  const ow = w - kw + 1;
  if (kh === 1 && kw === 1) return x;
  const parts: tf.Tensor4D[] = [];
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) {
      parts.push(tf.slice(x, [0, dy, dx, 0], [b, oh, ow, c]));
    }
  }
  return tf.concat(parts, 3);
}

/**
 * The locally shared convolution.
 *
 * @param x input `[B, inH, inW, inC]`
 * @param weights `[R, kh * kw * inC, outC]`, bank `r` for region
 *   `(gi, gj)` at `r = gi * gw + gj`, rows ordered (dy, dx, cin)
 * @param biases `[R, outC]`, or `null` for none
 * @param options `inputGradient: false` skips the gradient for `x` (network
 *   input); `relu: true` applies the ReLU to the output; `paths` the
 *   formulation (portable by default)
 * @returns `[B, outH, outW, outC]`
 */
export function locallyShared(
  x: tf.Tensor4D,
  weights: tf.Tensor3D,
  biases: tf.Tensor2D | null,
  spec: LocallySharedSpec,
  options: {
    inputGradient?: boolean;
    relu?: boolean;
    paths?: LocallySharedPaths;
  } = {},
): tf.Tensor4D {
  const paths = options.paths ?? PORTABLE;
  const s = locallySharedShape(spec);
  const [r, k, o] = weights.shape;
  if (r !== s.regions || k !== s.patch || o !== spec.outC) {
    throw new Error(
      `locally shared weights must be [${s.regions}, ${s.patch}, ${spec.outC}] ` +
        `(banks, patch, outC), got [${weights.shape}]`,
    );
  }
  if (biases === null) {
    if (s.regions !== 1) {
      throw new Error("only a one-bank layer can leave its bias out");
    }
  } else if (biases.shape[0] !== s.regions || biases.shape[1] !== spec.outC) {
    throw new Error(
      `locally shared biases must be [${s.regions}, ${spec.outC}], got [${biases.shape}]`,
    );
  }
  if (paths.ownProducts && s.regions > 1) {
    // One kernel of our own each way, bias and ReLU included.
    const { kh, kw, rh, rw } = spec;
    return productKernel(
      x,
      weights,
      biases!,
      { kh, kw, rh, rw, relu: options.relu === true },
      options.inputGradient !== false,
    ) as tf.Tensor4D;
  }
  const y = preActivation(x, weights, biases, spec, s, paths, options);
  return options.relu ? relu(y, paths) : y;
}

/** The layer's output before its ReLU, in tfjs ops. */
function preActivation(
  x: tf.Tensor4D,
  weights: tf.Tensor3D,
  biases: tf.Tensor2D | null,
  spec: LocallySharedSpec,
  s: LocallySharedShape,
  paths: LocallySharedPaths,
  options: { inputGradient?: boolean },
): tf.Tensor4D {
  if (s.regions === 1) {
    // One bank: an ordinary convolution, on the fast conv2d path.
    const w4 = tf.reshape(weights, [
      spec.kh,
      spec.kw,
      spec.inC,
      spec.outC,
    ]) as tf.Tensor4D;
    const y = conv2dValid(x, w4, {
      inputGradient: options.inputGradient,
      paths,
    });
    return biases === null ? y : tf.add(y, tf.reshape(biases, [spec.outC]));
  }
  if (paths.batchedRegions) {
    return batchedRegions(x, weights, biases!, spec, s, paths);
  }
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, w, b, save] = args as [
      tf.Tensor4D,
      tf.Tensor3D,
      tf.Tensor2D,
      tf.GradSaveFunc,
    ];
    // Banks cut along the leading axis: contiguous copies.
    const ws = banks(w, s.regions) as tf.Tensor2D[];
    const bs = banks(b, s.regions) as tf.Tensor1D[];
    const p = extractPatches(xi, spec.kh, spec.kw); // [B, outH, outW, K]
    save([p, ...ws]);
    const value = assemble(
      regionBlocks(p, spec, s).map((pr, r) =>
        tf.add(tf.matMul(pr, ws[r]), bs[r])
      ),
      xi.shape[0],
      spec,
      s,
    );
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const p = saved[0] as tf.Tensor4D;
        const ws = saved.slice(1) as tf.Tensor2D[];
        const dyr = regionBlocks(dy as tf.Tensor4D, spec, s); // R x [n, outC]
        const pr = regionBlocks(p, spec, s); // R x [n, K]
        const dw = tf.stack(
          pr.map((q, r) => tf.matMul(tf.transpose(q), dyr[r])),
        );
        const db = tf.stack(dyr.map((q) => tf.sum(q, 0)));
        const dp = assemble(
          dyr.map((q, r) => tf.matMul(q, tf.transpose(ws[r]))),
          xi.shape[0],
          spec,
          s,
        ); // [B, outH, outW, K]
        return [patchGradient(dp, xi.shape, spec), dw, db];
      },
    };
  });
  return op(x, weights, biases!) as tf.Tensor4D;
}

/** The R banks of `[R, ...]` as R tensors of the trailing shape. */
function banks(t: tf.Tensor, regions: number): tf.Tensor[] {
  const rest = t.shape.slice(1);
  return Array.from(
    { length: regions },
    (_, r) =>
      tf.reshape(tf.slice(t, [r, ...rest.map(() => 0)], [1, ...rest]), rest),
  );
}

/** Cuts `[B, outH, outW, D]` into R matrices `[B * rh * rw, D]`. */
function regionBlocks(
  t: tf.Tensor4D,
  spec: LocallySharedSpec,
  s: LocallySharedShape,
): tf.Tensor2D[] {
  const [b, , , d] = t.shape;
  const out: tf.Tensor2D[] = [];
  for (let gi = 0; gi < s.gh; gi++) {
    for (let gj = 0; gj < s.gw; gj++) {
      const block = s.regions === 1
        ? t
        : tf.slice(t, [0, gi * spec.rh, gj * spec.rw, 0], [
          b,
          spec.rh,
          spec.rw,
          d,
        ]);
      out.push(tf.reshape(block, [b * spec.rh * spec.rw, d]));
    }
  }
  return out;
}

/** Inverse of {@linkcode regionBlocks}: R x `[B * rh * rw, D]` to `[B, outH, outW, D]`. */
function assemble(
  blocks: tf.Tensor2D[],
  b: number,
  spec: LocallySharedSpec,
  s: LocallySharedShape,
): tf.Tensor4D {
  const d = blocks[0].shape[1];
  const four = blocks.map((q) =>
    tf.reshape(q, [b, spec.rh, spec.rw, d]) as tf.Tensor4D
  );
  if (s.regions === 1) return four[0];
  const rows: tf.Tensor4D[] = [];
  for (let gi = 0; gi < s.gh; gi++) {
    const row = four.slice(gi * s.gw, (gi + 1) * s.gw);
    rows.push(row.length === 1 ? row[0] : tf.concat(row, 2));
  }
  return rows.length === 1 ? rows[0] : tf.concat(rows, 1);
}

/** Gradient of {@linkcode extractPatches}: scatter-add patch gradients (col2im). */
function patchGradient(
  dp: tf.Tensor4D,
  xShape: number[],
  spec: LocallySharedSpec,
): tf.Tensor4D {
  const [b, oh, ow] = dp.shape;
  const c = xShape[3];
  if (spec.kh === 1 && spec.kw === 1) return dp;
  const parts: tf.Tensor4D[] = [];
  for (let dy = 0; dy < spec.kh; dy++) {
    for (let dx = 0; dx < spec.kw; dx++) {
      const ch = (dy * spec.kw + dx) * c;
      const g = tf.slice(dp, [0, 0, 0, ch], [b, oh, ow, c]);
      parts.push(tf.pad(g, [[0, 0], [dy, spec.kh - 1 - dy], [
        dx,
        spec.kw - 1 - dx,
      ], [0, 0]]));
    }
  }
  return tf.addN(parts) as tf.Tensor4D;
}

/**
 * Patches as one depthwise convolution with a one-hot filter (channel
 * `c * kh * kw + dy * kw + dx` = input channel `c` at offset `(dy, dx)`):
 * one kernel forward and one (`DepthwiseConv2dNativeBackpropInput`)
 * backward, where {@linkcode extractPatches} takes k*k slices and a concat,
 * and k*k pads and a sum for its gradient.
 *
 * @returns `[B, outH, outW, inC * kh * kw]`, channels ordered (cin, dy, dx)
 */
export function extractPatchesChannelMajor(
  x: tf.Tensor4D,
  kh: number,
  kw: number,
): tf.Tensor4D {
  const c = x.shape[3];
  const taps = kh * kw;
  const f = new Float32Array(taps * c * taps);
  for (let t = 0; t < taps; t++) {
    for (let ch = 0; ch < c; ch++) f[(t * c + ch) * taps + t] = 1;
  }
  return tf.depthwiseConv2d(
    x,
    tf.tensor4d(f, [kh, kw, c, taps]),
    1,
    "valid",
  );
}

/**
 * `w[:, order, :]` with the inverse permutation as its gradient: one gather
 * each way (TensorFlow's gather gradient is a scatter-add, and the
 * equivalent rank-4 transposes were 3x slower here).
 */
function permuteRows(w: tf.Tensor3D, order: Int32Array): tf.Tensor3D {
  const inverse = new Int32Array(order.length);
  order.forEach((from, to) => inverse[from] = to);
  const op = tf.customGrad((...args: unknown[]) => {
    const x = args[0] as tf.Tensor3D;
    return {
      value: tf.gather(x, tf.tensor1d(order, "int32"), 1),
      gradFunc: (dy: tf.Tensor) =>
        tf.gather(dy, tf.tensor1d(inverse, "int32"), 1),
    };
  });
  return op(w) as tf.Tensor3D;
}

/**
 * The same layer as a few large ops, for backends with a fast BatchMatMul
 * (TensorFlow): all regions in one batched product
 * `[R, B * rh * rw, K] x [R, K, outC]`, gradients by autodiff. The patches
 * come straight in that layout from one gather (`gatherPatches`: TensorFlow's
 * `GatherNd`, its gradient one `ScatterNd`), in the weights' own row order;
 * otherwise from one depthwise convolution (channels ordered (cin, dy, dx),
 * so the weight rows are permuted to match) and a rank-6 transpose.
 */
function batchedRegions(
  x: tf.Tensor4D,
  weights: tf.Tensor3D,
  biases: tf.Tensor2D,
  spec: LocallySharedSpec,
  s: LocallySharedShape,
  paths: LocallySharedPaths,
): tf.Tensor4D {
  const b = x.shape[0];
  const { rh, rw, outC } = spec;
  const transpose = (t: tf.Tensor, perm: number[]) =>
    paths.mklTranspose ? transposeKernel(t, perm) : tf.transpose(t, perm);
  const bias = tf.reshape(biases, [s.regions, 1, outC]);
  const product = (pr: tf.Tensor3D, w: tf.Tensor3D) => {
    const y = tf.reshape(tf.add(tf.matMul(pr, w), bias), [
      s.gh,
      s.gw,
      b,
      rh,
      rw,
      outC,
    ]);
    return tf.reshape(transpose(y, [2, 0, 3, 1, 4, 5]), [
      b,
      s.outH,
      s.outW,
      outC,
    ]) as tf.Tensor4D;
  };
  if (paths.gatherPatches) {
    const pr = tf.reshape(gatherPatchesKernel(x, spec), [
      s.regions,
      b * rh * rw,
      s.patch,
    ]) as tf.Tensor3D;
    return product(pr, weights);
  }
  const taps = spec.kh * spec.kw;
  // Rows (dy, dx, cin) -> (cin, dy, dx): row c * taps + t is row t * inC + c.
  const order = new Int32Array(s.patch);
  for (let c = 0; c < spec.inC; c++) {
    for (let t = 0; t < taps; t++) order[c * taps + t] = t * spec.inC + c;
  }
  const w = permuteRows(weights, order);
  const p = tf.reshape(extractPatchesChannelMajor(x, spec.kh, spec.kw), [
    b,
    s.gh,
    rh,
    s.gw,
    rw,
    s.patch,
  ]);
  const pr = tf.reshape(transpose(p, [1, 3, 0, 2, 4, 5]), [
    s.regions,
    b * rh * rw,
    s.patch,
  ]) as tf.Tensor3D;
  return product(pr, w);
}

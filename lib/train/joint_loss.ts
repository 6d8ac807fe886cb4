/**
 * The joint loss of one training step, `Ident(fi) + Ident(fj) + λ·Verif(fi,
 * fj)` (`lib/train/step.ts`) weighted by `lossWeights` (with
 * `lambdaScaling: "bounded"`, divided by max(1, λ)), with its gradient
 * written out by hand and computed on the host, as one custom-gradient op.
 *
 * The loss works on the 2P x 160 features and the 2P x n logits of a batch:
 * tiny tensors, but built from tfjs ops it is ~150 kernels per step forward
 * and backward (softmax, distances, hinge, means, their gradients). On the
 * TensorFlow backend every kernel costs tens of microseconds of dispatch, so
 * those 150 kernels took 4.5 ms per step whatever the batch size. Here the
 * features and logits are read once, the values and gradients are computed
 * in float64, and the gradients go back as two tensors.
 *
 * Same definitions as `lib/train/losses.ts` (which the other backends run,
 * and which the tests compare this against, signal by signal), including its
 * subgradient choices: the hinge's derivative is 0 where `m − d = 0`, and the
 * L1 norm's is −1 where a difference is exactly 0 (tfjs's `Abs` gradient).
 *
 * @module
 */
import { type LambdaScaling, lossWeights, type Signal } from "./losses.ts";
import { tf } from "../engine/tf.ts";

/** What one step's loss needs besides the tensors. */
export interface JointLossSpec {
  /** Identity of each of the 2P images (rows of the features). */
  labels: Int32Array;
  /** `[P]` 1 = same identity. */
  same: ArrayLike<number>;
  /** 0 = identification only, Infinity = verification only. */
  lambda: number;
  /** How the total is weighted along λ (`lossWeights` of `lib/train/losses.ts`). */
  lambdaScaling: LambdaScaling;
  signal: Signal;
  margin: number;
}

/** The values of one evaluation. */
export interface JointLossValues {
  /** `Ident(fi) + Ident(fj)` (batch means, unweighted); 0 when λ = Infinity. */
  identLoss: number;
  /** `Verif(fi, fj)` (batch mean, unweighted); 0 when λ = 0. */
  verifLoss: number;
  /** The total the gradient is of: `w.ident · identLoss + w.verif · verifLoss` (`lossWeights`). */
  loss: number;
  /** `[P]` pair distances (cosine similarity for `cosine`), as `pairDistance` of `lib/train/losses.ts`. */
  dist: Float32Array;
}

/** Values and gradients (of `loss`). */
export interface JointLossResult extends JointLossValues {
  /** `[2P, D]`: the verification term's part only (the identification term reaches the features through the logits). */
  dFeatures: Float32Array;
  /** `[2P, n]`; `null` when λ = Infinity. */
  dLogits: Float32Array | null;
  dCosW: number;
  dCosB: number;
}

/**
 * The joint loss and its gradient on host arrays.
 *
 * @param f `[2P, D]` features, the first P rows the `fi` of each pair
 *   (float32 in training; float64 for the finite-difference tests)
 * @param logits `[2P, n]` or `null` (λ = Infinity)
 * @param cosine learned `w`, `b` of the cosine signal
 */
export function jointLossHost(
  f: Float32Array | Float64Array,
  dim: number,
  logits: Float32Array | Float64Array | null,
  spec: JointLossSpec,
  cosine?: { w: number; b: number },
): JointLossResult {
  const { lambda, signal, margin, labels, same } = spec;
  // Weights of the two terms in the total; exactly 1 where unscaled.
  const w = lossWeights(lambda, spec.lambdaScaling);
  const rows = f.length / dim;
  const P = rows / 2;
  if (!Number.isInteger(P) || labels.length !== rows || same.length !== P) {
    throw new Error(
      `joint loss: ${rows} feature rows, ${labels.length} labels, ${same.length} pairs`,
    );
  }
  const identOnly = lambda === 0;
  const verifOnly = lambda === Infinity;
  const dFeatures = new Float32Array(f.length);
  let dLogits: Float32Array | null = null;
  let identLoss = 0;
  if (!verifOnly) {
    if (!logits) throw new Error("joint loss: λ < Infinity needs logits");
    const n = logits.length / rows;
    dLogits = new Float32Array(logits.length);
    // 2 * mean over 2P rows of -log softmax_t = (1/P) * sum.
    const scale = 1 / P;
    // Its gradient carries the term's weight (1/λ when scaled, else 1: the
    // same number as scale, so λ ≤ 1 is unchanged bit for bit).
    const gscale = w.ident === 1 ? scale : w.ident * scale;
    const e = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let max = -Infinity;
      for (let k = 0; k < n; k++) max = Math.max(max, logits[o + k]);
      let sum = 0;
      for (let k = 0; k < n; k++) {
        e[k] = Math.exp(logits[o + k] - max);
        sum += e[k];
      }
      const t = labels[r];
      identLoss += scale * (Math.log(sum) - (logits[o + t] - max));
      for (let k = 0; k < n; k++) dLogits[o + k] = gscale * (e[k] / sum);
      dLogits[o + t] -= gscale;
    }
  }
  const dist = new Float32Array(P);
  let verifLoss = 0;
  let dCosW = 0;
  let dCosB = 0;
  // Gradient weight of the verification term in the total.
  const wv = w.verif;
  for (let p = 0; p < P; p++) {
    const i = p * dim;
    const j = (P + p) * dim;
    const s = same[p];
    const nd = 1 - s;
    if (signal === "cosine") {
      let dot = 0, si = 0, sj = 0;
      for (let k = 0; k < dim; k++) {
        dot += f[i + k] * f[j + k];
        si += f[i + k] * f[i + k];
        sj += f[j + k] * f[j + k];
      }
      const ni = Math.sqrt(si + 1e-12);
      const nj = Math.sqrt(sj + 1e-12);
      const c = dot / (ni * nj);
      dist[p] = c;
      if (identOnly) continue;
      if (!cosine) throw new Error("the cosine signal needs w and b");
      const q = 1 / (1 + Math.exp(-(cosine.w * c + cosine.b)));
      verifLoss += 0.5 * (s - q) * (s - q) / P;
      // d/dz of ½(s - σ(z))², averaged over the pairs.
      const gz = wv * ((q - s) / P) * q * (1 - q);
      dCosW += gz * c;
      dCosB += gz;
      const gc = gz * cosine.w;
      for (let k = 0; k < dim; k++) {
        dFeatures[i + k] += gc *
          (f[j + k] / (ni * nj) - c * f[i + k] / (si + 1e-12));
        dFeatures[j + k] += gc *
          (f[i + k] / (ni * nj) - c * f[j + k] / (sj + 1e-12));
      }
      continue;
    }
    let d = 0;
    if (signal === "l1") {
      // The L1 distance over √D (see lib/train/losses.ts, `pairDistance`).
      for (let k = 0; k < dim; k++) d += Math.abs(f[i + k] - f[j + k]);
      d /= Math.sqrt(dim);
    } else {
      for (let k = 0; k < dim; k++) {
        const x = f[i + k] - f[j + k];
        d += x * x;
      }
      if (signal !== "l2sq") d = Math.sqrt(d + 1e-12);
    }
    dist[p] = d;
    if (identOnly) continue;
    const h = Math.max(0, margin - d);
    const usePos = signal !== "l2-";
    const useNeg = signal !== "l2+";
    // Per-pair term and its derivative in d.
    let term = 0;
    let gd = 0;
    if (signal === "l2sq") {
      // Linear in d (the squared L2 distance): ½d, ½max(0, m − d).
      if (usePos) {
        term += s * 0.5 * d;
        gd += s * 0.5;
      }
      if (useNeg) {
        term += nd * 0.5 * h;
        gd -= nd * (h > 0 ? 0.5 : 0);
      }
    } else {
      if (usePos) {
        term += s * 0.5 * d * d;
        gd += s * d;
      }
      if (useNeg) {
        term += nd * 0.5 * h * h;
        gd -= nd * h;
      }
    }
    verifLoss += term / P;
    gd *= wv / P;
    if (gd === 0) continue;
    for (let k = 0; k < dim; k++) {
      const x = f[i + k] - f[j + k];
      // ∂d/∂fi_k: sign(x) / √D for L1 (−1 / √D at x = 0, see above), 2x for
      // the squared L2, x / d for L2.
      const g = signal === "l1"
        ? gd * (x > 0 ? 1 : -1) / Math.sqrt(dim)
        : signal === "l2sq"
        ? gd * 2 * x
        : gd * x / d;
      dFeatures[i + k] += g;
      dFeatures[j + k] -= g;
    }
  }
  if (identOnly) verifLoss = 0;
  const loss = identOnly
    ? identLoss
    : verifOnly
    ? verifLoss
    : w.ident * identLoss + w.verif * verifLoss;
  return { identLoss, verifLoss, loss, dist, dFeatures, dLogits, dCosW, dCosB };
}

/**
 * The joint loss as one tfjs op with a custom gradient: `features` `[2P, D]`,
 * `logits` `[2P, n]` (or `null`), the cosine `w`, `b` (or `undefined`) in;
 * the total loss out, the other values through `onValues`.
 */
export function jointLoss(
  features: tf.Tensor2D,
  logits: tf.Tensor2D | null,
  spec: JointLossSpec,
  cosine: { w: tf.Tensor; b: tf.Tensor } | undefined,
  onValues: (v: JointLossValues) => void,
): tf.Scalar {
  const inputs: tf.Tensor[] = [features];
  if (logits) inputs.push(logits);
  if (cosine) inputs.push(cosine.w, cosine.b);
  const op = tf.customGrad((...args: unknown[]) => {
    args.pop(); // save: nothing to keep, the gradient is computed here
    const r = jointLossHost(
      features.dataSync() as Float32Array,
      features.shape[1],
      logits ? logits.dataSync() as Float32Array : null,
      spec,
      cosine
        ? { w: cosine.w.dataSync()[0], b: cosine.b.dataSync()[0] }
        : undefined,
    );
    onValues(r);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => {
        const k = dy.dataSync()[0];
        const scaled = (a: Float32Array) => k === 1 ? a : a.map((v) => v * k);
        const grads: tf.Tensor[] = [
          tf.tensor2d(scaled(r.dFeatures), features.shape),
        ];
        if (logits) grads.push(tf.tensor2d(scaled(r.dLogits!), logits.shape));
        if (cosine) grads.push(tf.scalar(r.dCosW * k), tf.scalar(r.dCosB * k));
        return grads;
      },
    };
  });
  return op(...inputs) as tf.Scalar;
}

/**
 * The two supervisory signals of DeepID2 (Sun et al. 2014, Sec. 2, Eq. 1-3;
 * `lib/PAPER.md`, "Signals") and the margin rule.
 *
 * - Identification: `Ident(f, t) = -log p_t`, softmax cross-entropy.
 * - Verification on a pair (fi, fj), y = 1 for the same identity:
 *   - `l2`:  y: ½‖fi − fj‖²; else ½ max(0, m − ‖fi − fj‖)²        [S, default]
 *   - `l2sq`: y: ½‖fi − fj‖²; else ½ max(0, m − ‖fi − fj‖²)        [U, selectable]
 *   - `l2+`: only same-identity pairs give a loss; `l2-`: only different ones [U]
 *   - `l1`:  y: ½d₁²; else ½ max(0, m − d₁)², d₁ = ‖fi − fj‖₁ / √D   [U]
 *   - `cosine`: ½ (y − σ(w·cos(fi, fj) + b))², w and b learned      [S]
 * Each is averaged over the pairs of a batch.
 *
 * The paper does not give the L1 form [U]. Ours is `l2`'s hinge form on the
 * L1 distance over √D, d₁ = ‖fi − fj‖₁ / √D (D = 160): ½d₁² and
 * ½max(0, m − d₁)². The 1/√D puts d₁ on the L2 distance's scale
 * (‖x‖₁/√D ≈ 0.8‖x‖₂ for differences of one size in every coordinate), so
 * the same-pair gradient per coordinate is mean|x|·sign(x_k), where L2's is
 * x_k. Without it, ½‖x‖₁² has D·mean|x|·sign(x_k), ~160× L2's; the form
 * linear in ‖x‖₁, ½‖x‖₁, has a constant ±½ that does not fade as a pair
 * converges. Both killed 93–97 % of the DeepID2 layer at the joint λ in the
 * calibration's probes (`lib/PAPER.md`, "Signals").
 *
 * The joint loss `Ident(fi) + Ident(fj) + λ·Verif` is weighted by
 * {@linkcode lossWeights}: with `lambdaScaling: "bounded"` (the default) the
 * total is divided by max(1, λ), so that the step size stays comparable
 * along the whole λ axis of Fig. 3 (`lib/PAPER.md`, "Signals", the total
 * loss).
 *
 * The margin m is not learned by gradient descent (that drives it to 0): it
 * is re-set from time to time to the distance threshold with the lowest
 * verification error on recent training pairs ({@linkcode bestThreshold}).
 *
 * @module
 */
import { tf } from "../engine/tf.ts";

/** The verification signals of Table 1 (plus `l2sq`, the other L2 form). */
export const SIGNALS = ["l2", "l2sq", "l2+", "l2-", "l1", "cosine"] as const;
/** A verification signal name. */
export type Signal = typeof SIGNALS[number];

/**
 * How the joint loss is weighted along the λ axis: `bounded` divides the
 * total by max(1, λ), `none` is the paper's formula as written.
 */
export const LAMBDA_SCALINGS = ["bounded", "none"] as const;
/** A λ weighting rule (see {@linkcode lossWeights}). */
export type LambdaScaling = typeof LAMBDA_SCALINGS[number];

/**
 * The weights of `Ident(fi) + Ident(fj)` and of `Verif` in the total a
 * training step differentiates (`lib/PAPER.md`, "Signals", the total loss):
 *
 * - λ = 0: `{ ident: 1, verif: 0 }`; λ = Infinity: `{ ident: 0, verif: 1 }`
 *   (verification only, no softmax), in both modes;
 * - `none`, or λ ≤ 1: `{ ident: 1, verif: λ }`, the paper's sum;
 * - `bounded` with 1 < λ < Infinity: `{ ident: 1 / λ, verif: 1 }`, the same
 *   sum times 1 / λ. Without it the right end of Fig. 3 changes the
 *   effective learning rate as well as the balance: λ = 5 weighted the
 *   verification gradient by 5 next to the softmax, λ = ∞ by 1. With it the
 *   largest weight is 1 everywhere and λ → ∞ tends to exactly the
 *   verification-only loss.
 *
 * The weights are exactly 1 where they do not scale (λ ≤ 1 has the same
 * arithmetic as before the rule existed), and callers skip multiplying by 1.
 */
export function lossWeights(
  lambda: number,
  scaling: LambdaScaling,
): { ident: number; verif: number } {
  if (!(lambda >= 0)) throw new Error(`lambda must be >= 0, got ${lambda}`);
  if (!LAMBDA_SCALINGS.includes(scaling)) {
    throw new Error(
      `lambdaScaling must be one of ${LAMBDA_SCALINGS.join(", ")}, got ${
        String(scaling)
      }`,
    );
  }
  if (lambda === Infinity) return { ident: 0, verif: 1 };
  if (scaling === "bounded" && lambda > 1) {
    return { ident: 1 / lambda, verif: 1 };
  }
  return { ident: 1, verif: lambda };
}

/** Whether a signal uses a distance margin m. */
export function usesMargin(signal: Signal): boolean {
  return signal !== "cosine";
}

/**
 * Mean softmax cross-entropy `-log p_t`.
 *
 * @param logits `[B, n]`
 * @param labels `[B]` int32 identity indices
 */
export function identificationLoss(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
): tf.Scalar {
  const n = logits.shape[1];
  const logp = tf.logSoftmax(logits);
  const onehot = tf.oneHot(labels, n);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1)));
}

/**
 * The pair distance a signal thresholds: L2 (`l2`, `l2+`, `l2-`), squared
 * L2 (`l2sq`), L1 over √D (`l1`); for `cosine`, the cosine similarity.
 *
 * @param fi `[P, D]`
 * @param fj `[P, D]`
 * @returns `[P]`
 */
export function pairDistance(
  fi: tf.Tensor2D,
  fj: tf.Tensor2D,
  signal: Signal,
): tf.Tensor1D {
  if (signal === "cosine") {
    const dot = tf.sum(tf.mul(fi, fj), 1);
    const ni = tf.sqrt(tf.add(tf.sum(tf.square(fi), 1), 1e-12));
    const nj = tf.sqrt(tf.add(tf.sum(tf.square(fj), 1), 1e-12));
    return tf.div(dot, tf.mul(ni, nj)) as tf.Tensor1D;
  }
  const d = tf.sub(fi, fj);
  // L1 over √D: for differences of similar size in every coordinate that is
  // on the scale of the L2 distance (‖d‖₁/√D ≈ 0.8‖d‖₂ for Gaussian d), so
  // ½(‖d‖₁/√D)² has the per-coordinate gradient mean|d|·sign(d_k), where
  // L2's ½‖d‖² has d_k.
  if (signal === "l1") {
    return tf.div(tf.sum(tf.abs(d), 1), Math.sqrt(fi.shape[1])) as tf.Tensor1D;
  }
  const sq = tf.sum(tf.square(d), 1);
  // The epsilon keeps the gradient of the square root finite at d = 0.
  return (signal === "l2sq" ? sq : tf.sqrt(tf.add(sq, 1e-12))) as tf.Tensor1D;
}

/** Parameters of the cosine signal, `σ(w·d + b)`. */
export interface CosineParams {
  w: tf.Tensor;
  b: tf.Tensor;
}

/**
 * Mean verification loss over P pairs.
 *
 * @param fi features of the first images `[P, D]`
 * @param fj features of the second images `[P, D]`
 * @param same `[P]` float, 1 = same identity, 0 = different
 * @param margin m (ignored by `cosine`)
 * @param cosine `w`, `b` (only for `cosine`)
 */
export function verificationLoss(
  fi: tf.Tensor2D,
  fj: tf.Tensor2D,
  same: tf.Tensor1D,
  options: { signal: Signal; margin: number; cosine?: CosineParams },
): tf.Scalar {
  const { signal, margin } = options;
  const d = pairDistance(fi, fj, signal);
  if (signal === "cosine") {
    if (!options.cosine) throw new Error("the cosine signal needs w and b");
    const p = tf.sigmoid(tf.add(tf.mul(options.cosine.w, d), options.cosine.b));
    return tf.mean(tf.mul(0.5, tf.square(tf.sub(same, p))));
  }
  const diff = tf.sub(1, same);
  // l2sq is linear in its distance d (the squared L2 distance): ½d and
  // ½max(0, m − d). The L2 forms and L1 square: ½d², ½max(0, m − d)²
  // (`lib/PAPER.md`, "Signals").
  const linear = signal === "l2sq";
  const pos = linear ? tf.mul(0.5, d) : tf.mul(0.5, tf.square(d));
  const hinge = tf.relu(tf.sub(margin, d));
  const neg = tf.mul(0.5, linear ? hinge : tf.square(hinge));
  const terms = signal === "l2+"
    ? tf.mul(same, pos)
    : signal === "l2-"
    ? tf.mul(diff, neg)
    : tf.add(tf.mul(same, pos), tf.mul(diff, neg));
  return tf.mean(terms);
}

/**
 * The threshold t that minimises verification errors when pairs with
 * distance `< t` are called "same": exactly, over the midpoints between
 * sorted distinct distances (and below/above all of them). Ties go to the
 * smaller threshold. This is how the margin m is re-set: every so often, to
 * the threshold with the fewest verification errors on the most recent
 * training pairs (`lib/PAPER.md`, "Signals", the margin rule).
 *
 * @param distances pair distances
 * @param same 1/true = same identity
 * @returns `{ threshold, errors }`
 * @example
 * ```ts
 * bestThreshold([0.1, 0.2, 0.9, 1.1], [1, 1, 0, 0]); // { threshold: 0.55, errors: 0 }
 * ```
 */
export function bestThreshold(
  distances: ArrayLike<number>,
  same: ArrayLike<number | boolean>,
): { threshold: number; errors: number } {
  const n = distances.length;
  if (n === 0) throw new Error("bestThreshold needs at least one pair");
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    distances[a] - distances[b]
  );
  let positives = 0;
  for (let i = 0; i < n; i++) if (same[i]) positives++;
  // Threshold below everything: every pair called "different".
  let errors = positives;
  let best = { threshold: distances[order[0]] - 1e-6, errors };
  for (let k = 0; k < n;) {
    const v = distances[order[k]];
    // Move every pair with this distance to the "same" side.
    while (k < n && distances[order[k]] === v) {
      errors += same[order[k]] ? -1 : 1;
      k++;
    }
    const next = k < n ? distances[order[k]] : v + 1e-6;
    if (errors < best.errors) best = { threshold: (v + next) / 2, errors };
  }
  return best;
}

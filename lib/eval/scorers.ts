/**
 * Pair scores from features (lib/PAPER.md, "LFW protocol and file formats"):
 * the three scorers every experiment applies to each configuration's features
 * — L2 distance, cosine, Joint Bayesian. Convention everywhere: a higher
 * score means more likely the same person, so the L2 distance is negated.
 *
 * @module
 */

import type { Pair } from "../faces.ts";
import { fitJointBayesian, type JointBayesianModel } from "./joint_bayesian.ts";

/** Scores rows i and j of the feature matrix a scorer was prepared on. */
export type RowScoreFn = (i: number, j: number) => number;

/** A way of scoring pairs of feature vectors; higher = more likely the same. */
export interface Scorer {
  /** Short name for result tables: "l2", "cosine", "joint_bayesian". */
  readonly name: string;
  /**
   * Does the per-row work once (normalising, projecting) and returns a
   * function scoring two rows.
   *
   * @param features [N, D] row-major
   * @param dim D
   * @param indices the rows that will be scored (all by default)
   */
  prepare(
    features: ArrayLike<number>,
    dim: number,
    indices?: Iterable<number>,
  ): RowScoreFn;
}

function rowCount(features: ArrayLike<number>, dim: number): number {
  if (!Number.isInteger(dim) || dim < 1 || features.length % dim !== 0) {
    throw new RangeError(
      `features of length ${features.length} are not rows of ${dim}`,
    );
  }
  return features.length / dim;
}

function checkRow(i: number, n: number) {
  if (!(Number.isInteger(i) && i >= 0 && i < n)) {
    throw new RangeError(`row ${i} is outside the ${n} feature rows`);
  }
}

/**
 * Negated Euclidean distance, -||a - b||.
 *
 * @param a a feature vector
 * @param b another, same length
 * @returns the score, <= 0
 * @example
 * ```ts
 * l2Score([0, 0], [3, 4]); // -5
 * ```
 */
export function l2Score(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return 0 - Math.sqrt(s); // +0, not -0, for identical vectors
}

/**
 * Cosine similarity a.b / (|a| |b|); 0 when either vector is zero.
 *
 * @param a a feature vector
 * @param b another, same length
 * @returns the score, in [-1, 1]
 * @example
 * ```ts
 * cosineScore([1, 0], [1, 1]); // 0.7071...
 * ```
 */
export function cosineScore(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  let ab = 0, aa = 0, bb = 0;
  for (let k = 0; k < a.length; k++) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Negated L2 distance between feature vectors. */
export const l2Scorer: Scorer = {
  name: "l2",
  prepare(features, dim) {
    const n = rowCount(features, dim);
    return (i, j) => {
      checkRow(i, n);
      checkRow(j, n);
      let s = 0;
      const ri = i * dim, rj = j * dim;
      for (let k = 0; k < dim; k++) {
        s += (features[ri + k] - features[rj + k]) ** 2;
      }
      return 0 - Math.sqrt(s); // +0, not -0, for identical vectors
    };
  },
};

/** Cosine similarity of feature vectors. */
export const cosineScorer: Scorer = {
  name: "cosine",
  prepare(features, dim) {
    const n = rowCount(features, dim);
    const norms = new Float64Array(n); // [N]
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += features[i * dim + k] ** 2;
      norms[i] = Math.sqrt(s);
    }
    return (i, j) => {
      checkRow(i, n);
      checkRow(j, n);
      if (norms[i] === 0 || norms[j] === 0) return 0;
      let s = 0;
      const ri = i * dim, rj = j * dim;
      for (let k = 0; k < dim; k++) s += features[ri + k] * features[rj + k];
      return s / (norms[i] * norms[j]);
    };
  },
};

/**
 * A scorer from a fitted Joint Bayesian model: the log-likelihood ratio of
 * "same" against "different".
 *
 * @param model a model from `fitJointBayesian` (trained on held-out identities)
 * @returns the scorer
 * @example
 * ```ts
 * const scores = scorePairs(features, 160, pairs, jointBayesianScorer(model));
 * ```
 */
export function jointBayesianScorer(
  model: JointBayesianModel,
): Scorer & { model: JointBayesianModel } {
  return {
    name: "joint_bayesian",
    model,
    prepare: (features, dim, indices) => model.prepare(features, dim, indices),
  };
}

/**
 * The scorer for a name: "l2" or "cosine" (Joint Bayesian needs a model,
 * see {@linkcode jointBayesianScorer}).
 *
 * @param name the scorer's name
 * @returns the scorer
 * @example
 * ```ts
 * scorerByName("cosine").name; // "cosine"
 * ```
 */
export function scorerByName(name: string): Scorer {
  if (name === "l2") return l2Scorer;
  if (name === "cosine") return cosineScorer;
  throw new RangeError(`unknown scorer "${name}" (l2, cosine)`);
}

/**
 * Scores pairs of rows of a feature matrix.
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param pairs rows a and b of each pair
 * @param scorer how to score
 * @returns one score per pair, higher = more likely the same
 * @example
 * ```ts
 * scorePairs(new Float32Array([0, 0, 3, 4]), 2, [{ a: 0, b: 1 }], l2Scorer); // [-5]
 * ```
 */
export function scorePairs(
  features: ArrayLike<number>,
  dim: number,
  pairs: readonly Pick<Pair, "a" | "b">[],
  scorer: Scorer,
): Float64Array {
  const used = new Set<number>();
  for (const p of pairs) used.add(p.a).add(p.b);
  const score = scorer.prepare(features, dim, used);
  const out = new Float64Array(pairs.length);
  for (let k = 0; k < pairs.length; k++) out[k] = score(pairs[k].a, pairs[k].b);
  return out;
}

/** Options for {@linkcode scoreMatrix}. */
export interface ScoreMatrixOptions {
  /** Rows of the feature matrix that index the result's rows (e.g. probes). */
  rows: readonly number[];
  /** Rows of the feature matrix that index the result's columns (e.g. gallery). */
  cols: readonly number[];
  /** How to score. */
  scorer: Scorer;
}

/**
 * All scores between two sets of rows of a feature matrix.
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param options the row sets and the scorer
 * @returns [rows.length, cols.length] row-major
 * @example
 * ```ts
 * scoreMatrix(new Float32Array([1, 0, 0, 1]), 2, { rows: [0], cols: [0, 1], scorer: cosineScorer });
 * // [1, 0]
 * ```
 */
export function scoreMatrix(
  features: ArrayLike<number>,
  dim: number,
  options: ScoreMatrixOptions,
): Float64Array {
  const { rows, cols, scorer } = options;
  const score = scorer.prepare(features, dim, new Set([...rows, ...cols]));
  const out = new Float64Array(rows.length * cols.length);
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols.length; c++) {
      out[r * cols.length + c] = score(rows[r], cols[c]);
    }
  }
  return out;
}

/** Names of the three scorers of {@linkcode standardScorers}, in their order. */
export const STANDARD_SCORERS = ["l2", "cosine", "joint_bayesian"] as const;

/**
 * The three scorers every experiment reports: L2, cosine, and Joint
 * Bayesian fitted on held-out identities' features (`[N, dim]`, labels per
 * row) after PCA to `pcaDim`. A network whose features all died (every ReLU
 * of the DeepID2 layer at zero, which a too-large λ or learning rate can
 * cause) gives features with no variance: Joint Bayesian cannot be fitted
 * then, and it scores every pair alike (chance), as L2 and cosine do on such
 * features.
 */
export function standardScorers(
  heldOutLabels: Int32Array,
  heldOutFeatures: Float32Array,
  dim: number,
  pcaDim: number,
): Scorer[] {
  let jb: Scorer;
  if (heldOutFeatures.some((v) => v !== heldOutFeatures[0])) {
    jb = jointBayesianScorer(
      fitJointBayesian(heldOutFeatures, dim, heldOutLabels, {
        pcaDim,
        maxIter: 200,
      }),
    );
  } else {
    jb = { name: "joint_bayesian", prepare: () => () => 0 };
  }
  return [l2Scorer, cosineScorer, jb];
}

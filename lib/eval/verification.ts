/**
 * The LFW verification protocol (lib/PAPER.md, "LFW protocol and file
 * formats"): for each of the folds given by pairs.txt, the threshold that
 * maximises accuracy on the other folds is applied to the held-out fold;
 * accuracy is reported as mean, std and standard error over folds, with a
 * per-fold table, the pooled and fold-averaged ROC, AUC, EER and TAR at
 * FAR = 1e-3 and 1e-2.
 *
 * Thresholds are found exactly: every candidate is the midpoint between two
 * consecutive distinct training scores (or +/-Infinity at the ends), never a
 * grid. A pair is predicted "same" iff `score >= threshold`; a higher score
 * means more likely the same person.
 *
 * TAR at a FAR is reported two ways: (1) as facenet's VAL does, the
 * threshold is set on the training folds (the lowest threshold whose
 * training FAR is at most the target, found exactly rather than by
 * interpolation) and TAR and FAR are measured on the held-out fold, then
 * averaged over folds; (2) read off the pooled ROC (`pooled_tar_at_far_*`).
 * The std over folds is the population std (numpy's np.std, as facenet).
 *
 * @module
 */

import type { Pair } from "../faces.ts";
import { scorePairs, type Scorer } from "./scorers.ts";
import {
  auc,
  type AveragedRocPoint,
  eer,
  foldAveragedRoc,
  type RocCounts,
  rocCounts,
  rocCurve,
  type RocPoint,
  tarAtFar,
} from "./roc.ts";

/** One scored verification pair. */
export interface VerificationRow {
  /** Fold id (any integer; pairs.txt folds are 0-based). */
  fold: number;
  /** 1 = same identity, 0 = different. */
  label: 0 | 1;
  /** Higher = more likely the same person. */
  score: number;
}

/** One line of the per-fold table. */
export interface FoldResult {
  fold: number;
  n_pairs: number;
  /** Threshold that maximises accuracy on the other folds. */
  threshold: number;
  /** Accuracy of that threshold on the other folds. */
  train_accuracy: number;
  /** Accuracy of that threshold on this fold. */
  accuracy: number;
  /** Threshold with the highest training TAR at training FAR <= 1e-3. */
  "threshold_at_far_1e-3": number;
  /** TAR of that threshold on this fold. */
  "tar_at_far_1e-3": number;
  /** FAR of that threshold on this fold. */
  "far_at_far_1e-3": number;
  "threshold_at_far_1e-2": number;
  "tar_at_far_1e-2": number;
  "far_at_far_1e-2": number;
  "threshold_at_far_1e-1": number;
  "tar_at_far_1e-1": number;
  "far_at_far_1e-1": number;
}

/** Everything the protocol reports. */
export interface VerificationResult {
  num_folds: number;
  n_pairs: number;
  /** Mean over folds of the held-out accuracy. */
  accuracy_mean: number;
  /** Population std (numpy's np.std, as facenet) of the fold accuracies. */
  accuracy_std: number;
  /**
   * Standard error of the mean: the sample std (n − 1) of the fold
   * accuracies over sqrt(num_folds), as other LFW tools report it.
   */
  accuracy_se: number;
  /** AUC of the pooled ROC. */
  auc: number;
  /** EER of the pooled ROC. */
  eer: number;
  /** TAR at FAR 1e-3, threshold set on the training folds (facenet's VAL), mean over folds. */
  "tar_at_far_1e-3": number;
  /** TAR at FAR 1e-2, likewise. */
  "tar_at_far_1e-2": number;
  /** TAR at FAR 1e-1, likewise. */
  "tar_at_far_1e-1": number;
  /** FAR actually reached on the held-out folds by those thresholds, mean over folds. */
  "far_at_far_1e-3": number;
  "far_at_far_1e-2": number;
  "far_at_far_1e-1": number;
  /** TAR at FAR <= 1e-3 read off the pooled ROC (threshold chosen on all pairs). */
  "pooled_tar_at_far_1e-3": number;
  /** TAR at FAR <= 1e-2 read off the pooled ROC. */
  "pooled_tar_at_far_1e-2": number;
  /** Per-fold table, folds ascending. */
  folds: FoldResult[];
  /** ROC over all pairs pooled. */
  roc: RocPoint[];
  /** ROC averaged over folds on a common FPR grid. */
  roc_fold_averaged: AveragedRocPoint[];
  /** Each fold's own ROC (of its held-out pairs), folds ascending. */
  roc_folds: RocPoint[][];
}

/**
 * The threshold of ROC row `i` as a midpoint: halfway between the lowest
 * accepted distinct score and the next lower distinct score, `Infinity` when
 * nothing is accepted and `-Infinity` when everything is.
 */
function midpointThreshold(c: RocCounts, i: number): number {
  if (i === 0) return Infinity;
  if (i === c.thresholds.length - 1) return -Infinity;
  return (c.thresholds[i] + c.thresholds[i + 1]) / 2;
}

/**
 * The threshold that maximises accuracy on scored pairs, searched exactly
 * over the midpoints between consecutive distinct scores. Among equally
 * accurate thresholds the highest (strictest) wins, as facenet's argmax does.
 *
 * @param labels 1 = same, 0 = different
 * @param scores higher = more likely the same
 * @returns the threshold and the accuracy it reaches on these pairs
 * @example
 * ```ts
 * bestAccuracyThreshold([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]);
 * // { threshold: 0.375, accuracy: 1 }
 * ```
 */
export function bestAccuracyThreshold(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { threshold: number; accuracy: number } {
  const c = rocCounts(labels, scores);
  let best = 0, bestCorrect = -1;
  for (let i = 0; i < c.thresholds.length; i++) {
    const correct = c.tp[i] + c.numNeg - c.fp[i];
    if (correct > bestCorrect) {
      bestCorrect = correct;
      best = i;
    }
  }
  return {
    threshold: midpointThreshold(c, best),
    accuracy: bestCorrect / labels.length,
  };
}

/**
 * The threshold with the highest true accept rate whose false accept rate on
 * these pairs is at most `far` (a midpoint, like {@linkcode bestAccuracyThreshold}).
 *
 * @param labels 1 = same, 0 = different; at least one negative
 * @param scores higher = more likely the same
 * @param far the largest false accept rate allowed
 * @returns the threshold
 * @example
 * ```ts
 * thresholdAtFar([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.8], 0.5); // 0.25
 * ```
 */
export function thresholdAtFar(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  far: number,
): number {
  const c = rocCounts(labels, scores);
  if (c.numNeg === 0) throw new RangeError("no negatives to measure a FAR on");
  let best = 0;
  // fp is non-decreasing in i, so the last row within the FAR has the most TP.
  for (let i = 0; i < c.thresholds.length; i++) {
    if (c.fp[i] / c.numNeg <= far) best = i;
  }
  return midpointThreshold(c, best);
}

function acceptRates(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): { tar: number; far: number; accuracy: number } {
  let tp = 0, fp = 0, pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const accept = scores[i] >= threshold;
    if (labels[i] === 1) {
      pos++;
      if (accept) tp++;
    } else if (accept) fp++;
  }
  const neg = labels.length - pos;
  return {
    tar: tp / pos,
    far: fp / neg,
    accuracy: (tp + neg - fp) / labels.length,
  };
}

function meanOf(v: readonly number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/**
 * Runs the k-fold verification protocol on scored pairs.
 *
 * @param rows scored pairs with their fold; at least 2 folds, each with both
 *   labels (otherwise a RangeError)
 * @returns accuracy (mean, population std, standard error), per-fold table,
 *   pooled, per-fold and fold-averaged ROC, AUC, EER and TAR at FAR 1e-3 /
 *   1e-2 / 1e-1
 * @example
 * ```ts
 * const rows = [0, 1].flatMap((fold) => [
 *   { fold, label: 1 as const, score: 0.9 }, { fold, label: 0 as const, score: 0.1 },
 * ]);
 * evaluateVerification(rows).accuracy_mean; // 1
 * ```
 */
export function evaluateVerification(
  rows: readonly VerificationRow[],
): VerificationResult {
  const foldIds = [...new Set(rows.map((r) => r.fold))].sort((a, b) => a - b);
  if (foldIds.length < 2) {
    throw new RangeError(
      `the protocol needs at least 2 folds, got ${foldIds.length}`,
    );
  }
  const labels = Int8Array.from(rows, (r) => r.label);
  const scores = Float64Array.from(rows, (r) => r.score);
  const foldOf = Int32Array.from(rows, (r) => foldIds.indexOf(r.fold));
  const positives = new Int32Array(foldIds.length), sizes = positives.slice();
  for (let i = 0; i < rows.length; i++) {
    positives[foldOf[i]] += labels[i];
    sizes[foldOf[i]]++;
  }
  foldIds.forEach((id, k) => {
    if (positives[k] === 0 || positives[k] === sizes[k]) {
      throw new RangeError(
        `fold ${id} has only ${positives[k] ? "same" : "different"} pairs`,
      );
    }
  });

  const folds: FoldResult[] = [];
  const foldCurves: RocPoint[][] = [];
  for (let k = 0; k < foldIds.length; k++) {
    const test: number[] = [], train: number[] = [];
    for (let i = 0; i < rows.length; i++) {
      (foldOf[i] === k ? test : train).push(i);
    }
    const testLabels = test.map((i) => labels[i]);
    const testScores = test.map((i) => scores[i]);
    const trainLabels = train.map((i) => labels[i]);
    const trainScores = train.map((i) => scores[i]);
    foldCurves.push(rocCurve(testLabels, testScores));
    const best = bestAccuracyThreshold(trainLabels, trainScores);
    const val = (far: number) => {
      const t = thresholdAtFar(trainLabels, trainScores, far);
      return { t, ...acceptRates(testLabels, testScores, t) };
    };
    const [v3, v2, v1] = [val(1e-3), val(1e-2), val(1e-1)];
    folds.push({
      fold: foldIds[k],
      n_pairs: test.length,
      threshold: best.threshold,
      train_accuracy: best.accuracy,
      accuracy: acceptRates(testLabels, testScores, best.threshold).accuracy,
      "threshold_at_far_1e-3": v3.t,
      "tar_at_far_1e-3": v3.tar,
      "far_at_far_1e-3": v3.far,
      "threshold_at_far_1e-2": v2.t,
      "tar_at_far_1e-2": v2.tar,
      "far_at_far_1e-2": v2.far,
      "threshold_at_far_1e-1": v1.t,
      "tar_at_far_1e-1": v1.tar,
      "far_at_far_1e-1": v1.far,
    });
  }

  const acc = folds.map((f) => f.accuracy);
  const accMean = meanOf(acc);
  const accStd = Math.sqrt(meanOf(acc.map((a) => (a - accMean) ** 2)));
  const roc = rocCurve(labels, scores);
  return {
    num_folds: foldIds.length,
    n_pairs: rows.length,
    accuracy_mean: accMean,
    accuracy_std: accStd,
    accuracy_se: sampleStd(acc) / Math.sqrt(foldIds.length),
    auc: auc(roc),
    eer: eer(roc),
    "tar_at_far_1e-3": meanOf(folds.map((f) => f["tar_at_far_1e-3"])),
    "tar_at_far_1e-2": meanOf(folds.map((f) => f["tar_at_far_1e-2"])),
    "tar_at_far_1e-1": meanOf(folds.map((f) => f["tar_at_far_1e-1"])),
    "far_at_far_1e-3": meanOf(folds.map((f) => f["far_at_far_1e-3"])),
    "far_at_far_1e-2": meanOf(folds.map((f) => f["far_at_far_1e-2"])),
    "far_at_far_1e-1": meanOf(folds.map((f) => f["far_at_far_1e-1"])),
    "pooled_tar_at_far_1e-3": tarAtFar(roc, 1e-3),
    "pooled_tar_at_far_1e-2": tarAtFar(roc, 1e-2),
    folds,
    roc,
    roc_fold_averaged: foldAveragedRoc(foldCurves),
    roc_folds: foldCurves,
  };
}

/**
 * Pairs with their scores as protocol rows.
 *
 * @param pairs verification pairs (fold, same)
 * @param scores one score per pair, higher = more likely the same
 * @returns rows for {@linkcode evaluateVerification}
 * @example
 * ```ts
 * verificationRows([{ fold: 0, same: true, a: 0, b: 1 }], [0.7]);
 * // [{ fold: 0, label: 1, score: 0.7 }]
 * ```
 */
export function verificationRows(
  pairs: readonly Pick<Pair, "fold" | "same">[],
  scores: ArrayLike<number>,
): VerificationRow[] {
  if (pairs.length !== scores.length) {
    throw new RangeError(
      `${pairs.length} pairs but ${scores.length} scores`,
    );
  }
  return pairs.map((p, i) => ({
    fold: p.fold,
    label: p.same ? 1 : 0,
    score: scores[i],
  }));
}

/**
 * Scores the pairs of a test set's features (`[N, dim]`) with each scorer
 * and runs the LFW protocol on each: results by scorer name.
 */
export function verifyPairs(
  features: Float32Array,
  dim: number,
  pairs: Pair[],
  scorers: Scorer[],
): Map<string, VerificationResult> {
  const out = new Map<string, VerificationResult>();
  for (const s of scorers) {
    const scores = scorePairs(features, dim, pairs, s);
    out.set(
      s.name,
      evaluateVerification(
        pairs.map((p, k) => ({
          fold: p.fold,
          label: p.same ? 1 : 0,
          score: scores[k],
        })),
      ),
    );
  }
  return out;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for one value. */
function sampleStd(values: number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, v) => a + (v - m) ** 2, 0);
  return Math.sqrt(ss / (values.length - 1));
}

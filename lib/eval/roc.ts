/**
 * ROC analysis of verification scores (lib/PAPER.md, "LFW protocol and file
 * formats": ROC pooled and fold-averaged, AUC, EER, TAR at FAR = 1e-3 and
 * 1e-2).
 *
 * Convention everywhere: a higher score means "more likely the same person"
 * (distances are negated), and a pair is accepted as "same" when
 * `score >= threshold`. Tied scores are never split: all pairs with the same
 * score are accepted or rejected together, so a group of ties is one diagonal
 * step of the curve. The trapezoid AUC then equals the Mann-Whitney
 * probability with ties counted one half, and the EER is read off that
 * diagonal (as if ties were broken at random).
 *
 * @module
 */

/** One point of a ROC curve: accept iff `score >= threshold`. */
export interface RocPoint {
  /** False positive rate (false accept rate), FP / negatives. */
  fpr: number;
  /** True positive rate (true accept rate), TP / positives. */
  tpr: number;
  /** Score threshold; `Infinity` for the point that accepts nothing. */
  threshold: number;
}

/** A point of a fold-averaged ROC curve. */
export interface AveragedRocPoint {
  /** Grid value of the false positive rate. */
  fpr: number;
  /** Mean over folds of the interpolated true positive rate. */
  tpr: number;
  /** Population standard deviation over folds of the same. */
  tpr_std: number;
}

/** Cumulative counts behind a ROC curve, one entry per distinct threshold. */
export interface RocCounts {
  /** Distinct thresholds, descending; `thresholds[0]` is `Infinity`. */
  thresholds: Float64Array; // [R + 1]
  /** Positives with `score >= thresholds[i]`. */
  tp: Int32Array; // [R + 1]
  /** Negatives with `score >= thresholds[i]`. */
  fp: Int32Array; // [R + 1]
  /** Number of positives (label 1). */
  numPos: number;
  /** Number of negatives (label 0). */
  numNeg: number;
}

function checkInputs(labels: ArrayLike<number>, scores: ArrayLike<number>) {
  if (labels.length !== scores.length) {
    throw new RangeError(
      `labels (${labels.length}) and scores (${scores.length}) differ in length`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) {
      throw new RangeError(`label ${i} is ${labels[i]}, not 0 or 1`);
    }
    if (!Number.isFinite(scores[i])) {
      throw new RangeError(`score ${i} is ${scores[i]}, not a finite number`);
    }
  }
}

/**
 * Cumulative true/false accept counts at every distinct score, highest first.
 *
 * @param labels 1 = same identity, 0 = different
 * @param scores higher = more likely the same; finite
 * @returns counts at each distinct threshold (plus `Infinity` first)
 * @example
 * ```ts
 * const c = rocCounts([1, 0, 1], [0.9, 0.5, 0.5]);
 * // c.thresholds = [Infinity, 0.9, 0.5], c.tp = [0, 1, 2], c.fp = [0, 0, 1]
 * ```
 */
export function rocCounts(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): RocCounts {
  checkInputs(labels, scores);
  const n = labels.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a]);
  const thresholds = [Infinity];
  const tp = [0];
  const fp = [0];
  let t = 0, f = 0;
  for (let k = 0; k < n;) {
    const s = scores[order[k]];
    // One step per group of equal scores: ties are never split.
    while (k < n && scores[order[k]] === s) {
      if (labels[order[k]] === 1) t++;
      else f++;
      k++;
    }
    thresholds.push(s);
    tp.push(t);
    fp.push(f);
  }
  return {
    thresholds: Float64Array.from(thresholds),
    tp: Int32Array.from(tp),
    fp: Int32Array.from(fp),
    numPos: t,
    numNeg: f,
  };
}

/**
 * The ROC curve of a set of scored pairs, from (0, 0) to (1, 1).
 *
 * @param labels 1 = same identity, 0 = different; both classes must occur
 * @param scores higher = more likely the same
 * @returns one point per distinct threshold, threshold descending
 * @example
 * ```ts
 * rocCurve([1, 0], [0.8, 0.2]);
 * // [{fpr: 0, tpr: 0, threshold: Infinity}, {fpr: 0, tpr: 1, threshold: 0.8},
 * //  {fpr: 1, tpr: 1, threshold: 0.2}]
 * ```
 */
export function rocCurve(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): RocPoint[] {
  const c = rocCounts(labels, scores);
  if (c.numPos === 0 || c.numNeg === 0) {
    throw new RangeError(
      `a ROC needs both classes (${c.numPos} positives, ${c.numNeg} negatives)`,
    );
  }
  const out: RocPoint[] = new Array(c.thresholds.length);
  for (let i = 0; i < c.thresholds.length; i++) {
    out[i] = {
      fpr: c.fp[i] / c.numNeg,
      tpr: c.tp[i] / c.numPos,
      threshold: c.thresholds[i],
    };
  }
  return out;
}

/**
 * Area under a ROC curve by the trapezoid rule (equals the probability that a
 * random positive outscores a random negative, ties counted one half).
 *
 * @param roc points ordered by increasing fpr (as {@linkcode rocCurve} gives)
 * @returns the area, in [0, 1]
 * @example
 * ```ts
 * auc(rocCurve([1, 0], [0.8, 0.2])); // 1
 * ```
 */
export function auc(roc: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < roc.length; i++) {
    area += (roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr) / 2;
  }
  return area;
}

/**
 * Equal error rate: where the piecewise-linear ROC curve crosses
 * FPR = 1 - TPR (false accept rate = false reject rate).
 *
 * @param roc points from (0, 0) to (1, 1), ordered by increasing fpr
 * @returns the EER, in [0, 1]
 * @example
 * ```ts
 * eer(rocCurve([1, 0], [0.8, 0.2])); // 0
 * ```
 */
export function eer(roc: readonly RocPoint[]): number {
  const gap = (p: RocPoint) => 1 - p.tpr - p.fpr; // FRR - FAR
  for (let i = 1; i < roc.length; i++) {
    const h0 = gap(roc[i - 1]);
    const h1 = gap(roc[i]);
    if (h0 > 0 && h1 <= 0) {
      const t = h0 / (h0 - h1);
      return roc[i - 1].fpr + t * (roc[i].fpr - roc[i - 1].fpr);
    }
  }
  throw new RangeError("the ROC curve does not cross FPR = 1 - TPR");
}

/**
 * True accept rate at a false accept rate, read off a ROC curve without
 * interpolation: the highest TPR of any threshold whose FPR is at most `far`.
 *
 * @param roc points ordered by increasing fpr
 * @param far the largest false accept rate allowed, e.g. 1e-3
 * @returns the TAR, in [0, 1]
 * @example
 * ```ts
 * tarAtFar(rocCurve([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1]), 0.5); // 1
 * ```
 */
export function tarAtFar(roc: readonly RocPoint[], far: number): number {
  let best = 0;
  for (const p of roc) if (p.fpr <= far && p.tpr > best) best = p.tpr;
  return best;
}

/**
 * TPR of a ROC curve at a given FPR, interpolated linearly between points;
 * where the curve is vertical at `fpr` (several points share it) the highest
 * TPR is taken.
 *
 * @param roc points from (0, 0) to (1, 1), ordered by increasing fpr
 * @param fpr where to read the curve, in [0, 1]
 * @returns the TPR there
 * @example
 * ```ts
 * interpolateTpr([{fpr: 0, tpr: 0, threshold: 1}, {fpr: 1, tpr: 1, threshold: 0}], 0.25); // 0.25
 * ```
 */
export function interpolateTpr(roc: readonly RocPoint[], fpr: number): number {
  let lo = -1;
  for (let i = 0; i < roc.length; i++) {
    if (roc[i].fpr === fpr) {
      let best = roc[i].tpr;
      for (let j = i + 1; j < roc.length && roc[j].fpr === fpr; j++) {
        best = Math.max(best, roc[j].tpr);
      }
      return best;
    }
    if (roc[i].fpr < fpr) lo = i;
    else break;
  }
  if (lo < 0) return roc[0].tpr;
  if (lo === roc.length - 1) return roc[lo].tpr;
  const a = roc[lo], b = roc[lo + 1];
  return a.tpr + (fpr - a.fpr) / (b.fpr - a.fpr) * (b.tpr - a.tpr);
}

/**
 * The default FPR grid of fold-averaged curves: 0, 20 log-spaced points per
 * decade from 1e-4 to 1, and a linear grid in steps of 0.01.
 *
 * @returns ascending, distinct grid values in [0, 1]
 * @example
 * ```ts
 * defaultFprGrid()[0]; // 0
 * ```
 */
export function defaultFprGrid(): number[] {
  const grid = new Set<number>([0]);
  for (let k = 0; k <= 80; k++) {
    grid.add(Number((10 ** (-4 + k / 20)).toPrecision(12)));
  }
  for (let k = 1; k <= 100; k++) grid.add(Number((k / 100).toPrecision(12)));
  return [...grid].sort((a, b) => a - b);
}

/** Options for {@linkcode foldAveragedRoc}. */
export interface FoldAveragedRocOptions {
  /** FPR values at which to average; {@linkcode defaultFprGrid} by default. */
  grid?: readonly number[];
}

/**
 * Fold-averaged ROC: each fold's curve is read at a common FPR grid
 * ({@linkcode interpolateTpr}) and the TPRs are averaged over folds.
 *
 * @param curves one ROC curve per fold
 * @param options the FPR grid
 * @returns one point per grid value, with mean and population std of TPR
 * @example
 * ```ts
 * const a = rocCurve([1, 0], [1, 0]), b = rocCurve([1, 0], [0, 1]);
 * foldAveragedRoc([a, b], { grid: [0.5] }); // [{fpr: 0.5, tpr: 0.5, tpr_std: 0.5}]
 * ```
 */
export function foldAveragedRoc(
  curves: readonly (readonly RocPoint[])[],
  options: FoldAveragedRocOptions = {},
): AveragedRocPoint[] {
  if (curves.length === 0) throw new RangeError("no ROC curves to average");
  const grid = options.grid ?? defaultFprGrid();
  return grid.map((fpr) => {
    const v = curves.map((c) => interpolateTpr(c, fpr));
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
    return { fpr, tpr: mean, tpr_std: Math.sqrt(variance) };
  });
}

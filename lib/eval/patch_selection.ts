/**
 * The final system's patch selection (`lib/PAPER.md`, "Data and pipeline"):
 * the DeepID2 features of several patches are concatenated, reduced by PCA
 * and scored with Joint Bayesian; which patches go in is chosen greedily by
 * validation accuracy — forward passes that add the patch that helps most,
 * then backward passes that drop a patch whose removal does not hurt. The
 * paper selects 25 of 400 this way; it gives no more detail [U].
 *
 * Selection sees validation pairs and held-out faces only: its inputs have
 * no field for test features.
 *
 * @module
 */
import type { Pair } from "../faces.ts";
import { standardScorers } from "./scorers.ts";
import { verifyPairs } from "./verification.ts";

/**
 * Row-major concatenation of per-patch features of the same `n` faces:
 * part k is `[n, dims[k]]`; the result is `[n, Σ dims]`, face i's parts in
 * order.
 */
export function concatFeatures(
  parts: readonly Float32Array[],
  dims: readonly number[],
): Float32Array {
  if (parts.length !== dims.length || parts.length === 0) {
    throw new Error("concatFeatures: one dim per part, at least one part");
  }
  const n = parts[0].length / dims[0];
  const total = dims.reduce((a, b) => a + b, 0);
  const out = new Float32Array(n * total);
  let off = 0;
  parts.forEach((p, k) => {
    const d = dims[k];
    if (p.length !== n * d) {
      throw new Error(
        `concatFeatures: part ${k} has ${p.length} values, not ${n} x ${d}`,
      );
    }
    for (let i = 0; i < n; i++) {
      out.set(p.subarray(i * d, (i + 1) * d), i * total + off);
    }
    off += d;
  });
  return out;
}

/** One step of the greedy search: the set after it and its score. */
export interface SelectionStep {
  pass: "forward" | "backward";
  /** The candidate added (forward) or dropped (backward). */
  candidate: number;
  /** The set after the step, in the order added. */
  set: number[];
  score: number;
}

/** What {@linkcode greedySelect} found. */
export interface Selection {
  /** The chosen candidates, in the order they were added. */
  selected: number[];
  score: number;
  /** Every step, forward then backward (the selection curve). */
  steps: SelectionStep[];
}

/**
 * Greedy forward-backward selection of a subset of `count` candidates
 * that maximises `score(set)`.
 *
 * Forward: from the empty set, add the candidate with the best score, up
 * to `maxSize` (all by default), recording every step so that the curve of
 * score against set size can be drawn; the best set along the way is kept
 * (ties go to the smaller set). Backward: from that set, drop the member
 * whose removal scores best, as long as it scores at least as well as the
 * set with it (fewer patches for the same accuracy), down to one member.
 * Ties between candidates go to the lower index, so the result is
 * deterministic.
 */
export function greedySelect(
  count: number,
  score: (set: readonly number[]) => number,
  options: { maxSize?: number } = {},
): Selection {
  const maxSize = Math.min(count, options.maxSize ?? count);
  if (maxSize < 1) throw new Error("greedySelect: no candidates");
  const steps: SelectionStep[] = [];
  let set: number[] = [];
  let best = { set: [] as number[], score: -Infinity };
  while (set.length < maxSize) {
    let pick = -1, pickScore = -Infinity;
    for (let c = 0; c < count; c++) {
      if (set.includes(c)) continue;
      const s = score([...set, c]);
      if (s > pickScore) pick = c, pickScore = s;
    }
    set = [...set, pick];
    steps.push({ pass: "forward", candidate: pick, set, score: pickScore });
    if (pickScore > best.score) best = { set, score: pickScore };
  }
  set = best.set;
  let current = best.score;
  while (set.length > 1) {
    let drop = -1, dropScore = -Infinity;
    for (const c of set) {
      const s = score(set.filter((x) => x !== c));
      if (s > dropScore) drop = c, dropScore = s;
    }
    if (dropScore < current) break;
    set = set.filter((x) => x !== drop);
    current = dropScore;
    steps.push({ pass: "backward", candidate: drop, set, score: current });
  }
  return { selected: set, score: current, steps };
}

/** What selection may look at for one patch: validation and held-out features, `[N, dim]`. */
export interface SelectionFeatures {
  validation: Float32Array;
  heldOut: Float32Array;
  dim: number;
}

/** The data selection scores a set of patches on. */
export interface SelectionData {
  patches: readonly SelectionFeatures[];
  /** Identity labels of the held-out faces (Joint Bayesian's training set). */
  heldOutLabels: Int32Array;
  /** Pairs on the validation faces, in folds (10-fold protocol). */
  validationPairs: readonly Pair[];
  /** PCA dimension before Joint Bayesian (180 in the paper). */
  pcaDim: number;
}

/**
 * The validation accuracy of a set of patches: their features concatenated,
 * PCA to `pcaDim` and Joint Bayesian fitted on the held-out faces, 10-fold
 * accuracy on the validation pairs.
 */
export function validationScore(
  data: SelectionData,
  set: readonly number[],
): number {
  // In index order: the score is a function of the set, not of the order
  // the patches were added in.
  const parts = [...set].sort((a, b) => a - b).map((k) => data.patches[k]);
  const dims = parts.map((p) => p.dim);
  const dim = dims.reduce((a, b) => a + b, 0);
  const heldOut = concatFeatures(parts.map((p) => p.heldOut), dims);
  const validation = concatFeatures(parts.map((p) => p.validation), dims);
  // The experiments' own Joint Bayesian (the same fit `run.score` makes).
  const jb = standardScorers(data.heldOutLabels, heldOut, dim, data.pcaDim)
    .find((s) => s.name === "joint_bayesian")!;
  const v = verifyPairs(validation, dim, [...data.validationPairs], [jb]);
  return v.get("joint_bayesian")!.accuracy_mean;
}

/** Greedy selection of patches by {@linkcode validationScore}. */
export function selectPatches(
  data: SelectionData,
  options: { maxSize?: number } = {},
): Selection {
  const memo = new Map<string, number>();
  return greedySelect(data.patches.length, (set) => {
    const k = [...set].sort((a, b) => a - b).join(",");
    if (!memo.has(k)) memo.set(k, validationScore(data, set));
    return memo.get(k)!;
  }, options);
}

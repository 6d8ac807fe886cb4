/**
 * The validation split: faces and verification pairs on which every
 * accuracy-dependent choice (learning rate, steps, the λ of "the joint
 * model", patch selection) is made, so that the LFW View 2 test pairs are
 * used once, for the reported numbers (lib/PAPER.md, "LFW protocol and file
 * formats": thresholds are chosen by 10-fold cross-validation; the same
 * protocol runs on the validation pairs).
 *
 * Where the split comes from is decided in datasets/mod.ts; this module
 * holds the pieces shared by its routes:
 *
 * - {@linkcode view1Folds}: folds for LFW View 1 pairs, which have none;
 * - {@linkcode carveValidationIdentities}: a seeded share of identities;
 * - {@linkcode buildVerificationPairs}: seeded same / different pairs in 10
 *   folds from any FaceSet;
 * - {@linkcode foldShortfall}: whether every fold holds both kinds.
 *
 * @module
 */
import { Rng } from "../lib/base/rng.ts";
import type { FaceSet, Pair } from "../lib/faces.ts";

/** Folds of every validation pair list (as LFW View 2's 10). */
export const VALIDATION_FOLDS = 10;

/**
 * Same pairs (and as many different ones) of LFW View 1: 1100 in
 * `pairsDevTrain.txt` + 500 in `pairsDevTest.txt` (Huang et al. 2007). The
 * target size of seeded validation pairs, so that they resolve thresholds
 * about as finely as View 1 does.
 */
export const VIEW1_PAIRS_PER_KIND = 1600;

/**
 * Share of the identities carved out for validation when neither LFW View 1
 * nor CelebA's validation partition is there (CelebA's own validation
 * partition is about 10 % of its images; 5 % keeps more for training).
 */
export const DEFAULT_VALIDATION_FRACTION = 0.05;

/** Fewest validation identities: different pairs need two people. */
export const MIN_VALIDATION_IDENTITIES = 2;

/** Default number of carved-out validation identities among `n`. */
export function defaultValidationCount(n: number): number {
  return Math.max(
    MIN_VALIDATION_IDENTITIES,
    Math.round(DEFAULT_VALIDATION_FRACTION * n),
  );
}

/**
 * Folds for LFW View 1 pairs. View 1 has no folds of its own (each file is
 * one block of N same then N different pairs); these folds exist only so that
 * thresholds can be chosen on validation pairs by the same 10-fold protocol
 * as on View 2, and they are not identity-disjoint. The k-th same pair
 * (0-based, in file order over the files concatenated) goes to fold
 * ⌊10k / S⌋ where S is the number of same pairs, and likewise the k-th
 * different pair, so each fold holds equally many of each kind (±1).
 */
export function view1Folds(
  entries: readonly { same: boolean }[],
  folds: number = VALIDATION_FOLDS,
): number[] {
  const nSame = entries.filter((e) => e.same).length;
  const nDiff = entries.length - nSame;
  let kSame = 0, kDiff = 0;
  return entries.map((e) =>
    e.same
      ? Math.floor(folds * kSame++ / nSame)
      : Math.floor(folds * kDiff++ / nDiff)
  );
}

/**
 * A seeded choice of `count` identities of `set` (indices into
 * `set.identities`, sorted) to hold out for validation. Only identities with
 * at least two images are drawn, since only they give same pairs. Throws an
 * Error when fewer than `count` such identities exist.
 */
export function carveValidationIdentities(
  set: FaceSet,
  options: { count: number; seed: number },
): number[] {
  const { count } = options;
  if (!Number.isInteger(count) || count < MIN_VALIDATION_IDENTITIES) {
    throw new Error(
      `validation identities must be an integer >= ${MIN_VALIDATION_IDENTITIES}, got ${count}`,
    );
  }
  const perId = imagesPerIdentity(set);
  const candidates: number[] = [];
  perId.forEach((k, id) => {
    if (k >= 2) candidates.push(id);
  });
  if (candidates.length < count) {
    throw new Error(
      `asked for ${count} validation identities, the data has ${candidates.length} with 2 or more images`,
    );
  }
  return Rng.derive(options.seed, "validation-identities")
    .shuffle(candidates).slice(0, count).sort((a, b) => a - b);
}

function imagesPerIdentity(set: FaceSet): number[] {
  const perId = new Array<number>(set.identities.length).fill(0);
  for (const l of set.labels) perId[l]++;
  return perId;
}

/**
 * Seeded verification pairs on `set`, in {@linkcode VALIDATION_FOLDS} folds:
 * n distinct same pairs and n distinct different pairs, n =
 * min(`pairsPerKind`, same pairs the identities allow, different pairs they
 * allow); the k-th pair of each kind goes to fold ⌊10k / n⌋ (as
 * {@linkcode view1Folds}; the folds are for threshold selection and are not
 * identity-disjoint). Returned ordered by fold, same pairs first, as in
 * `pairs.txt`. Deterministic from `seed` and `set`'s labels.
 */
export function buildVerificationPairs(
  set: FaceSet,
  options: { seed: number; pairsPerKind?: number; folds?: number },
): Pair[] {
  const target = options.pairsPerKind ?? VIEW1_PAIRS_PER_KIND;
  const folds = options.folds ?? VALIDATION_FOLDS;
  const rng = Rng.derive(options.seed, "validation-pairs");
  // Images grouped by identity: order[start[id] .. start[id + 1]).
  const perId = imagesPerIdentity(set);
  const start = new Array<number>(perId.length + 1).fill(0);
  perId.forEach((k, id) => start[id + 1] = start[id] + k);
  const order = new Int32Array(set.labels.length);
  const fill = start.slice(0, perId.length);
  set.labels.forEach((l, i) => order[fill[l]++] = i);
  const nImages = set.labels.length;
  const sameTotal = perId.reduce((s, k) => s + k * (k - 1) / 2, 0);
  const diffTotal = (nImages * nImages - perId.reduce((s, k) => s + k * k, 0)) /
    2;
  const n = Math.min(target, sameTotal, diffTotal);

  const same = takeDistinct(n, sameTotal, rng, () => {
    const all: [number, number][] = [];
    perId.forEach((k, id) => {
      for (let x = 0; x < k; x++) {
        for (let y = x + 1; y < k; y++) {
          all.push([order[start[id] + x], order[start[id] + y]]);
        }
      }
    });
    return all;
  }, () => {
    // Identity weighted by its number of same pairs, then two of its images.
    const cum: number[] = [];
    let acc = 0;
    for (const k of perId) cum.push(acc += k * (k - 1) / 2);
    return () => {
      const r = rng.next() * acc;
      let lo = 0, hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      const k = perId[lo];
      const x = rng.int(k);
      let y = rng.int(k - 1);
      if (y >= x) y++;
      return [order[start[lo] + x], order[start[lo] + y]];
    };
  });
  const diff = takeDistinct(n, diffTotal, rng, () => {
    const all: [number, number][] = [];
    for (let p = 0; p < perId.length; p++) {
      for (let q = p + 1; q < perId.length; q++) {
        for (let x = start[p]; x < start[p + 1]; x++) {
          for (let y = start[q]; y < start[q + 1]; y++) {
            all.push([order[x], order[y]]);
          }
        }
      }
    }
    return all;
  }, () => () => {
    // A uniform image, then a uniform image of another identity.
    const x = rng.int(nImages);
    const id = set.labels[order[x]];
    let y = rng.int(nImages - perId[id]);
    if (y >= start[id]) y += perId[id];
    return [order[x], order[y]];
  });

  const byFold: Pair[][] = Array.from({ length: folds }, () => []);
  for (const [list, isSame] of [[same, true], [diff, false]] as const) {
    list.forEach(([a, b], k) =>
      byFold[Math.floor(folds * k / list.length)].push({
        fold: Math.floor(folds * k / list.length),
        same: isSame,
        a,
        b,
      })
    );
  }
  return byFold.flat();
}

/**
 * `n` distinct unordered pairs in a random order: all of them enumerated and
 * shuffled when there are few (at most 2n, where rejection sampling would
 * slow down), else drawn by `sampler` and deduplicated.
 */
function takeDistinct(
  n: number,
  total: number,
  rng: Rng,
  enumerate: () => [number, number][],
  makeSampler: () => () => [number, number],
): [number, number][] {
  const norm = ([a, b]: [number, number]): [number, number] =>
    a < b ? [a, b] : [b, a];
  if (total <= 2 * n) {
    return rng.shuffle(enumerate().map(norm)).slice(0, n);
  }
  const draw = makeSampler();
  const seen = new Set<string>();
  const out: [number, number][] = [];
  while (out.length < n) {
    const p = norm(draw());
    const key = `${p[0]},${p[1]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/**
 * What is missing for every fold to hold same and different pairs: null
 * when nothing is, else a sentence such as "fold 3 has no same pair (5 same
 * and 12 different pairs in all)".
 */
export function foldShortfall(
  pairs: readonly Pair[],
  folds: number = VALIDATION_FOLDS,
): string | null {
  const has = Array.from({ length: folds }, () => [false, false]);
  let nSame = 0;
  for (const p of pairs) {
    if (p.fold >= 0 && p.fold < folds) has[p.fold][p.same ? 0 : 1] = true;
    if (p.same) nSame++;
  }
  for (let f = 0; f < folds; f++) {
    for (const k of [0, 1]) {
      if (!has[f][k]) {
        return `fold ${f} has no ${
          k === 0 ? "same" : "different"
        } pair (${nSame} same and ${
          pairs.length - nSame
        } different pairs in all; ${folds} folds need at least ${folds} of each)`;
      }
    }
  }
  return null;
}

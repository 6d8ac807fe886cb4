/**
 * Face identification on LFW (paper Table 3), a reconstruction of the
 * protocol of Best-Rowden et al. 2014 ("Unconstrained face recognition:
 * identifying a person of interest from a media collection"). Their
 * gallery/probe lists are not public, so the lists are built here from a seed
 * and the experiment is repeated over several seeds (mean ± population std).
 *
 * - Closed set: one seeded gallery image per identity (identities with a
 *   single image are then gallery-only distractors); all other images are
 *   probes. Rank-1 rate and the cumulative match characteristic (CMC).
 * - Open set: a seeded subset of the identities with 2+ images is enrolled
 *   (one gallery image each); their other images are genuine probes, all
 *   images of the other identities are impostor probes. The threshold is set
 *   on the impostors' best gallery scores so that at most FAR (1 %) of them
 *   exceed it; the detection-and-identification rate (DIR) is the fraction of
 *   genuine probes whose best match is their own identity and whose score
 *   exceeds the threshold.
 *
 * Ties count against the probe: a true match is at rank r when r - 1 other
 * gallery identities score at least as high, and a genuine probe must score
 * strictly above the threshold. Higher score = more similar.
 *
 * @module
 */

import { Rng } from "../base/rng.ts";
import type { RowScoreFn, Scorer } from "./scorers.ts";

/** The label of this reconstruction, printed with every result. */
export const IDENTIFICATION_PROTOCOL =
  "reconstruction of the Best-Rowden et al. 2014 LFW identification protocol (lists built from seeds; the official lists are not public)";

/** Labels of the probes and gallery entries behind a score matrix. */
export interface MatrixLabels {
  /** Identity of each probe (row), length P. */
  probeLabels: ArrayLike<number>;
  /** Identity of each gallery entry (column), length G. */
  galleryLabels: ArrayLike<number>;
}

/** Closed-set identification metrics. */
export interface ClosedSetMetrics {
  /** Fraction of probes whose identity ranks first. */
  rank1: number;
  /** cmc[r - 1] = fraction of probes whose identity ranks r or better. */
  cmc: number[];
  numProbes: number;
  /** Number of gallery identities. */
  numGallery: number;
}

/** Open-set identification metrics. */
export interface OpenSetMetrics {
  /** Detection-and-identification rate at the threshold. */
  dir: number;
  /** Threshold on the best score: detected iff best score > threshold. */
  threshold: number;
  /** Fraction of impostor probes above the threshold (<= the target). */
  far: number;
  numGenuine: number;
  numImpostors: number;
}

/** Distinct gallery identities and, per column, its identity's slot. */
function galleryIdentities(
  galleryLabels: ArrayLike<number>,
): { ids: number[]; slotOf: Int32Array; slot: Map<number, number> } {
  const ids = [...new Set(Array.from(galleryLabels))];
  const slot = new Map(ids.map((id, k) => [id, k]));
  const slotOf = Int32Array.from(
    Array.from(galleryLabels),
    (l) => slot.get(l)!,
  );
  return { ids, slotOf, slot };
}

/** One probe's scores against every gallery entry, [G]. */
type ProbeRow = (probe: number) => Float64Array;

/** Best score of each gallery identity (max over its entries). */
function bestPerIdentity(
  row: Float64Array,
  slotOf: Int32Array,
  out: Float64Array,
) {
  out.fill(-Infinity);
  for (let c = 0; c < slotOf.length; c++) {
    if (row[c] > out[slotOf[c]]) out[slotOf[c]] = row[c];
  }
}

/** Rows of a [P, G] matrix, as views. */
function matrixRows(scores: Float64Array, labels: MatrixLabels): ProbeRow {
  checkMatrix(scores, labels);
  const g = labels.galleryLabels.length;
  return (r) => scores.subarray(r * g, (r + 1) * g);
}

function checkMatrix(scores: Float64Array, labels: MatrixLabels) {
  const p = labels.probeLabels.length, g = labels.galleryLabels.length;
  if (scores.length !== p * g) {
    throw new RangeError(
      `score matrix of length ${scores.length} is not ${p} probes x ${g} gallery`,
    );
  }
  if (g === 0) throw new RangeError("empty gallery");
}

/**
 * Closed-set rank-1 rate and CMC from a probe x gallery score matrix. A
 * gallery identity's score is the best over its gallery entries.
 *
 * @param scores [P, G] row-major, higher = more similar
 * @param options labels of rows and columns; every probe's identity must be in
 *   the gallery; `maxRank` (default: number of gallery identities) sets the CMC length
 * @returns rank-1 rate and CMC
 * @example
 * ```ts
 * closedSetMetrics(new Float64Array([0.9, 0.1, 0.8, 0.7]), {
 *   probeLabels: [0, 0], galleryLabels: [0, 1],
 * }); // { rank1: 1, cmc: [1, 1], ... }
 * ```
 */
export function closedSetMetrics(
  scores: Float64Array,
  options: MatrixLabels & { maxRank?: number },
): ClosedSetMetrics {
  return closedSet(matrixRows(scores, options), options);
}

function closedSet(
  rowOf: ProbeRow,
  options: MatrixLabels & { maxRank?: number },
): ClosedSetMetrics {
  const { ids, slotOf, slot } = galleryIdentities(options.galleryLabels);
  const maxRank = Math.min(options.maxRank ?? ids.length, ids.length);
  const hits = new Float64Array(maxRank);
  const best = new Float64Array(ids.length);
  const p = options.probeLabels.length;
  for (let r = 0; r < p; r++) {
    const own = slot.get(options.probeLabels[r]);
    if (own === undefined) {
      throw new RangeError(
        `probe ${r} (identity ${options.probeLabels[r]}) has no gallery entry`,
      );
    }
    bestPerIdentity(rowOf(r), slotOf, best);
    let rank = 1;
    for (let k = 0; k < ids.length; k++) {
      if (k !== own && best[k] >= best[own]) rank++;
    }
    if (rank <= maxRank) hits[rank - 1]++;
  }
  const cmc: number[] = [];
  let acc = 0;
  for (let k = 0; k < maxRank; k++) {
    acc += hits[k];
    cmc.push(p > 0 ? acc / p : 0);
  }
  return { rank1: cmc[0] ?? 0, cmc, numProbes: p, numGallery: ids.length };
}

/**
 * Open-set detection-and-identification rate at a false accept rate. Probes
 * whose identity is not in the gallery are impostors.
 *
 * @param scores [P, G] row-major, higher = more similar
 * @param options labels of rows and columns, and `far` (default 0.01)
 * @returns DIR, the threshold and the FAR reached
 * @example
 * ```ts
 * openSetMetrics(new Float64Array([0.9, 0.2, 0.5, 0.4]), {
 *   probeLabels: [0, 7], galleryLabels: [0, 1], far: 0,
 * }); // { dir: 1, threshold: 0.5, far: 0, ... }
 * ```
 */
export function openSetMetrics(
  scores: Float64Array,
  options: MatrixLabels & { far?: number },
): OpenSetMetrics {
  return openSet(matrixRows(scores, options), options);
}

function openSet(
  rowOf: ProbeRow,
  options: MatrixLabels & { far?: number },
): OpenSetMetrics {
  const far = options.far ?? 0.01;
  const { ids, slotOf, slot } = galleryIdentities(options.galleryLabels);
  const best = new Float64Array(ids.length);
  const impostorBest: number[] = [];
  const genuine: { top: number; correct: boolean }[] = [];
  for (let r = 0; r < options.probeLabels.length; r++) {
    bestPerIdentity(rowOf(r), slotOf, best);
    const own = slot.get(options.probeLabels[r]);
    let top = -Infinity;
    for (let k = 0; k < ids.length; k++) if (best[k] > top) top = best[k];
    if (own === undefined) {
      impostorBest.push(top);
    } else {
      let correct = true;
      for (let k = 0; k < ids.length; k++) {
        if (k !== own && best[k] >= best[own]) correct = false;
      }
      genuine.push({ top, correct });
    }
  }
  if (impostorBest.length === 0 || genuine.length === 0) {
    throw new RangeError(
      `open set needs genuine and impostor probes (${genuine.length}, ${impostorBest.length})`,
    );
  }
  impostorBest.sort((a, b) => b - a);
  // At most k impostors may exceed the threshold: it is the (k+1)-th best.
  const k = Math.floor(far * impostorBest.length + 1e-9);
  const threshold = k < impostorBest.length ? impostorBest[k] : -Infinity;
  const above = impostorBest.filter((s) => s > threshold).length;
  const found = genuine.filter((g) => g.correct && g.top > threshold).length;
  return {
    dir: found / genuine.length,
    threshold,
    far: above / impostorBest.length,
    numGenuine: genuine.length,
    numImpostors: impostorBest.length,
  };
}

/** Rows of each identity, in row order. */
function imagesById(labels: ArrayLike<number>): Map<number, number[]> {
  const by = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = by.get(labels[i]) ?? [];
    list.push(i);
    by.set(labels[i], list);
  }
  return by;
}

/** A closed-set gallery/probe split (image rows). */
export interface ClosedSetSplit {
  gallery: number[];
  probes: number[];
}

/**
 * Closed-set split: one seeded gallery image per identity, the rest probes.
 *
 * @param labels identity of each image
 * @param seed drives which image is enrolled
 * @returns gallery and probe rows, ascending
 * @example
 * ```ts
 * closedSetSplit([0, 0, 1], 1); // gallery: one of rows 0, 1 plus row 2; probes: the other
 * ```
 */
export function closedSetSplit(
  labels: ArrayLike<number>,
  seed: number,
): ClosedSetSplit {
  const rng = Rng.derive(seed, "closed-set");
  const gallery: number[] = [], probes: number[] = [];
  for (const rows of imagesById(labels).values()) {
    const pick = rng.int(rows.length);
    rows.forEach((r, k) => (k === pick ? gallery : probes).push(r));
  }
  return {
    gallery: gallery.sort((a, b) => a - b),
    probes: probes.sort((a, b) => a - b),
  };
}

/** An open-set split (image rows). */
export interface OpenSetSplit {
  gallery: number[];
  genuineProbes: number[];
  impostorProbes: number[];
}

/**
 * Open-set split: a seeded fraction of the identities with 2+ images is
 * enrolled with one seeded image; their other images are genuine probes and
 * every image of the other identities is an impostor probe.
 *
 * @param labels identity of each image
 * @param options seed and `enrolledFraction` (default 596 / 1680, the share of
 *   LFW's 2+-image identities that Best-Rowden et al. enrol [U])
 * @returns gallery, genuine and impostor rows, ascending
 * @example
 * ```ts
 * openSetSplit([0, 0, 1, 1, 2], { seed: 1, enrolledFraction: 0.5 });
 * ```
 */
export function openSetSplit(
  labels: ArrayLike<number>,
  options: { seed: number; enrolledFraction?: number },
): OpenSetSplit {
  const fraction = options.enrolledFraction ?? 596 / 1680;
  const rng = Rng.derive(options.seed, "open-set");
  const by = imagesById(labels);
  const eligible = [...by.keys()].filter((id) => by.get(id)!.length >= 2);
  rng.shuffle(eligible);
  const count = Math.max(1, Math.round(fraction * eligible.length));
  const enrolled = new Set(eligible.slice(0, count));
  const gallery: number[] = [], genuine: number[] = [], impostor: number[] = [];
  for (const [id, rows] of by) {
    if (!enrolled.has(id)) {
      impostor.push(...rows);
      continue;
    }
    const pick = rng.int(rows.length);
    rows.forEach((r, k) => (k === pick ? gallery : genuine).push(r));
  }
  const asc = (a: number, b: number) => a - b;
  return {
    gallery: gallery.sort(asc),
    genuineProbes: genuine.sort(asc),
    impostorProbes: impostor.sort(asc),
  };
}

/** Where identification scores come from: a function or features + scorer. */
export type ScoreSource =
  | {
    /** Identity of each image, length N. */
    labels: ArrayLike<number>;
    /** Score of (probe row, gallery row), higher = more similar. */
    score: RowScoreFn;
  }
  | {
    labels: ArrayLike<number>;
    /** [N, D] row-major. */
    features: ArrayLike<number>;
    dim: number;
    scorer: Scorer;
  };

/** Options for {@linkcode evaluateIdentification}. */
export interface IdentificationOptions {
  /** Seeds of the repeated splits; [1, 2, 3, 4, 5]. */
  seeds?: readonly number[];
  /** Open-set false accept rate; 0.01. */
  far?: number;
  /** Share of 2+-image identities enrolled in the open set. */
  enrolledFraction?: number;
  /** CMC length; 20. */
  maxRank?: number;
}

/** Results over several seeds. */
export interface IdentificationResult {
  protocol: string;
  seeds: number[];
  far: number;
  closed_rank1_mean: number;
  /** Population std over seeds. */
  closed_rank1_std: number;
  /** Mean CMC over seeds, index r - 1 = rank r. */
  closed_cmc_mean: number[];
  open_dir_mean: number;
  /** Population std over seeds. */
  open_dir_std: number;
  per_seed: { seed: number; closed: ClosedSetMetrics; open: OpenSetMetrics }[];
}

/** Probe rows computed on demand (a LFW-sized matrix would take 100s of MB). */
function probeRows(
  source: ScoreSource,
  probes: number[],
  gallery: number[],
): ProbeRow {
  const score = "scorer" in source
    ? source.scorer.prepare(
      source.features,
      source.dim,
      new Set([...probes, ...gallery]),
    )
    : source.score;
  const row = new Float64Array(gallery.length);
  return (r) => {
    for (let c = 0; c < gallery.length; c++) {
      row[c] = score(probes[r], gallery[c]);
    }
    return row;
  };
}

function meanStd(v: number[]): [number, number] {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  return [mean, Math.sqrt(variance)];
}

/**
 * Closed- and open-set identification, repeated over seeded splits.
 *
 * @param source labels plus a score function or features and a scorer
 * @param options seeds, FAR, enrolled fraction, CMC length
 * @returns means and stds over seeds and the per-seed metrics, labelled as a
 *   reconstruction of the Best-Rowden et al. protocol
 * @example
 * ```ts
 * const r = evaluateIdentification({ labels, features, dim: 160, scorer: cosineScorer });
 * console.log(r.protocol, r.closed_rank1_mean, r.open_dir_mean);
 * ```
 */
export function evaluateIdentification(
  source: ScoreSource,
  options: IdentificationOptions = {},
): IdentificationResult {
  const seeds = [...(options.seeds ?? [1, 2, 3, 4, 5])];
  const far = options.far ?? 0.01;
  const labels = source.labels;
  const pick = (rows: number[]) => rows.map((r) => labels[r]);
  const perSeed = seeds.map((seed) => {
    const cs = closedSetSplit(labels, seed);
    const closed = closedSet(probeRows(source, cs.probes, cs.gallery), {
      probeLabels: pick(cs.probes),
      galleryLabels: pick(cs.gallery),
      maxRank: options.maxRank ?? 20,
    });
    const os = openSetSplit(labels, {
      seed,
      enrolledFraction: options.enrolledFraction,
    });
    const probes = [...os.genuineProbes, ...os.impostorProbes];
    const open = openSet(probeRows(source, probes, os.gallery), {
      probeLabels: pick(probes),
      galleryLabels: pick(os.gallery),
      far,
    });
    return { seed, closed, open };
  });
  const [r1, r1s] = meanStd(perSeed.map((s) => s.closed.rank1));
  const [dir, dirs] = meanStd(perSeed.map((s) => s.open.dir));
  const cmcLen = Math.min(...perSeed.map((s) => s.closed.cmc.length));
  const cmc = Array.from(
    { length: cmcLen },
    (_, k) => meanStd(perSeed.map((s) => s.closed.cmc[k]))[0],
  );
  return {
    protocol: IDENTIFICATION_PROTOCOL,
    seeds,
    far,
    closed_rank1_mean: r1,
    closed_rank1_std: r1s,
    closed_cmc_mean: cmc,
    open_dir_mean: dir,
    open_dir_std: dirs,
    per_seed: perSeed,
  };
}

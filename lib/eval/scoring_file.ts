/**
 * What scored a trained model, saved beside it: `<cache>/models/<key>.scoring.json`.
 * A model's verification numbers depend on more than its weights — the PCA
 * and Joint Bayesian fitted on the held-out identities' features, and, to
 * call one pair "same" or "different", a threshold — so a tool that
 * compares two new faces with the model (`deno task verify`) or scores a
 * features file with its Joint Bayesian (`deno task evaluate --scoring`)
 * needs those too. This module builds them from the features an experiment
 * scored the model with, and saves and loads them.
 *
 * The file (JSON, `format: "deepid2-scoring"`, `version: 1`):
 *
 * - `model`: the model key (the `.model` file's name);
 * - `featureDim`: the DeepID2 layer's width (160);
 * - `crop`: the crop the network sees (`height`, `width` in pixels, `gray`,
 *   and `patch` `{cx, cy, zoom}` for a patch network of the final system;
 *   the same fields as the loaders' crop options);
 * - `jointBayesian`: the PCA (mean, components) and Joint Bayesian model
 *   fitted on the held-out features, exactly as `standardScorers` fits it
 *   (`JointBayesianModel.toJSON`); null when those features have no
 *   variance (every DeepID2 unit dead: the model scores every pair alike);
 * - `pcaDim`: the PCA dimension asked for (the model's own may be lower:
 *   clipped to the data's rank);
 * - `thresholds`: per scorer (`l2`, `cosine`, `joint_bayesian`) the
 *   threshold that maximises accuracy over all validation pairs pooled
 *   (`bestAccuracyThreshold`: a pair is "same" iff `score >= threshold`; a
 *   higher score means more alike, so l2's score is the negated distance)
 *   and the accuracy it reaches there; ±Infinity written as the strings
 *   `"Infinity"` / `"-Infinity"`;
 * - `validation`: the number of validation pairs (same, different) the
 *   thresholds were chosen on; `heldOut`: the images and identities that
 *   fitted the Joint Bayesian model;
 * - `inputs`: SHA-256 of everything it was built from (features, labels,
 *   pairs, crop, dimensions), so that {@linkcode writeScoringFile} does not
 *   fit the same model again when several experiments score one network.
 *
 * Standalone (the library's rule): the crop is plain data, not the loaders'
 * type.
 *
 * @module
 */
import { InputError, sha256Hex, writeTextAtomic } from "../base/io.ts";
import type { Pair } from "../faces.ts";
import {
  fitJointBayesian,
  type JointBayesianJson,
  JointBayesianModel,
} from "./joint_bayesian.ts";
import {
  cosineScorer,
  jointBayesianScorer,
  l2Scorer,
  scorePairs,
  type Scorer,
  STANDARD_SCORERS,
} from "./scorers.ts";
import { bestAccuracyThreshold } from "./verification.ts";

/** A scorer's name: `l2`, `cosine` or `joint_bayesian`. */
export type ScorerName = typeof STANDARD_SCORERS[number];

/** The crop a network sees (the loaders' crop options, as plain data). */
export interface ScoringCrop {
  /** Crop height and width in pixels (55 x 47; 47 x 47 for square patches). */
  height: number;
  width: number;
  /** One gray channel instead of RGB. */
  gray: boolean;
  /** A face patch of the final system: centre in template pixels and zoom. */
  patch?: { cx: number; cy: number; zoom: number };
}

/** One scorer's validation threshold. */
export interface ScoringThreshold {
  /** "same" iff `score >= threshold` (score units of the scorer). */
  threshold: number;
  /** Accuracy of that threshold on the validation pairs, in [0, 1]. */
  accuracy: number;
}

/** The contents of a scoring file (see the module doc). */
export interface ScoringFile {
  format: "deepid2-scoring";
  version: 1;
  /** The model key (24 hex). */
  model: string;
  featureDim: number;
  crop: ScoringCrop;
  pcaDim: number;
  /** The PCA + Joint Bayesian model; null when it could not be fitted. */
  jointBayesian: JointBayesianJson | null;
  /** Per scorer; `joint_bayesian` null when the model is null. */
  thresholds: Record<ScorerName, ScoringThreshold | null>;
  validation: { pairs: number; same: number; different: number };
  heldOut: { images: number; identities: number };
  /** SHA-256 (hex) of the inputs it was built from ({@linkcode scoringInputsHash}). */
  inputs?: string;
}

/** What {@linkcode buildScoringFile} needs: plain arrays, no tensors. */
export interface ScoringInputs {
  /** The model key. */
  model: string;
  crop: ScoringCrop;
  /** Feature dimension D. */
  dim: number;
  /** PCA dimension before the Joint Bayesian model (the run's `jbPcaDim`). */
  pcaDim: number;
  /** Held-out faces' features `[N, D]` and identity labels `[N]`. */
  heldOutFeatures: Float32Array;
  heldOutLabels: Int32Array;
  /** Validation faces' features `[M, D]` and the pairs over their rows. */
  validationFeatures: Float32Array;
  validationPairs: readonly Pair[];
  /**
   * The Joint Bayesian model already fitted on these held-out features
   * (the run's scorer), so it is not fitted twice; null: not fittable.
   */
  fitted?: JointBayesianModel | null;
}

/** The three scorers of a scoring file, by name (`joint_bayesian` absent when not fitted). */
export type ScoringScorers = Partial<Record<ScorerName, Scorer>>;

/** The Joint Bayesian fit of `standardScorers` (same options, so the same model). */
function fitAsStandard(inputs: ScoringInputs): JointBayesianModel | null {
  const f = inputs.heldOutFeatures;
  if (!f.some((v) => v !== f[0])) return null; // no variance: not fittable
  return fitJointBayesian(f, inputs.dim, inputs.heldOutLabels, {
    pcaDim: inputs.pcaDim,
    maxIter: 200,
  });
}

/**
 * Fits the PCA + Joint Bayesian model on the held-out features, as the
 * experiments do, and chooses each scorer's threshold on the validation
 * pairs pooled.
 *
 * @returns the file's contents and the scorers they define
 */
export function buildScoringFile(
  inputs: ScoringInputs,
): { file: ScoringFile; scorers: ScoringScorers } {
  const { dim, validationPairs: pairs } = inputs;
  if (inputs.heldOutFeatures.length !== inputs.heldOutLabels.length * dim) {
    throw new RangeError(
      `held-out features of length ${inputs.heldOutFeatures.length} are not ${inputs.heldOutLabels.length} rows of ${dim}`,
    );
  }
  if (pairs.length === 0) throw new RangeError("no validation pairs");
  const jb = inputs.fitted !== undefined
    ? inputs.fitted
    : fitAsStandard(inputs);
  const scorers: ScoringScorers = { l2: l2Scorer, cosine: cosineScorer };
  if (jb) scorers.joint_bayesian = jointBayesianScorer(jb);
  const labels = pairs.map((p) => (p.same ? 1 : 0));
  const thresholds = {} as Record<ScorerName, ScoringThreshold | null>;
  for (const name of STANDARD_SCORERS) {
    const s = scorers[name];
    thresholds[name] = s
      ? bestAccuracyThreshold(
        labels,
        scorePairs(inputs.validationFeatures, dim, pairs, s),
      )
      : null;
  }
  const same = labels.reduce((a: number, b) => a + b, 0);
  const file: ScoringFile = {
    format: "deepid2-scoring",
    version: 1,
    model: inputs.model,
    featureDim: dim,
    crop: { ...inputs.crop },
    pcaDim: inputs.pcaDim,
    jointBayesian: jb ? jb.toJSON() : null,
    thresholds,
    validation: { pairs: pairs.length, same, different: pairs.length - same },
    heldOut: {
      images: inputs.heldOutLabels.length,
      identities: new Set(inputs.heldOutLabels).size,
    },
  };
  return { file, scorers };
}

/** Where a model's scoring file lives: `<cache>/models/<key>.scoring.json`. */
export function scoringFilePath(cacheDir: string, key: string): string {
  return `${cacheDir}/models/${key}.scoring.json`;
}

/** JSON with ±Infinity as strings (JSON has no infinities). */
function encode(file: ScoringFile): string {
  return JSON.stringify(
    file,
    (_, v) => v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v,
  ) + "\n";
}

/** Writes a scoring file atomically. */
export async function saveScoringFile(
  path: string,
  file: ScoringFile,
): Promise<void> {
  await writeTextAtomic(path, encode(file));
}

/** SHA-256 (hex) of everything a scoring file is built from. */
export async function scoringInputsHash(
  inputs: ScoringInputs,
): Promise<string> {
  const head = new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      model: inputs.model,
      crop: inputs.crop,
      dim: inputs.dim,
      pcaDim: inputs.pcaDim,
      pairs: inputs.validationPairs.map((
        p,
      ) => [p.fold, p.same ? 1 : 0, p.a, p.b]),
    }),
  );
  const parts: Uint8Array[] = [
    head,
    new Uint8Array(
      inputs.heldOutFeatures.buffer,
      inputs.heldOutFeatures.byteOffset,
      inputs.heldOutFeatures.byteLength,
    ),
    new Uint8Array(
      inputs.heldOutLabels.buffer,
      inputs.heldOutLabels.byteOffset,
      inputs.heldOutLabels.byteLength,
    ),
    new Uint8Array(
      inputs.validationFeatures.buffer,
      inputs.validationFeatures.byteOffset,
      inputs.validationFeatures.byteLength,
    ),
  ];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return await sha256Hex(all);
}

/**
 * Builds a model's scoring file ({@linkcode buildScoringFile}) and saves it
 * at {@linkcode scoringFilePath}; returns the path. A file there built
 * from the same inputs is kept as it is (the fit is deterministic).
 */
export async function writeScoringFile(
  cacheDir: string,
  inputs: ScoringInputs,
): Promise<string> {
  const path = scoringFilePath(cacheDir, inputs.model);
  const hash = await scoringInputsHash(inputs);
  try {
    if ((await loadScoringFile(path)).inputs === hash) return path;
  } catch {
    // Missing or unreadable: (re)written below.
  }
  await saveScoringFile(path, {
    ...buildScoringFile(inputs).file,
    inputs: hash,
  });
  return path;
}

function thresholdOf(v: unknown): number {
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return NaN;
}

/**
 * Reads and checks a scoring file; a missing, truncated or foreign file is
 * an {@linkcode InputError} naming it.
 */
export async function loadScoringFile(path: string): Promise<ScoringFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(path, 0, "scoring file not found");
    }
    throw e;
  }
  return parseScoringFile(text, path);
}

/** Parses and checks a scoring file's text (see {@linkcode loadScoringFile}). */
export function parseScoringFile(text: string, path: string): ScoringFile {
  const bad = (why: string) =>
    new InputError(path, 0, `not a deepid2 scoring file (${why})`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON: ${(e as Error).message}`);
  }
  if (j?.format !== "deepid2-scoring" || j.version !== 1) {
    throw bad("format/version");
  }
  const dim = j.featureDim;
  if (!Number.isInteger(dim) || (dim as number) < 1) throw bad("featureDim");
  const crop = j.crop as ScoringCrop | undefined;
  if (
    !crop || !Number.isInteger(crop.height) || !Number.isInteger(crop.width) ||
    typeof crop.gray !== "boolean"
  ) throw bad("crop");
  if (typeof j.model !== "string") throw bad("model");
  let jb: JointBayesianJson | null = null;
  if (j.jointBayesian !== null) {
    try {
      const m = JointBayesianModel.fromJSON(j.jointBayesian);
      if (m.inputDim !== dim) {
        throw new Error(`expects ${m.inputDim}-d features`);
      }
      jb = j.jointBayesian as JointBayesianJson;
    } catch (e) {
      throw bad(`jointBayesian: ${(e as Error).message}`);
    }
  }
  const raw = (j.thresholds ?? {}) as Record<string, unknown>;
  const thresholds = {} as Record<ScorerName, ScoringThreshold | null>;
  for (const name of STANDARD_SCORERS) {
    const t = raw[name] as { threshold?: unknown; accuracy?: unknown } | null;
    if (t === null && name === "joint_bayesian" && jb === null) {
      thresholds[name] = null;
      continue;
    }
    const threshold = thresholdOf(t?.threshold);
    if (Number.isNaN(threshold) || typeof t?.accuracy !== "number") {
      throw bad(`thresholds.${name}`);
    }
    thresholds[name] = { threshold, accuracy: t.accuracy };
  }
  return { ...(j as unknown as ScoringFile), jointBayesian: jb, thresholds };
}

/**
 * The scorers a scoring file defines: l2, cosine, and its Joint Bayesian
 * model (absent when it could not be fitted).
 */
export function scoringScorers(file: ScoringFile): ScoringScorers {
  const out: ScoringScorers = { l2: l2Scorer, cosine: cosineScorer };
  if (file.jointBayesian) {
    out.joint_bayesian = jointBayesianScorer(
      JointBayesianModel.fromJSON(file.jointBayesian),
    );
  }
  return out;
}

/** A verdict on one pair: its score, the validation threshold, same or not. */
export interface PairDecision {
  scorer: ScorerName;
  score: number;
  threshold: number;
  /** The threshold's accuracy on the validation pairs. */
  validationAccuracy: number;
  same: boolean;
}

/**
 * Scores two feature vectors (`[D]` each) with one of the file's scorers
 * and decides "same" iff the score reaches the validation threshold.
 */
export function decidePair(
  file: ScoringFile,
  scorer: ScorerName,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): PairDecision {
  const dim = file.featureDim;
  if (a.length !== dim || b.length !== dim) {
    throw new RangeError(
      `features of ${a.length} and ${b.length} dims, the scoring file is for ${dim}`,
    );
  }
  const s = scoringScorers(file)[scorer];
  const t = file.thresholds[scorer];
  if (!s || !t) {
    throw new RangeError(
      `model ${file.model} has no ${scorer} scorer (its held-out features had no variance, so no Joint Bayesian model was fitted); use l2 or cosine`,
    );
  }
  const both = new Float64Array(2 * dim);
  both.set(Array.from(a));
  both.set(Array.from(b), dim);
  const score = s.prepare(both, dim)(0, 1);
  return {
    scorer,
    score,
    threshold: t.threshold,
    validationAccuracy: t.accuracy,
    same: score >= t.threshold,
  };
}

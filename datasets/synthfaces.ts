/**
 * The synthetic face data set, the suite's embedded default: a
 * deterministic, seeded generator that renders procedural faces
 * (datasets/face_model.ts) and writes them in the real data sets' own
 * formats, so that the real loaders are the only way data enters training:
 *
 * - `OUT/celeba/`: `img_align_celeba/000001.jpg ...` (178x218, face at the
 *   mean CelebA aligned position with a little jitter), `identity_CelebA.txt`,
 *   `list_landmarks_align_celeba.txt` (count, header, 5 rendered landmarks per
 *   image, rounded as CelebA's are), `list_eval_partition.txt` (by identity,
 *   80/10/10) — formats as in Liu et al. 2015 (datasets/celeba.ts);
 * - `OUT/lfw/`: `lfw/<Name>/<Name>_0001.jpg ...` (250x250, face where the
 *   fixed LFW crop expects it, with jitter like real alignment), `pairs.txt`
 *   (View 2: `folds<TAB>n` header, per fold n same then n different pairs,
 *   folds disjoint in identities) and `people.txt` — formats as in Huang et
 *   al. 2007 (datasets/lfw.ts);
 * - `OUT/lfw/pairsDevTrain.txt`, `pairsDevTest.txt` (View 1: a count line
 *   N, then N same and N different pairs) and `peopleDevTrain.txt`,
 *   `peopleDevTest.txt`: the validation split. Its people are extra
 *   LFW-format people in the same `lfw/lfw/` tree, rendered like the test
 *   people, named like no training, held-out or test person, and
 *   identity-disjoint between the two files (as in LFW); `pairs.txt` names
 *   only test people. The loader (datasets/mod.ts) takes them as
 *   `validation`;
 * - `OUT/contact_sheet.jpg`: a few identities x images, with their 55x47
 *   aligned crops, so a person can see what the model learns from;
 * - `OUT/synth.json`: the parameters and counts, written last.
 *
 * CelebA, LFW test and validation identities are drawn from disjoint seed
 * streams, so training, test and validation identities are disjoint; LFW
 * names are unique. The validation people draw only from their own streams
 * (`synth-validation`, `validation-id-*`, `validation-img-*`), so adding
 * them left every CelebA and test image byte-identical to version 2.
 *
 * CLI: `deno task synth --out DIR [--profile smoke|quick] [--identities N]
 * [--held-out N] [--images-per-identity K|MIN-MAX] [--test-identities M]
 * [--test-images-per-identity K|MIN-MAX] [--pairs-per-fold P] [--folds F]
 * [--validation-identities V] [--dev-train-pairs P] [--dev-test-pairs P]
 * [--difficulty D] [--seed S] [--workers N] [--quiet]` (the flags:
 * {@linkcode SYNTH_FLAGS}); prints one JSON line.
 *
 * Photos are rendered, JPEG-encoded and written on worker threads, one per
 * core unless `--workers N` or the environment variable
 * `DEEPID2_DATA_WORKERS` says otherwise (datasets/workers.ts). Each photo
 * draws only from its own seed stream (`celeba-img-*`, `lfw-img-*`,
 * `validation-img-*`), so every file is byte-identical for any worker count.
 *
 * @module
 */
import {
  type FlagTable,
  parseCommandLine,
  usage,
  UsageError,
} from "../lib/base/cli.ts";
import sharp from "sharp";
import { writeFileAtomic, writeTextAtomic } from "../lib/base/io.ts";
import { Progress } from "../lib/base/progress.ts";
import { Rng } from "../lib/base/rng.ts";
import { type Identity, type Layout, sampleIdentity } from "./face_model.ts";
import type { RenderChunk, RenderJob } from "./data_tasks.ts";
import { dataWorkerCount, runTasks } from "./workers.ts";
import { uniqueNames } from "./names.ts";
import { LFW_VIEW1_FILES } from "./lfw.ts";
import { VALIDATION_FOLDS } from "./validation.ts";
import { LANDMARK_HEADER } from "./celeba.ts";
import {
  cropFace,
  decodeImage,
  DEFAULT_CROP,
  LFW_FIXED_LANDMARKS,
} from "./crop.ts";

/**
 * Bumped whenever the generator's output changes (part of the cache key).
 * 3: the validation people and the View 1 files.
 */
export const SYNTH_VERSION = 3;

/** An inclusive integer range. */
export interface Range {
  min: number;
  max: number;
}

/** Sizes and settings of a synthetic data set. */
export interface SynthParams {
  /** CelebA-format identities for ConvNet training. */
  identities: number;
  /** Further CelebA-format identities, held out (Joint Bayesian). */
  heldOutIdentities: number;
  /** Images per CelebA identity (a number or a range). */
  imagesPerIdentity: number | Range;
  /** LFW-format test identities (split evenly over the folds). */
  testIdentities: number;
  /** Images per test identity (raised where a fold needs more same pairs). */
  testImagesPerIdentity: number | Range;
  /** Folds of pairs.txt (LFW: 10). */
  folds: number;
  /** Same pairs per fold, and as many different ones (LFW: 300). */
  pairsPerFold: number;
  /**
   * LFW-format validation people (LFW View 1), split over
   * `pairsDevTrain.txt` and `pairsDevTest.txt` in proportion to their pair
   * counts, at least 2 in each; images per person as
   * `testImagesPerIdentity` (raised where a file needs more pairs). 0: no
   * View 1 files, and the loader carves the validation identities out of
   * the CelebA identities instead (its `list_eval_partition.txt`).
   */
  validationIdentities: number;
  /** Same pairs in `pairsDevTrain.txt`, and as many different (LFW: 1100). */
  validationDevTrainPairs: number;
  /** Same pairs in `pairsDevTest.txt`, and as many different (LFW: 500). */
  validationDevTestPairs: number;
  /**
   * 0..1: how close identities are relative to within-identity variation
   * (datasets/face_model.ts).
   */
  difficulty: number;
  seed: number;
}

/**
 * The data sets of the `smoke` and `quick` run profiles
 * (experiments/harness/profiles.ts).
 */
export const SYNTH_PROFILES: Record<"smoke" | "quick", SynthParams> = {
  smoke: {
    identities: 16,
    heldOutIdentities: 8,
    imagesPerIdentity: { min: 4, max: 6 },
    testIdentities: 24,
    testImagesPerIdentity: { min: 4, max: 6 },
    folds: 10,
    pairsPerFold: 10,
    validationIdentities: 12,
    validationDevTrainPairs: 20,
    validationDevTestPairs: 10,
    difficulty: 0.5,
    seed: 1,
  },
  quick: {
    identities: 512,
    heldOutIdentities: 128,
    imagesPerIdentity: { min: 16, max: 24 },
    testIdentities: 400,
    testImagesPerIdentity: { min: 2, max: 6 },
    folds: 10,
    pairsPerFold: 150,
    // ~400 more images (3 % of the set's ~14,400): 30 validation pairs of
    // each kind per fold, half View 2's 150.
    validationIdentities: 100,
    validationDevTrainPairs: 200,
    validationDevTestPairs: 100,
    difficulty: 0.5,
    seed: 1,
  },
};

/** Face placement of the CelebA-format images (mean aligned CelebA landmarks). */
export const CELEBA_LAYOUT: Layout = {
  width: 178,
  height: 218,
  eyeX: 88.9,
  eyeY: 112.4,
  iod: 37.5,
  jitter: { shift: 1.2, scale: 0.03, roll: 0.03 },
};

/** Face placement of the LFW-format images: where the fixed crop expects it. */
export const LFW_LAYOUT: Layout = {
  width: 250,
  height: 250,
  eyeX: (LFW_FIXED_LANDMARKS[0] + LFW_FIXED_LANDMARKS[2]) / 2,
  eyeY: (LFW_FIXED_LANDMARKS[1] + LFW_FIXED_LANDMARKS[3]) / 2,
  iod: LFW_FIXED_LANDMARKS[2] - LFW_FIXED_LANDMARKS[0],
  jitter: { shift: 2.5, scale: 0.05, roll: 0.05 },
};

function rangeOf(r: number | Range): Range {
  return typeof r === "number" ? { min: r, max: r } : r;
}

/** Checks a parameter set; throws an Error saying what is wrong. */
export function validateSynthParams(p: SynthParams): void {
  const int = (k: keyof SynthParams, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) {
      throw new Error(`synth ${k} must be an integer >= ${min}, got ${v}`);
    }
  };
  int("identities", p.identities, 1);
  int("heldOutIdentities", p.heldOutIdentities, 0);
  int("testIdentities", p.testIdentities, 2);
  int("folds", p.folds, 1);
  int("pairsPerFold", p.pairsPerFold, 1);
  int("seed", p.seed, 0);
  for (const k of ["imagesPerIdentity", "testImagesPerIdentity"] as const) {
    const r = rangeOf(p[k]);
    int(k, r.min, 1);
    int(k, r.max, r.min);
  }
  if (!(p.difficulty >= 0 && p.difficulty <= 1)) {
    throw new Error(`synth difficulty must be in [0, 1], got ${p.difficulty}`);
  }
  if (p.testIdentities < 2 * p.folds) {
    throw new Error(
      `synth testIdentities (${p.testIdentities}) must be at least 2 per fold (${p.folds} folds)`,
    );
  }
  int("validationIdentities", p.validationIdentities, 0);
  if (p.validationIdentities > 0) {
    if (p.validationIdentities < 4) {
      throw new Error(
        `synth validationIdentities must be 0 or at least 4 (2 per View 1 file), got ${p.validationIdentities}`,
      );
    }
    int("validationDevTrainPairs", p.validationDevTrainPairs, 1);
    int("validationDevTestPairs", p.validationDevTestPairs, 1);
    const total = p.validationDevTrainPairs + p.validationDevTestPairs;
    if (total < VALIDATION_FOLDS) {
      throw new Error(
        `synth validationDevTrainPairs + validationDevTestPairs (${total}) must be at least ${VALIDATION_FOLDS}: each of the ${VALIDATION_FOLDS} validation folds needs a same and a different pair`,
      );
    }
  }
}

/** What {@linkcode generateSynth} wrote. */
export interface SynthSummary {
  out: string;
  celebaImages: number;
  celebaIdentities: number;
  /** LFW-format test images and people (View 2). */
  lfwImages: number;
  lfwIdentities: number;
  pairs: number;
  /** LFW-format validation images, people and pairs (View 1, both files). */
  validationImages: number;
  validationIdentities: number;
  validationPairs: number;
  seconds: number;
  imagesPerSecond: number;
}

type Job = RenderJob;

/**
 * Generates a synthetic data set into `out` (created; existing files are
 * overwritten). Photos are rendered, JPEG-encoded and written on `workers`
 * threads (default: `DEEPID2_DATA_WORKERS`, else one per core but at most
 * one per 256 photos; datasets/workers.ts), in chunks of consecutive
 * photos; every photo draws only from its own seed, so the files are
 * byte-identical for any worker count.
 */
export async function generateSynth(
  out: string,
  params: SynthParams,
  options: { quiet?: boolean; contactSheet?: boolean; workers?: number } = {},
): Promise<SynthSummary> {
  validateSynthParams(params);
  const t0 = performance.now();
  const { seed, difficulty } = params;
  const celeba = `${out}/celeba`, lfw = `${out}/lfw`;
  await Deno.mkdir(`${celeba}/img_align_celeba`, { recursive: true });
  await Deno.mkdir(`${lfw}/lfw`, { recursive: true });

  // ---- CelebA-format identities and images ----
  const rng = Rng.derive(seed, "synth-celeba");
  const nCeleb = params.identities + params.heldOutIdentities;
  const ids = rng.shuffle(Array.from({ length: nCeleb }, (_, i) => i + 1));
  const ipi = rangeOf(params.imagesPerIdentity);
  const celebImages: number[] = []; // identity id of each file, in file order
  for (const id of ids) {
    const k = ipi.min + rng.int(ipi.max - ipi.min + 1);
    for (let j = 0; j < k; j++) celebImages.push(id);
  }
  rng.shuffle(celebImages);
  const celebIdentity = new Map<number, Identity>();
  for (const id of ids) {
    celebIdentity.set(
      id,
      sampleIdentity(
        Rng.derive(seed, `celeba-id-${id}`).nextUint32(),
        difficulty,
      ),
    );
  }
  const fileName = (i: number) => `${String(i + 1).padStart(6, "0")}.jpg`;
  const jobs: Job[] = celebImages.map((id, i) => ({
    path: `${celeba}/img_align_celeba/${fileName(i)}`,
    identity: celebIdentity.get(id)!,
    seed: Rng.derive(seed, `celeba-img-${i + 1}`).nextUint32(),
    layout: CELEBA_LAYOUT,
  }));

  // ---- LFW-format identities, folds and pairs ----
  const lrng = Rng.derive(seed, "synth-lfw");
  const names = uniqueNames(lrng, params.testIdentities);
  const tipi = rangeOf(params.testImagesPerIdentity);
  const count = new Map<string, number>();
  for (const n of names) {
    count.set(n, tipi.min + lrng.int(tipi.max - tipi.min + 1));
  }
  const order = lrng.shuffle([...names]);
  const folds: string[][] = Array.from({ length: params.folds }, () => []);
  order.forEach((n, i) => folds[i % params.folds].push(n));
  const pairLines: string[] = [`${params.folds}\t${params.pairsPerFold}`];
  const peopleLines: string[] = [`${params.folds}`];
  for (const fold of folds) {
    fold.sort();
    ensureCapacity(fold, count, params.pairsPerFold, lrng);
    const [same, diff] = samplePairs(fold, count, params.pairsPerFold, lrng);
    pairLines.push(...same, ...diff);
    peopleLines.push(
      `${fold.length}`,
      ...fold.map((n) => `${n}\t${count.get(n)}`),
    );
  }
  for (const name of [...names].sort()) {
    await Deno.mkdir(`${lfw}/lfw/${name}`, { recursive: true });
    const identity = sampleIdentity(
      Rng.derive(seed, `lfw-id-${name}`).nextUint32(),
      difficulty,
    );
    for (let j = 1; j <= count.get(name)!; j++) {
      const file = `${name}_${String(j).padStart(4, "0")}.jpg`;
      jobs.push({
        path: `${lfw}/lfw/${name}/${file}`,
        identity,
        seed: Rng.derive(seed, `lfw-img-${name}-${j}`).nextUint32(),
        layout: LFW_LAYOUT,
      });
    }
  }

  const lfwTestImages = jobs.length - celebImages.length;

  // ---- LFW View 1: validation people, from streams of their own ----
  const vrng = Rng.derive(seed, "synth-validation");
  const vNames = uniqueNames(vrng, params.validationIdentities, new Set(names));
  const vCount = new Map<string, number>();
  for (const n of vNames) {
    vCount.set(n, tipi.min + vrng.int(tipi.max - tipi.min + 1));
  }
  const view1: { pairs: string[]; people: string[] }[] = [];
  if (vNames.length > 0) {
    const sizes = [
      params.validationDevTrainPairs,
      params.validationDevTestPairs,
    ];
    const nDevTrain = Math.min(
      vNames.length - 2,
      Math.max(
        2,
        Math.round(vNames.length * sizes[0] / (sizes[0] + sizes[1])),
      ),
    );
    const vOrder = vrng.shuffle([...vNames]);
    const groups = [vOrder.slice(0, nDevTrain), vOrder.slice(nDevTrain)];
    groups.forEach((people, k) => {
      people.sort();
      ensureCapacity(people, vCount, sizes[k], vrng);
      const [same, diff] = samplePairs(people, vCount, sizes[k], vrng);
      view1.push({
        pairs: [`${sizes[k]}`, ...same, ...diff],
        people: [
          `${people.length}`,
          ...people.map((n) => `${n}\t${vCount.get(n)}`),
        ],
      });
    });
  }
  for (const name of [...vNames].sort()) {
    await Deno.mkdir(`${lfw}/lfw/${name}`, { recursive: true });
    const identity = sampleIdentity(
      Rng.derive(seed, `validation-id-${name}`).nextUint32(),
      difficulty,
    );
    for (let j = 1; j <= vCount.get(name)!; j++) {
      const file = `${name}_${String(j).padStart(4, "0")}.jpg`;
      jobs.push({
        path: `${lfw}/lfw/${name}/${file}`,
        identity,
        seed: Rng.derive(seed, `validation-img-${name}-${j}`).nextUint32(),
        layout: LFW_LAYOUT,
      });
    }
  }

  // CelebA photos come first, so their landmarks are the first ones.
  const landmarks = (await renderAll(jobs, {
    difficulty,
    quiet: options.quiet,
    // by default a worker per ~1 s of rendering at least
    workers: dataWorkerCount(options.workers, {
      items: jobs.length,
      perWorker: 256,
    }),
  })).slice(0, celebImages.length);

  // ---- annotation files ----
  const idLines = celebImages.map((id, i) => `${fileName(i)} ${id}`);
  const lmLines = [
    `${celebImages.length}`,
    LANDMARK_HEADER,
    ...landmarks.map((lm, i) =>
      `${fileName(i)} ${
        lm.map((x) => String(Math.round(x)).padStart(4)).join(" ")
      }`
    ),
  ];
  const part = new Map<number, number>();
  ids.forEach((id, k) =>
    part.set(id, k < 0.8 * nCeleb ? 0 : k < 0.9 * nCeleb ? 1 : 2)
  );
  const partLines = celebImages.map((id, i) =>
    `${fileName(i)} ${part.get(id)}`
  );
  await writeTextAtomic(
    `${celeba}/identity_CelebA.txt`,
    idLines.join("\n") + "\n",
  );
  await writeTextAtomic(
    `${celeba}/list_landmarks_align_celeba.txt`,
    lmLines.join("\n") + "\n",
  );
  await writeTextAtomic(
    `${celeba}/list_eval_partition.txt`,
    partLines.join("\n") + "\n",
  );
  await writeTextAtomic(`${lfw}/pairs.txt`, pairLines.join("\n") + "\n");
  await writeTextAtomic(`${lfw}/people.txt`, peopleLines.join("\n") + "\n");
  for (let k = 0; k < view1.length; k++) {
    await writeTextAtomic(
      `${lfw}/${LFW_VIEW1_FILES[k]}`,
      view1[k].pairs.join("\n") + "\n",
    );
    await writeTextAtomic(
      `${lfw}/${LFW_VIEW1_FILES[k].replace(/^pairs/, "people")}`,
      view1[k].people.join("\n") + "\n",
    );
  }

  if (options.contactSheet !== false) {
    await writeContactSheet(out, { celebImages, landmarks, names, count });
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary: SynthSummary = {
    out,
    celebaImages: celebImages.length,
    celebaIdentities: nCeleb,
    lfwImages: lfwTestImages,
    lfwIdentities: names.length,
    pairs: pairLines.length - 1,
    validationImages: jobs.length - celebImages.length - lfwTestImages,
    validationIdentities: vNames.length,
    validationPairs: view1.reduce((s, f) => s + f.pairs.length - 1, 0),
    seconds: Math.round(seconds * 100) / 100,
    imagesPerSecond: Math.round(jobs.length / seconds),
  };
  await writeTextAtomic(
    `${out}/synth.json`,
    JSON.stringify(
      {
        version: SYNTH_VERSION,
        params,
        summary: { ...summary, out: undefined },
      },
      null,
      1,
    ) + "\n",
  );
  return summary;
}

/**
 * Raises image counts in a fold until it can supply `n` distinct same pairs
 * and `n` distinct different pairs. The second condition only adds images
 * where sampling would otherwise fail, so parameter sets that worked before
 * it draw the same numbers as before.
 */
function ensureCapacity(
  fold: string[],
  count: Map<string, number>,
  n: number,
  rng: Rng,
): void {
  const pairsOf = (k: number) => k * (k - 1) / 2;
  let total = fold.reduce((s, x) => s + pairsOf(count.get(x)!), 0);
  while (total < n) {
    const name = fold[rng.int(fold.length)];
    const k = count.get(name)!;
    count.set(name, k + 1);
    total += k; // pairsOf(k + 1) - pairsOf(k)
  }
  // Different pairs: (sum k)^2 - sum k^2, halved.
  const diffPairs = () => {
    let s = 0, s2 = 0;
    for (const x of fold) {
      const k = count.get(x)!;
      s += k;
      s2 += k * k;
    }
    return (s * s - s2) / 2;
  };
  while (diffPairs() < n) {
    const name = fold[rng.int(fold.length)];
    count.set(name, count.get(name)! + 1);
  }
}

/** Samples `n` distinct same pairs and `n` distinct different pairs in a fold. */
function samplePairs(
  fold: string[],
  count: Map<string, number>,
  n: number,
  rng: Rng,
): [string[], string[]] {
  const same: string[] = [];
  const all: [string, number, number][] = [];
  for (const name of fold) {
    const k = count.get(name)!;
    for (let a = 1; a <= k; a++) {
      for (let b = a + 1; b <= k; b++) all.push([name, a, b]);
    }
  }
  rng.shuffle(all);
  all.slice(0, n).sort((x, y) =>
    x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1] || x[2] - y[2]
  )
    .forEach(([name, a, b]) => same.push(`${name}\t${a}\t${b}`));
  const seen = new Set<string>();
  const diff: [string, number, string, number][] = [];
  let guard = 0;
  while (diff.length < n) {
    if (++guard > 1000 * n) {
      throw new Error(
        `cannot find ${n} distinct different pairs in a fold of ${fold.length} people`,
      );
    }
    const i = rng.int(fold.length), j = rng.int(fold.length);
    if (i === j) continue;
    const [p, q] = i < j ? [fold[i], fold[j]] : [fold[j], fold[i]];
    const a = 1 + rng.int(count.get(p)!), b = 1 + rng.int(count.get(q)!);
    const key = `${p}\t${a}\t${q}\t${b}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diff.push([p, a, q, b]);
  }
  diff.sort((x, y) =>
    x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1] || (x[2] < y[2] ? -1 : 1)
  );
  return [same, diff.map((x) => x.join("\t"))];
}

/** Photos per chunk handed to a worker: ~0.2 s of work, 300 chunks for quick. */
const RENDER_CHUNK = 48;

/**
 * Renders, encodes and writes every photo, over `workers` threads
 * (datasets/workers.ts), and returns each photo's landmarks in job order.
 */
async function renderAll(
  jobs: Job[],
  o: { difficulty: number; quiet?: boolean; workers: number },
): Promise<number[][]> {
  const progress = o.quiet
    ? null
    : new Progress("synth", jobs.length, { unit: "images" });
  const chunks: RenderChunk[] = [];
  for (let i = 0; i < jobs.length; i += RENDER_CHUNK) {
    chunks.push({
      jobs: jobs.slice(i, i + RENDER_CHUNK),
      difficulty: o.difficulty,
    });
  }
  const landmarks: number[][] = new Array(jobs.length);
  let done = 0;
  await runTasks("render", chunks, {
    workers: o.workers,
    onResult: (k, out) => {
      out.landmarks.forEach((lm, i) => landmarks[k * RENDER_CHUNK + i] = lm);
      done += out.landmarks.length;
      if (done < jobs.length) progress?.update(done);
    },
  });
  progress?.finish(done);
  return landmarks;
}

async function writeContactSheet(
  out: string,
  o: {
    celebImages: number[];
    landmarks: number[][];
    names: string[];
    count: Map<string, number>;
  },
): Promise<void> {
  sharp.concurrency(1); // as when the photos were encoded on this thread
  sharp.cache(false);
  const perRow = 6, rowsCeleb = 6, rowsLfw = 3;
  const byId = new Map<number, number[]>();
  o.celebImages.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
  const idsSorted = [...byId.keys()].sort((a, b) => a - b).slice(0, rowsCeleb);
  const tw = 109, th = 109, cw = 47 * 2, ch = 55 * 2;
  const W = perRow * (tw + cw) + 10,
    H = (rowsCeleb + rowsLfw) * Math.max(th, ch + 0) + 10;
  const composites: sharp.OverlayOptions[] = [];
  const crop = new Uint8Array(55 * 47 * 3);
  const add = async (
    file: string,
    lm: number[] | null,
    row: number,
    col: number,
  ) => {
    const bytes = await Deno.readFile(file);
    const thumb = await sharp(bytes).resize(tw, th, {
      fit: "contain",
      background: "#ffffff",
    }).png().toBuffer();
    const img = await decodeImage(bytes);
    cropFace(img, lm, { crop: DEFAULT_CROP, out: crop });
    const big = await sharp(crop, {
      raw: { width: 47, height: 55, channels: 3 },
    })
      .resize(cw, ch, { kernel: "nearest" }).png().toBuffer();
    const x = 5 + col * (tw + cw), y = 5 + row * Math.max(th, ch);
    composites.push({ input: thumb, left: x, top: y }, {
      input: big,
      left: x + tw,
      top: y,
    });
  };
  for (let r = 0; r < idsSorted.length; r++) {
    const files = byId.get(idsSorted[r])!.slice(0, perRow);
    for (let c = 0; c < files.length; c++) {
      const i = files[c];
      await add(
        `${out}/celeba/img_align_celeba/${String(i + 1).padStart(6, "0")}.jpg`,
        o.landmarks[i],
        r,
        c,
      );
    }
  }
  const lfwNames = [...o.names].sort((a, b) =>
    o.count.get(b)! - o.count.get(a)!
  ).slice(0, rowsLfw);
  for (let r = 0; r < lfwNames.length; r++) {
    const name = lfwNames[r];
    for (let c = 0; c < Math.min(perRow, o.count.get(name)!); c++) {
      const file = `${out}/lfw/lfw/${name}/${name}_${
        String(c + 1).padStart(4, "0")
      }.jpg`;
      await add(file, null, rowsCeleb + r, c);
    }
  }
  const sheet = await sharp({
    create: {
      width: W,
      height: H,
      channels: 3,
      background: { r: 255, g: 255, b: 255 },
    },
  })
    .composite(composites).jpeg({ quality: 90 }).toBuffer();
  await writeFileAtomic(`${out}/contact_sheet.jpg`, sheet);
}

function parseRange(s: string, flag: string): number | Range {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new Error(`--${flag} must be N or MIN-MAX, got "${s}"`);
  return m[2] === undefined
    ? Number(m[1])
    : { min: Number(m[1]), max: Number(m[2]) };
}

const FROM_PROFILE = "(default: the profile's)";

/** The flags of `deno task synth`: types, defaults and help lines. */
export const SYNTH_FLAGS = {
  out: { type: "string", arg: "DIR", help: "output folder (required)" },
  profile: {
    type: "string",
    arg: Object.keys(SYNTH_PROFILES).join("|"),
    default: "quick",
    help: "the sizes to start from",
  },
  identities: {
    type: "integer",
    arg: "N",
    help: `CelebA-format training identities ${FROM_PROFILE}`,
  },
  "held-out": {
    type: "integer",
    arg: "N",
    help: `further CelebA-format identities, held out ${FROM_PROFILE}`,
  },
  "images-per-identity": {
    type: "string",
    arg: "K|MIN-MAX",
    help: `images per CelebA identity ${FROM_PROFILE}`,
  },
  "test-identities": {
    type: "integer",
    arg: "M",
    help: `LFW-format test identities ${FROM_PROFILE}`,
  },
  "test-images-per-identity": {
    type: "string",
    arg: "K|MIN-MAX",
    help: `images per test identity ${FROM_PROFILE}`,
  },
  "pairs-per-fold": {
    type: "integer",
    arg: "P",
    help: `same pairs per fold, and as many different ${FROM_PROFILE}`,
  },
  folds: {
    type: "integer",
    arg: "F",
    help: `folds of pairs.txt ${FROM_PROFILE}`,
  },
  "validation-identities": {
    type: "integer",
    arg: "V",
    help: `LFW-format validation people, View 1 (0: none) ${FROM_PROFILE}`,
  },
  "dev-train-pairs": {
    type: "integer",
    arg: "P",
    help:
      `same pairs in pairsDevTrain.txt, and as many different ${FROM_PROFILE}`,
  },
  "dev-test-pairs": {
    type: "integer",
    arg: "P",
    help:
      `same pairs in pairsDevTest.txt, and as many different ${FROM_PROFILE}`,
  },
  difficulty: {
    type: "number",
    arg: "0..1",
    help: `how close identities are ${FROM_PROFILE}`,
  },
  seed: { type: "integer", arg: "S", help: `generator seed ${FROM_PROFILE}` },
  workers: {
    type: "integer",
    arg: "N",
    help:
      "threads rendering and encoding (default: DEEPID2_DATA_WORKERS, else one per core)",
  },
  quiet: { type: "boolean", default: false, help: "no progress line" },
} as const satisfies FlagTable;

const COMMAND = "deno task synth --out DIR [flags]";

/** What `deno task synth --help` prints. */
export const SYNTH_USAGE: string = usage(COMMAND, SYNTH_FLAGS);

/** The `deno task synth` command line. */
export async function main(args: string[]): Promise<number> {
  const { values, help } = parseCommandLine(args, SYNTH_FLAGS, {
    command: COMMAND,
  });
  if (help || !values.out) {
    console.log(SYNTH_USAGE);
    return help ? 0 : 2;
  }
  const profile = values.profile as keyof typeof SYNTH_PROFILES;
  if (!Object.hasOwn(SYNTH_PROFILES, profile)) {
    throw new Error(
      `--profile must be ${
        Object.keys(SYNTH_PROFILES).join(" or ")
      }, got "${profile}"`,
    );
  }
  const p: SynthParams = { ...SYNTH_PROFILES[profile] };
  p.identities = values.identities ?? p.identities;
  p.heldOutIdentities = values["held-out"] ?? p.heldOutIdentities;
  if (values["images-per-identity"] !== undefined) {
    p.imagesPerIdentity = parseRange(
      values["images-per-identity"],
      "images-per-identity",
    );
  }
  p.testIdentities = values["test-identities"] ?? p.testIdentities;
  if (values["test-images-per-identity"] !== undefined) {
    p.testImagesPerIdentity = parseRange(
      values["test-images-per-identity"],
      "test-images-per-identity",
    );
  }
  p.pairsPerFold = values["pairs-per-fold"] ?? p.pairsPerFold;
  p.folds = values.folds ?? p.folds;
  p.validationIdentities = values["validation-identities"] ??
    p.validationIdentities;
  p.validationDevTrainPairs = values["dev-train-pairs"] ??
    p.validationDevTrainPairs;
  p.validationDevTestPairs = values["dev-test-pairs"] ??
    p.validationDevTestPairs;
  p.difficulty = values.difficulty ?? p.difficulty;
  p.seed = values.seed ?? p.seed;
  const summary = await generateSynth(values.out, p, {
    quiet: values.quiet,
    workers: values.workers,
  });
  console.log(JSON.stringify(summary));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    const message = e instanceof UsageError
      ? `${e.message.split("\n")[0]} (--help for usage)`
      : (e as Error).message;
    console.error(`synth: ${message}`);
    Deno.exit(1);
  }
}

/**
 * The data layer's entry point (lib/PAPER.md, "Data and pipeline" and "LFW
 * protocol and file formats"): every experiment gets its data here, and only
 * through the real data sets' loaders. {@linkcode loadDataset} turns
 * `--data synth` or a folder holding `celeba/` and `lfw/` into the
 * {@linkcode Dataset} every experiment uses:
 *
 * - `train` and `heldOut`: CelebA identities split, seeded and
 *   identity-disjoint, into ConvNet-training identities and held-out ones
 *   for Joint Bayesian (paper: 8192 and 1985 of CelebFaces+' 10,177);
 * - `validation` and `validationPairs`: the faces and 10-fold pairs on which
 *   settings are chosen, never on the test pairs; from the first of
 *   (a) LFW View 1, when `lfw/pairsDevTrain.txt` and `lfw/pairsDevTest.txt`
 *       exist (real LFW ships them, the synthetic set writes them): the
 *       images of the people they name, and their pairs in 10 folds
 *       (datasets/validation.ts, `view1Folds`);
 *   (b) CelebA's `list_eval_partition.txt`: the identities with images in
 *       partition 1 ("valid"), taken out of the train / held-out pool, with
 *       seeded pairs (`buildVerificationPairs`);
 *   (c) otherwise a seeded share of the training identities (5 %, at least
 *       2: `DEFAULT_VALIDATION_FRACTION`; or `validationIdentities`), taken
 *       out of the pool likewise, with seeded pairs;
 * - `test` and `pairs`: every LFW image except those of people named only in
 *   View 1, and the pairs of `pairs.txt`.
 *
 * Training (train, held-out, and validation of routes b and c) and test
 * identities that share a name are refused, and so are validation
 * identities that also train or are held out. `--data synth`
 * first generates the synthetic set (datasets/synthfaces.ts) into
 * `.cache/synth/<hash of its parameters>/` — into a temp folder renamed into
 * place, so an interrupted generation is never used — and then loads it
 * through the same loaders as a user's folder.
 *
 * Generation and crop caches run on one worker thread per core (`workers`,
 * or the environment variable `DEEPID2_DATA_WORKERS`; datasets/workers.ts)
 * and give the same bytes for any count. `alsoCrops` names the other crops
 * a caller will load next (a replicate's patches): they are cut in the same
 * pass as `crop`'s when its cache is built.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { exists, InputError, sha256Hex } from "../lib/base/io.ts";
import { Rng } from "../lib/base/rng.ts";
import type { Dataset, FaceSet } from "../lib/faces.ts";
import type { CropOptions } from "./types.ts";
import { CELEBA_FILES, celebaExpected, loadCeleba } from "./celeba.ts";
import { foldersExpected, loadFolders } from "./folders.ts";
import { LFW_VIEW1_FILES, lfwExpected, loadLfw } from "./lfw.ts";
import { type Skipped, skippedTotal, subsetIdentities } from "./faceset.ts";
import {
  buildVerificationPairs,
  carveValidationIdentities,
  DEFAULT_VALIDATION_FRACTION,
  defaultValidationCount,
  foldShortfall,
  VALIDATION_FOLDS,
} from "./validation.ts";
import {
  generateSynth,
  SYNTH_PROFILES,
  SYNTH_VERSION,
  type SynthParams,
  validateSynthParams,
} from "./synthfaces.ts";
import { cropAll, type CropSource } from "./cache.ts";
import { DEFAULT_CROP } from "./crop.ts";

export { SYNTH_PROFILES };
export type { CropOptions, Dataset, FaceSet, SynthParams };
export { DEFAULT_CROP };
export { LFW_VIEW1_FILES, readPairs } from "./lfw.ts";
export {
  buildVerificationPairs,
  DEFAULT_VALIDATION_FRACTION,
  VALIDATION_FOLDS,
} from "./validation.ts";
export type { LfwPairEntry } from "./lfw.ts";

/** Paper's CelebFaces+ split: identities training the ConvNet / held out. */
export const PAPER_SPLIT = { train: 8192, heldOut: 1985 } as const;

/** The project's cache folder: `.cache/` at the repository root. */
export const DEFAULT_CACHE_DIR: string = fileURLToPath(
  new URL("../.cache", import.meta.url),
);

/** Options for {@linkcode loadDataset}. */
export interface LoadDatasetOptions {
  /** "synth", or a folder with `celeba/` (or `folders/`) and `lfw/`. */
  data: "synth" | string;
  /** Synthetic set parameters (default: the quick profile's). */
  synth?: SynthParams;
  crop: CropOptions;
  /** Identities training the ConvNet (default: all but the held-out ones). */
  trainIdentities?: number;
  /**
   * Held-out identities for Joint Bayesian (default: the synthetic profile's
   * count, or for real data 1985 scaled by identities / 10,177, counting the
   * identities left after the validation ones are set aside).
   */
  heldOutIdentities?: number;
  /**
   * Validation identities to carve out of the training identities when the
   * data has neither LFW View 1 nor a CelebA validation partition (route (c)
   * of the module doc; default: 5 % of the identities, at least 2). Not used
   * by the other routes, whose files fix the validation identities.
   */
  validationIdentities?: number;
  /** Seed of the identity split. */
  seed: number;
  /** Skip (and count) entries whose image file is missing. */
  skipMissing?: boolean;
  /** Skip (and count) undecodable images. */
  skipBadImages?: boolean;
  /** Cache folder (default: `.cache/` at the repository root). */
  cacheDir?: string;
  /** No progress lines. */
  quiet?: boolean;
  /**
   * Threads generating the synthetic set and building crop caches
   * (default: `DEEPID2_DATA_WORKERS`, else one per core; datasets/workers.ts).
   * Files and crops are the same for any count.
   */
  workers?: number;
  /**
   * The other crops of this data the caller will load next (a replicate's
   * patches, say): whenever `crop`'s cache has to be built, the missing
   * caches of these are built in the same pass, each image decoded once
   * for all of them, and their own loads then find them ready.
   */
  alsoCrops?: readonly CropOptions[];
}

/** The folder `--data synth` with `params` generates into. */
export async function synthFolder(
  params: SynthParams,
  cacheDir: string = DEFAULT_CACHE_DIR,
): Promise<string> {
  const key = await sha256Hex(
    JSON.stringify({ v: SYNTH_VERSION, params: canonical(params) }),
  );
  return `${cacheDir}/synth/${key.slice(0, 16)}`;
}

function canonical(p: SynthParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(p).sort()) {
    out[k] = (p as unknown as Record<string, unknown>)[k];
  }
  return out;
}

/**
 * Returns the folder of the synthetic set with `params`, generating it first
 * if needed. Generation writes a temp folder and renames it into place, so a
 * folder with `synth.json` is always complete.
 */
export async function ensureSynth(
  params: SynthParams,
  options: { cacheDir?: string; quiet?: boolean; workers?: number } = {},
): Promise<string> {
  validateSynthParams(params);
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const dir = await synthFolder(params, cacheDir);
  if (await exists(`${dir}/synth.json`)) return dir;
  await Deno.mkdir(`${cacheDir}/synth`, { recursive: true });
  await removeStaleTemps(dir);
  if (await exists(dir)) await Deno.remove(dir, { recursive: true }); // incomplete
  const tmp = `${dir}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  if (!options.quiet) {
    console.error(`generating the synthetic data set into ${dir}`);
  }
  try {
    await generateSynth(tmp, params, {
      quiet: options.quiet,
      workers: options.workers,
    });
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    // Another process may have finished the same set first.
    if (await exists(`${dir}/synth.json`)) return dir;
    throw e;
  }
  return dir;
}

/** Removes temp folders of interrupted generations (older than an hour). */
async function removeStaleTemps(dir: string): Promise<void> {
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  const base = dir.slice(dir.lastIndexOf("/") + 1);
  for await (const e of Deno.readDir(parent)) {
    if (!e.name.startsWith(`${base}.tmp-`)) continue;
    const st = await Deno.stat(`${parent}/${e.name}`);
    if (Date.now() - (st.mtime?.getTime() ?? 0) > 3600_000) {
      await Deno.remove(`${parent}/${e.name}`, { recursive: true }).catch(
        () => {},
      );
    }
  }
}

/** What a data folder must contain, for error messages. */
function dataExpected(root: string): string {
  return `expected ${root}/celeba/ (${celebaExpected(`${root}/celeba`)}) ` +
    `or ${root}/folders/ (${foldersExpected(`${root}/folders`)}), and ` +
    `${root}/lfw/ (${lfwExpected(`${root}/lfw`)})`;
}

/**
 * Splits `n` identities, seeded, into held-out and training identities:
 * a shuffle of 0..n-1; the first `heldOut` are held out, the next `train`
 * train the ConvNet. Smaller `train` counts give nested subsets (Fig. 6).
 * Each list is returned sorted.
 */
export function splitIdentities(
  n: number,
  options: { train: number; heldOut: number; seed: number },
): { train: number[]; heldOut: number[] } {
  const { train, heldOut } = options;
  if (
    !Number.isInteger(train) || !Number.isInteger(heldOut) || train < 1 ||
    heldOut < 0
  ) {
    throw new Error(
      `identity counts must be integers, train >= 1 and held-out >= 0 (got ${train}, ${heldOut})`,
    );
  }
  if (train + heldOut > n) {
    throw new Error(
      `asked for ${train} training + ${heldOut} held-out identities, the data has ${n}`,
    );
  }
  const order = Rng.derive(options.seed, "identity-split").shuffle(
    Array.from({ length: n }, (_, i) => i),
  );
  const byIndex = (a: number, b: number) => a - b;
  return {
    heldOut: order.slice(0, heldOut).sort(byIndex),
    train: order.slice(heldOut, heldOut + train).sort(byIndex),
  };
}

/** Identity names present in both sets. */
export function overlappingIdentities(a: FaceSet, b: FaceSet): string[] {
  const inB = new Set(b.identities);
  return a.identities.filter((n) => inB.has(n)).sort();
}

/**
 * Loads the data every experiment uses (module doc). Throws an InputError
 * (`FILE:LINE: message`) on bad input.
 *
 * @example
 * ```ts
 * const ds = await loadDataset({ data: "synth", synth: SYNTH_PROFILES.smoke,
 *   crop: DEFAULT_CROP, seed: 1 });
 * ds.train.labels.length; // images of the training identities
 * ```
 */
export async function loadDataset(
  options: LoadDatasetOptions,
): Promise<Dataset> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const synth = options.data === "synth";
  const params = options.synth ?? SYNTH_PROFILES.quick;
  const root = synth
    ? await ensureSynth(params, {
      cacheDir,
      quiet: options.quiet,
      workers: options.workers,
    })
    : options.data.replace(/\/+$/, "");
  const common = {
    crop: options.crop,
    cacheDir,
    skipMissing: options.skipMissing,
    skipBadImages: options.skipBadImages,
    quiet: options.quiet,
    workers: options.workers,
    alsoCrops: options.alsoCrops,
  };
  let trainSource: {
    set: FaceSet;
    skipped: Skipped;
    info: Record<string, unknown>;
    /** CelebA partition of each image (-1 unknown); absent for folders. */
    partition?: Int8Array;
  };
  if (await exists(`${root}/celeba`)) {
    trainSource = await loadCeleba(`${root}/celeba`, common);
  } else if (await exists(`${root}/folders`)) {
    trainSource = await loadFolders(`${root}/folders`, common);
  } else {
    throw new InputError(root, 0, dataExpected(root));
  }
  if (!(await exists(`${root}/lfw`))) {
    throw new InputError(root, 0, dataExpected(root));
  }
  const lfw = await loadLfw(`${root}/lfw`, common);

  const all = trainSource.set;
  const n = all.identities.length;
  // ---- validation identities: routes (a), (b), (c) of the module doc ----
  let carved: number[] = []; // identities of `all` set aside (routes b, c)
  let validationInfo: Record<string, unknown>;
  if (lfw.validation) {
    validationInfo = { source: "lfw-view1", files: lfw.validation.files };
  } else {
    const partition = trainSource.partition;
    const inValid = new Set<number>();
    partition?.forEach((p, i) => {
      if (p === 1) inValid.add(all.labels[i]);
    });
    if (inValid.size > 0) {
      carved = [...inValid].sort((a, b) => a - b);
      validationInfo = {
        source: "celeba-partition",
        file: `${root}/celeba/${CELEBA_FILES.partition}`,
        pairSeed: options.seed,
      };
    } else {
      const count = options.validationIdentities ?? defaultValidationCount(n);
      try {
        carved = carveValidationIdentities(all, { count, seed: options.seed });
      } catch (e) {
        throw new InputError(
          root,
          0,
          `${(e as Error).message} (with neither LFW View 1 files, lfw/${
            LFW_VIEW1_FILES.join(" and lfw/")
          }, nor CelebA's ${CELEBA_FILES.partition} with validation images, the validation identities are carved out of the training data; add View 1 files, or use data with more identities)`,
        );
      }
      validationInfo = {
        source: "carved",
        count,
        ...(options.validationIdentities === undefined
          ? { fraction: DEFAULT_VALIDATION_FRACTION }
          : {}),
        seed: options.seed,
      };
    }
  }
  const isCarved = new Uint8Array(n);
  for (const id of carved) isCarved[id] = 1;
  const pool = all.identities.map((_, i) => i).filter((i) => !isCarved[i]);

  const heldOut = options.heldOutIdentities ??
    (synth ? params.heldOutIdentities : Math.min(
      PAPER_SPLIT.heldOut,
      Math.round(pool.length * PAPER_SPLIT.heldOut / 10177),
    ));
  const train = options.trainIdentities ?? pool.length - heldOut;
  let split: { train: number[]; heldOut: number[] };
  try {
    split = splitIdentities(pool.length, {
      train,
      heldOut,
      seed: options.seed,
    });
  } catch (e) {
    if (carved.length === 0) throw e;
    throw new Error(
      `${
        (e as Error).message
      } once its ${carved.length} validation identities are set aside`,
    );
  }
  // `pool` is ascending, so the mapped lists stay sorted.
  const trainSet = subsetIdentities(all, split.train.map((i) => pool[i]));
  const heldOutSet = subsetIdentities(all, split.heldOut.map((i) => pool[i]));
  const validationSet = lfw.validation
    ? lfw.validation.set
    : subsetIdentities(all, carved);

  const refuse = (names: string[], what: string, why: string) => {
    if (names.length === 0) return;
    const shown = names.slice(0, 20).join(", ");
    throw new InputError(
      root,
      0,
      `${names.length} identities are in both ${what}: ${shown}${
        names.length > 20 ? ", ..." : ""
      } (${why})`,
    );
  };
  const fromTraining = lfw.validation
    ? [trainSet, heldOutSet]
    : [trainSet, heldOutSet, validationSet];
  refuse(
    [
      ...new Set(
        fromTraining.flatMap((s) => overlappingIdentities(s, lfw.set)),
      ),
    ].sort(),
    "the training data and the test set",
    "training and test identities must be disjoint; remove them from the training data",
  );
  const validationFrom = lfw.validation
    ? `LFW View 1 (${lfw.validation.files.join(", ")})`
    : `validation identities (${validationInfo.source})`;
  refuse(
    [
      ...new Set([
        ...overlappingIdentities(validationSet, trainSet),
        ...overlappingIdentities(validationSet, heldOutSet),
      ]),
    ].sort(),
    `the validation set, from ${validationFrom}, and the training or held-out identities`,
    `validation identities must not train or be held out; remove them from the training data${
      lfw.validation ? ", or their pairs from the View 1 files" : ""
    }`,
  );

  let validationPairs = lfw.validation?.pairs;
  if (!validationPairs) {
    validationPairs = buildVerificationPairs(validationSet, {
      seed: options.seed,
    });
    const short = foldShortfall(validationPairs);
    if (short) {
      throw new InputError(
        root,
        0,
        `the ${validationSet.identities.length} validation identities (${validationInfo.source}) give too few validation pairs: ${short}; add LFW View 1 files (lfw/${
          LFW_VIEW1_FILES.join(", lfw/")
        }), ${
          validationInfo.source === "carved"
            ? "carve out more validation identities (validationIdentities), "
            : ""
        }or use identities with more images`,
      );
    }
  }
  const describe = (s: FaceSet) => ({
    identities: s.identities.length,
    images: s.labels.length,
  });
  return {
    train: trainSet,
    heldOut: heldOutSet,
    validation: validationSet,
    validationPairs,
    test: lfw.set,
    pairs: lfw.pairs,
    numFolds: lfw.numFolds,
    info: {
      format: synth ? "synth" : `${trainSource.info.format}+lfw`,
      root,
      ...(synth ? { synth: params, synthVersion: SYNTH_VERSION } : {}),
      crop: options.crop,
      splitSeed: options.seed,
      train: describe(trainSet),
      heldOut: describe(heldOutSet),
      validation: {
        ...validationInfo,
        ...describe(validationSet),
        pairs: validationPairs.length,
        numFolds: VALIDATION_FOLDS,
      },
      test: describe(lfw.set),
      pairs: lfw.pairs.length,
      numFolds: lfw.numFolds,
      skipped: {
        train: skippedTotal(trainSource.skipped),
        test: skippedTotal(lfw.skipped),
        details: { train: trainSource.skipped, test: lfw.skipped },
      },
      sources: { train: trainSource.info, test: lfw.info },
    },
  };
}

/**
 * Measures preparation speed (decode + align + crop, no cache) on a small
 * synthetic set generated in a temp folder: CelebA-format images aligned by
 * landmarks and LFW-format images by the fixed crop. On one thread
 * (`workers: 1`), as it always measured, so hosts and versions compare;
 * data preparation itself runs one worker per core (datasets/workers.ts).
 */
export async function benchPrepare(): Promise<{ prepare_img_per_s: number }> {
  const dir = await Deno.makeTempDir({ prefix: "deepid2-bench-" });
  try {
    const params: SynthParams = {
      ...SYNTH_PROFILES.smoke,
      identities: 40,
      heldOutIdentities: 0,
      imagesPerIdentity: 8,
      testIdentities: 40,
      testImagesPerIdentity: 3,
    };
    await generateSynth(dir, params, {
      quiet: true,
      contactSheet: false,
      workers: 1,
    });
    const cel = await Deno.readTextFile(
      `${dir}/celeba/list_landmarks_align_celeba.txt`,
    );
    const sources: CropSource[] = [];
    for (const line of cel.trim().split("\n").slice(2)) {
      const f = line.trim().split(/\s+/);
      sources.push({
        path: `celeba/img_align_celeba/${f[0]}`,
        landmarks: f.slice(1).map(Number),
      });
    }
    for await (const p of Deno.readDir(`${dir}/lfw/lfw`)) {
      for await (const img of Deno.readDir(`${dir}/lfw/lfw/${p.name}`)) {
        sources.push({
          path: `lfw/lfw/${p.name}/${img.name}`,
          landmarks: null,
        });
      }
    }
    const opts = {
      root: dir,
      crop: DEFAULT_CROP,
      format: "bench",
      quiet: true,
      workers: 1,
    };
    await cropAll(sources.slice(0, 32), opts); // warm-up
    const t0 = performance.now();
    const { bad } = await cropAll(sources, opts);
    const secs = (performance.now() - t0) / 1000;
    if (bad.length) {
      throw new Error(`bench: ${bad.length} images failed to decode`);
    }
    return { prepare_img_per_s: Math.round(sources.length / secs) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

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
 * - `test` and `pairs`: every LFW image, and the pairs of `pairs.txt`.
 *
 * Training and test identities that share a name are refused. `--data synth`
 * first generates the synthetic set (datasets/synthfaces.ts) into
 * `.cache/synth/<hash of its parameters>/` — into a temp folder renamed into
 * place, so an interrupted generation is never used — and then loads it
 * through the same loaders as a user's folder.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { exists, InputError, sha256Hex } from "../lib/base/io.ts";
import { Rng } from "../lib/base/rng.ts";
import type { Dataset, FaceSet } from "../lib/faces.ts";
import type { CropOptions } from "./types.ts";
import { celebaExpected, loadCeleba } from "./celeba.ts";
import { foldersExpected, loadFolders } from "./folders.ts";
import { lfwExpected, loadLfw } from "./lfw.ts";
import { type Skipped, skippedTotal, subsetIdentities } from "./faceset.ts";
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
export { readPairs } from "./lfw.ts";
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
   * count, or for real data 1985 scaled by identities / 10,177).
   */
  heldOutIdentities?: number;
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
  options: { cacheDir?: string; quiet?: boolean } = {},
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
    await generateSynth(tmp, params, { quiet: options.quiet });
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
    ? await ensureSynth(params, { cacheDir, quiet: options.quiet })
    : options.data.replace(/\/+$/, "");
  const common = {
    crop: options.crop,
    cacheDir,
    skipMissing: options.skipMissing,
    skipBadImages: options.skipBadImages,
    quiet: options.quiet,
  };
  let trainSource: {
    set: FaceSet;
    skipped: Skipped;
    info: Record<string, unknown>;
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
  const heldOut = options.heldOutIdentities ??
    (synth ? params.heldOutIdentities : Math.min(
      PAPER_SPLIT.heldOut,
      Math.round(n * PAPER_SPLIT.heldOut / 10177),
    ));
  const train = options.trainIdentities ?? n - heldOut;
  const split = splitIdentities(n, { train, heldOut, seed: options.seed });
  const trainSet = subsetIdentities(all, split.train);
  const heldOutSet = subsetIdentities(all, split.heldOut);
  const overlap = [
    ...new Set([
      ...overlappingIdentities(trainSet, lfw.set),
      ...overlappingIdentities(heldOutSet, lfw.set),
    ]),
  ].sort();
  if (overlap.length > 0) {
    const shown = overlap.slice(0, 20).join(", ");
    throw new InputError(
      root,
      0,
      `${overlap.length} identities are in both the training data and the test set: ${shown}${
        overlap.length > 20 ? ", ..." : ""
      } (training and test identities must be disjoint; remove them from the training data)`,
    );
  }
  const describe = (s: FaceSet) => ({
    identities: s.identities.length,
    images: s.labels.length,
  });
  return {
    train: trainSet,
    heldOut: heldOutSet,
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
 * landmarks and LFW-format images by the fixed crop.
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
    await generateSynth(dir, params, { quiet: true, contactSheet: false });
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

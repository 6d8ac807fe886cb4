/**
 * The crop cache: a data set's face crops are decoded and aligned once per
 * data set and crop config, then reused by every run. The decoded, aligned
 * crops of one dataset are one binary file `crops.bin` ([N, H, W, C] uint8)
 * plus `manifest.json` (source file list hash, crop settings, shape, checksum
 * of the binary, images that failed to decode). It lives in
 * `CACHE/crops/<format>-<hash of root and crop>/`.
 *
 * The cache is rebuilt when the source list hash (paths, sizes, mtimes,
 * landmarks, annotation files) or the crop settings change, and reused
 * otherwise. Both files are written atomically, the binary first and the
 * manifest last, and the manifest records the binary's length and SHA-256:
 * a half-written cache from an interrupted run fails those checks and is
 * rebuilt, never used.
 *
 * Building reads, decodes (sharp) and crops the images on worker threads,
 * one per core unless `workers` or the environment variable
 * `DEEPID2_DATA_WORKERS` says otherwise (datasets/workers.ts), in chunks of
 * consecutive images; each crop depends only on its own file, so the cache
 * is byte-identical for any worker count. A build can cut several crops in
 * one pass (`alsoCrops`: each image decoded once for all of them), writing
 * each crop's cache as above; decoding is about two thirds of a one-crop
 * build.
 *
 * @module
 */
import { sha256Hex, writeFileAtomic, writeTextAtomic } from "../lib/base/io.ts";
import { Progress } from "../lib/base/progress.ts";
import type { CropOptions } from "./types.ts";
import { cropBytes, validateCrop } from "./crop.ts";
import type { CropChunk } from "./data_tasks.ts";
import { dataWorkerCount, runTasks } from "./workers.ts";

/** Bumped whenever the crop computation changes, to invalidate caches. */
export const CROP_VERSION = 1;

/** One image to crop. */
export interface CropSource {
  /** Path relative to the dataset root (FaceSet.paths). */
  path: string;
  /** 5 landmarks [x, y] x 5 in source pixels, or null for the fixed crop. */
  landmarks: readonly number[] | null;
}

/** An image that could not be decoded. */
export interface BadImage {
  /** Index into the sources. */
  index: number;
  /** Path relative to the dataset root. */
  path: string;
  /** The decoder's message. */
  error: string;
}

/** Options for {@linkcode loadCrops}. */
export interface LoadCropsOptions {
  /** Dataset format, e.g. "celeba", "lfw", "folders". */
  format: string;
  /** Dataset root; `CropSource.path` is relative to it. */
  root: string;
  crop: CropOptions;
  /** Cache folder (the project's `.cache`). */
  cacheDir: string;
  /** Hash of the annotation files, mixed into the source hash. */
  annotationHash?: string;
  /** No progress line. */
  quiet?: boolean;
  /** Decodes in flight at once, over all workers (default 6). */
  concurrency?: number;
  /**
   * Threads decoding and cropping (default: `DEEPID2_DATA_WORKERS`, else
   * one per core; datasets/workers.ts). The crops are the same for any
   * count.
   */
  workers?: number;
  /**
   * Further crops of the same sources that the caller will load next: when
   * this call has to build its cache, the caches of these that are missing
   * or stale are built in the same pass (each image decoded once for all).
   */
  alsoCrops?: readonly CropOptions[];
}

/** What {@linkcode loadCrops} returns. */
export interface LoadCropsResult {
  /** [N, H, W, C] uint8 for every source; bad images are all zero. */
  images: Uint8Array;
  shape: [number, number, number];
  /** Sources that failed to decode. */
  bad: BadImage[];
  /** The cache folder used. */
  cache: string;
  /** Whether the cache was (re)built by this call. */
  built: boolean;
}

interface Manifest {
  version: number;
  format: string;
  root: string;
  sourceHash: string;
  crop: CropOptions;
  shape: [number, number, number, number];
  binBytes: number;
  binSha256: string;
  bad: BadImage[];
  builtAt: string;
  buildSeconds: number;
}

/** The source list hash: paths, sizes, mtimes, landmarks, crop, annotations. */
export async function sourceHash(
  sources: readonly CropSource[],
  options: Pick<LoadCropsOptions, "root" | "crop" | "annotationHash">,
): Promise<string> {
  const parts: string[] = [
    `v${CROP_VERSION}`,
    JSON.stringify(options.crop),
    options.annotationHash ?? "",
  ];
  for (const s of sources) {
    let st = "missing";
    try {
      const info = Deno.statSync(`${options.root}/${s.path}`);
      st = `${info.size}:${info.mtime?.getTime() ?? 0}`;
    } catch { /* decoding reports it */ }
    parts.push(`${s.path}\t${st}\t${s.landmarks?.join(",") ?? "fixed"}`);
  }
  return await sha256Hex(parts.join("\n"));
}

/** The cache folder for a dataset root and crop. */
export async function cacheFolder(
  options: Pick<LoadCropsOptions, "format" | "root" | "crop" | "cacheDir">,
): Promise<string> {
  let real = options.root;
  try {
    real = await Deno.realPath(options.root);
  } catch { /* keep as given */ }
  const key = await sha256Hex(`${real}\n${JSON.stringify(options.crop)}`);
  return `${options.cacheDir}/crops/${options.format}-${key.slice(0, 16)}`;
}

async function readValidCache(
  dir: string,
  hash: string,
  expectBytes: number,
): Promise<{ manifest: Manifest; images: Uint8Array } | null> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  } catch {
    return null;
  }
  if (
    manifest.version !== CROP_VERSION || manifest.sourceHash !== hash ||
    manifest.binBytes !== expectBytes
  ) return null;
  let bin: Uint8Array;
  try {
    const st = await Deno.stat(`${dir}/crops.bin`);
    if (st.size !== expectBytes) return null;
    bin = await Deno.readFile(`${dir}/crops.bin`);
  } catch {
    return null;
  }
  if (bin.length !== expectBytes) return null;
  if ((await sha256Hex(bin)) !== manifest.binSha256) return null;
  return { manifest, images: bin };
}

/**
 * Returns the crops of `sources`, from the cache when it is valid for them,
 * else decoding and cropping every image (with a progress line) and writing
 * the cache.
 */
export async function loadCrops(
  sources: readonly CropSource[],
  options: LoadCropsOptions,
): Promise<LoadCropsResult> {
  validateCrop(options.crop);
  const dir = await cacheFolder(options);
  const hash = await sourceHash(sources, options);
  const cached = await readValidCache(
    dir,
    hash,
    cropBytes(options.crop) * sources.length,
  );
  if (cached) {
    return {
      images: cached.images,
      shape: shapeOf(options.crop),
      bad: cached.manifest.bad,
      cache: dir,
      built: false,
    };
  }
  // The other crops asked for whose caches are not there yet: built in the
  // same pass, so each image is read and decoded once for all of them.
  const seen = new Set([JSON.stringify(options.crop)]);
  const extra: { crop: CropOptions; dir: string; hash: string }[] = [];
  for (const crop of options.alsoCrops ?? []) {
    const key = JSON.stringify(crop);
    if (seen.has(key)) continue;
    seen.add(key);
    validateCrop(crop);
    const o = { ...options, crop };
    const d = await cacheFolder(o), h = await sourceHash(sources, o);
    if (!(await manifestMatches(d, h, cropBytes(crop) * sources.length))) {
      extra.push({ crop, dir: d, hash: h });
    }
  }
  const t0 = performance.now();
  const built = await cropAllMany(
    sources,
    [options.crop, ...extra.map((x) => x.crop)],
    options,
  );
  const buildSeconds = (performance.now() - t0) / 1000;
  const write = (crop: CropOptions, d: string, h: string, images: Uint8Array) =>
    writeCache(d, images, {
      version: CROP_VERSION,
      format: options.format,
      root: options.root,
      sourceHash: h,
      crop,
      shape: [sources.length, ...shapeOf(crop)],
      binBytes: images.length,
      binSha256: "",
      bad: built.bad,
      builtAt: new Date().toISOString(),
      buildSeconds,
    });
  await write(options.crop, dir, hash, built.images[0]);
  for (let k = 0; k < extra.length; k++) {
    await write(
      extra[k].crop,
      extra[k].dir,
      extra[k].hash,
      built.images[k + 1],
    );
  }
  return {
    images: built.images[0],
    shape: shapeOf(options.crop),
    bad: built.bad,
    cache: dir,
    built: true,
  };
}

function shapeOf(crop: CropOptions): [number, number, number] {
  return [crop.height, crop.width, crop.gray ? 1 : 3];
}

/**
 * Whether `dir`'s manifest is for these sources and its binary has the
 * expected length: the cheap half of {@linkcode readValidCache}'s checks,
 * to decide whether a crop asked for in passing needs building. Loading it
 * later runs every check (its checksum too).
 */
async function manifestMatches(
  dir: string,
  hash: string,
  expectBytes: number,
): Promise<boolean> {
  try {
    const m: Manifest = JSON.parse(
      await Deno.readTextFile(`${dir}/manifest.json`),
    );
    return m.version === CROP_VERSION && m.sourceHash === hash &&
      m.binBytes === expectBytes &&
      (await Deno.stat(`${dir}/crops.bin`)).size === expectBytes;
  } catch {
    return false;
  }
}

/**
 * Writes a cache: the binary first, then the manifest naming its length and
 * checksum (computed here), each atomically, after removing the old manifest
 * so that it never vouches for a new binary.
 */
async function writeCache(
  dir: string,
  images: Uint8Array,
  manifest: Manifest,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.remove(`${dir}/manifest.json`).catch(() => {});
  await writeFileAtomic(`${dir}/crops.bin`, images);
  const full: Manifest = { ...manifest, binSha256: await sha256Hex(images) };
  await writeTextAtomic(
    `${dir}/manifest.json`,
    JSON.stringify(full, null, 1) + "\n",
  );
}

/** Images per chunk handed to a worker: ~0.1-0.2 s of work. */
const CROP_CHUNK = 64;

/**
 * Decodes and crops every source (no cache), `concurrency` decodes in
 * flight in all, over `workers` threads (default: `DEEPID2_DATA_WORKERS`,
 * else one per core but at most one per 512 images; datasets/workers.ts).
 * Returns the crops and the images that failed to decode.
 */
export async function cropAll(
  sources: readonly CropSource[],
  options: Pick<
    LoadCropsOptions,
    "root" | "crop" | "format" | "quiet" | "concurrency" | "workers"
  >,
): Promise<{ images: Uint8Array; bad: BadImage[] }> {
  const { images, bad } = await cropAllMany(sources, [options.crop], options);
  return { images: images[0], bad };
}

/**
 * {@linkcode cropAll} for several crops at once: each image is read and
 * decoded once and cut into every crop. Returns one [N, H, W, C] array per
 * crop, in the order of `crops`.
 */
export async function cropAllMany(
  sources: readonly CropSource[],
  crops: readonly CropOptions[],
  options: Pick<
    LoadCropsOptions,
    "root" | "format" | "quiet" | "concurrency" | "workers"
  >,
): Promise<{ images: Uint8Array[]; bad: BadImage[] }> {
  for (const c of crops) validateCrop(c);
  const per = crops.map(cropBytes);
  const images = per.map((b) => new Uint8Array(b * sources.length));
  const bad: BadImage[] = [];
  const progress = options.quiet ? null : new Progress(
    `prepare ${options.format}${
      crops.length > 1 ? ` (${crops.length} crops)` : ""
    }`,
    sources.length,
    { unit: "images" },
  );
  // by default a worker per ~1 s of decoding and cropping at least
  const workers = dataWorkerCount(options.workers, {
    items: sources.length,
    perWorker: 512,
  });
  const inflight = Math.max(
    1,
    Math.ceil((options.concurrency ?? 6) / Math.max(1, workers)),
  );
  const chunks: CropChunk[] = [];
  for (let start = 0; start < sources.length; start += CROP_CHUNK) {
    const part = sources.slice(start, start + CROP_CHUNK);
    chunks.push({
      root: options.root,
      start,
      paths: part.map((s) => s.path),
      landmarks: part.map((s) => s.landmarks),
      crops: [...crops],
      inflight,
    });
  }
  let done = 0;
  await runTasks("crop", chunks, {
    workers,
    onResult: (k, out) => {
      const start = chunks[k].start;
      out.images.forEach((im, c) => images[c].set(im, start * per[c]));
      bad.push(...out.bad);
      done += chunks[k].paths.length;
      if (done < sources.length) progress?.update(done);
    },
  });
  progress?.finish(done);
  bad.sort((x, y) => x.index - y.index);
  return { images, bad };
}

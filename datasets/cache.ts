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
 * @module
 */
import sharp from "sharp";
import { sha256Hex, writeFileAtomic, writeTextAtomic } from "../lib/base/io.ts";
import { Progress } from "../lib/base/progress.ts";
import type { CropOptions } from "./types.ts";
import { cropBytes, cropFace, decodeImage, validateCrop } from "./crop.ts";

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
  /** Decodes in flight at once (default 6). */
  concurrency?: number;
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
  const per = cropBytes(options.crop);
  const shape: [number, number, number] = [
    options.crop.height,
    options.crop.width,
    options.crop.gray ? 1 : 3,
  ];
  const dir = await cacheFolder(options);
  const hash = await sourceHash(sources, options);
  const cached = await readValidCache(dir, hash, per * sources.length);
  if (cached) {
    return {
      images: cached.images,
      shape,
      bad: cached.manifest.bad,
      cache: dir,
      built: false,
    };
  }
  const t0 = performance.now();
  const { images, bad } = await cropAll(sources, options);
  const buildSeconds = (performance.now() - t0) / 1000;
  await Deno.mkdir(dir, { recursive: true });
  // A stale manifest must never vouch for the new binary: remove it first.
  await Deno.remove(`${dir}/manifest.json`).catch(() => {});
  await writeFileAtomic(`${dir}/crops.bin`, images);
  const manifest: Manifest = {
    version: CROP_VERSION,
    format: options.format,
    root: options.root,
    sourceHash: hash,
    crop: options.crop,
    shape: [sources.length, ...shape],
    binBytes: images.length,
    binSha256: await sha256Hex(images),
    bad,
    builtAt: new Date().toISOString(),
    buildSeconds,
  };
  await writeTextAtomic(
    `${dir}/manifest.json`,
    JSON.stringify(manifest, null, 1) + "\n",
  );
  return { images, shape, bad, cache: dir, built: true };
}

/**
 * Decodes and crops every source (no cache), `concurrency` decodes in
 * flight. Returns the crops and the images that failed to decode.
 */
export async function cropAll(
  sources: readonly CropSource[],
  options: Pick<
    LoadCropsOptions,
    "root" | "crop" | "format" | "quiet" | "concurrency"
  >,
): Promise<{ images: Uint8Array; bad: BadImage[] }> {
  sharp.concurrency(1); // one libvips thread per image; parallel images instead
  sharp.cache(false);
  const per = cropBytes(options.crop);
  const images = new Uint8Array(per * sources.length);
  const bad: BadImage[] = [];
  const progress = options.quiet
    ? null
    : new Progress(`prepare ${options.format}`, sources.length, {
      unit: "images",
    });
  let next = 0, done = 0;
  async function worker(): Promise<void> {
    while (next < sources.length) {
      const i = next++;
      const s = sources[i];
      const file = `${options.root}/${s.path}`;
      try {
        const img = await decodeImage(await Deno.readFile(file));
        cropFace(img, s.landmarks, {
          crop: options.crop,
          out: images,
          offset: i * per,
        });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) throw e;
        bad.push({ index: i, path: s.path, error: (e as Error).message });
      }
      done++;
      if (done < sources.length) progress?.update(done);
    }
  }
  const n = Math.max(1, options.concurrency ?? 6);
  await Promise.all(Array.from({ length: n }, worker));
  progress?.finish(done);
  bad.sort((x, y) => x.index - y.index);
  return { images, bad };
}

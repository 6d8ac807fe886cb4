/**
 * Folder-per-identity data sets, the layout of CASIA-WebFace (Yi, Lei, Liao,
 * Li, "Learning Face Representation from Scratch", arXiv 1411.7923:
 * `CASIA-WebFace/0000045/001.jpg`) and of most face-recognition training
 * sets exported by other tools: `ROOT/<identity>/<image>.jpg|.png`. Any other
 * training set enters the suite this way. No landmarks: images get the fixed
 * crop of datasets/crop.ts (a face centred as in LFW / CASIA-WebFace 250x250
 * images; other sizes are scaled about the centre).
 *
 * @module
 */
import { InputError } from "../lib/base/io.ts";
import type { FaceSet } from "../lib/faces.ts";
import type { CropOptions } from "./types.ts";
import { type CropSource, loadCrops } from "./cache.ts";
import { assembleFaceSet, noneSkipped, type Skipped } from "./faceset.ts";

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/** What a folder-per-identity root must contain, for error messages. */
export function foldersExpected(root: string): string {
  return `expected one folder per identity: ${root}/<identity>/<image>.jpg (or .png)`;
}

/** Options for {@linkcode loadFolders}. */
export interface LoadFoldersOptions {
  crop: CropOptions;
  cacheDir: string;
  /** Skip (and count) undecodable images. */
  skipBadImages?: boolean;
  quiet?: boolean;
  /** Crop threads and crops built in the same pass (datasets/cache.ts). */
  workers?: number;
  alsoCrops?: readonly CropOptions[];
}

/** A loaded folder-per-identity set. */
export interface FoldersData {
  /** Identities are the folder names, sorted; images sorted by path. */
  set: FaceSet;
  skipped: Skipped;
  cache: string;
  info: Record<string, unknown>;
}

/** Loads a folder-per-identity data set (cached crops). */
export async function loadFolders(
  root: string,
  options: LoadFoldersOptions,
): Promise<FoldersData> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      if (e.isDirectory && !e.name.startsWith(".")) names.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(root, 0, `not found; ${foldersExpected(root)}`);
    }
    if (e instanceof Deno.errors.NotADirectory) {
      throw new InputError(root, 0, `not a folder; ${foldersExpected(root)}`);
    }
    throw e;
  }
  names.sort();
  const sources: CropSource[] = [];
  const labels: number[] = [];
  const identities: string[] = [];
  for (const name of names) {
    const files: string[] = [];
    for await (const f of Deno.readDir(`${root}/${name}`)) {
      if (f.isFile && IMAGE_EXT.test(f.name)) files.push(f.name);
    }
    if (files.length === 0) continue;
    files.sort();
    const label = identities.length;
    identities.push(name);
    for (const f of files) {
      sources.push({ path: `${name}/${f}`, landmarks: null });
      labels.push(label);
    }
  }
  if (sources.length === 0) {
    throw new InputError(root, 0, `no images; ${foldersExpected(root)}`);
  }
  const crops = await loadCrops(sources, {
    format: "folders",
    root,
    crop: options.crop,
    cacheDir: options.cacheDir,
    quiet: options.quiet,
    workers: options.workers,
    alsoCrops: options.alsoCrops,
  });
  const skipped = noneSkipped();
  const { set } = assembleFaceSet(sources, {
    labels,
    identities,
    crops,
    root,
    skipBadImages: options.skipBadImages,
    skipped,
  });
  return {
    set,
    skipped,
    cache: crops.cache,
    info: {
      format: "folders",
      root,
      images: set.labels.length,
      identities: identities.length,
      cacheBuilt: crops.built,
    },
  };
}

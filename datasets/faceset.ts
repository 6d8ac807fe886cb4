/**
 * Building and slicing {@linkcode FaceSet}s: the common last step of every
 * loader (crops from the cache + labels -> FaceSet, with undecodable images
 * either refused by name or skipped and counted), and identity subsets for
 * the ConvNet / held-out split (lib/PAPER.md, "Data and pipeline").
 *
 * @module
 */
import { InputError } from "../lib/base/io.ts";
import type { FaceSet } from "../lib/faces.ts";
import type { CropSource, LoadCropsResult } from "./cache.ts";

/** What a loader left out, and why. Nothing is ever dropped uncounted. */
export interface Skipped {
  /** Entries (identity-file lines, people.txt entries) whose image is missing. */
  missing: number;
  /** Images that failed to decode (truncated / not an image). */
  badImages: number;
  /** Verification pairs dropped because an image was missing or bad. */
  pairs: number;
  /** Up to 20 examples, `path: reason`. */
  examples: string[];
}

/** A fresh, empty {@linkcode Skipped}. */
export function noneSkipped(): Skipped {
  return { missing: 0, badImages: 0, pairs: 0, examples: [] };
}

/** Total entries skipped. */
export function skippedTotal(s: Skipped): number {
  return s.missing + s.badImages + s.pairs;
}

/** Records one skipped item in `s`. */
export function noteSkipped(
  s: Skipped,
  kind: "missing" | "badImages" | "pairs",
  example: string,
): void {
  s[kind]++;
  if (s.examples.length < 20) s.examples.push(example);
}

/**
 * Assembles a FaceSet from cropped sources. Images that failed to decode are
 * an InputError naming the file, unless `skipBadImages`, when they are left
 * out and counted in `skipped`. Returns also `keptIndex`: for each source,
 * its index in the FaceSet or -1.
 */
export function assembleFaceSet(
  sources: readonly CropSource[],
  options: {
    labels: ArrayLike<number>;
    identities: string[];
    crops: LoadCropsResult;
    root: string;
    skipBadImages?: boolean;
    skipped: Skipped;
  },
): { set: FaceSet; keptIndex: Int32Array } {
  const { crops, skipped } = options;
  const badSet = new Set<number>();
  for (const b of crops.bad) {
    if (!options.skipBadImages) {
      throw new InputError(
        `${options.root}/${b.path}`,
        0,
        `cannot decode image (${b.error}); use --skip-bad-images to skip it`,
      );
    }
    badSet.add(b.index);
    noteSkipped(skipped, "badImages", `${b.path}: ${b.error}`);
  }
  const [h, w, c] = crops.shape;
  const per = h * w * c;
  const n = sources.length - badSet.size;
  const keptIndex = new Int32Array(sources.length).fill(-1);
  let images: Uint8Array;
  const labels = new Int32Array(n);
  const paths: string[] = [];
  if (badSet.size === 0) {
    images = crops.images;
    for (let i = 0; i < sources.length; i++) {
      keptIndex[i] = i;
      labels[i] = options.labels[i];
      paths.push(sources[i].path);
    }
  } else {
    images = new Uint8Array(n * per);
    let k = 0;
    for (let i = 0; i < sources.length; i++) {
      if (badSet.has(i)) continue;
      images.set(crops.images.subarray(i * per, (i + 1) * per), k * per);
      keptIndex[i] = k;
      labels[k] = options.labels[i];
      paths.push(sources[i].path);
      k++;
    }
  }
  return {
    set: {
      images,
      shape: [h, w, c],
      labels,
      identities: options.identities,
      paths,
    },
    keptIndex,
  };
}

/**
 * The images of the given identities (indices into `set.identities`),
 * relabelled 0..k-1 in the order given.
 */
export function subsetIdentities(
  set: FaceSet,
  identityIndices: readonly number[],
): FaceSet {
  return subsetIdentitiesIndexed(set, identityIndices).set;
}

/**
 * {@linkcode subsetIdentities}, and `index`: for each image of `set`, its
 * index in the subset or -1 (to re-point pairs at the subset). Images keep
 * their order.
 */
export function subsetIdentitiesIndexed(
  set: FaceSet,
  identityIndices: readonly number[],
): { set: FaceSet; index: Int32Array } {
  const newLabel = new Int32Array(set.identities.length).fill(-1);
  identityIndices.forEach((id, k) => newLabel[id] = k);
  const per = set.shape[0] * set.shape[1] * set.shape[2];
  const keep: number[] = [];
  const index = new Int32Array(set.labels.length).fill(-1);
  for (let i = 0; i < set.labels.length; i++) {
    if (newLabel[set.labels[i]] >= 0) {
      index[i] = keep.length;
      keep.push(i);
    }
  }
  const images = new Uint8Array(keep.length * per);
  const labels = new Int32Array(keep.length);
  const paths: string[] = [];
  keep.forEach((i, k) => {
    images.set(set.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = newLabel[set.labels[i]];
    paths.push(set.paths[i]);
  });
  return {
    set: {
      images,
      shape: [...set.shape],
      labels,
      identities: identityIndices.map((i) => set.identities[i]),
      paths,
    },
    index,
  };
}

/**
 * The shapes in which face data reaches training and evaluation: a set of
 * labelled face crops, verification pairs in folds, and the four-way split an
 * experiment runs on. Every loader (`datasets/`: synthetic, LFW, CelebA,
 * folder-per-identity) produces these; the library consumes them.
 *
 * @module
 */

/** Face crops with identity labels. */
export interface FaceSet {
  /** Crops, [N, H, W, C] uint8, row-major. */
  images: Uint8Array;
  /** [H, W, C] of one crop. */
  shape: [number, number, number];
  /** Identity index (into `identities`) of each image, length N. */
  labels: Int32Array;
  /** Identity names; index = label. */
  identities: string[];
  /** Source path of each image, relative to the dataset root, length N. */
  paths: string[];
}

/** One verification pair; `a`, `b` index into the test FaceSet. */
export interface Pair {
  /** 0-based fold. */
  fold: number;
  /** Same identity. */
  same: boolean;
  a: number;
  b: number;
}

/** Everything an experiment needs. */
export interface Dataset {
  /** Identities that train the ConvNet (CelebA, paper: 8192). */
  train: FaceSet;
  /** Held-out identities, disjoint from train and test (Joint Bayesian). */
  heldOut: FaceSet;
  /** Test images (LFW). */
  test: FaceSet;
  /** Verification pairs on `test`, in folds (LFW View 2). */
  pairs: Pair[];
  /** Number of folds in `pairs` (10 for LFW). */
  numFolds: number;
  /** Provenance for meta.json: format, root path or synthetic params, file-list hash. */
  info: Record<string, unknown>;
}

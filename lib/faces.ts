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

/**
 * One verification pair; `a`, `b` index into the FaceSet the pair list
 * belongs to (`test` for {@linkcode Dataset.pairs}, `validation` for
 * {@linkcode Dataset.validationPairs}).
 */
export interface Pair {
  /** 0-based fold. */
  fold: number;
  /** Same identity. */
  same: boolean;
  /** Image index of the first face. */
  a: number;
  /** Image index of the second face. */
  b: number;
}

/** Everything an experiment needs. */
export interface Dataset {
  /** Identities that train the ConvNet (CelebA, paper: 8192). */
  train: FaceSet;
  /** Held-out identities, disjoint from train and test (Joint Bayesian). */
  heldOut: FaceSet;
  /**
   * Validation faces: every accuracy-dependent choice (learning rate, steps,
   * the λ of "the joint model", patch selection) is made on these, never on
   * `test`. Identity-disjoint from `train` and `heldOut` (the loader refuses
   * any overlap). Taken from LFW View 1 (`pairsDevTrain.txt`,
   * `pairsDevTest.txt`) when the LFW folder has it; on real LFW those people
   * may also be in View 2, as LFW's own protocol allows (lib/PAPER.md, "LFW
   * protocol and file formats"); on the synthetic set they are extra people
   * found in no other split. Without View 1, carved out of the training
   * identities (CelebA's validation partition, or a seeded share).
   * `info.validation` says which.
   */
  validation: FaceSet;
  /**
   * Verification pairs on `validation`, `fold` in 0..9: always 10 folds, so
   * the 10-fold threshold protocol of `pairs` runs on them unchanged; each
   * fold holds same and different pairs. The folds are for threshold
   * selection only and need not be identity-disjoint (View 1 has no folds).
   */
  validationPairs: Pair[];
  /**
   * Test images (LFW): every image of the LFW folder except those of people
   * named only in the View 1 files (not in `pairs.txt`).
   */
  test: FaceSet;
  /** Verification pairs on `test`, in folds (LFW View 2). */
  pairs: Pair[];
  /** Number of folds in `pairs` (10 for LFW). */
  numFolds: number;
  /**
   * Provenance for meta.json: format, root path or synthetic params,
   * file-list hash; `validation` says where the validation split came from
   * (`source`: `lfw-view1`, `celeba-partition` or `carved`, its files or
   * seed, and its sizes).
   */
  info: Record<string, unknown>;
}

/**
 * The horizontal mirror of every crop of `set` (column j of each row becomes
 * column W − 1 − j; channels and labels unchanged): the flipped face the
 * final system takes a second feature vector from (`lib/PAPER.md`, "Data and
 * pipeline").
 */
export function mirrored(set: FaceSet): FaceSet {
  const [, w, c] = set.shape;
  const src = set.images;
  const out = new Uint8Array(src.length);
  const row = w * c;
  for (let r = 0; r < src.length / row; r++) {
    const o = r * row;
    for (let j = 0; j < w; j++) {
      const from = o + j * c, to = o + (w - 1 - j) * c;
      for (let k = 0; k < c; k++) out[to + k] = src[from + k];
    }
  }
  return { ...set, images: out };
}

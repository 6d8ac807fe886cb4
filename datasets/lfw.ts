/**
 * Labeled Faces in the Wild (Huang et al., UMass TR 07-49, 2007; the README
 * and files at vis-www.cs.umass.edu/lfw/), the test set (lib/PAPER.md, "LFW
 * protocol and file formats"):
 *
 * - images `lfw/<Name>/<Name>_<NNNN>.jpg`, 250x250; the funneled and
 *   deep-funneled copies have the same layout under `lfw-funneled/` and
 *   `lfw-deepfunneled/` (preferred in that order: deep-funneled first); `.png`
 *   is accepted too;
 * - View 2 `pairs.txt`: header `10<TAB>300`, then per fold 300 lines
 *   `name n1 n2` (same person) and 300 lines `name1 n1 name2 n2` (different);
 *   some copies lack the header line, then folds are the runs of same-pair
 *   lines followed by different-pair lines;
 * - View 1 `pairsDevTrain.txt` / `pairsDevTest.txt`: a single count line N,
 *   then N same and N different pairs (one fold). When both are there they
 *   are the validation pairs ({@linkcode LfwData.validation}), on which
 *   settings are chosen so that View 2 stays the test;
 * - `people.txt` (View 2: fold count, then per fold a count line and
 *   `name images` lines) and `peopleDevTrain.txt` / `peopleDevTest.txt`
 *   (View 1: a count line, then `name images` lines).
 *
 * Images are cropped by the fixed LFW crop of datasets/crop.ts (no landmarks).
 *
 * On real LFW, View 1 and View 2 share many people: LFW's protocol uses View
 * 1 for model selection and View 2 for the reported numbers, without
 * requiring the people to differ (Huang et al. 2007). On the synthetic set
 * (datasets/synthfaces.ts) the View 1 people are extra people found nowhere
 * else.
 *
 * @module
 */
import { exists, InputError } from "../lib/base/io.ts";
import type { FaceSet, Pair } from "../lib/faces.ts";
import type { CropOptions } from "./types.ts";
import { parseCount, readFieldLines } from "./_text.ts";
import { type CropSource, loadCrops } from "./cache.ts";
import {
  assembleFaceSet,
  noneSkipped,
  noteSkipped,
  type Skipped,
  subsetIdentitiesIndexed,
} from "./faceset.ts";
import { foldShortfall, VALIDATION_FOLDS, view1Folds } from "./validation.ts";

/** One line of an LFW pairs file. */
export interface LfwPairEntry {
  /** 0-based fold (always 0 in View 1 files). */
  fold: number;
  /** Same person (`name n1 n2` line) or not (`name1 n1 name2 n2`). */
  same: boolean;
  name1: string;
  /** 1-based image number of name1 (`<Name>_<NNNN>.jpg`). */
  n1: number;
  /** Equal to name1 for a same pair. */
  name2: string;
  n2: number;
  /** 1-based line number in the file. */
  line: number;
}

/** One entry of an LFW people file. */
export interface LfwPeopleEntry {
  /** 0-based fold (always 0 in View 1 files). */
  fold: number;
  name: string;
  /** Number of images of this person. */
  count: number;
  /** 1-based line number in the file. */
  line: number;
}

const PAIRS_FORMAT =
  "LFW pairs file: optional header `folds<TAB>pairsPerFold` (View 2) or `count` (View 1), " +
  "then lines `name n1 n2` (same) and `name1 n1 name2 n2` (different)";

function isCount(s: string): boolean {
  return /^\d+$/.test(s);
}

function parsePairLine(
  path: string,
  fields: string[],
  line: number,
  fold: number,
): LfwPairEntry {
  const num = (s: string) => {
    const n = parseCount(path, line, s, "image number");
    if (n < 1) throw new InputError(path, line, `image number must be >= 1`);
    return n;
  };
  if (fields.length === 3) {
    return {
      fold,
      same: true,
      name1: fields[0],
      n1: num(fields[1]),
      name2: fields[0],
      n2: num(fields[2]),
      line,
    };
  }
  if (fields.length === 4) {
    if (fields[0] === fields[2]) {
      throw new InputError(
        path,
        line,
        `different-person pair names the same person "${fields[0]}"`,
      );
    }
    return {
      fold,
      same: false,
      name1: fields[0],
      n1: num(fields[1]),
      name2: fields[2],
      n2: num(fields[3]),
      line,
    };
  }
  throw new InputError(
    path,
    line,
    `expected "name n1 n2" or "name1 n1 name2 n2", got ${fields.length} field(s): "${
      fields.join(" ")
    }"`,
  );
}

/**
 * Reads an LFW pairs file: View 2 `pairs.txt` with or without its
 * `10<TAB>300` header, or a View 1 file (`pairsDevTrain.txt`,
 * `pairsDevTest.txt`) with its single count line. Any malformed line is an
 * {@linkcode InputError} `FILE:LINE: what is wrong`.
 *
 * @example
 * ```ts
 * const pairs = await readPairs("data/lfw/pairs.txt"); // 6000 entries, folds 0..9
 * ```
 */
export async function readPairs(path: string): Promise<LfwPairEntry[]> {
  const lines = await readFieldLines(path, PAIRS_FORMAT);
  if (lines.length === 0) {
    throw new InputError(path, 0, `empty (expected ${PAIRS_FORMAT})`);
  }
  const first = lines[0];
  let folds = 0, perFold = 0, body = lines;
  if (first.fields.length === 2 && first.fields.every(isCount)) {
    folds = Number(first.fields[0]);
    perFold = Number(first.fields[1]);
    body = lines.slice(1);
  } else if (first.fields.length === 1 && isCount(first.fields[0])) {
    folds = 1;
    perFold = Number(first.fields[0]);
    body = lines.slice(1);
  } else if (first.fields.length < 3) {
    throw new InputError(
      path,
      first.line,
      `bad header "${
        first.fields.join(" ")
      }" (expected "folds pairsPerFold", a count, or a pair line)`,
    );
  }
  const out: LfwPairEntry[] = [];
  if (folds > 0) {
    if (perFold < 1) {
      throw new InputError(path, first.line, "pairs per fold must be >= 1");
    }
    const expected = folds * 2 * perFold;
    for (let i = 0; i < body.length; i++) {
      const { fields, line } = body[i];
      if (i >= expected) {
        throw new InputError(
          path,
          line,
          `more pairs than the header's ${folds} fold(s) x 2 x ${perFold}`,
        );
      }
      const fold = Math.floor(i / (2 * perFold));
      const wantSame = i % (2 * perFold) < perFold;
      const e = parsePairLine(path, fields, line, fold);
      if (e.same !== wantSame) {
        throw new InputError(
          path,
          line,
          `expected a ${
            wantSame
              ? 'same-person pair "name n1 n2"'
              : 'different-person pair "name1 n1 name2 n2"'
          } (each fold has ${perFold} same, then ${perFold} different pairs)`,
        );
      }
      out.push(e);
    }
    if (body.length < expected) {
      const last = body.length ? body[body.length - 1].line : first.line;
      throw new InputError(
        path,
        last,
        `header promises ${expected} pairs (${folds} x 2 x ${perFold}), file ends after ${body.length}`,
      );
    }
    return out;
  }
  // No header: a fold is a run of same pairs followed by different pairs.
  let fold = -1, prevSame = false;
  for (const { fields, line } of body) {
    const e = parsePairLine(path, fields, line, Math.max(fold, 0));
    if (e.same && (fold < 0 || !prevSame)) fold++;
    if (fold < 0) fold = 0;
    e.fold = fold;
    prevSame = e.same;
    out.push(e);
  }
  return out;
}

const PEOPLE_FORMAT =
  "LFW people file: View 2 `folds`, then per fold `count` and `name images` lines; " +
  "or View 1 `count`, then `name images` lines";

/**
 * Reads an LFW people file: View 2 `people.txt` (fold count, then per fold a
 * count and `name images` lines) or View 1 `peopleDevTrain.txt` /
 * `peopleDevTest.txt` (a count, then `name images` lines).
 */
export async function readPeople(path: string): Promise<LfwPeopleEntry[]> {
  const lines = await readFieldLines(path, PEOPLE_FORMAT);
  if (lines.length === 0) {
    throw new InputError(path, 0, `empty (expected ${PEOPLE_FORMAT})`);
  }
  const head = lines[0];
  if (head.fields.length !== 1) {
    throw new InputError(
      path,
      head.line,
      `expected a single count on the first line, got "${
        head.fields.join(" ")
      }"`,
    );
  }
  const n0 = parseCount(path, head.line, head.fields[0], "count");
  const view2 = lines.length > 1 && lines[1].fields.length === 1;
  const out: LfwPeopleEntry[] = [];
  let i = 1;
  const readBlock = (fold: number, count: number, countLine: number) => {
    for (let k = 0; k < count; k++, i++) {
      if (i >= lines.length) {
        throw new InputError(
          path,
          lines[lines.length - 1].line,
          `count on line ${countLine} promises ${count} people, file ends after ${k}`,
        );
      }
      const { fields, line } = lines[i];
      if (fields.length !== 2) {
        throw new InputError(
          path,
          line,
          `expected "name images", got "${fields.join(" ")}"`,
        );
      }
      const images = parseCount(path, line, fields[1], "image count");
      if (images < 1) {
        throw new InputError(path, line, "image count must be >= 1");
      }
      out.push({ fold, name: fields[0], count: images, line });
    }
  };
  if (view2) {
    for (let f = 0; f < n0; f++) {
      if (i >= lines.length) {
        throw new InputError(
          path,
          lines[lines.length - 1].line,
          `first line promises ${n0} folds, file ends after ${f}`,
        );
      }
      const { fields, line } = lines[i++];
      if (fields.length !== 1) {
        throw new InputError(
          path,
          line,
          `expected the people count of fold ${f + 1}, got "${
            fields.join(" ")
          }"`,
        );
      }
      readBlock(f, parseCount(path, line, fields[0], "people count"), line);
    }
  } else {
    readBlock(0, n0, head.line);
  }
  if (i < lines.length) {
    throw new InputError(
      path,
      lines[i].line,
      "more lines than the counts promise",
    );
  }
  return out;
}

/** The View 1 pairs files, in the order their pairs are concatenated. */
export const LFW_VIEW1_FILES = ["pairsDevTrain.txt", "pairsDevTest.txt"];

/** Image folders looked for under an LFW root, in order of preference. */
export const LFW_IMAGE_DIRS = ["lfw-deepfunneled", "lfw-funneled", "lfw"];

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/** What an LFW root must contain, for error messages. */
export function lfwExpected(root: string): string {
  return `expected an LFW folder: ${root}/lfw/<Name>/<Name>_0001.jpg ... ` +
    `(or lfw-funneled/, lfw-deepfunneled/; .jpg or .png) and ${root}/pairs.txt ` +
    `(people.txt optional; View 1 ${LFW_VIEW1_FILES.join(" and ")} optional, ` +
    `both or neither)`;
}

/**
 * Finds the image folder of an LFW root (deep-funneled, funneled, plain, or
 * the root itself when it holds `<Name>/<Name>_0001.jpg` folders). Returns
 * its path relative to the root ("" for the root itself).
 */
export async function findLfwImageDir(root: string): Promise<string> {
  try {
    const st = await Deno.stat(root);
    if (!st.isDirectory) throw new InputError(root, 0, lfwExpected(root));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(root, 0, `not found; ${lfwExpected(root)}`);
    }
    throw e;
  }
  for (const d of LFW_IMAGE_DIRS) {
    if (await exists(`${root}/${d}`)) return d;
  }
  for await (const e of Deno.readDir(root)) {
    if (!e.isDirectory) continue;
    for await (const f of Deno.readDir(`${root}/${e.name}`)) {
      if (f.name.startsWith(`${e.name}_`) && IMAGE_EXT.test(f.name)) return "";
    }
  }
  throw new InputError(root, 0, `no LFW image folder; ${lfwExpected(root)}`);
}

/** One image found in an LFW image folder. */
export interface LfwImage {
  name: string;
  /** Image number from `<Name>_<NNNN>`, or 0 if the file name has none. */
  n: number;
  /** Path relative to the LFW root. */
  path: string;
}

/** Lists the images of an LFW image folder, sorted by name then number. */
export async function scanLfwImages(
  root: string,
  imageDir: string,
): Promise<LfwImage[]> {
  const base = imageDir ? `${root}/${imageDir}` : root;
  const prefix = imageDir ? `${imageDir}/` : "";
  const out: LfwImage[] = [];
  const names: string[] = [];
  for await (const e of Deno.readDir(base)) {
    if (e.isDirectory) names.push(e.name);
  }
  names.sort();
  for (const name of names) {
    const files: LfwImage[] = [];
    for await (const f of Deno.readDir(`${base}/${name}`)) {
      if (!f.isFile || !IMAGE_EXT.test(f.name)) continue;
      const stem = f.name.replace(IMAGE_EXT, "");
      const m = stem.startsWith(`${name}_`)
        ? /^(\d+)$/.exec(stem.slice(name.length + 1))
        : null;
      files.push({
        name,
        n: m ? Number(m[1]) : 0,
        path: `${prefix}${name}/${f.name}`,
      });
    }
    files.sort((a, b) => a.n - b.n || (a.path < b.path ? -1 : 1));
    out.push(...files);
  }
  return out;
}

/** The conventional relative path of LFW image `n` of `name`. */
export function lfwImagePath(
  imageDir: string,
  name: string,
  n: number,
): string {
  const file = `${name}/${name}_${String(n).padStart(4, "0")}.jpg`;
  return imageDir ? `${imageDir}/${file}` : file;
}

/** Options for {@linkcode loadLfw}. */
export interface LoadLfwOptions {
  crop: CropOptions;
  /** Cache folder. */
  cacheDir: string;
  /** Pairs file relative to the root (default `pairs.txt`). */
  pairsFile?: string;
  /** Skip (and count) pairs / people entries whose image is missing. */
  skipMissing?: boolean;
  /** Skip (and count) undecodable images and the pairs that use them. */
  skipBadImages?: boolean;
  quiet?: boolean;
  /** Crop threads and crops built in the same pass (datasets/cache.ts). */
  workers?: number;
  alsoCrops?: readonly CropOptions[];
}

/** The validation split of an LFW folder: its View 1 pairs. */
export interface LfwValidation {
  /**
   * Every image of the people named in the View 1 pairs files, sorted by
   * name then number.
   */
  set: FaceSet;
  /**
   * The pairs of both View 1 files indexing into `set`, in
   * {@linkcode VALIDATION_FOLDS} folds assigned by `view1Folds`
   * (datasets/validation.ts), ordered by fold, same pairs first.
   */
  pairs: Pair[];
  /** The View 1 files read. */
  files: string[];
}

/** A loaded LFW folder. */
export interface LfwData {
  /**
   * The test images: every image in the image folder, sorted by name then
   * number, except those of people named in the View 1 files but not in the
   * pairs file (on the synthetic set: exactly the validation people).
   */
  set: FaceSet;
  /** Pairs indexing into `set`. */
  pairs: Pair[];
  numFolds: number;
  /** View 1 as validation split, or null when the folder has no View 1 files. */
  validation: LfwValidation | null;
  skipped: Skipped;
  /** The crop cache folder. */
  cache: string;
  info: Record<string, unknown>;
}

/**
 * Loads an LFW folder: validates pairs (and the people files when present)
 * against the images, crops every image (cached) and resolves the pairs;
 * with both View 1 files, also the validation split (one of them alone is an
 * InputError).
 */
export async function loadLfw(
  root: string,
  options: LoadLfwOptions,
): Promise<LfwData> {
  const imageDir = await findLfwImageDir(root);
  const pairsPath = `${root}/${options.pairsFile ?? "pairs.txt"}`;
  if (!(await exists(pairsPath))) {
    throw new InputError(pairsPath, 0, `file not found; ${lfwExpected(root)}`);
  }
  const entries = await readPairs(pairsPath);
  const view1 = await readView1(root);
  const images = await scanLfwImages(root, imageDir);
  if (images.length === 0) {
    throw new InputError(
      imageDir ? `${root}/${imageDir}` : root,
      0,
      `no images; ${lfwExpected(root)}`,
    );
  }
  const byKey = new Map<string, number>();
  images.forEach((im, i) => {
    if (im.n > 0 && !byKey.has(`${im.name}\t${im.n}`)) {
      byKey.set(`${im.name}\t${im.n}`, i);
    }
  });
  const skipped = noneSkipped();
  const find = (name: string, n: number, file: string, line: number) => {
    const i = byKey.get(`${name}\t${n}`);
    if (i !== undefined) return i;
    const path = `${root}/${lfwImagePath(imageDir, name, n)}`;
    if (!options.skipMissing) {
      throw new InputError(
        file,
        line,
        `image not found: ${path} (use --skip-missing to skip such entries)`,
      );
    }
    return -1;
  };
  const peopleFiles = ["people.txt", "peopleDevTrain.txt", "peopleDevTest.txt"];
  for (const peoplePath of peopleFiles.map((f) => `${root}/${f}`)) {
    if (!(await exists(peoplePath))) continue;
    for (const p of await readPeople(peoplePath)) {
      for (let n = 1; n <= p.count; n++) {
        if (find(p.name, n, peoplePath, p.line) < 0) {
          noteSkipped(
            skipped,
            "missing",
            `${peoplePath}:${p.line}: ${lfwImagePath(imageDir, p.name, n)}`,
          );
        }
      }
    }
  }
  type Resolved = { e: LfwPairEntry; file: string; i: number; j: number };
  const resolve = (list: { e: LfwPairEntry; file: string }[]) => {
    const out: Resolved[] = [];
    for (const { e, file } of list) {
      const i = find(e.name1, e.n1, file, e.line);
      const j = find(e.name2, e.n2, file, e.line);
      if (i < 0 || j < 0) {
        noteSkipped(skipped, "pairs", `${file}:${e.line}: image missing`);
        continue;
      }
      out.push({ e, file, i, j });
    }
    return out;
  };
  const resolved = resolve(entries.map((e) => ({ e, file: pairsPath })));
  // View 1 has no folds of its own; these are for threshold selection only.
  const folds1 = view1 ? view1Folds(view1.entries.map((x) => x.e)) : [];
  const resolved1 = view1
    ? resolve(
      view1.entries.map(({ e, file }, k) => ({
        e: { ...e, fold: folds1[k] },
        file,
      })),
    )
    : [];

  const names = [...new Set(images.map((im) => im.name))];
  const nameIndex = new Map(names.map((n, i) => [n, i]));
  const sources: CropSource[] = images.map((im) => ({
    path: im.path,
    landmarks: null,
  }));
  const crops = await loadCrops(sources, {
    format: "lfw",
    root,
    crop: options.crop,
    cacheDir: options.cacheDir,
    quiet: options.quiet,
    workers: options.workers,
    alsoCrops: options.alsoCrops,
  });
  const assembled = assembleFaceSet(sources, {
    labels: images.map((im) => nameIndex.get(im.name)!),
    identities: names,
    crops,
    root,
    skipBadImages: options.skipBadImages,
    skipped,
  });
  const all = assembled.set;
  const keptIndex = assembled.keptIndex;
  // People named only in View 1 are validation people, not test people.
  const inPairs = new Set(entries.flatMap((e) => [e.name1, e.name2]));
  const view1Names = new Set(
    view1?.entries.flatMap(({ e }) => [e.name1, e.name2]) ?? [],
  );
  const ids = names.map((_, k) => k);
  const testIds = ids.filter((k) =>
    inPairs.has(names[k]) || !view1Names.has(names[k])
  );
  const test = testIds.length === names.length
    ? { set: all, index: Int32Array.from(all.labels, (_, i) => i) }
    : subsetIdentitiesIndexed(all, testIds);
  const toPairs = (list: Resolved[], index: Int32Array) => {
    const out: Pair[] = [];
    for (const { e, file, i, j } of list) {
      const a = keptIndex[i] < 0 ? -1 : index[keptIndex[i]];
      const b = keptIndex[j] < 0 ? -1 : index[keptIndex[j]];
      if (a < 0 || b < 0) {
        noteSkipped(skipped, "pairs", `${file}:${e.line}: bad image`);
        continue;
      }
      out.push({ fold: e.fold, same: e.same, a, b });
    }
    return out;
  };
  const pairs = toPairs(resolved, test.index);
  const numFolds = entries.reduce((m, e) => Math.max(m, e.fold + 1), 0);
  let validation: LfwValidation | null = null;
  if (view1) {
    const v = subsetIdentitiesIndexed(
      all,
      ids.filter((k) => view1Names.has(names[k])),
    );
    const vPairs = toPairs(resolved1, v.index)
      .map((p, k) => ({ p, k }))
      .sort((x, y) =>
        x.p.fold - y.p.fold || Number(y.p.same) - Number(x.p.same) ||
        x.k - y.k
      )
      .map((x) => x.p);
    const short = foldShortfall(vPairs);
    if (short) {
      throw new InputError(
        view1.files[0],
        0,
        `the View 1 files (${
          view1.files.join(", ")
        }) give too few validation pairs: ${short}; add pairs to them, or remove both files to take the validation identities from the training data`,
      );
    }
    validation = { set: v.set, pairs: vPairs, files: view1.files };
  }
  return {
    set: test.set,
    pairs,
    numFolds,
    validation,
    skipped,
    cache: crops.cache,
    info: {
      format: "lfw",
      root,
      imageDir: imageDir || ".",
      pairsFile: pairsPath,
      images: test.set.labels.length,
      identities: test.set.identities.length,
      pairs: pairs.length,
      view1: validation
        ? {
          files: validation.files,
          images: validation.set.labels.length,
          identities: validation.set.identities.length,
          pairs: validation.pairs.length,
          numFolds: VALIDATION_FOLDS,
          onlyInView1: names.length - testIds.length,
        }
        : null,
      cacheBuilt: crops.built,
    },
  };
}

/**
 * Reads both View 1 pairs files of an LFW root, or returns null when neither
 * is there; one without the other is an InputError naming both.
 */
async function readView1(
  root: string,
): Promise<
  { files: string[]; entries: { e: LfwPairEntry; file: string }[] } | null
> {
  const files = LFW_VIEW1_FILES.map((f) => `${root}/${f}`);
  const present = await Promise.all(files.map((f) => exists(f)));
  if (present.every((p) => !p)) return null;
  if (!present.every((p) => p)) {
    const missing = files.filter((_, k) => !present[k]);
    const found = files.filter((_, k) => present[k]);
    throw new InputError(
      missing[0],
      0,
      `file not found, but ${found.join(", ")} is there (LFW View 1 has both ${
        LFW_VIEW1_FILES.join(" and ")
      }; restore the missing one, or remove the other to take the validation identities from the training data)`,
    );
  }
  const entries: { e: LfwPairEntry; file: string }[] = [];
  for (const file of files) {
    for (const e of await readPairs(file)) entries.push({ e, file });
  }
  return { files, entries };
}

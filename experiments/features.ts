/**
 * `deno task features`: a trained network as a tool — the DeepID2 features
 * of a folder of face images, one CSV row per image, ready for
 * `deno task evaluate --features FILE --pairs pairs.txt`.
 *
 *   deno task features --model M (--images DIR | --lfw DIR | --folders DIR)
 *       [--landmarks FILE] [--flip] --out FILE.csv
 *       [--profile P] [--results DIR] [--cache DIR] [--backend B]
 *
 * `M` names a model (`experiments/harness/model_names.ts`: a unit such as
 * `joint_lambda:lambda=0.05:seed1` of the profile's results, a model key, or
 * a `.model` file). The images: `--images DIR` every .jpg/.jpeg/.png under
 * DIR (recursively), `--lfw DIR` the images of an LFW root (its `lfw/`,
 * `lfw-funneled/` or `lfw-deepfunneled/` folder), `--folders DIR`
 * `DIR/<identity>/<image>`. Each face is aligned as in training and cropped
 * to what the network sees (`datasets/crop.ts`): with `--landmarks`, the
 * five-landmark similarity alignment (the training faces'); without, the
 * fixed LFW box (the test faces'). The crop is the model's own, from its
 * scoring file (`lib/eval/scoring_file.ts`): a patch network of the final
 * system gets its patch. Which alignment and crop were used is printed.
 *
 * Landmark files: CelebA's `list_landmarks_align_celeba.txt` format (a
 * count line, a header line, then `file x1 y1 ... x5 y5`), or the simple
 * format `path x1 y1 ... x5 y5` per line (`#` comments and blank lines
 * skipped); points in image pixels, in CelebA's order (left eye, right eye,
 * nose tip, left and right mouth corners); paths without spaces, relative
 * to the folder given (or a file name alone, when it is unique). An image
 * without a line is an error.
 *
 * CSV: header `path,f0,...,f159`, one row per image, the path relative to
 * the folder given; `--flip` appends the horizontally mirrored face's
 * features as `f160,...,f319` (the final system's flips, concatenated).
 * Written to a temp file and renamed: a failed run leaves no output.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import {
  type FlagTable,
  parseToolCommandLine,
  usage,
} from "../lib/base/cli.ts";
import { InputError, writeTextAtomic } from "../lib/base/io.ts";
import { type BackendInfo, initBackend } from "../lib/engine/backend.ts";
import {
  loadScoringFile,
  type ScoringCrop,
  type ScoringFile,
} from "../lib/eval/scoring_file.ts";
import {
  type DeepID2,
  disposeModel,
  extractFeatures,
  loadModel,
} from "../lib/nn/model.ts";
import { mirrored } from "../lib/faces.ts";
import { readLandmarks } from "../datasets/celeba.ts";
import {
  cropBytes,
  cropFace,
  decodeImage,
  DEFAULT_CROP,
} from "../datasets/crop.ts";
import { findLfwImageDir, scanLfwImages } from "../datasets/lfw.ts";
import { patchCrop } from "../datasets/patches.ts";
import type { CropOptions } from "../datasets/types.ts";
import {
  checkOutputPath,
  MODEL_LOOKUP_FLAGS,
  type ModelLookup,
  type ModelRef,
  resolveModel,
  resultsFolder,
} from "./harness/model_names.ts";

/** The flags of `deno task features`. */
export const FEATURES_FLAGS = {
  model: {
    type: "string",
    arg: "M",
    help: "EXPERIMENT:CONFIG:seedK, a model key, or a .model file",
  },
  images: {
    type: "string",
    arg: "DIR",
    help: "every .jpg/.jpeg/.png under DIR",
  },
  lfw: { type: "string", arg: "DIR", help: "the images of an LFW root" },
  folders: {
    type: "string",
    arg: "DIR",
    help: "DIR/<identity>/<image>.jpg (folder per identity)",
  },
  landmarks: {
    type: "string",
    arg: "FILE",
    help:
      "5 landmarks per image (CelebA list_landmarks_align_celeba.txt, or `path x1 y1 ... x5 y5` lines): similarity alignment instead of the fixed LFW box",
  },
  flip: {
    type: "boolean",
    default: false,
    help: "append the mirrored face's features (f160..f319)",
  },
  out: { type: "string", arg: "FILE.csv", help: "the features CSV to write" },
  ...MODEL_LOOKUP_FLAGS,
  backend: {
    type: "string",
    default: "auto",
    arg: "auto|tensorflow-gpu|tensorflow|wasm|cpu",
    help: "compute backend",
  },
  batch: {
    type: "integer",
    default: 256,
    help: "images per forward pass",
  },
  quiet: { type: "boolean", default: false, help: "no progress lines" },
} as const satisfies FlagTable;

const COMMAND =
  "deno task features --model M (--images DIR | --lfw DIR | --folders DIR) --out FILE.csv [flags]";

/** What `deno task features --help` prints. */
export const FEATURES_USAGE: string = usage(COMMAND, FEATURES_FLAGS);

/** Where model names are looked up, from the shared flags. */
export function lookupOf(
  values: { profile: string; results?: string; cache: string },
): ModelLookup {
  return {
    profile: values.profile,
    results: values.results ?? resultsFolder(values.profile),
    cache: values.cache,
  };
}

/** A model ready to extract features: its weights, crop and scoring file. */
export interface OpenedModel {
  ref: ModelRef;
  net: DeepID2;
  /** Its scoring file, when one was saved beside it. */
  scoring?: ScoringFile;
  /** The crop its network sees. */
  crop: CropOptions;
  /** Where the crop came from, in words. */
  cropSource: string;
  [Symbol.dispose](): void;
}

/** A crop in words: `55x47 RGB, whole face` / `47x47 gray, patch (23, 20) zoom 1.5`. */
export function describeCrop(crop: ScoringCrop): string {
  const where = crop.patch
    ? `patch centred on template (${crop.patch.cx}, ${crop.patch.cy}), zoom ${crop.patch.zoom}`
    : "whole face";
  return `${crop.height}x${crop.width} ${crop.gray ? "gray" : "RGB"}, ${where}`;
}

/**
 * Resolves and loads a model, and finds the crop its network sees: from
 * its scoring file; else from its unit's name (`patch=NAME` of the final
 * system); else the whole face at its input size.
 */
export async function openModel(
  name: string,
  lookup: ModelLookup,
  backend: BackendInfo,
): Promise<OpenedModel> {
  const ref = await resolveModel(name, lookup);
  let scoring: ScoringFile | undefined;
  try {
    scoring = await loadScoringFile(ref.scoringPath);
  } catch (e) {
    if (!(e instanceof InputError && /not found/.test(e.message))) throw e;
  }
  const net = await loadModel(ref.path, { paths: backend.paths });
  const [h, w, c] = net.config.inputShape;
  let crop: CropOptions, cropSource: string;
  const patch = /^patch=(.+)$/.exec(ref.unit?.config ?? "");
  if (scoring) {
    crop = scoring.crop;
    cropSource = `its scoring file ${ref.scoringPath}`;
  } else if (patch) {
    crop = patchCrop(patch[1]);
    cropSource = `its unit's patch ${patch[1]} (datasets/patches.ts)`;
  } else {
    crop = h === DEFAULT_CROP.height && w === DEFAULT_CROP.width && c === 3
      ? DEFAULT_CROP
      : { height: h, width: w, gray: c === 1 };
    cropSource =
      `its input shape (no scoring file ${ref.scoringPath}: assumed the whole face)`;
  }
  if (crop.height !== h || crop.width !== w || (crop.gray ? 1 : 3) !== c) {
    disposeModel(net);
    throw new Error(
      `${ref.path}: the network takes ${h}x${w}x${c}, but the crop from ${cropSource} is ${
        describeCrop(crop)
      }`,
    );
  }
  return {
    ref,
    net,
    scoring,
    crop,
    cropSource,
    [Symbol.dispose]: () => disposeModel(net),
  };
}

/** Five landmarks of one image and the line they came from. */
export interface LandmarkEntry {
  /** [x, y] x 5 in image pixels: left eye, right eye, nose, left and right mouth corners. */
  points: number[];
  line: number;
}

/** A landmarks file, by image path. */
export interface LandmarkTable {
  file: string;
  format: "celeba" | "simple";
  /** By path as written in the file. */
  byPath: Map<string, LandmarkEntry>;
  /** By file name alone (null when two lines share one). */
  byName: Map<string, LandmarkEntry | null>;
}

const baseName = (p: string) =>
  p.slice(p.replaceAll("\\", "/").lastIndexOf("/") + 1);

/**
 * Reads a landmarks file in CelebA's format (first line a count) or the
 * simple one (`path x1 y1 ... x5 y5`). A malformed line is an
 * {@linkcode InputError} naming the file and line.
 */
export async function readLandmarkFile(file: string): Promise<LandmarkTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(file, 0, "landmarks file not found");
    }
    throw e;
  }
  const lines = text.replace(/^\ufeff/, "").split("\n").map((s, i) => ({
    line: i + 1,
    fields: s.replace(/#.*/, "").trim().split(/[ \t]+/).filter(Boolean),
  })).filter((l) => l.fields.length > 0);
  if (lines.length === 0) {
    throw new InputError(
      file,
      0,
      "no landmark lines (expected `path x1 y1 ... x5 y5`)",
    );
  }
  const table: LandmarkTable = {
    file,
    format: "simple",
    byPath: new Map(),
    byName: new Map(),
  };
  let entries: { file: string; points: number[]; line: number }[];
  if (lines[0].fields.length === 1 && /^\d+$/.test(lines[0].fields[0])) {
    table.format = "celeba";
    entries = await readLandmarks(file); // line-numbered errors of its own
  } else {
    entries = lines.map(({ line, fields }) => {
      if (fields.length !== 11) {
        throw new InputError(
          file,
          line,
          `expected "path x1 y1 x2 y2 x3 y3 x4 y4 x5 y5" (11 fields), got ${fields.length}`,
        );
      }
      const points = fields.slice(1).map((s) => {
        const v = Number(s);
        if (!Number.isFinite(v) || s.trim() === "") {
          throw new InputError(file, line, `bad coordinate "${s}"`);
        }
        return v;
      });
      if (Math.hypot(points[2] - points[0], points[3] - points[1]) < 1) {
        throw new InputError(file, line, "the two eyes are at the same point");
      }
      return { file: fields[0], points, line };
    });
  }
  for (const e of entries) {
    const prev = table.byPath.get(e.file);
    if (prev) {
      throw new InputError(
        file,
        e.line,
        `second line for ${e.file} (first on line ${prev.line})`,
      );
    }
    table.byPath.set(e.file, { points: e.points, line: e.line });
    const name = baseName(e.file);
    table.byName.set(
      name,
      table.byName.has(name) ? null : { points: e.points, line: e.line },
    );
  }
  return table;
}

/** An image's landmarks: by its relative path, else by its file name alone. */
export function landmarksFor(table: LandmarkTable, path: string): number[] {
  const e = table.byPath.get(path) ?? table.byPath.get(`./${path}`) ??
    table.byName.get(baseName(path));
  if (!e) {
    throw new InputError(
      table.file,
      0,
      `no landmarks line for image ${path} (${table.byPath.size} images listed${
        table.byName.get(baseName(path)) === null
          ? `; ${baseName(path)} is listed more than once, give its path`
          : ""
      })`,
    );
  }
  return e.points;
}

/** The alignment in words, as printed. */
export function describeAlignment(table: LandmarkTable | undefined): string {
  return table
    ? `five-landmark similarity alignment (${table.file}, ${
      table.format === "celeba"
        ? "CelebA list_landmarks_align_celeba.txt format"
        : "path x1 y1 ... x5 y5 format"
    })`
    : "fixed LFW box (no --landmarks: LFW_FIXED_LANDMARKS, scaled about the image centre)";
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    entries.push(e);
  }
  for (const e of entries) {
    if (e.name.startsWith(".")) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) await walk(root, p, out);
    else if (e.isFile && IMAGE_EXT.test(e.name)) out.push(p);
  }
}

/**
 * The images a command line names, as paths relative to the folder given,
 * sorted: every image under `--images`, an LFW root's images, or
 * `<identity>/<image>` of `--folders`.
 */
export async function listImages(
  mode: "images" | "lfw" | "folders",
  root: string,
): Promise<string[]> {
  try {
    if (!(await Deno.stat(root)).isDirectory) {
      throw new InputError(root, 0, "not a folder");
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(root, 0, "folder not found");
    }
    throw e;
  }
  let out: string[] = [];
  if (mode === "lfw") {
    out = (await scanLfwImages(root, await findLfwImageDir(root))).map((i) =>
      i.path
    );
  } else if (mode === "folders") {
    for await (const d of Deno.readDir(root)) {
      if (!d.isDirectory || d.name.startsWith(".")) continue;
      for await (const f of Deno.readDir(`${root}/${d.name}`)) {
        if (f.isFile && IMAGE_EXT.test(f.name)) out.push(`${d.name}/${f.name}`);
      }
    }
    out.sort();
  } else {
    await walk(root, "", out);
    out.sort();
  }
  if (out.length === 0) {
    throw new InputError(
      root,
      0,
      `no .jpg/.jpeg/.png images${
        mode === "folders" ? " in DIR/<identity>/" : ""
      }`,
    );
  }
  return out;
}

/**
 * Decodes, aligns and crops images into one `[N, H, W, C]` uint8 block. An
 * image that does not decode is an {@linkcode InputError} naming it.
 *
 * @param files paths to read
 * @param landmarks five points per file (image pixels), or null for the fixed box
 */
export async function cropImages(
  files: string[],
  landmarks: (number[] | null)[],
  crop: CropOptions,
): Promise<Uint8Array> {
  const per = cropBytes(crop);
  const out = new Uint8Array(files.length * per);
  for (let i = 0; i < files.length; i++) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(files[i]);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new InputError(files[i], 0, "image not found");
      }
      throw e;
    }
    let img;
    try {
      img = await decodeImage(bytes);
    } catch (e) {
      throw new InputError(
        files[i],
        0,
        `does not decode as an image (${(e as Error).message.split("\n")[0]})`,
      );
    }
    cropFace(img, landmarks[i], { crop, out, offset: i * per });
  }
  return out;
}

/**
 * Features `[N, D]` (D = the model's width, 160) of crops `[N, H, W, C]`;
 * with `flip`, `[N, 2D]`: each face's, then its mirror's.
 */
export async function featuresOf(
  net: DeepID2,
  crops: Uint8Array,
  shape: [number, number, number],
  options: { flip?: boolean; batchSize?: number } = {},
): Promise<{ features: Float32Array; dim: number }> {
  const d = net.config.deepid2Dim;
  const n = crops.length / (shape[0] * shape[1] * shape[2]);
  const plain = await extractFeatures(net, crops, shape, {
    batchSize: options.batchSize,
  });
  if (!options.flip) return { features: plain, dim: d };
  const set = {
    images: crops,
    shape,
    labels: new Int32Array(n),
    identities: [],
    paths: [],
  };
  const flipped = await extractFeatures(net, mirrored(set).images, shape, {
    batchSize: options.batchSize,
  });
  const both = new Float32Array(n * 2 * d); // [N, 2D]
  for (let i = 0; i < n; i++) {
    both.set(plain.subarray(i * d, (i + 1) * d), i * 2 * d);
    both.set(flipped.subarray(i * d, (i + 1) * d), i * 2 * d + d);
  }
  return { features: both, dim: 2 * d };
}

/** A float32 as the shortest decimal that reads back as the same float32. */
export function f32Text(v: number): string {
  if (v === 0) return "0";
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** The features CSV: `path,f0,...` and one row per image. */
export function featuresCsv(
  paths: string[],
  features: Float32Array,
  dim: number,
): string {
  const header = ["path", ...Array.from({ length: dim }, (_, k) => `f${k}`)];
  const lines = [header.join(",")];
  for (let i = 0; i < paths.length; i++) {
    const row = [stringify([[paths[i]]]).trimEnd()];
    for (let k = 0; k < dim; k++) row.push(f32Text(features[i * dim + k]));
    lines.push(row.join(","));
  }
  return lines.join("\n") + "\n";
}

/** Runs `deno task features`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  let mode: "images" | "lfw" | "folders" = "images";
  const values = parseToolCommandLine(
    args,
    FEATURES_FLAGS,
    { command: COMMAND, usage: FEATURES_USAGE },
    (v) => {
      const modes = (["images", "lfw", "folders"] as const).filter((m) => v[m]);
      if (modes.length !== 1) {
        throw new Error(
          "give one of --images DIR, --lfw DIR or --folders DIR",
        );
      }
      mode = modes[0];
      if (!v.model) throw new Error("--model M is required");
      if (!v.out) throw new Error("--out FILE.csv is required");
      if (!(v.batch >= 1)) throw new Error("--batch must be at least 1");
      resultsFolder(v.profile);
    },
  );
  if (typeof values === "number") return values;
  try {
    const root = values[mode]!.replace(/\/+$/, "") || "/";
    await checkOutputPath(values.out!);
    const table = values.landmarks
      ? await readLandmarkFile(values.landmarks)
      : undefined;
    const paths = await listImages(mode, root);
    const points = paths.map((p) => (table ? landmarksFor(table, p) : null));
    const backend = await initBackend(values.backend, { quiet: values.quiet });
    using model = await openModel(values.model!, lookupOf(values), backend);
    const log = (s: string) => values.quiet || console.error(`features: ${s}`);
    log(`model ${model.ref.key} (${model.ref.path})`);
    log(`alignment: ${describeAlignment(table)}`);
    log(`crop: ${describeCrop(model.crop)}, from ${model.cropSource}`);
    log(
      `${paths.length} images from ${root}${
        values.flip ? ", and their mirrors" : ""
      }`,
    );
    const crops = await cropImages(
      paths.map((p) => `${root}/${p}`),
      points,
      model.crop,
    );
    const shape = model.net.config.inputShape;
    const { features, dim } = await featuresOf(model.net, crops, shape, {
      flip: values.flip,
      batchSize: values.batch,
    });
    await writeTextAtomic(values.out!, featuresCsv(paths, features, dim));
    log(`wrote ${values.out} (${paths.length} rows, path + ${dim} features)`);
    return 0;
  } catch (e) {
    console.error(`features: error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

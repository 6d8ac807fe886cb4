/**
 * CelebA (Liu, Luo, Wang, Tang, "Deep Learning Face Attributes in the Wild",
 * ICCV 2015; files as distributed at mmlab.ie.cuhk.edu.hk/projects/CelebA.html),
 * the public proxy for CelebFaces+ that trains the ConvNet and the Joint
 * Bayesian model (lib/PAPER.md, "Data and pipeline"; files: "LFW protocol and
 * file formats"). A CelebA root holds:
 *
 * - `img_align_celeba/000001.jpg ...` 178x218 aligned images (also accepted:
 *   the Kaggle layout `img_align_celeba/img_align_celeba/`, and
 *   `img_align_celeba_png/` with `.png` files);
 * - `identity_CelebA.txt`: lines `000001.jpg 2880` (file, identity), no header;
 * - `list_landmarks_align_celeba.txt`: a count line, a header line
 *   `lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x
 *   leftmouth_y rightmouth_x rightmouth_y`, then `000001.jpg x1 y1 ... x5 y5`;
 * - `list_eval_partition.txt` (optional): lines `000001.jpg 0|1|2`
 *   (train / val / test). Parsed and validated; the ConvNet / held-out split
 *   of the paper is by identity instead (datasets/mod.ts), and the
 *   identities with images in partition 1 become the validation identities
 *   when the LFW folder has no View 1 files.
 *
 * Images are aligned by their 5 landmarks (datasets/crop.ts).
 *
 * @module
 */
import { exists, InputError, sha256Hex } from "../lib/base/io.ts";
import type { FaceSet } from "../lib/faces.ts";
import type { CropOptions } from "./types.ts";
import { parseCount, readFieldLines } from "./_text.ts";
import { type CropSource, loadCrops } from "./cache.ts";
import {
  assembleFaceSet,
  noneSkipped,
  noteSkipped,
  type Skipped,
} from "./faceset.ts";

/** File names inside a CelebA root. */
export const CELEBA_FILES = {
  identity: "identity_CelebA.txt",
  landmarks: "list_landmarks_align_celeba.txt",
  partition: "list_eval_partition.txt",
  images: "img_align_celeba",
} as const;

/** The header line of the landmark file. */
export const LANDMARK_HEADER =
  "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y";

/** One line of `identity_CelebA.txt`. */
export interface CelebaIdentityEntry {
  file: string;
  identity: string;
  line: number;
}

/** One image's landmarks from `list_landmarks_align_celeba.txt`. */
export interface CelebaLandmarkEntry {
  file: string;
  /** [x, y] x 5: left eye, right eye, nose, left mouth, right mouth. */
  points: number[];
  line: number;
}

/** What a CelebA root must contain, for error messages. */
export function celebaExpected(root: string): string {
  return `expected a CelebA folder: ${root}/${CELEBA_FILES.images}/000001.jpg ..., ` +
    `${root}/${CELEBA_FILES.identity}, ${root}/${CELEBA_FILES.landmarks} ` +
    `(${CELEBA_FILES.partition} optional)`;
}

/** Reads `identity_CelebA.txt` (`file identity` per line). */
export async function readIdentities(
  path: string,
): Promise<CelebaIdentityEntry[]> {
  const lines = await readFieldLines(
    path,
    "CelebA identity file: lines `000001.jpg 2880`",
  );
  if (lines.length === 0) {
    throw new InputError(path, 0, "empty (expected lines `000001.jpg 2880`)");
  }
  const seen = new Map<string, number>();
  return lines.map(({ fields, line }) => {
    if (fields.length !== 2) {
      throw new InputError(
        path,
        line,
        `expected "file identity", got ${fields.length} field(s): "${
          fields.join(" ")
        }"`,
      );
    }
    const prev = seen.get(fields[0]);
    if (prev !== undefined) {
      throw new InputError(
        path,
        line,
        `duplicate entry for ${fields[0]} (first on line ${prev})`,
      );
    }
    seen.set(fields[0], line);
    return { file: fields[0], identity: fields[1], line };
  });
}

/** Reads `list_landmarks_align_celeba.txt` (count, header, 5 points per image). */
export async function readLandmarks(
  path: string,
): Promise<CelebaLandmarkEntry[]> {
  const lines = await readFieldLines(
    path,
    "CelebA landmark file: a count line, a header line, then `file x1 y1 ... x5 y5`",
  );
  if (lines.length < 2) {
    throw new InputError(
      path,
      lines.length ? lines[0].line : 0,
      "expected a count line and a header line",
    );
  }
  const [countLine, header] = lines;
  if (countLine.fields.length !== 1) {
    throw new InputError(
      path,
      countLine.line,
      `expected the image count, got "${countLine.fields.join(" ")}"`,
    );
  }
  const count = parseCount(
    path,
    countLine.line,
    countLine.fields[0],
    "image count",
  );
  if (header.fields.length !== 10) {
    throw new InputError(
      path,
      header.line,
      `expected the header "${LANDMARK_HEADER}", got "${
        header.fields.join(" ")
      }"`,
    );
  }
  const out: CelebaLandmarkEntry[] = [];
  for (const { fields, line } of lines.slice(2)) {
    if (fields.length !== 11) {
      throw new InputError(
        path,
        line,
        `expected "file x1 y1 ... x5 y5" (11 fields), got ${fields.length}`,
      );
    }
    const points = fields.slice(1).map((s) => {
      const v = Number(s);
      if (!/^-?\d+(\.\d+)?$/.test(s) || !Number.isFinite(v)) {
        throw new InputError(path, line, `bad coordinate "${s}"`);
      }
      return v;
    });
    if (Math.hypot(points[2] - points[0], points[3] - points[1]) < 1) {
      throw new InputError(path, line, "the two eyes are at the same point");
    }
    out.push({ file: fields[0], points, line });
  }
  if (out.length !== count) {
    throw new InputError(
      path,
      countLine.line,
      `count line says ${count} images, file lists ${out.length}`,
    );
  }
  return out;
}

/** Reads `list_eval_partition.txt` (`file 0|1|2`). */
export async function readPartition(
  path: string,
): Promise<Map<string, number>> {
  const lines = await readFieldLines(
    path,
    "CelebA partition file: lines `000001.jpg 0|1|2`",
  );
  const out = new Map<string, number>();
  for (const { fields, line } of lines) {
    if (fields.length !== 2 || !/^[012]$/.test(fields[1])) {
      throw new InputError(
        path,
        line,
        `expected "file 0|1|2", got "${fields.join(" ")}"`,
      );
    }
    out.set(fields[0], Number(fields[1]));
  }
  return out;
}

/** Finds the image folder of a CelebA root, relative to it. */
export async function findCelebaImageDir(root: string): Promise<string> {
  try {
    if (!(await Deno.stat(root)).isDirectory) {
      throw new InputError(root, 0, celebaExpected(root));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(root, 0, `not found; ${celebaExpected(root)}`);
    }
    throw e;
  }
  for (
    const d of [
      `${CELEBA_FILES.images}/${CELEBA_FILES.images}`,
      CELEBA_FILES.images,
      `${CELEBA_FILES.images}_png`,
    ]
  ) {
    if (await exists(`${root}/${d}`)) return d;
  }
  throw new InputError(root, 0, `no image folder; ${celebaExpected(root)}`);
}

/** Options for {@linkcode loadCeleba}. */
export interface LoadCelebaOptions {
  crop: CropOptions;
  cacheDir: string;
  /** Skip (and count) identity entries whose image is missing. */
  skipMissing?: boolean;
  /** Skip (and count) undecodable images. */
  skipBadImages?: boolean;
  quiet?: boolean;
  /** Crop threads and crops built in the same pass (datasets/cache.ts). */
  workers?: number;
  alsoCrops?: readonly CropOptions[];
}

/** A loaded CelebA folder. */
export interface CelebaData {
  /** All images; identities sorted (numerically when all are numbers). */
  set: FaceSet;
  /** Partition (0 train, 1 val, 2 test, -1 unknown) of each image of `set`. */
  partition: Int8Array;
  skipped: Skipped;
  cache: string;
  info: Record<string, unknown>;
}

/** Loads a CelebA folder: validates the annotation files, crops (cached). */
export async function loadCeleba(
  root: string,
  options: LoadCelebaOptions,
): Promise<CelebaData> {
  const imageDir = await findCelebaImageDir(root);
  const identityPath = `${root}/${CELEBA_FILES.identity}`;
  const landmarkPath = `${root}/${CELEBA_FILES.landmarks}`;
  const partitionPath = `${root}/${CELEBA_FILES.partition}`;
  for (const p of [identityPath, landmarkPath]) {
    if (!(await exists(p))) {
      throw new InputError(p, 0, `file not found; ${celebaExpected(root)}`);
    }
  }
  const ids = await readIdentities(identityPath);
  const marks = new Map(
    (await readLandmarks(landmarkPath)).map((e) => [e.file, e]),
  );
  const partition = (await exists(partitionPath))
    ? await readPartition(partitionPath)
    : null;
  const onDisk = new Set<string>();
  for await (const e of Deno.readDir(`${root}/${imageDir}`)) {
    if (e.isFile) onDisk.add(e.name);
  }
  const png = imageDir.endsWith("_png");
  const skipped = noneSkipped();
  const kept: { entry: CelebaIdentityEntry; file: string; points: number[] }[] =
    [];
  for (const entry of ids) {
    const lm = marks.get(entry.file);
    if (!lm) {
      throw new InputError(
        identityPath,
        entry.line,
        `no landmarks for ${entry.file} in ${landmarkPath}`,
      );
    }
    let file = entry.file;
    if (!onDisk.has(file)) {
      const alt = file.replace(/\.[^.]+$/, png ? ".png" : ".jpg");
      if (onDisk.has(alt)) file = alt;
    }
    if (!onDisk.has(file)) {
      const path = `${root}/${imageDir}/${entry.file}`;
      if (!options.skipMissing) {
        throw new InputError(
          identityPath,
          entry.line,
          `image not found: ${path} (use --skip-missing to skip such entries)`,
        );
      }
      noteSkipped(skipped, "missing", `${identityPath}:${entry.line}: ${path}`);
      continue;
    }
    kept.push({ entry, file, points: lm.points });
  }
  if (kept.length === 0) {
    throw new InputError(root, 0, `no usable images; ${celebaExpected(root)}`);
  }
  const names = [...new Set(kept.map((k) => k.entry.identity))];
  const numeric = names.every((n) => /^\d+$/.test(n));
  names.sort((a, b) => numeric ? Number(a) - Number(b) : a < b ? -1 : 1);
  const nameIndex = new Map(names.map((n, i) => [n, i]));
  const sources: CropSource[] = kept.map((k) => ({
    path: `${imageDir}/${k.file}`,
    landmarks: k.points,
  }));
  const crops = await loadCrops(sources, {
    format: "celeba",
    root,
    crop: options.crop,
    cacheDir: options.cacheDir,
    quiet: options.quiet,
    workers: options.workers,
    alsoCrops: options.alsoCrops,
  });
  const { set, keptIndex } = assembleFaceSet(sources, {
    labels: kept.map((k) => nameIndex.get(k.entry.identity)!),
    identities: names,
    crops,
    root,
    skipBadImages: options.skipBadImages,
    skipped,
  });
  const part = new Int8Array(set.labels.length).fill(-1);
  kept.forEach((k, i) => {
    if (keptIndex[i] >= 0) {
      part[keptIndex[i]] = partition?.get(k.entry.file) ?? -1;
    }
  });
  return {
    set,
    partition: part,
    skipped,
    cache: crops.cache,
    info: {
      format: "celeba",
      root,
      imageDir,
      images: set.labels.length,
      identities: names.length,
      annotationSha256: await sha256Hex(
        (await Deno.readTextFile(identityPath)) +
          (await Deno.readTextFile(landmarkPath)),
      ),
      cacheBuilt: crops.built,
    },
  };
}

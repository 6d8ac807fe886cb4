/**
 * Face crops: decode with sharp, then align and crop to the network's input
 * patch (lib/PAPER.md, "Network": 55x47 RGB, H x W; 47x47 and gray
 * selectable).
 *
 * - With landmarks (CelebA `list_landmarks_align_celeba.txt`, 5 points: eyes,
 *   nose tip, mouth corners) the image is aligned by the least-squares
 *   similarity transform (rotation, uniform scale, translation; Umeyama 1991)
 *   that maps the 5 points onto {@linkcode TEMPLATE_55X47}. DeepID2 aligns by
 *   21 landmarks (lib/PAPER.md, "Data and pipeline"); CelebA publishes 5.
 * - Without landmarks (LFW, folder-per-identity sets) a documented fixed crop:
 *   the same similarity, computed from {@linkcode LFW_FIXED_LANDMARKS}, the
 *   nominal landmark positions of a face in a 250x250 LFW deep-funneled image.
 *   That is a 104x122 box whose top-left corner is at (73.9, 70.8), scaled to
 *   47x55 — the central face box DeepID-style pipelines cut from the
 *   deep-funneled images. Those positions are our estimate [U], not a
 *   published number; images of another size are scaled to fit.
 *
 * The template is derived from the mean CelebA aligned landmarks (eyes
 * ~(70.7,113) and (108.2,113), nose (89.3,135), mouth (73.9,152),(105,152) in
 * the 178x218 images): inter-ocular distance 18 px, eyes 1.05 x that above the
 * mouth corners, so the 55x47 crop spans forehead to chin.
 *
 * Resampling is bilinear with n x n supersampling (n = ceil of the
 * downscaling factor), i.e. an area filter, so downscaled crops do not alias.
 * Pixel (i, j) of an image has its centre at coordinates x = j, y = i.
 *
 * @module
 */
import sharp from "sharp";
import type { CropOptions } from "./types.ts";
export type { PatchGeometry } from "./types.ts";

/** Default crop: 55x47 RGB (lib/PAPER.md, "Network"). */
export const DEFAULT_CROP: CropOptions = { height: 55, width: 47, gray: false };

/**
 * The 5-point template in a 55x47 crop, [x, y] pairs in CelebA's landmark
 * order: left eye, right eye, nose tip, left mouth corner, right mouth corner.
 */
export const TEMPLATE_55X47: readonly number[] = [
  14,
  19, // left eye
  32,
  19, // right eye
  23,
  29.5, // nose tip
  15.5,
  38, // left mouth corner
  30.5,
  38, // right mouth corner
];

/**
 * Nominal landmark positions of the face in a 250x250 LFW (deep-funneled)
 * image, same order as {@linkcode TEMPLATE_55X47}. The fixed LFW crop is the
 * similarity from these to the template. The synthetic LFW images are
 * rendered around these points (with jitter) so the fixed crop finds them.
 */
export const LFW_FIXED_LANDMARKS: readonly number[] = [
  105,
  113, // left eye
  145,
  113, // right eye
  125,
  135.2, // nose tip
  108.3,
  155.2, // left mouth corner
  141.7,
  155.2, // right mouth corner
];

/** The size of the images {@linkcode LFW_FIXED_LANDMARKS} refers to. */
export const LFW_IMAGE_SIZE = 250;

/** A similarity transform x' = a x - b y + tx, y' = b x + a y + ty. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** A decoded image: interleaved uint8 pixels, `channels` of 1 to 4. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** The template point the whole-face crop is centred on: (23, 27), the centre of 47x55. */
export const TEMPLATE_CENTRE = { cx: 23, cy: 27 } as const;

/**
 * The 5-point template for a crop size: the 55x47 template scaled by
 * width / 47 and centred vertically (47x47 drops 4 rows at top and bottom).
 * With `crop.patch`, the template is moved so that the patch centre lands
 * on the crop's centre, and scaled by the patch's zoom as well: a patch is
 * the same similarity alignment to the five landmarks, aimed elsewhere.
 */
export function templateFor(crop: CropOptions): number[] {
  const { cx, cy, zoom } = crop.patch ?? { ...TEMPLATE_CENTRE, zoom: 1 };
  const s = (crop.width / 47) * zoom;
  const out: number[] = [];
  for (let i = 0; i < 10; i += 2) {
    out.push((TEMPLATE_55X47[i] - cx) * s + (crop.width - 1) / 2);
    out.push((TEMPLATE_55X47[i + 1] - cy) * s + (crop.height - 1) / 2);
  }
  return out;
}

/**
 * The least-squares similarity mapping points `src` onto `dst` (both flat
 * [x0, y0, x1, y1, ...] arrays of equal length).
 *
 * @example
 * ```ts
 * const t = fitSimilarity([0, 0, 1, 0], [10, 10, 12, 10]); // a=2, b=0, tx=ty=10
 * ```
 */
export function fitSimilarity(
  src: readonly number[],
  dst: readonly number[],
): Similarity {
  const n = src.length / 2;
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[2 * i];
    sy += src[2 * i + 1];
    dx += dst[2 * i];
    dy += dst[2 * i + 1];
  }
  sx /= n, sy /= n, dx /= n, dy /= n;
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i] - sx, py = src[2 * i + 1] - sy;
    const qx = dst[2 * i] - dx, qy = dst[2 * i + 1] - dy;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
    den += px * px + py * py;
  }
  if (den === 0) throw new Error("landmarks are all at one point");
  const a = num1 / den, b = num2 / den;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

/** The inverse of a similarity transform. */
export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d, b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/**
 * The fixed crop's landmarks for an image of `width` x `height` without
 * landmarks: {@linkcode LFW_FIXED_LANDMARKS} scaled by min(w, h) / 250 about
 * the image centre.
 */
export function fixedLandmarks(width: number, height: number): number[] {
  const s = Math.min(width, height) / LFW_IMAGE_SIZE;
  const c = (LFW_IMAGE_SIZE - 1) / 2;
  const out: number[] = [];
  for (let i = 0; i < 10; i += 2) {
    out.push((LFW_FIXED_LANDMARKS[i] - c) * s + (width - 1) / 2);
    out.push((LFW_FIXED_LANDMARKS[i + 1] - c) * s + (height - 1) / 2);
  }
  return out;
}

/**
 * Decodes an image file's bytes to raw pixels with sharp. Throws on a
 * truncated or non-image file (sharp fails on libjpeg/libpng warnings).
 */
export async function decodeImage(bytes: Uint8Array): Promise<RawImage> {
  const { data, info } = await sharp(bytes, { failOn: "warning" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

/**
 * What {@linkcode cropFace} fixes before its sampling loop: the crop ->
 * image similarity (translation `tx`, `ty`), the supersampling `n` and the
 * sample positions' terms of x = a cx - b cy + tx, y = b cx + a cy + ty,
 * once per crop column (`ax` = a cx, `bx` = b cx; width * n entries) and
 * row (`ay`, `by`; height * n): each sample then computes the same doubles
 * as evaluating the whole expression there would.
 */
export interface CropPlan {
  n: number;
  tx: number;
  ty: number;
  ax: Float64Array;
  bx: Float64Array;
  ay: Float64Array;
  by: Float64Array;
}

/** The {@linkcode CropPlan} of cropping `img` by `landmarks` into `crop`. */
export function cropPlan(
  img: RawImage,
  landmarks: readonly number[] | null,
  crop: CropOptions,
): CropPlan {
  const src = landmarks ?? fixedLandmarks(img.width, img.height);
  const toCrop = fitSimilarity(src, templateFor(crop));
  const inv = invertSimilarity(toCrop); // crop -> image
  const k = Math.hypot(inv.a, inv.b); // image pixels per crop pixel
  const n = Math.max(1, Math.ceil(k - 1e-6));
  const cols = crop.width * n, rows = crop.height * n;
  const ax = new Float64Array(cols), bx = new Float64Array(cols);
  const ay = new Float64Array(rows), by = new Float64Array(rows);
  for (let j = 0; j < crop.width; j++) {
    for (let sj = 0; sj < n; sj++) {
      const cx = j + (sj + 0.5) / n - 0.5;
      ax[j * n + sj] = inv.a * cx;
      bx[j * n + sj] = inv.b * cx;
    }
  }
  for (let i = 0; i < crop.height; i++) {
    for (let si = 0; si < n; si++) {
      const cy = i + (si + 0.5) / n - 0.5;
      ay[i * n + si] = inv.a * cy;
      by[i * n + si] = inv.b * cy;
    }
  }
  return { n, tx: inv.tx, ty: inv.ty, ax, bx, ay, by };
}

/**
 * Aligns and crops `img` into `out` at byte `offset` ([H, W, C] uint8, C = 1
 * when `crop.gray`, else 3). `landmarks` (5 points in image pixels) selects
 * the similarity alignment; null selects the fixed crop. Pixels outside the
 * image repeat its border.
 */
export function cropFace(
  img: RawImage,
  landmarks: readonly number[] | null,
  options: { crop: CropOptions; out: Uint8Array; offset?: number },
): void {
  const { crop, out } = options;
  const offset = options.offset ?? 0;
  const { n, ax, bx, ay, by, tx, ty } = cropPlan(img, landmarks, crop);
  const { data, width: w, height: h, channels: ch } = img;
  const gray = crop.gray;
  const outC = gray ? 1 : 3;
  const inv_n2 = 1 / (n * n);
  const rgbStride = ch >= 3;
  const xMax = w - 1, yMax = h - 1;
  let o = offset;
  for (let i = 0; i < crop.height; i++) {
    for (let j = 0; j < crop.width; j++) {
      let r = 0, g = 0, b = 0;
      for (let si = 0; si < n; si++) {
        const byi = by[i * n + si], ayi = ay[i * n + si];
        for (let sj = 0; sj < n; sj++) {
          const q = j * n + sj;
          let x = ax[q] - byi + tx;
          let y = bx[q] + ayi + ty;
          if (x < 0) x = 0;
          else if (x > xMax) x = xMax;
          if (y < 0) y = 0;
          else if (y > yMax) y = yMax;
          const x0 = Math.floor(x), y0 = Math.floor(y);
          const x1 = x0 + 1 < w ? x0 + 1 : x0;
          const y1 = y0 + 1 < h ? y0 + 1 : y0;
          const fx = x - x0, fy = y - y0;
          const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy);
          const w10 = (1 - fx) * fy, w11 = fx * fy;
          const p00 = (y0 * w + x0) * ch, p01 = (y0 * w + x1) * ch;
          const p10 = (y1 * w + x0) * ch, p11 = (y1 * w + x1) * ch;
          r += w00 * data[p00] + w01 * data[p01] + w10 * data[p10] +
            w11 * data[p11];
          if (rgbStride) {
            g += w00 * data[p00 + 1] + w01 * data[p01 + 1] +
              w10 * data[p10 + 1] + w11 * data[p11 + 1];
            b += w00 * data[p00 + 2] + w01 * data[p01 + 2] +
              w10 * data[p10 + 2] + w11 * data[p11 + 2];
          }
        }
      }
      r *= inv_n2;
      if (rgbStride) g *= inv_n2, b *= inv_n2;
      else g = r, b = r;
      if (gray) {
        out[o++] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      } else {
        out[o++] = Math.round(r);
        out[o++] = Math.round(g);
        out[o++] = Math.round(b);
      }
    }
  }
  if (o - offset !== crop.height * crop.width * outC) {
    throw new Error("cropFace: size mismatch");
  }
}

/** Bytes of one crop: H * W * (1 or 3). */
export function cropBytes(crop: CropOptions): number {
  return crop.height * crop.width * (crop.gray ? 1 : 3);
}

/** Checks crop options; throws a readable Error on nonsense. */
export function validateCrop(crop: CropOptions): void {
  for (const k of ["height", "width"] as const) {
    const v = crop[k];
    if (!Number.isInteger(v) || v < 8 || v > 512) {
      throw new Error(`crop ${k} must be an integer in [8, 512], got ${v}`);
    }
  }
  if (crop.patch) {
    const { cx, cy, zoom } = crop.patch;
    if (![cx, cy].every(Number.isFinite) || !(zoom > 0 && zoom < 16)) {
      throw new Error(
        `crop patch needs a finite centre and a zoom in (0, 16), got ${
          JSON.stringify(crop.patch)
        }`,
      );
    }
  }
}

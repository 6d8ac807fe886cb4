/**
 * The patch bank of the final system (Table 2; `lib/PAPER.md`, "Data and
 * pipeline"): face regions cut from the same five-landmark alignment as the
 * whole-face crop, at other centres and scales, in RGB or gray.
 *
 * The paper crops 400 patches that differ in position, scale, colour and
 * horizontal flip, trains 200 ConvNets on them and selects 25 greedily. It
 * does not list them [U]. Ours follow its kind of spread: the whole face at
 * three scales, the eyes, each eye, the nose, the mouth, each cheek, the
 * left and right halves, each in RGB and gray (`PAPER_PATCHES`, 26 patches).
 * 200 ConvNets for 400 patches reads as one network per patch and its mirror;
 * here the mirror is a second feature vector of the same network at test
 * time (`flipMerge` in `experiments/final_system.ts`), not a second input.
 *
 * Each patch is a crop config (`CropOptions.patch`): its crops are cached
 * like the whole-face crops, and its networks like every other model.
 *
 * @module
 */
import type { CropOptions, PatchGeometry } from "./types.ts";

/** One patch of the bank: its crop size, colour and place on the face. */
export interface PatchSpec extends PatchGeometry {
  /** 55 x 47 (the whole-face format) or 47 x 47 (square, for regions). */
  height: 55 | 47;
  width: 47;
  gray: boolean;
  /** What it shows, for tables. */
  what: string;
}

// Template coordinates (`TEMPLATE_55X47`): eyes at y 19 (x 14 and 32), nose
// tip (23, 29.5), mouth corners at y 38; the whole face is centred on (23, 27).
const REGIONS: Record<string, Omit<PatchSpec, "gray">> = {
  face: { height: 55, width: 47, cx: 23, cy: 27, zoom: 1, what: "whole face" },
  face_wide: {
    height: 55,
    width: 47,
    cx: 23,
    cy: 27,
    zoom: 0.8,
    what: "whole face with its surround (zoom 0.8)",
  },
  face_close: {
    height: 55,
    width: 47,
    cx: 23,
    cy: 28,
    zoom: 1.25,
    what: "inner face (zoom 1.25)",
  },
  eyes: {
    height: 47,
    width: 47,
    cx: 23,
    cy: 20,
    zoom: 1.5,
    what: "both eyes and brows",
  },
  left_eye: {
    height: 47,
    width: 47,
    cx: 14,
    cy: 19,
    zoom: 2.2,
    what: "left eye",
  },
  right_eye: {
    height: 47,
    width: 47,
    cx: 32,
    cy: 19,
    zoom: 2.2,
    what: "right eye",
  },
  nose: { height: 47, width: 47, cx: 23, cy: 28, zoom: 2, what: "nose" },
  mouth: {
    height: 47,
    width: 47,
    cx: 23,
    cy: 36,
    zoom: 1.5,
    what: "nose tip, mouth and chin",
  },
  left_cheek: {
    height: 47,
    width: 47,
    cx: 13,
    cy: 31,
    zoom: 1.8,
    what: "left cheek",
  },
  right_cheek: {
    height: 47,
    width: 47,
    cx: 33,
    cy: 31,
    zoom: 1.8,
    what: "right cheek",
  },
  left_half: {
    height: 55,
    width: 47,
    cx: 15,
    cy: 27,
    zoom: 1.3,
    what: "left half of the face",
  },
  right_half: {
    height: 55,
    width: 47,
    cx: 31,
    cy: 27,
    zoom: 1.3,
    what: "right half of the face",
  },
  upper: {
    height: 47,
    width: 47,
    cx: 23,
    cy: 22,
    zoom: 1.2,
    what: "upper face: eyes and nose",
  },
};

/**
 * Every patch of the bank: each region in RGB (`<region>`) and in gray
 * (`<region>_gray`).
 */
export const PATCH_BANK: Readonly<Record<string, PatchSpec>> = Object
  .fromEntries(
    Object.entries(REGIONS).flatMap(([name, r]) => [
      [name, { ...r, gray: false }],
      [`${name}_gray`, { ...r, gray: true, what: `${r.what}, gray` }],
    ]),
  );

/** The paper profile's bank: all of it (26 patches). */
export const PAPER_PATCHES: readonly string[] = Object.keys(PATCH_BANK);

/**
 * The crop of a patch. The whole face in RGB (`face`) is exactly the
 * default crop, with no `patch` field, so its crops and models are the ones
 * every other experiment uses.
 */
export function patchCrop(name: string): CropOptions {
  const p = PATCH_BANK[name];
  if (!p) {
    throw new Error(
      `unknown patch "${name}"; the bank has ${
        Object.keys(PATCH_BANK).join(", ")
      }`,
    );
  }
  const crop: CropOptions = { height: p.height, width: p.width, gray: p.gray };
  const whole = p.cx === 23 && p.cy === 27 && p.zoom === 1 && p.height === 55;
  return whole
    ? crop
    : { ...crop, patch: { cx: p.cx, cy: p.cy, zoom: p.zoom } };
}

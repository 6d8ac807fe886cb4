/**
 * How the loaders crop images (the face shapes themselves are in lib/faces.ts).
 *
 * @module
 */

/** How images are cropped. */
export interface CropOptions {
  /** Crop height in pixels (55 in the paper; 47 for square patches). */
  height: number;
  /** Crop width in pixels (47). */
  width: number;
  /** One gray channel instead of RGB. */
  gray: boolean;
  /**
   * A face patch instead of the whole face (the final system's patch bank,
   * `datasets/patches.ts`); absent = the whole-face crop of
   * `TEMPLATE_55X47` (`datasets/crop.ts`), whose cache keys stay as they were.
   */
  patch?: PatchGeometry;
}

/**
 * Where a patch sits on the aligned face, in the coordinates of the 55x47
 * template (`TEMPLATE_55X47`, `datasets/crop.ts`: pixel centres, x right,
 * y down; the eyes at y = 19, the mouth corners at y = 38): the crop's
 * centre pixel shows template point (`cx`, `cy`), magnified `zoom` times
 * against the whole-face crop (zoom 1 with `cx` 23, `cy` 27 is the
 * whole-face crop; zoom 2 shows half the width of face around the centre).
 */
export interface PatchGeometry {
  cx: number;
  cy: number;
  zoom: number;
}

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
}

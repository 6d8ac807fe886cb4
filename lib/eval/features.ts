/**
 * Statistics of a model's DeepID2 features that say whether it trained.
 *
 * @module
 */

/**
 * Fraction of feature dimensions that are zero on every image: DeepID2 units
 * whose ReLU never fires (dead). `features` is `[N, dim]` row-major.
 *
 * @example
 * ```ts
 * deadFeatureFraction(Float32Array.from([1, 0, 2, 0]), 2); // 0.5
 * ```
 */
export function deadFeatureFraction(
  features: Float32Array,
  dim: number,
): number {
  const alive = new Uint8Array(dim);
  for (let i = 0; i < features.length; i++) {
    if (features[i] !== 0) alive[i % dim] = 1;
  }
  return 1 - alive.reduce((a, b) => a + b, 0) / dim;
}

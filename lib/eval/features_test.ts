import assertStrict from "node:assert/strict";
import { deadFeatureFraction } from "./features.ts";

Deno.test("deadFeatureFraction: dimensions zero on every image", () => {
  // 3 images x 4 dims; dims 1 and 3 never fire.
  const f = Float32Array.from([1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0]);
  assertStrict.equal(deadFeatureFraction(f, 4), 0.5);
});

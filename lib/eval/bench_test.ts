import assert from "node:assert/strict";
import { benchEvaluation } from "./bench.ts";

Deno.test("benchEvaluation runs and reports milliseconds (small sizes)", async () => {
  const t = await benchEvaluation({
    pairs: 600,
    pairDim: 16,
    jbImages: 400,
    jbDim: 12,
  });
  assert.deepEqual(Object.keys(t), [
    "protocol_6000_pairs_ms",
    "joint_bayesian_20000x180_ms",
  ]);
  assert.ok(Object.values(t).every((v) => Number.isFinite(v) && v >= 0));
});

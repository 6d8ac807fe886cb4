import assertStrict from "node:assert/strict";
import { assertAllClose, useBackend } from "../_test_helpers.ts";
import {
  bestThreshold,
  identificationLoss,
  pairDistance,
  verificationLoss,
} from "./losses.ts";
import { tf } from "../engine/tf.ts";

async function value(t: tf.Tensor): Promise<number> {
  return (await t.data())[0];
}

// Two pairs: (fi, fj) = ([0,0], [3,4]) distance 5 (L1 7), and ([1,1], [1,2]) distance 1 (L1 1).
const fi = () => tf.tensor2d([[0, 0], [1, 1]]);
const fj = () => tf.tensor2d([[3, 4], [1, 2]]);

Deno.test("identification loss is -log p_t, hand values", async () => {
  await useBackend("cpu");
  // logits [0, ln 3] -> p = [1/4, 3/4]; labels 1 and 0 -> mean(-log .75, -log .25)
  const l = identificationLoss(
    tf.tensor2d([[0, Math.log(3)], [0, Math.log(3)]]),
    tf.tensor1d([1, 0], "int32"),
  );
  assertAllClose(
    [await value(l)],
    [(-Math.log(0.75) - Math.log(0.25)) / 2],
    1e-6,
  );
});

Deno.test("L2 verification: same ½d², different ½max(0, m-d)², hinge edges", async () => {
  await useBackend("cpu");
  const sameBoth = tf.tensor1d([1, 1]);
  const diffBoth = tf.tensor1d([0, 0]);
  // same pairs: (½·25 + ½·1) / 2 = 6.5
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), sameBoth, { signal: "l2", margin: 2 }),
    ),
  ], [6.5]);
  // different, m = 2: pair 1 beyond the margin (0), pair 2 ½(2-1)² = 0.5 -> mean 0.25
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), diffBoth, { signal: "l2", margin: 2 }),
    ),
  ], [0.25]);
  // hinge edge: m equal to the distance gives exactly 0
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), diffBoth, { signal: "l2", margin: 1 }),
    ),
  ], [0]);
  // L2+: only the same pair counts; L2-: only the different one. Mixed labels [1, 0], m = 2:
  const mixed = tf.tensor1d([1, 0]);
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), mixed, { signal: "l2", margin: 2 }),
    ),
  ], [(12.5 + 0.5) / 2]);
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), mixed, { signal: "l2+", margin: 2 }),
    ),
  ], [12.5 / 2]);
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), mixed, { signal: "l2-", margin: 2 }),
    ),
  ], [0.5 / 2]);
  // squared form for different pairs: ½max(0, m - d²); m = 3, d² = [25, 1] -> [0, 1] -> mean 0.5
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), diffBoth, { signal: "l2sq", margin: 3 }),
    ),
  ], [0.5]);
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), sameBoth, { signal: "l2sq", margin: 3 }),
    ),
  ], [6.5]);
});

Deno.test("L1 and cosine verification, hand values", async () => {
  await useBackend("cpu");
  // L1 distances 7 and 1 over √D (D = 2): d₁ = 7/√2, 1/√2, squared like
  // L2: same ½·49/2, ½·1/2 -> mean 6.25; different, m = 3:
  // ½·max(0, 3 − 7/√2)² = 0, ½·(3 − 1/√2)² -> mean ¼(3 − 1/√2)²
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), tf.tensor1d([1, 1]), {
        signal: "l1",
        margin: 3,
      }),
    ),
  ], [6.25]);
  assertAllClose([
    await value(
      verificationLoss(fi(), fj(), tf.tensor1d([0, 0]), {
        signal: "l1",
        margin: 3,
      }),
    ),
  ], [0.25 * (3 - 1 / Math.SQRT2) ** 2]);
  assertAllClose(
    await pairDistance(fi(), fj(), "l1").data(),
    [7 / Math.SQRT2, 1 / Math.SQRT2],
  );
  // cosine of ([1,0],[0,1]) = 0 and ([1,1],[2,2]) = 1; w = 2, b = -1:
  // p = σ(-1), σ(1); y = [0, 1] -> ½σ(-1)² + ½(1-σ(1))², mean over 2
  const a = tf.tensor2d([[1, 0], [1, 1]]);
  const b = tf.tensor2d([[0, 1], [2, 2]]);
  const s = (z: number) => 1 / (1 + Math.exp(-z));
  const expected = (0.5 * s(-1) ** 2 + 0.5 * (1 - s(1)) ** 2) / 2;
  const got = verificationLoss(a, b, tf.tensor1d([0, 1]), {
    signal: "cosine",
    margin: 0,
    cosine: { w: tf.scalar(2), b: tf.scalar(-1) },
  });
  assertAllClose([await value(got)], [expected], 1e-6);
  assertAllClose(await pairDistance(a, b, "cosine").data(), [0, 1], 1e-6);
  assertStrict.throws(
    () =>
      verificationLoss(a, b, tf.tensor1d([0, 1]), {
        signal: "cosine",
        margin: 0,
      }),
    /needs w and b/,
  );
});

Deno.test("L1 gradient (tfjs autodiff): mean|d|·sign(d_k) per coordinate over P pairs, on the scale of L2's d_k, 0 beyond the margin", async () => {
  await useBackend("cpu");
  // Pairs ([0,0], [3,4]) (L1 7) and ([1,1], [1,2]) (L1 1), P = 2, D = 2.
  const grad = (same: number[], margin: number, signal: "l1" | "l2") =>
    tf.grad((x: tf.Tensor) =>
      verificationLoss(x as tf.Tensor2D, fj(), tf.tensor1d(same), {
        signal,
        margin,
      })
    )(fi()).data();
  // Same pairs: ∂(½d₁²)/∂fi = d₁ · sign(fi − fj) / √D / P = (‖d‖₁ / D) ·
  // sign / P; fi − fj = [−3, −4], [0, −1] (tfjs's Abs gradient is −1 at 0).
  assertAllClose(await grad([1, 1], 3, "l1"), [-1.75, -1.75, -0.25, -0.25]);
  // Different, m = 3: pair 1 beyond the margin (0); pair 2 inside, pushed
  // apart: −(m − d₁) · sign(fi − fj) / √D / P.
  const push = (3 - 1 / Math.SQRT2) / Math.SQRT2 / 2;
  assertAllClose(await grad([0, 0], 3, "l1"), [0, 0, push, push]);
  // L2's same-pair gradient is d / P = [−1.5, −2], [0, −0.5]: the same scale.
  assertAllClose(await grad([1, 1], 3, "l2"), [-1.5, -2, 0, -0.5]);
});

Deno.test("L2 gradient is finite for identical features", async () => {
  await useBackend("cpu");
  const g = tf.grad((x: tf.Tensor) =>
    verificationLoss(
      x as tf.Tensor2D,
      tf.tensor2d([[1, 1]]),
      tf.tensor1d([0]),
      { signal: "l2", margin: 1 },
    )
  )(tf.tensor2d([[1, 1]]));
  for (const v of await g.data()) assertStrict.ok(Number.isFinite(v));
});

Deno.test("margin: the threshold with the fewest errors on recent pairs, hand examples", () => {
  assertStrict.deepEqual(bestThreshold([0.1, 0.2, 0.9, 1.1], [1, 1, 0, 0]), {
    threshold: 0.55,
    errors: 0,
  });
  // Overlap: same [0.1, 0.5, 1.0], different [0.4, 0.8]; errors by hand:
  // t<0.1: 3 errors; (0.1,0.4): 2; (0.4,0.5): 3; (0.5,0.8): 2; (0.8,1.0): 3; >1.0: 2.
  const r = bestThreshold([0.1, 0.4, 0.5, 0.8, 1.0], [1, 0, 1, 0, 1]);
  assertStrict.equal(r.errors, 2);
  assertStrict.equal(r.threshold, 0.25); // ties go to the smallest threshold
  // Equal distances move together.
  // [1, 1, 2] with [1, 0, 0]: below all 1 error, between 1 and 2 also 1 -> the smaller.
  assertStrict.deepEqual(bestThreshold([1, 1, 2], [1, 0, 0]), {
    threshold: 1 - 1e-6,
    errors: 1,
  });
  assertStrict.deepEqual(bestThreshold([1, 1, 2], [1, 1, 0]), {
    threshold: 1.5,
    errors: 0,
  });
  assertStrict.throws(() => bestThreshold([], []), /at least one pair/);
});

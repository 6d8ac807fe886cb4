import assertStrict from "node:assert/strict";
import { assertAllClose, useBackend } from "../_test_helpers.ts";
import { jointLoss, jointLossHost } from "./joint_loss.ts";
import {
  identificationLoss,
  pairDistance,
  type Signal,
  SIGNALS,
  verificationLoss,
} from "./losses.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

const P = 6;
const D = 5;
const N = 7;

/**
 * Features with the awkward cases in them: a pair of identical rows
 * (distance 0), exact zeros shared by both images (L1's subgradient), ReLU-like
 * non-negative values, and pair distances on both sides of the margin.
 */
function batch(seed: number) {
  const rng = new Rng(seed);
  const f = Float32Array.from(
    { length: 2 * P * D },
    () => Math.max(0, rng.normal()),
  );
  // Pair 0: identical rows. Pair 1: dims 0 and 1 are zero in both images.
  for (let k = 0; k < D; k++) f[P * D + k] = f[k];
  f[D] =
    f[D + 1] =
    f[(P + 1) * D] =
    f[(P + 1) * D + 1] =
      0;
  const logits = Float32Array.from({ length: 2 * P * N }, () => rng.normal());
  const labels = Int32Array.from({ length: 2 * P }, () => rng.int(N));
  const same = Float32Array.from({ length: P }, (_, p) => p % 2 === 0 ? 1 : 0);
  return { f, logits, labels, same };
}

/** The training step's loss on tfjs ops (`lib/train/step.ts`), differentiated by tfjs. */
function reference(
  b: ReturnType<typeof batch>,
  lambda: number,
  signal: Signal,
  margin: number,
) {
  const identOnly = lambda === 0;
  const verifOnly = lambda === Infinity;
  const f = tf.tensor2d(b.f, [2 * P, D]);
  const lg = tf.tensor2d(b.logits, [2 * P, N]);
  const w = tf.scalar(3);
  const bias = tf.scalar(-1);
  const useCos = signal === "cosine" && !identOnly;
  const parts = { ident: 0, verif: 0 };
  const lossOf = (
    ff: tf.Tensor,
    ll: tf.Tensor,
    ww: tf.Tensor,
    bb: tf.Tensor,
  ) => {
    const fi = tf.slice(ff, [0, 0], [P, -1]) as tf.Tensor2D;
    const fj = tf.slice(ff, [P, 0], [P, -1]) as tf.Tensor2D;
    let loss: tf.Scalar = tf.scalar(0);
    if (!verifOnly) {
      const i = tf.mul(
        2,
        identificationLoss(ll as tf.Tensor2D, tf.tensor1d(b.labels, "int32")),
      );
      parts.ident = i.dataSync()[0];
      loss = tf.add(loss, i);
    }
    if (!identOnly) {
      const v = verificationLoss(fi, fj, tf.tensor1d(b.same), {
        signal,
        margin,
        cosine: useCos ? { w: ww, b: bb } : undefined,
      });
      parts.verif = v.dataSync()[0];
      loss = tf.add(loss, verifOnly ? v : tf.mul(lambda, v));
    }
    // Zero terms keep every input in the graph (tf.grads wants that).
    return tf.add(loss, tf.mul(0, tf.addN([tf.sum(ff), tf.sum(ll), ww, bb])));
  };
  const g = tf.grads(lossOf)([f, lg, w, bias]);
  const loss = lossOf(f, lg, w, bias).dataSync()[0];
  const dist = pairDistance(
    tf.slice(f, [0, 0], [P, -1]) as tf.Tensor2D,
    tf.slice(f, [P, 0], [P, -1]) as tf.Tensor2D,
    signal,
  ).dataSync();
  return {
    loss,
    ...parts,
    dist,
    dF: g[0].dataSync(),
    dLogits: g[1].dataSync(),
    dW: g[2].dataSync()[0],
    dB: g[3].dataSync()[0],
  };
}

Deno.test("joint loss on the host: values and gradients equal tfjs autodiff of losses.ts, every signal and lambda", async () => {
  await useBackend("cpu");
  let cases = 0;
  for (const signal of SIGNALS) {
    for (const lambda of [0, 0.05, 2, Infinity]) {
      for (const margin of [0.5, 2.5]) {
        const b = batch(cases + 1);
        const ref = reference(b, lambda, signal, margin);
        const got = jointLossHost(
          b.f,
          D,
          lambda === Infinity ? null : b.logits,
          { labels: b.labels, same: b.same, lambda, signal, margin },
          signal === "cosine" && lambda !== 0 ? { w: 3, b: -1 } : undefined,
        );
        const what = `${signal} lambda=${lambda} m=${margin}`;
        assertAllClose([got.loss], [ref.loss], 1e-5);
        assertAllClose([got.identLoss, got.verifLoss], [
          ref.ident,
          ref.verif,
        ], 1e-5);
        assertAllClose(got.dist, ref.dist, 1e-5);
        try {
          assertAllClose(got.dFeatures, ref.dF, 1e-5);
          if (lambda !== Infinity) {
            assertAllClose(got.dLogits!, ref.dLogits, 1e-6);
          } else {
            assertStrict.equal(got.dLogits, null);
          }
          if (signal === "cosine" && lambda !== 0) {
            assertAllClose([got.dCosW, got.dCosB], [ref.dW, ref.dB], 1e-5);
          }
        } catch (e) {
          throw new Error(`${what}: ${(e as Error).message}`);
        }
        cases++;
      }
    }
  }
  assertStrict.equal(cases, SIGNALS.length * 8);
});

Deno.test("joint loss as an op: its custom gradient reaches the features, logits and cosine parameters", async () => {
  await useBackend("cpu");
  const b = batch(3);
  const spec = {
    labels: b.labels,
    same: b.same,
    lambda: 0.5,
    signal: "cosine" as const,
    margin: 1,
  };
  const f = tf.tensor2d(b.f, [2 * P, D]);
  const lg = tf.tensor2d(b.logits, [2 * P, N]);
  const w = tf.scalar(3);
  const bias = tf.scalar(-1);
  let seen = -1;
  const g = tf.grads((
    ff: tf.Tensor,
    ll: tf.Tensor,
    ww: tf.Tensor,
    bb: tf.Tensor,
  ) =>
    // A scale on top checks that the upstream gradient is applied.
    tf.mul(
      3,
      jointLoss(
        ff as tf.Tensor2D,
        ll as tf.Tensor2D,
        spec,
        { w: ww, b: bb },
        (v) => seen = v.loss,
      ),
    )
  )([f, lg, w, bias]);
  const host = jointLossHost(b.f, D, b.logits, spec, { w: 3, b: -1 });
  assertAllClose([seen], [host.loss], 1e-12);
  assertAllClose(await g[0].data(), host.dFeatures.map((v) => 3 * v), 1e-6);
  assertAllClose(await g[1].data(), host.dLogits!.map((v) => 3 * v), 1e-6);
  assertAllClose([(await g[2].data())[0], (await g[3].data())[0]], [
    3 * host.dCosW,
    3 * host.dCosB,
  ], 1e-6);
  assertStrict.throws(
    () => jointLossHost(b.f, D, b.logits, spec, undefined),
    /cosine signal needs w and b/,
  );
  assertStrict.throws(
    () => jointLossHost(b.f, D, null, { ...spec, signal: "l2" }),
    /needs logits/,
  );
});

import assertStrict from "node:assert/strict";
import {
  assertAllClose,
  assertRelClose,
  useBackend,
} from "../_test_helpers.ts";
import { jointLoss, jointLossHost, type JointLossSpec } from "./joint_loss.ts";
import {
  identificationLoss,
  LAMBDA_SCALINGS,
  type LambdaScaling,
  lossWeights,
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
 * non-negative values, and pair distances on both sides of the margin. No
 * row has a norm near 0 (its last value is at least 0.5): cosine's gradient
 * grows as 1 / ‖f‖ and is then float32 cancellation in tfjs.
 */
function batch(seed: number) {
  const rng = new Rng(seed);
  const f = Float32Array.from(
    { length: 2 * P * D },
    () => Math.max(0, rng.normal()),
  );
  for (let r = 0; r < 2 * P; r++) {
    f[r * D + D - 1] = Math.max(0.5, f[r * D + D - 1]);
  }
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
  scaling: LambdaScaling,
) {
  const weights = lossWeights(lambda, scaling);
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
      loss = tf.add(loss, tf.mul(weights.ident, i));
    }
    if (!identOnly) {
      const v = verificationLoss(fi, fj, tf.tensor1d(b.same), {
        signal,
        margin,
        cosine: useCos ? { w: ww, b: bb } : undefined,
      });
      parts.verif = v.dataSync()[0];
      loss = tf.add(loss, tf.mul(weights.verif, v));
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

const LAMBDAS = [0, 0.05, 0.5, 2, 50, 1e6, Infinity];

Deno.test("joint loss on the host: values and gradients equal tfjs autodiff of losses.ts, every signal, lambda and lambda scaling", async () => {
  await useBackend("cpu");
  let cases = 0;
  for (const signal of SIGNALS) {
    for (const lambda of LAMBDAS) {
      for (const lambdaScaling of LAMBDA_SCALINGS) {
        for (const margin of [0.5, 2.5]) {
          const b = batch(cases + 1);
          const ref = reference(b, lambda, signal, margin, lambdaScaling);
          const spec = {
            labels: b.labels,
            same: b.same,
            lambda,
            lambdaScaling,
            signal,
            margin,
          };
          const got = jointLossHost(
            b.f,
            D,
            lambda === Infinity ? null : b.logits,
            spec,
            signal === "cosine" && lambda !== 0 ? { w: 3, b: -1 } : undefined,
          );
          const what =
            `${signal} lambda=${lambda} ${lambdaScaling} m=${margin}`;
          try {
            assertAllClose([got.loss], [ref.loss], 1e-5);
            assertAllClose([got.identLoss, got.verifLoss], [
              ref.ident,
              ref.verif,
            ], 1e-5);
            assertAllClose(got.dist, ref.dist, 1e-5);
            // Relative to the largest entry: with `none`, λ = 1e6 makes the
            // verification gradient a million times the identification one.
            assertRelClose("dFeatures", got.dFeatures, ref.dF, 1e-5);
            // Entry by entry where the total is O(1): with `none` at λ = 1e6
            // the small entries are float32 cancellation noise in tfjs.
            const w = lossWeights(lambda, lambdaScaling);
            if (w.verif <= 1) assertAllClose(got.dFeatures, ref.dF, 1e-5);
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
  }
  assertStrict.equal(cases, SIGNALS.length * LAMBDAS.length * 4);
});

Deno.test("lambda scaling: the weights of the two terms, by hand", () => {
  const w = (lambda: number, s: LambdaScaling) => lossWeights(lambda, s);
  for (const s of LAMBDA_SCALINGS) {
    assertStrict.deepEqual(w(0, s), { ident: 1, verif: 0 });
    assertStrict.deepEqual(w(0.05, s), { ident: 1, verif: 0.05 });
    assertStrict.deepEqual(w(1, s), { ident: 1, verif: 1 });
    assertStrict.deepEqual(w(Infinity, s), { ident: 0, verif: 1 });
  }
  assertStrict.deepEqual(w(4, "bounded"), { ident: 0.25, verif: 1 });
  assertStrict.deepEqual(w(4, "none"), { ident: 1, verif: 4 });
  assertStrict.throws(() => w(-1, "bounded"), /lambda must be >= 0/);
  assertStrict.throws(() => w(NaN, "bounded"), /lambda must be >= 0/);
  assertStrict.throws(
    () => w(1, undefined as unknown as LambdaScaling),
    /lambdaScaling must be one of bounded, none/,
  );
});

Deno.test("lambda scaling on the host: bounded is none times 1 / max(1, lambda), and exactly none for lambda <= 1", async () => {
  await useBackend("cpu");
  const b = batch(5);
  for (const signal of SIGNALS) {
    const cos = signal === "cosine" ? { w: 3, b: -1 } : undefined;
    const at = (lambda: number, lambdaScaling: LambdaScaling) =>
      jointLossHost(b.f, D, b.logits, {
        labels: b.labels,
        same: b.same,
        lambda,
        lambdaScaling,
        signal,
        margin: 1.5,
      }, cos);
    for (const lambda of [0, 0.05, 0.5, 1]) {
      assertStrict.deepEqual(at(lambda, "bounded"), at(lambda, "none"));
    }
    for (const lambda of [2, 50, 1e6]) {
      const [s, n] = [at(lambda, "bounded"), at(lambda, "none")];
      assertStrict.equal(s.identLoss, n.identLoss, "logged unweighted");
      assertStrict.equal(s.verifLoss, n.verifLoss, "logged unweighted");
      assertAllClose([s.loss], [n.loss / lambda], 1e-12);
      assertAllClose(s.dFeatures, n.dFeatures.map((v) => v / lambda), 1e-6);
      assertAllClose(s.dLogits!, n.dLogits!.map((v) => v / lambda), 1e-6);
      assertAllClose([s.dCosW, s.dCosB], [n.dCosW / lambda, n.dCosB / lambda]);
    }
  }
});

// --- Finite differences, in float64, on the host formulation -------------

/** `[rows, cols]` seeded normal values times `scale`, float64. */
function normals(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => scale * rng.normal());
}

/**
 * A batch of P = 4 pairs in general position (no difference within 0.05 of
 * 0, no distance within 0.05 of the margin), so that the loss is smooth
 * around it: pairs 0 and 1 the same identity, 2 and 3 different, pair 2
 * inside the margin (hinge active), pair 3 beyond it (inactive). The margin
 * is placed between pair 2's and pair 3's distance under `signal`.
 */
function smoothBatch(signal: Signal, seed: number) {
  const P4 = 4;
  const f = normals(2 * P4 * D, seed, 0.6);
  const dist = (p: number) => {
    let l1 = 0;
    let l2 = 0;
    for (let k = 0; k < D; k++) {
      const x = f[p * D + k] - f[(P4 + p) * D + k];
      l1 += Math.abs(x);
      l2 += x * x;
    }
    return signal === "l1"
      ? l1 / Math.sqrt(D)
      : signal === "l2sq"
      ? l2
      : Math.sqrt(l2);
  };
  for (let k = 0; k < D; k++) {
    // Pair 3 far apart, pair 2 close together; every |difference| >= 0.1.
    f[(P4 + 3) * D + k] = f[3 * D + k] + (k % 2 ? 1.5 : -1.5);
    f[(P4 + 2) * D + k] = f[2 * D + k] + (k % 2 ? -0.2 : 0.15);
    for (const p of [0, 1]) {
      const x = f[p * D + k] - f[(P4 + p) * D + k];
      if (Math.abs(x) < 0.1) f[(P4 + p) * D + k] += x < 0 ? -0.1 : 0.1;
    }
  }
  const margin = (dist(2) + dist(3)) / 2;
  assertStrict.ok(dist(2) < margin - 0.05 && dist(3) > margin + 0.05);
  const rng = new Rng(seed + 100);
  return {
    f,
    margin,
    labels: Int32Array.from({ length: 2 * P4 }, () => rng.int(N)),
    same: Float64Array.of(1, 1, 0, 0),
    // Logits as a function of the features, logits = f·Ws + bs, so that
    // the identification term's gradient reaches the features.
    ws: normals(D * N, seed + 200, 0.5),
    bs: normals(N, seed + 300, 0.5),
  };
}

/** `f·Ws + bs` for `[rows, D]` features, `[rows, N]`, float64. */
function logitsOf(f: Float64Array, ws: Float64Array, bs: Float64Array) {
  const rows = f.length / D;
  const out = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < N; c++) {
      let z = bs[c];
      for (let k = 0; k < D; k++) z += f[r * D + k] * ws[k * N + c];
      out[r * N + c] = z;
    }
  }
  return out;
}

/**
 * The host loss as a function of the features alone (logits from
 * {@linkcode logitsOf}; none at λ = Infinity) and its gradient in them:
 * `dFeatures + dLogits · Wsᵀ`.
 */
function featureLoss(
  b: ReturnType<typeof smoothBatch>,
  spec: Omit<JointLossSpec, "labels" | "same" | "margin">,
  cosine?: { w: number; b: number },
) {
  const full = { ...spec, labels: b.labels, same: b.same, margin: b.margin };
  const run = (f: Float64Array) =>
    jointLossHost(
      f,
      D,
      spec.lambda === Infinity ? null : logitsOf(f, b.ws, b.bs),
      full,
      cosine,
    );
  const value = (f: Float64Array) => run(f).loss;
  const gradient = (f: Float64Array) => {
    const r = run(f);
    const g = Float64Array.from(r.dFeatures);
    if (r.dLogits) {
      for (let row = 0; row < f.length / D; row++) {
        for (let k = 0; k < D; k++) {
          let s = 0;
          for (let c = 0; c < N; c++) {
            s += r.dLogits[row * N + c] * b.ws[k * N + c];
          }
          g[row * D + k] += s;
        }
      }
    }
    return g;
  };
  return { value, gradient, run };
}

/** Central differences of `value` at `f`, step `h`. */
function centralDifferences(
  value: (f: Float64Array) => number,
  f: Float64Array,
  h = 1e-5,
): Float64Array {
  const g = new Float64Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const x = f[i];
    f[i] = x + h;
    const up = value(f);
    f[i] = x - h;
    const down = value(f);
    f[i] = x;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

Deno.test("L1 verification (finite differences, float64): ½d₁² and ½max(0, m − d₁)² with d₁ = ‖d‖₁/√D, hinge active and inactive", () => {
  const b = smoothBatch("l1", 21);
  const P4 = 4;
  const fl = featureLoss(b, {
    lambda: Infinity,
    lambdaScaling: "bounded",
    signal: "l1",
  });
  const r = fl.run(b.f);
  // The loss by hand: ½d₁² for the same pairs, ½(m − d₁)² for pair 2, 0
  // for pair 3, averaged over the 4 pairs.
  const d1 = Array.from(r.dist);
  assertAllClose(
    [r.verifLoss],
    [
      (0.5 * d1[0] ** 2 + 0.5 * d1[1] ** 2 + 0.5 * (b.margin - d1[2]) ** 2) /
      P4,
    ],
    1e-6,
  );
  const g = fl.gradient(b.f);
  assertRelClose("L1 gradient", g, centralDifferences(fl.value, b.f), 1e-6);
  // Per coordinate: d₁·sign(x)/√D/P for the same pairs (= mean|x|·sign(x)/P,
  // on L2's x/P scale), −(m − d₁)·sign(x)/√D/P for the active hinge
  // (pulling pair 2 apart), 0 beyond the margin; the second image gets the
  // opposite.
  for (let p = 0; p < P4; p++) {
    const scale = p === 3 ? 0 : p === 2 ? -(b.margin - d1[2]) : d1[p];
    for (let k = 0; k < D; k++) {
      const x = b.f[p * D + k] - b.f[(P4 + p) * D + k];
      const expected = scale * Math.sign(x) / Math.sqrt(D) / P4;
      assertAllClose([g[p * D + k]], [expected], 1e-7); // float32 out
      assertAllClose([g[(P4 + p) * D + k]], [-expected], 1e-7);
    }
  }
});

Deno.test("scaled joint loss (finite differences, float64): the gradient in the features at lambda 0.5, 2, 50, 1e6, every signal", () => {
  for (const signal of SIGNALS) {
    const b = smoothBatch(signal, 31);
    for (const lambda of [0.5, 2, 50, 1e6]) {
      for (const lambdaScaling of LAMBDA_SCALINGS) {
        const fl = featureLoss(
          b,
          { lambda, lambdaScaling, signal },
          signal === "cosine" ? { w: 3, b: -1 } : undefined,
        );
        const what = `${signal} lambda=${lambda} ${lambdaScaling}`;
        // Step scaled down with the total's size (`none` at λ = 1e6 is
        // ~1e6), keeping the rounding of up − down small.
        const h = lambdaScaling === "none" && lambda > 1 ? 1e-6 : 1e-5;
        assertRelClose(
          what,
          fl.gradient(b.f),
          centralDifferences(fl.value, b.f, h),
          1e-6,
        );
      }
    }
  }
});

Deno.test("lambda scaling is continuous at infinity: lambda = 1e6 (bounded) is within 1e-5 of verification only, loss and gradient, host and tfjs", async () => {
  await useBackend("cpu");
  for (const signal of SIGNALS) {
    const b = smoothBatch(signal, 41);
    // The gap is exactly Ident / λ: labels the logits favour (Ident small)
    // and, for cosine, w and b that misjudge the pairs (Verif not small),
    // so that 1e-5 of the loss is a meaningful bound.
    b.ws.forEach((v, i) => b.ws[i] = 2 * v);
    const lg = logitsOf(b.f, b.ws, b.bs);
    b.labels.forEach((_, r) => {
      const row = lg.subarray(r * N, (r + 1) * N);
      b.labels[r] = row.indexOf(Math.max(...row));
    });
    const cos = signal === "cosine" ? { w: 6, b: -3 } : undefined;
    const spec = (lambda: number) => ({
      lambda,
      lambdaScaling: "bounded" as const,
      signal,
    });
    const big = featureLoss(b, spec(1e6), cos);
    const inf = featureLoss(b, spec(Infinity), cos);
    const what = `${signal} host`;
    // The gap itself: Ident / λ, nothing else.
    const gap = big.value(b.f) - inf.value(b.f);
    assertAllClose([gap * 1e6], [big.run(b.f).identLoss], 1e-8);
    assertRelClose(`${what} loss`, [big.value(b.f)], [inf.value(b.f)], 1e-5);
    assertRelClose(
      `${what} gradient`,
      big.gradient(b.f),
      inf.gradient(b.f),
      1e-5,
    );
    // The same through the op and tfjs: logits = f·Ws + bs in the graph.
    const ws = tf.tensor2d(Float32Array.from(b.ws), [D, N]);
    const bs = tf.tensor1d(Float32Array.from(b.bs));
    const viaOp = (lambda: number) => {
      const full = {
        ...spec(lambda),
        labels: b.labels,
        same: b.same,
        margin: b.margin,
      };
      const lossOf = (ff: tf.Tensor) =>
        jointLoss(
          ff as tf.Tensor2D,
          lambda === Infinity
            ? null
            : tf.add(tf.matMul(ff as tf.Tensor2D, ws), bs) as tf.Tensor2D,
          full,
          cos ? { w: tf.scalar(cos.w), b: tf.scalar(cos.b) } : undefined,
          () => {},
        );
      const f = tf.tensor2d(Float32Array.from(b.f), [b.f.length / D, D]);
      const { value, grad } = tf.valueAndGrad(lossOf)(f);
      return { loss: value.dataSync()[0], grad: grad.dataSync() };
    };
    const [t6, tInf] = [viaOp(1e6), viaOp(Infinity)];
    assertRelClose(`${signal} op loss`, [t6.loss], [tInf.loss], 1e-5);
    assertRelClose(`${signal} op gradient`, t6.grad, tInf.grad, 1e-5);
    // And the op's gradient is the host's (float32 inputs).
    assertRelClose(`${signal} op vs host`, t6.grad, big.gradient(b.f), 1e-5);
  }
});

Deno.test("joint loss as an op: its custom gradient reaches the features, logits and cosine parameters", async () => {
  await useBackend("cpu");
  const b = batch(3);
  const spec = {
    labels: b.labels,
    same: b.same,
    lambda: 0.5,
    lambdaScaling: "bounded" as const,
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

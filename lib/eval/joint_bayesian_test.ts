import assert from "node:assert/strict";
import { determinant, inverse, Matrix } from "ml-matrix";
import { fitJointBayesian, JointBayesianModel } from "./joint_bayesian.ts";
import { Rng } from "../base/rng.ts";

/** Samples x = mu + eps per identity, mu ~ N(0, A A^T), eps ~ N(0, B B^T). */
function sample(
  seed: number,
  sizes: number[],
  a: number[][],
  b: number[][],
  offset = 0,
) {
  const rng = new Rng(seed);
  const d = a.length;
  const mul = (m: number[][], z: number[]) =>
    m.map((row) => row.reduce((s, v, k) => s + v * z[k], 0));
  const features: number[] = [], labels: number[] = [];
  const mus: number[][] = [], epss: number[][] = [];
  sizes.forEach((m, id) => {
    const mu = mul(a, Array.from({ length: d }, () => rng.normal()));
    mus.push(mu);
    for (let j = 0; j < m; j++) {
      const eps = mul(b, Array.from({ length: d }, () => rng.normal()));
      epss.push(eps);
      features.push(...mu.map((v, k) => v + eps[k] + offset * (k + 1)));
      labels.push(id);
    }
  });
  /** Covariance of the draws themselves, around their mean. */
  const cov = (rows: number[][]) => {
    const x = new Matrix(rows);
    const mean = x.mean("column");
    x.subRowVector(mean);
    return x.transpose().mmul(x).div(rows.length);
  };
  return {
    features: Float64Array.from(features),
    labels,
    drawnMu: cov(mus),
    drawnEps: cov(epss),
  };
}

const A = [[2, 0, 0, 0], [0.8, 1.5, 0, 0], [0.3, -0.4, 1, 0], [
  0,
  0.5,
  0.2,
  0.7,
]];
const B = [[0.6, 0, 0, 0], [0.2, 0.5, 0, 0], [0, 0.1, 0.8, 0], [
  -0.2,
  0,
  0.1,
  0.4,
]];
const gram = (m: number[][]) => new Matrix(m).mmul(new Matrix(m).transpose());

/** P S P^T: a PCA-space covariance back in input coordinates. */
function toInput(model: JointBayesianModel, s: Float64Array): Matrix {
  const p = Matrix.from1DArray(model.inputDim, model.pcaDim, model.params.pca);
  return p.mmul(Matrix.from1DArray(model.pcaDim, model.pcaDim, s)).mmul(
    p.transpose(),
  );
}

const relErr = (a: Matrix, b: Matrix) => a.clone().sub(b).norm() / b.norm();

/**
 * The EM of lib/PAPER.md, "Joint Bayesian", written out with explicit
 * inverses (ml-matrix), as the reference.
 */
function naiveEm(
  model0: JointBayesianModel,
  features: Float64Array,
  labels: number[],
  iterations: number,
  posteriorCovariance = false,
) {
  const D = model0.inputDim, d = model0.pcaDim;
  const byId = new Map<number, Matrix[]>();
  labels.forEach((l, i) => {
    const x = Matrix.columnVector(
      Array.from(model0.project(features.subarray(i * D, (i + 1) * D))),
    );
    byId.set(l, [...(byId.get(l) ?? []), x]);
  });
  const K = byId.size;
  let n2 = 0;
  let sMu = Matrix.zeros(d, d), sEps = Matrix.zeros(d, d);
  for (const xs of byId.values()) {
    const mean = xs.reduce((s, x) => s.add(x), Matrix.zeros(d, 1)).div(
      xs.length,
    );
    sMu = sMu.add(mean.mmul(mean.transpose()).div(K));
    if (xs.length < 2) continue;
    for (const x of xs) {
      const v = x.clone().sub(mean);
      sEps = sEps.add(v.mmul(v.transpose()));
      n2++;
    }
  }
  sEps = sEps.div(n2);
  for (let it = 0; it < iterations; it++) {
    const sEpsR = sEps.clone().add(Matrix.eye(d).mul(model0.params.ridge));
    const F = inverse(sEpsR);
    let nextMu = Matrix.zeros(d, d), nextEps = Matrix.zeros(d, d);
    for (const xs of byId.values()) {
      const m = xs.length;
      const s = xs.reduce((acc, x) => acc.add(x), Matrix.zeros(d, 1));
      const G = inverse(sMu.clone().mul(m).add(sEpsR)).mmul(sMu).mmul(F).mul(
        -1,
      );
      const eMu = sMu.mmul(F.clone().add(G.clone().mul(m))).mmul(s);
      nextMu = nextMu.add(eMu.mmul(eMu.transpose()).div(K));
      // Cov[mu | x] = S_mu - m S_mu (m S_mu + S_eps)^-1 S_mu (full EM only).
      const post = sMu.clone().sub(
        sMu.mmul(inverse(sMu.clone().mul(m).add(sEpsR))).mmul(sMu).mul(m),
      );
      if (posteriorCovariance) nextMu = nextMu.add(post.clone().div(K));
      if (m < 2) continue; // one image: no information on S_eps
      if (posteriorCovariance) nextEps = nextEps.add(post.mul(m / n2));
      for (const x of xs) {
        const eEps = x.clone().add(sEpsR.mmul(G).mmul(s));
        nextEps = nextEps.add(eEps.mmul(eEps.transpose()).div(n2));
      }
    }
    sMu = nextMu;
    sEps = nextEps;
  }
  return { sMu, sEps };
}

Deno.test("EM steps equal lib/PAPER.md's EM done with explicit inverses", () => {
  const sizes = Array.from({ length: 40 }, (_, k) => 1 + (k % 5)); // singletons too
  const { features, labels } = sample(3, sizes, A, B, 5);
  for (
    const [iters, pcaDim, full] of [[0, 4, 0], [1, 4, 0], [6, 3, 0], [6, 3, 1]]
  ) {
    const model = fitJointBayesian(features, 4, labels, {
      maxIter: iters,
      pcaDim,
      tol: 0,
      ridge: 1e-3,
      posteriorCovariance: full === 1,
    });
    assert.equal(model.params.iterations, iters);
    const ref = naiveEm(model, features, labels, iters, full === 1);
    const d = model.pcaDim;
    assert.ok(
      relErr(Matrix.from1DArray(d, d, model.params.sMu), ref.sMu) < 1e-10,
    );
    assert.ok(
      relErr(Matrix.from1DArray(d, d, model.params.sEps), ref.sEps) < 1e-10,
    );
  }
});

Deno.test("recovers known S_mu and S_eps", () => {
  const m = 12;
  const sizes = Array.from({ length: 800 }, () => m);
  const { features, labels, drawnMu, drawnEps } = sample(11, sizes, A, B, 3);
  const check = (model: JointBayesianModel, epsScale: number) => {
    assert.equal(model.pcaDim, 4); // 180 asked for, clipped to the rank
    assert.ok(model.params.converged);
    const sMu = toInput(model, model.params.sMu);
    const sEps = toInput(model, model.params.sEps).div(epsScale);
    // Against the covariance of the drawn mu / eps (what the data shows) ...
    assert.ok(relErr(sMu, drawnMu) < 0.03, `S_mu ${relErr(sMu, drawnMu)}`);
    assert.ok(relErr(sEps, drawnEps) < 0.02, `S_eps ${relErr(sEps, drawnEps)}`);
    // ... and, looser (sampling error of 800 identities), the true ones.
    assert.ok(relErr(sMu, gram(A)) < 0.12, `S_mu ${relErr(sMu, gram(A))}`);
    assert.ok(relErr(sEps, gram(B)) < 0.05, `S_eps ${relErr(sEps, gram(B))}`);
  };
  // The full EM is the maximum-likelihood estimate.
  check(
    fitJointBayesian(features, 4, labels, { posteriorCovariance: true }),
    1,
  );
  // The EM of lib/PAPER.md, "Joint Bayesian" (covariances of the posterior
  // means) shrinks S_eps by (m - 1) / m.
  check(fitJointBayesian(features, 4, labels), (m - 1) / m);
});

Deno.test("score = log-likelihood ratio of the two Gaussians, computed directly", () => {
  const sizes = Array.from({ length: 60 }, (_, k) => 2 + (k % 4));
  const { features, labels } = sample(5, sizes, A, B, 1);
  const model = fitJointBayesian(features, 4, labels, { pcaDim: 3 });
  const d = model.pcaDim;
  const sMu = Matrix.from1DArray(d, d, model.params.sMu);
  const sEps = Matrix.from1DArray(d, d, model.params.sEps).add(
    Matrix.eye(d).mul(model.params.ridge),
  );
  const total = sMu.clone().add(sEps);
  const same = new Matrix(2 * d, 2 * d);
  same.setSubMatrix(total, 0, 0).setSubMatrix(total, d, d);
  same.setSubMatrix(sMu, 0, d).setSubMatrix(sMu, d, 0);
  const diff = new Matrix(2 * d, 2 * d);
  diff.setSubMatrix(total, 0, 0).setSubMatrix(total, d, d);
  const logN = (x: Matrix, cov: Matrix) =>
    -0.5 * x.transpose().mmul(inverse(cov)).mmul(x).get(0, 0) -
    0.5 * Math.log(determinant(cov)) - d * Math.log(2 * Math.PI);
  const { A: a, G: g } = model.matrices();
  const Am = Matrix.from1DArray(d, d, a), Gm = Matrix.from1DArray(d, d, g);
  // The paper's A and G from explicit inverses.
  const F = inverse(sEps);
  const Gp = inverse(sMu.clone().mul(2).add(sEps)).mmul(sMu).mmul(F).mul(-1);
  const Ap = inverse(total).sub(F.clone().add(Gp));
  assert.ok(relErr(Gm, Gp) < 1e-9 && relErr(Am, Ap) < 1e-9);

  const rng = new Rng(9);
  const offsets: number[] = [];
  for (let t = 0; t < 20; t++) {
    const i = rng.int(labels.length), j = rng.int(labels.length);
    const x1 = features.subarray(i * 4, i * 4 + 4);
    const x2 = features.subarray(j * 4, j * 4 + 4);
    const p1 = Matrix.columnVector(Array.from(model.project(x1)));
    const p2 = Matrix.columnVector(Array.from(model.project(x2)));
    const both = Matrix.columnVector([...p1.to1DArray(), ...p2.to1DArray()]);
    const llr = logN(both, same) - logN(both, diff);
    const score = model.score(x1, x2);
    assert.ok(
      Math.abs(score - llr) < 1e-9 * (1 + Math.abs(llr)),
      `${score} ${llr}`,
    );
    // r = x1'A x1 + x2'A x2 - 2 x1'G x2, and score = r / 2 + const.
    const r = p1.transpose().mmul(Am).mmul(p1).get(0, 0) +
      p2.transpose().mmul(Am).mmul(p2).get(0, 0) -
      2 * p1.transpose().mmul(Gm).mmul(p2).get(0, 0);
    offsets.push(score - r / 2);
  }
  assert.ok(Math.max(...offsets) - Math.min(...offsets) < 1e-9);
});

Deno.test("batch scores, JSON round trip", () => {
  const sizes = Array.from({ length: 30 }, () => 4);
  const { features, labels } = sample(8, sizes, A, B);
  const model = fitJointBayesian(features, 4, labels, { pcaDim: 4 });
  const pairs = [{ a: 0, b: 1 }, { a: 2, b: 50 }, { a: 7, b: 7 }];
  const batch = model.scorePairs(features, 4, pairs);
  pairs.forEach((p, k) => {
    const one = model.score(
      features.subarray(p.a * 4, p.a * 4 + 4),
      features.subarray(p.b * 4, p.b * 4 + 4),
    );
    assert.ok(Math.abs(batch[k] - one) < 1e-12);
  });
  assert.ok(batch[0] > batch[1]); // same identity beats different, here
  const again = JointBayesianModel.fromJSON(
    JSON.parse(JSON.stringify(model)),
  );
  assert.deepEqual(again.scorePairs(features, 4, pairs), batch);
  assert.deepEqual(again.toJSON(), model.toJSON());
  assert.throws(() => JointBayesianModel.fromJSON({ format: "x" }), RangeError);
  assert.throws(
    () => JointBayesianModel.fromJSON({ ...model.toJSON(), sMu: [1, 2] }),
    /sMu/,
  );
  assert.throws(
    () => model.prepare(features, 4, [0])(0, 1),
    /not all prepared/,
  );
});

Deno.test("identities with one image do not inform the starting S_eps", () => {
  const sizes = Array.from({ length: 20 }, () => 3);
  const { features, labels } = sample(2, sizes, A, B);
  const extra = sample(4, [1, 1, 1, 1, 1], A, B, 10);
  const withSingles = Float64Array.from([...features, ...extra.features]);
  const moreLabels = [...labels, ...extra.labels.map((l) => l + 100)];
  const a = fitJointBayesian(features, 4, labels, { maxIter: 0 });
  const b = fitJointBayesian(withSingles, 4, moreLabels, { maxIter: 0 });
  assert.ok(
    relErr(toInput(b, b.params.sEps), toInput(a, a.params.sEps)) < 1e-10,
  );
});

Deno.test("bad training sets are RangeErrors", () => {
  const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
  assert.throws(() => fitJointBayesian(x, 2, [0, 0, 0]), /2\+ identities/);
  assert.throws(() => fitJointBayesian(x, 2, [0, 1, 2]), /2\+ images/);
  assert.throws(() => fitJointBayesian(x, 2, [0, 1]), /not 2 rows/);
});

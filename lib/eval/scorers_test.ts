import assert from "node:assert/strict";
import { fitJointBayesian } from "./joint_bayesian.ts";
import { Rng } from "../base/rng.ts";
import {
  cosineScore,
  cosineScorer,
  jointBayesianScorer,
  l2Score,
  l2Scorer,
  scoreMatrix,
  scorePairs,
  scorerByName,
  standardScorers,
} from "./scorers.ts";

const close = (a: number, b: number, tol = 1e-6) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

Deno.test("L2 and cosine by hand", () => {
  assert.equal(l2Score([0, 0], [3, 4]), -5);
  assert.equal(l2Score([1, 2], [1, 2]), 0);
  close(cosineScore([1, 0], [1, 1]), Math.SQRT1_2, 1e-15);
  assert.equal(cosineScore([1, 2], [-2, 1]), 0);
  assert.equal(cosineScore([2, 0], [-1, 0]), -1);
  assert.equal(cosineScore([0, 0], [1, 1]), 0);
  const x = new Float32Array([0, 0, 3, 4, 6, 8]);
  assert.deepEqual(
    [...scorePairs(x, 2, [{ a: 0, b: 1 }, { a: 1, b: 2 }], l2Scorer)],
    [-5, -5],
  );
  assert.deepEqual(
    [...scorePairs(x, 2, [{ a: 1, b: 2 }, { a: 0, b: 1 }], cosineScorer)],
    [1, 0],
  );
});

Deno.test("batch scorers agree with the one-pair functions", () => {
  const rng = new Rng(2);
  const dim = 7, n = 30;
  const x = new Float32Array(n * dim).map(() => rng.normal());
  const row = (i: number) => x.subarray(i * dim, (i + 1) * dim);
  const pairs = Array.from({ length: 50 }, () => ({
    a: rng.int(n),
    b: rng.int(n),
  }));
  const l2 = scorePairs(x, dim, pairs, l2Scorer);
  const cos = scorePairs(x, dim, pairs, cosineScorer);
  pairs.forEach((p, k) => {
    close(l2[k], l2Score(row(p.a), row(p.b)), 1e-12);
    close(cos[k], cosineScore(row(p.a), row(p.b)), 1e-12);
  });
  const m = scoreMatrix(x, dim, {
    rows: [3, 4],
    cols: [5, 6, 7],
    scorer: l2Scorer,
  });
  assert.equal(m.length, 6);
  close(m[1 * 3 + 2], l2Score(row(4), row(7)), 1e-12);
});

Deno.test("Joint Bayesian scorer wraps the model", () => {
  const rng = new Rng(4);
  const dim = 5, ids = 25, per = 4;
  const x = new Float64Array(ids * per * dim);
  const labels: number[] = [];
  for (let i = 0; i < ids; i++) {
    const mu = Array.from({ length: dim }, () => 2 * rng.normal());
    for (let j = 0; j < per; j++) {
      const r = i * per + j;
      labels.push(i);
      for (let a = 0; a < dim; a++) x[r * dim + a] = mu[a] + rng.normal();
    }
  }
  const model = fitJointBayesian(x, dim, labels, { pcaDim: 4 });
  const scorer = jointBayesianScorer(model);
  assert.equal(scorer.name, "joint_bayesian");
  const pairs = [{ a: 0, b: 1 }, { a: 0, b: 9 }];
  const s = scorePairs(x, dim, pairs, scorer);
  assert.deepEqual(s, model.scorePairs(x, dim, pairs));
  close(s[0], model.score(x.subarray(0, dim), x.subarray(dim, 2 * dim)), 1e-9);
});

Deno.test("scorerByName and bad rows", () => {
  assert.equal(scorerByName("l2"), l2Scorer);
  assert.equal(scorerByName("cosine"), cosineScorer);
  assert.throws(() => scorerByName("l1"), /unknown scorer/);
  const x = new Float32Array([1, 2, 3, 4]);
  assert.throws(() => scorePairs(x, 2, [{ a: 0, b: 2 }], l2Scorer), /outside/);
  assert.throws(() => scorePairs(x, 3, [{ a: 0, b: 1 }], l2Scorer), /not rows/);
});

Deno.test("standardScorers: collapsed (all-zero) features score every pair alike instead of failing", () => {
  const scorers = standardScorers(
    Int32Array.from([0, 0, 1, 1]),
    new Float32Array(4 * 3),
    3,
    2,
  );
  assert.deepEqual(scorers.map((s) => s.name), [
    "l2",
    "cosine",
    "joint_bayesian",
  ]);
  const jb = scorers[2].prepare(new Float32Array(6), 3);
  assert.equal(jb(0, 1), 0);
});

import assert from "node:assert/strict";
import {
  auc,
  defaultFprGrid,
  eer,
  foldAveragedRoc,
  interpolateTpr,
  rocCounts,
  rocCurve,
  tarAtFar,
} from "./roc.ts";
import { Rng } from "../base/rng.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** O(n^2) Mann-Whitney AUC, ties counted one half. */
function naiveAuc(labels: number[], scores: number[]): number {
  let wins = 0, n = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = 0; j < labels.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue;
      n++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / n;
}

/** (FAR, FRR) of accepting score >= t, for every threshold t. */
function naiveRates(labels: number[], scores: number[]) {
  const ts = [Infinity, ...new Set(scores)];
  const pos = labels.filter((l) => l === 1).length;
  const neg = labels.length - pos;
  return ts.map((t) => {
    let tp = 0, fp = 0;
    labels.forEach((l, i) => {
      if (scores[i] >= t) l === 1 ? tp++ : fp++;
    });
    return { t, far: fp / neg, tar: tp / pos };
  });
}

function randomCase(seed: number, n: number, levels: number) {
  const rng = new Rng(seed);
  const labels: number[] = [], scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = rng.next() < 0.4 ? 1 : 0;
    labels.push(l);
    // Rounded scores: many ties, including ties across classes.
    scores.push(Math.round((rng.normal() + 1.2 * l) * levels) / levels + 0);
  }
  if (!labels.includes(0)) labels[0] = 0;
  if (!labels.includes(1)) labels[1] = 1;
  return { labels, scores };
}

Deno.test("hand-computed ROC, AUC, EER and TAR", () => {
  const labels = [1, 1, 0, 1, 0, 0];
  const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.1];
  const roc = rocCurve(labels, scores);
  assert.deepEqual(
    roc.map((p) => [p.fpr * 3, p.tpr * 3, p.threshold]),
    [[0, 0, Infinity], [0, 1, 0.9], [0, 2, 0.8], [1, 2, 0.7], [1, 3, 0.6], [
      2,
      3,
      0.55,
    ], [3, 3, 0.1]],
  );
  close(auc(roc), 8 / 9); // 8 of 9 positive-negative pairs ordered
  close(eer(roc), 1 / 3); // threshold 0.7: FAR = FRR = 1/3
  assert.equal(tarAtFar(roc, 0), 2 / 3);
  assert.equal(tarAtFar(roc, 0.34), 1);
});

Deno.test("perfect separation: AUC 1, EER 0, TAR 1 at FAR 0", () => {
  const roc = rocCurve([0, 1, 0, 1, 1], [-3, 2, 0.5, 0.6, 7]);
  assert.equal(auc(roc), 1);
  assert.equal(eer(roc), 0);
  assert.equal(tarAtFar(roc, 0), 1);
  const rev = rocCurve([1, 0, 1, 0], [-3, 2, 0.5, 0.6]);
  assert.equal(auc(rev), 0);
  assert.equal(eer(rev), 1);
});

Deno.test("ties are never split: all-equal scores give the chance diagonal", () => {
  const roc = rocCurve([1, 0, 0, 1, 0], [0.3, 0.3, 0.3, 0.3, 0.3]);
  assert.deepEqual(roc, [
    { fpr: 0, tpr: 0, threshold: Infinity },
    { fpr: 1, tpr: 1, threshold: 0.3 },
  ]);
  assert.equal(auc(roc), 0.5);
  assert.equal(eer(roc), 0.5);
  assert.equal(tarAtFar(roc, 0.99), 0);
  // A tie across classes: one diagonal step, half credit.
  const c = rocCounts([1, 0, 1], [0.9, 0.5, 0.5]);
  assert.deepEqual([...c.thresholds], [Infinity, 0.9, 0.5]);
  assert.deepEqual([...c.tp], [0, 1, 2]);
  assert.deepEqual([...c.fp], [0, 0, 1]);
  assert.equal(auc(rocCurve([1, 0, 1], [0.9, 0.5, 0.5])), 0.75);
});

Deno.test("AUC, TAR and EER agree with naive implementations (random, tied)", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const { labels, scores } = randomCase(seed, 60 + seed * 7, seed % 3 + 1);
    const roc = rocCurve(labels, scores);
    close(auc(roc), naiveAuc(labels, scores), 1e-12);
    const rates = naiveRates(labels, scores);
    for (const far of [0, 0.01, 0.1, 0.3, 1]) {
      const best = Math.max(
        ...rates.filter((r) => r.far <= far).map((r) => r.tar),
      );
      assert.equal(tarAtFar(roc, far), best);
    }
    // EER lies between max_t min(FAR, FRR) and min_t max(FAR, FRR).
    const e = eer(roc);
    const lo = Math.max(...rates.map((r) => Math.min(r.far, 1 - r.tar)));
    const hi = Math.min(...rates.map((r) => Math.max(r.far, 1 - r.tar)));
    assert.ok(lo - 1e-12 <= e && e <= hi + 1e-12, `${lo} <= ${e} <= ${hi}`);
    // The input order does not matter.
    const order = new Rng(seed).shuffle(labels.map((_, i) => i));
    assert.deepEqual(
      rocCurve(order.map((i) => labels[i]), order.map((i) => scores[i])),
      roc,
    );
  }
});

Deno.test("interpolateTpr: linear between points, highest on a vertical step", () => {
  const roc = rocCurve([1, 0, 1, 0], [4, 3, 2, 1]);
  // (0,0) (0,.5) (.5,.5) (.5,1) (1,1)
  assert.equal(interpolateTpr(roc, 0), 0.5);
  assert.equal(interpolateTpr(roc, 0.25), 0.5);
  assert.equal(interpolateTpr(roc, 0.5), 1);
  assert.equal(interpolateTpr(roc, 0.75), 1);
  const diag = rocCurve([1, 0], [1, 1]);
  assert.equal(interpolateTpr(diag, 0.3), 0.3);
});

Deno.test("fold-averaged ROC: mean and population std on a grid", () => {
  const a = rocCurve([1, 0], [1, 0]); // perfect
  const b = rocCurve([1, 0], [0, 1]); // reversed
  assert.deepEqual(foldAveragedRoc([a, b], { grid: [0, 0.5, 1] }), [
    { fpr: 0, tpr: 0.5, tpr_std: 0.5 },
    { fpr: 0.5, tpr: 0.5, tpr_std: 0.5 },
    { fpr: 1, tpr: 1, tpr_std: 0 },
  ]);
  const same = foldAveragedRoc([a, a]);
  assert.ok(same.every((p) => p.tpr === 1 && p.tpr_std === 0));
  const grid = defaultFprGrid();
  assert.equal(grid[0], 0);
  assert.equal(grid.at(-1), 1);
  assert.ok(grid.includes(1e-3) && grid.includes(1e-2));
  assert.ok(grid.every((g, i) => i === 0 || g > grid[i - 1]));
});

Deno.test("bad input is a RangeError", () => {
  assert.throws(() => rocCurve([1, 0], [1]), RangeError);
  assert.throws(() => rocCurve([1, 2], [1, 0]), RangeError);
  assert.throws(() => rocCurve([1, 0], [1, NaN]), RangeError);
  assert.throws(() => rocCurve([1, 1], [1, 0]), RangeError);
});

import assert from "node:assert/strict";
import {
  bestAccuracyThreshold,
  evaluateVerification,
  thresholdAtFar,
  type VerificationRow,
  verificationRows,
} from "./verification.ts";
import { Rng } from "../base/rng.ts";
import { l2Scorer, scorePairs } from "./scorers.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** Candidate thresholds, strictest first: +Inf, midpoints, -Inf. */
function naiveCandidates(scores: number[]): number[] {
  const s = [...new Set(scores)].sort((a, b) => b - a);
  const mids = s.slice(1).map((v, i) => (s[i] + v) / 2);
  return [Infinity, ...mids, -Infinity];
}

function rates(labels: number[], scores: number[], t: number) {
  let tp = 0, fp = 0, pos = 0;
  labels.forEach((l, i) => {
    if (l === 1) pos++;
    if (scores[i] >= t) l === 1 ? tp++ : fp++;
  });
  const neg = labels.length - pos;
  return { tar: tp / pos, far: fp / neg, acc: (tp + neg - fp) / labels.length };
}

/** O(n^2) brute-force protocol, written independently of verification.ts. */
function naiveProtocol(rows: VerificationRow[]) {
  const folds = [...new Set(rows.map((r) => r.fold))].sort((a, b) => a - b);
  return folds.map((fold) => {
    const tr = rows.filter((r) => r.fold !== fold);
    const te = rows.filter((r) => r.fold === fold);
    const [tl, ts] = [tr.map((r) => r.label), tr.map((r) => r.score)];
    const [el, es] = [te.map((r) => r.label), te.map((r) => r.score)];
    let threshold = NaN, best = -1;
    for (const t of naiveCandidates(ts)) {
      const a = rates(tl, ts, t).acc;
      if (a > best) [best, threshold] = [a, t];
    }
    const val = (far: number) => {
      const ok = naiveCandidates(ts).filter((t) => rates(tl, ts, t).far <= far);
      const t = ok.at(-1)!;
      return { t, ...rates(el, es, t) };
    };
    return {
      threshold,
      train: best,
      acc: rates(el, es, threshold).acc,
      v3: val(1e-3),
      v2: val(1e-2),
    };
  });
}

function randomRows(seed: number, folds: number, perFold: number) {
  const rng = new Rng(seed);
  const rows: VerificationRow[] = [];
  for (let f = 0; f < folds; f++) {
    for (let k = 0; k < perFold; k++) {
      const label = (k % 2) as 0 | 1;
      const score = Math.round((rng.normal() + 1.5 * label) * 4) / 4 + 0;
      rows.push({ fold: f, label, score });
    }
  }
  return rows;
}

Deno.test("hand-computed two-fold protocol", () => {
  const rows: VerificationRow[] = [
    { fold: 0, label: 1, score: 0.9 },
    { fold: 0, label: 0, score: 0.2 },
    { fold: 0, label: 1, score: 0.4 },
    { fold: 0, label: 0, score: 0.5 },
    { fold: 1, label: 1, score: 0.8 },
    { fold: 1, label: 0, score: 0.3 },
    { fold: 1, label: 1, score: 0.6 },
    { fold: 1, label: 0, score: 0.1 },
  ];
  const r = evaluateVerification(rows);
  // Fold 0 is tested with the fold-1 threshold (0.6 + 0.3) / 2.
  close(r.folds[0].threshold, 0.45);
  assert.equal(r.folds[0].train_accuracy, 1);
  assert.equal(r.folds[0].accuracy, 0.5);
  // Fold 1: on fold 0, accepting >= 0.9 and >= 0.4 both get 3 of 4 right; the
  // strictest wins: (0.9 + 0.5) / 2.
  close(r.folds[1].threshold, 0.7);
  assert.equal(r.folds[1].train_accuracy, 0.75);
  assert.equal(r.folds[1].accuracy, 0.75);
  assert.equal(r.accuracy_mean, 0.625);
  assert.equal(r.accuracy_std, 0.125); // population std
  // Standard error from the sample std: sqrt(2 · 0.125² / (2 − 1)) / sqrt(2).
  close(r.accuracy_se, 0.125);
  assert.equal(r.auc, 15 / 16);
  assert.equal(r.eer, 0.25);
  // VAL: training FAR 0 -> thresholds 0.45 and 0.7 as above.
  assert.equal(r["tar_at_far_1e-3"], 0.5);
  assert.equal(r["far_at_far_1e-3"], 0.25);
  assert.equal(r["pooled_tar_at_far_1e-3"], 0.75);
  assert.equal(r["pooled_tar_at_far_1e-2"], 0.75);
  assert.equal(r.n_pairs, 8);
  assert.equal(r.num_folds, 2);
  assert.equal(r.roc[0].threshold, Infinity);
  assert.ok(r.roc_fold_averaged.length > 100);
});

Deno.test("exact threshold search matches brute force (random, tied)", () => {
  for (let seed = 1; seed <= 12; seed++) {
    const rows = randomRows(seed, 2 + (seed % 4), 20 + seed * 3);
    const r = evaluateVerification(rows);
    const naive = naiveProtocol(rows);
    naive.forEach((n, k) => {
      const f = r.folds[k];
      assert.equal(f.threshold, n.threshold);
      close(f.train_accuracy, n.train);
      close(f.accuracy, n.acc);
      assert.equal(f["threshold_at_far_1e-3"], n.v3.t);
      close(f["tar_at_far_1e-3"], n.v3.tar);
      close(f["far_at_far_1e-3"], n.v3.far);
      assert.equal(f["threshold_at_far_1e-2"], n.v2.t);
      close(f["tar_at_far_1e-2"], n.v2.tar);
    });
    const accs = naive.map((n) => n.acc);
    const mean = accs.reduce((s, a) => s + a, 0) / accs.length;
    close(r.accuracy_mean, mean);
    close(
      r.accuracy_std,
      Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / accs.length),
    );
  }
});

Deno.test("no threshold does better on the training folds", () => {
  const rows = randomRows(7, 1, 301);
  const labels = rows.map((r) => r.label), scores = rows.map((r) => r.score);
  const best = bestAccuracyThreshold(labels, scores);
  for (let t = -6; t <= 6; t += 0.01) {
    assert.ok(rates(labels, scores, t).acc <= best.accuracy);
  }
  close(rates(labels, scores, best.threshold).acc, best.accuracy);
  assert.deepEqual(
    bestAccuracyThreshold([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]),
    { threshold: 0.375, accuracy: 1 },
  );
  assert.equal(thresholdAtFar([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.8], 0.5), 0.25);
  assert.equal(thresholdAtFar([0, 0, 1, 1], [0.1, 0.5, 0.4, 0.8], 0), 0.65);
  // Everything accepted / nothing accepted at the ends.
  assert.equal(thresholdAtFar([0, 1], [0.1, 0.5], 1), -Infinity);
  assert.equal(bestAccuracyThreshold([0, 0], [0.1, 0.5]).threshold, Infinity);
});

Deno.test("perfect separation: accuracy 1, AUC 1, EER 0, TAR 1", () => {
  const rows: VerificationRow[] = [];
  for (let f = 0; f < 10; f++) {
    for (let k = 0; k < 30; k++) {
      const label = (k % 2) as 0 | 1;
      rows.push({ fold: f, label, score: label ? 1 + k / 30 : -k / 30 });
    }
  }
  const r = evaluateVerification(rows);
  assert.equal(r.accuracy_mean, 1);
  assert.equal(r.accuracy_std, 0);
  assert.equal(r.auc, 1);
  assert.equal(r.eer, 0);
  assert.equal(r["tar_at_far_1e-3"], 1);
  assert.equal(r["tar_at_far_1e-2"], 1);
  assert.equal(r["pooled_tar_at_far_1e-3"], 1);
  assert.equal(r.roc_fold_averaged[0].tpr, 1);
});

Deno.test("fewer than two folds or a one-class fold is a RangeError", () => {
  const one: VerificationRow[] = [
    { fold: 0, label: 1, score: 1 },
    { fold: 0, label: 0, score: 0 },
  ];
  assert.throws(() => evaluateVerification(one), /at least 2 folds/);
  assert.throws(
    () => evaluateVerification([...one, { fold: 1, label: 1, score: 2 }]),
    /fold 1 has only same/,
  );
});

Deno.test("verificationRows pairs scores with folds and labels", () => {
  assert.deepEqual(
    verificationRows([{ fold: 3, same: true }, { fold: 4, same: false }], [
      0.7,
      0.1,
    ]),
    [{ fold: 3, label: 1, score: 0.7 }, { fold: 4, label: 0, score: 0.1 }],
  );
  assert.throws(() => verificationRows([{ fold: 0, same: true }], []));
});

Deno.test("performance: L2 scoring + protocol for 6000 pairs of 160-d", () => {
  const dim = 160, n = 7000;
  const rng = new Rng(5);
  const features = new Float32Array(n * dim).map(() => rng.normal());
  const pairs = Array.from({ length: 6000 }, (_, k) => ({
    fold: Math.floor(k / 600),
    same: k % 2 === 0,
    a: rng.int(n),
    b: rng.int(n),
  }));
  const t0 = performance.now();
  const scores = scorePairs(features, dim, pairs, l2Scorer);
  const r = evaluateVerification(verificationRows(pairs, scores));
  const ms = performance.now() - t0;
  console.log(`6000 pairs, 160-d: scoring + protocol ${ms.toFixed(0)} ms`);
  assert.equal(r.n_pairs, 6000);
  assert.ok(ms < 1500, `${ms} ms`);
});

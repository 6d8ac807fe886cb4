import assert from "node:assert/strict";
import {
  closedSetMetrics,
  closedSetSplit,
  evaluateIdentification,
  IDENTIFICATION_PROTOCOL,
  openSetMetrics,
  openSetSplit,
} from "./identification.ts";
import { Rng } from "../base/rng.ts";
import { l2Score, l2Scorer } from "./scorers.ts";

Deno.test("closed set on a hand-made score matrix", () => {
  // 4 probes x 3 gallery identities (A=0, B=1, C=2).
  const scores = new Float64Array([
    0.9,
    0.1,
    0.2, // probe A: rank 1
    0.5,
    0.4,
    0.6, // probe B: rank 3
    0.3,
    0.8,
    0.2, // probe A: rank 2
    0.1,
    0.2,
    0.2, // probe C: tied with B -> rank 2 (ties count against)
  ]);
  const m = closedSetMetrics(scores, {
    probeLabels: [0, 1, 0, 2],
    galleryLabels: [0, 1, 2],
  });
  assert.equal(m.rank1, 0.25);
  assert.deepEqual(m.cmc, [0.25, 0.75, 1]);
  assert.equal(m.numGallery, 3);
  assert.deepEqual(
    closedSetMetrics(scores, {
      probeLabels: [0, 1, 0, 2],
      galleryLabels: [0, 1, 2],
      maxRank: 2,
    }).cmc,
    [0.25, 0.75],
  );
  // Two gallery images of identity 0: its best one counts.
  const two = closedSetMetrics(new Float64Array([0.1, 0.5, 0.9]), {
    probeLabels: [0],
    galleryLabels: [0, 1, 0],
  });
  assert.deepEqual(two.cmc, [1, 1]);
  assert.throws(
    () =>
      closedSetMetrics(scores, {
        probeLabels: [0, 1, 0, 9],
        galleryLabels: [0, 1, 2],
      }),
    /no gallery entry/,
  );
});

Deno.test("open set on a hand-made score matrix", () => {
  // Gallery identities 0, 1. Probes: 3 genuine, 4 impostors (labels 7..10).
  const scores = new Float64Array([
    0.9,
    0.1, // genuine 0, correct, top 0.9
    0.2,
    0.6, // genuine 1, correct, top 0.6
    0.8,
    0.7, // genuine 1, wrong identity
    0.5,
    0.1, // impostor, best 0.5
    0.3,
    0.65, // impostor, best 0.65
    0.2,
    0.4, // impostor, best 0.4
    0.1,
    0.0, // impostor, best 0.1
  ]);
  const labels = { probeLabels: [0, 1, 1, 7, 8, 9, 10], galleryLabels: [0, 1] };
  // FAR 0: threshold = best impostor 0.65; only 0.9 (correct) passes.
  let m = openSetMetrics(scores, { ...labels, far: 0 });
  assert.equal(m.threshold, 0.65);
  assert.equal(m.far, 0);
  assert.equal(m.dir, 1 / 3);
  assert.equal(m.numGenuine, 3);
  assert.equal(m.numImpostors, 4);
  // FAR 0.25: one impostor may pass; threshold = second best 0.5.
  m = openSetMetrics(scores, { ...labels, far: 0.25 });
  assert.equal(m.threshold, 0.5);
  assert.equal(m.far, 0.25);
  assert.equal(m.dir, 2 / 3);
  // FAR 1: everything passes; DIR = rank-1 rate of genuine probes.
  m = openSetMetrics(scores, { ...labels, far: 1 });
  assert.equal(m.threshold, -Infinity);
  assert.equal(m.dir, 2 / 3);
  assert.equal(openSetMetrics(scores, labels).threshold, 0.65); // default 1 %
});

Deno.test("splits: seeded, disjoint, complete", () => {
  const labels = [0, 0, 0, 1, 2, 2, 3, 3, 3, 3, 4];
  const a = closedSetSplit(labels, 1);
  assert.equal(a.gallery.length, 5);
  assert.deepEqual([...a.gallery, ...a.probes].sort((x, y) => x - y), [
    ...labels.keys(),
  ]);
  assert.deepEqual(new Set(a.gallery.map((r) => labels[r])).size, 5);
  assert.deepEqual(closedSetSplit(labels, 1), a);
  const seeds = [1, 2, 3, 4, 5, 6].map((s) =>
    closedSetSplit(labels, s).gallery.join()
  );
  assert.ok(new Set(seeds).size > 1);

  const o = openSetSplit(labels, { seed: 3, enrolledFraction: 0.5 });
  const enrolled = new Set(o.gallery.map((r) => labels[r]));
  assert.equal(enrolled.size, 2); // half of the 3 identities with 2+ images, rounded
  for (const id of enrolled) assert.ok(id === 0 || id === 2 || id === 3);
  assert.ok(o.genuineProbes.every((r) => enrolled.has(labels[r])));
  assert.ok(o.impostorProbes.every((r) => !enrolled.has(labels[r])));
  assert.equal(
    o.gallery.length + o.genuineProbes.length + o.impostorProbes.length,
    labels.length,
  );
  assert.deepEqual(openSetSplit(labels, { seed: 3, enrolledFraction: 0.5 }), o);
});

Deno.test("evaluateIdentification: score function and features + scorer agree", () => {
  const rng = new Rng(8);
  const labels: number[] = [], features: number[] = [];
  for (let id = 0; id < 40; id++) {
    const n = 1 + rng.int(4);
    for (let j = 0; j < n; j++) {
      labels.push(id);
      features.push(id * 10 + rng.normal(), rng.normal());
    }
  }
  const x = Float32Array.from(features);
  const byScorer = evaluateIdentification(
    { labels, features: x, dim: 2, scorer: l2Scorer },
    { seeds: [1, 2, 3] },
  );
  const byFn = evaluateIdentification({
    labels,
    score: (i, j) =>
      l2Score(x.subarray(2 * i, 2 * i + 2), x.subarray(2 * j, 2 * j + 2)),
  }, { seeds: [1, 2, 3] });
  assert.deepEqual(byFn, byScorer);
  assert.equal(byScorer.protocol, IDENTIFICATION_PROTOCOL);
  assert.match(byScorer.protocol, /reconstruction.*Best-Rowden/);
  // Identities 10 apart, noise 1: everything is found.
  assert.equal(byScorer.closed_rank1_mean, 1);
  assert.equal(byScorer.closed_rank1_std, 0);
  assert.equal(byScorer.open_dir_mean, 1);
  assert.equal(byScorer.per_seed.length, 3);
  assert.equal(byScorer.closed_cmc_mean.length, 20);

  // Pure noise: rank-1 near chance, and seeds disagree.
  const noise = evaluateIdentification({ labels, score: () => rng.next() }, {
    seeds: [1, 2, 3, 4],
  });
  assert.ok(noise.closed_rank1_mean < 0.2);
  assert.ok(noise.closed_rank1_std > 0);
});

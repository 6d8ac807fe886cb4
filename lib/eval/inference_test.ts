import assert from "node:assert/strict";
import { Rng } from "../base/rng.ts";
import {
  equivalenceTests,
  holm,
  interval,
  pairedBootstrap,
  pTwoSided,
  seedMean,
  slope,
  tCdf,
  tQuantile,
} from "./inference.ts";

Deno.test("tCdf and tQuantile match tables (df 1, 2, 10) and the normal limit", () => {
  // df 1 is Cauchy: F(t) = 1/2 + atan(t)/π.
  assert.ok(Math.abs(tCdf(1.3, 1) - (0.5 + Math.atan(1.3) / Math.PI)) < 1e-10);
  // df 2: F(t) = 1/2 + t / (2√(2 + t²)).
  assert.ok(
    Math.abs(tCdf(-0.7, 2) - (0.5 - 0.7 / (2 * Math.sqrt(2.49)))) < 1e-10,
  );
  assert.ok(Math.abs(tQuantile(0.975, 2) - 4.302653) < 1e-5);
  assert.ok(Math.abs(tQuantile(0.975, 10) - 2.228139) < 1e-5);
  assert.ok(Math.abs(tQuantile(0.975, 1e6) - 1.959964) < 1e-4);
});

Deno.test("holm: step-down adjusted p-values, monotone, capped at 1", () => {
  assert.deepEqual(
    holm([0.01, 0.04, 0.03, 0.5]).map((p) => Number(p.toFixed(4))),
    [0.04, 0.09, 0.09, 0.5],
  );
  assert.deepEqual(holm([0.6, 0.7]), [1, 1]);
});

Deno.test("pairedBootstrap: estimate is the mean of per-seed differences; fold noise shared by both configs cancels", () => {
  // Config 1 = config 0 + 0.02 on every fold of every seed: the difference
  // has no noise at all, whatever the folds and seeds do.
  const rng = new Rng(3);
  const a = [0, 1, 2].map(() =>
    Array.from({ length: 10 }, () => 0.7 + 0.1 * rng.next())
  );
  const b = a.map((s) => s.map((x) => x + 0.02));
  const e = pairedBootstrap([b, a], (m) => m[0] - m[1]);
  assert.ok(Math.abs(e.estimate - 0.02) < 1e-12);
  assert.ok(e.se < 1e-12);
  assert.equal(e.df, 2);
  assert.throws(() => pairedBootstrap([a, a.slice(0, 2)], (m) => m[0]));
});

Deno.test("seedMean, slope, equivalenceTests on hand values", () => {
  const e = seedMean([1, 2, 3]);
  assert.equal(e.estimate, 2);
  assert.ok(Math.abs(e.se - 1 / Math.sqrt(3)) < 1e-12);
  assert.equal(slope([0, 1, 2], [1, 3, 5]), 2);
  const tight = { estimate: 0.001, se: 0.001, df: 10 };
  assert.ok(equivalenceTests(tight, 0.01).pInside < 0.001);
  assert.equal(equivalenceTests(tight, 0.01).pOutside, 1);
  const far = { estimate: 0.05, se: 0.005, df: 10 };
  assert.ok(equivalenceTests(far, 0.01).pInside > 0.99);
  assert.ok(equivalenceTests(far, 0.01).pOutside < 0.001);
  const [lo, hi] = interval({ estimate: 1, se: 0.5, df: 2 });
  assert.ok(Math.abs(lo - (1 - 4.302653 * 0.5)) < 1e-5 && hi > 3);
});

/**
 * Simulated accuracies of two configurations `[config][seed][fold]`, shaped
 * like a quick run: a test-set effect per fold shared by both
 * configurations (the same pairs), a training effect per (config, seed)
 * and fold-level noise per (config, seed, fold); sizes in accuracy units
 * from the committed runs (seed-to-seed ≈ 1 point, folds ≈ 3 points).
 */
function simulate(rng: Rng, delta: number, seeds = 3, folds = 10) {
  const shared = Array.from({ length: folds }, () => 0.03 * rng.normal());
  return [delta, 0].map((d) =>
    Array.from({ length: seeds }, () => {
      const training = 0.01 * rng.normal();
      return shared.map((f) => 0.78 + d + f + training + 0.015 * rng.normal());
    })
  );
}

function verdictRate(delta: number, trials: number, seed: number) {
  const rng = new Rng(seed);
  let held = 0, contradicted = 0;
  for (let t = 0; t < trials; t++) {
    const e = pairedBootstrap(simulate(rng, delta), (m) => m[0] - m[1], {
      replicates: 400,
      seed: t,
    });
    if (pTwoSided(e) < 0.05) {
      if (e.estimate > 0) held++;
      else contradicted++;
    }
  }
  return { held: held / trials, contradicted: contradicted / trials };
}

Deno.test("the rule on simulated equal configurations: 'held' or 'contradicted' in about 5 % of runs or fewer", () => {
  const r = verdictRate(0, 400, 11);
  assert.ok(
    r.held + r.contradicted <= 0.07,
    `false verdicts in ${(100 * (r.held + r.contradicted)).toFixed(1)} %`,
  );
});

Deno.test("the rule on a 5-point better configuration: 'held' most of the time, never 'contradicted'", () => {
  // With 3 seeds (t on 2 degrees of freedom) this is about the smallest
  // effect found most of the time: 4 points are found about half the time.
  const r = verdictRate(0.05, 200, 12);
  assert.ok(r.held >= 0.6, `held in ${(100 * r.held).toFixed(1)} %`);
  assert.equal(r.contradicted, 0);
});

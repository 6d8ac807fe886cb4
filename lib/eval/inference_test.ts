import assert from "node:assert/strict";
import { Rng } from "../base/rng.ts";
import {
  equivalencePower,
  type Estimate,
  interval,
  judgeLine,
  minimumDetectableEffect,
  noncentralTCdf,
  power,
  pTwoSided,
  replicateMean,
  slope,
  tCdf,
  tQuantile,
} from "./inference.ts";

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

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
  // Far tails (Bonferroni over many lines, df 1): tan(π(p − 1/2)).
  const p = 1 - 0.05 / 200;
  assert.ok(
    Math.abs(tQuantile(p, 1) / Math.tan(Math.PI * (p - 0.5)) - 1) < 1e-9,
  );
  assert.equal(tQuantile(1, 3), Infinity);
});

Deno.test("noncentralTCdf: scipy's values, a Monte-Carlo check, and the central t at ncp 0", () => {
  // scipy.stats.nct.cdf(t, df, ncp), scipy 1.17.1.
  const published: [number, number, number, number][] = [
    [1.0, 2, 1.0, 0.45574580878627746],
    [4.302653, 2, 2.0, 0.7819955474900213],
    [2.776445, 4, 2.5, 0.5227660368940572],
    [2.364624, 7, 3.6, 0.13169159673354855],
    [-1.0, 5, 0.5, 0.08244409105672337],
    [3.0, 1, 2.0, 0.5248571617336879],
    [0.5, 30, 1.0, 0.30744180864190307],
    [50, 1, 3, 0.9521590910881226],
    [2, 500, 1, 0.8406199803328014],
  ];
  for (const [t, df, ncp, want] of published) {
    const got = noncentralTCdf(t, df, ncp);
    assert.ok(Math.abs(got - want) < 1e-6, `F(${t}; ${df}, ${ncp}) = ${got}`);
  }
  for (const [t, df] of [[1.3, 3], [-2.1, 1], [0.4, 12]]) {
    assert.ok(Math.abs(noncentralTCdf(t, df, 0) - tCdf(t, df)) < 1e-7);
  }
  // Independently: T = (Z + ncp) / √(χ²_df / df) drawn directly.
  const rng = new Rng(7);
  const draws = 100000;
  for (const [t, df, ncp] of [[2.5, 2, 1.5], [1.0, 4, 2.0], [3.0, 7, 2.5]]) {
    let below = 0;
    for (let i = 0; i < draws; i++) {
      let v = 0;
      for (let k = 0; k < df; k++) v += rng.normal() ** 2;
      if ((rng.normal() + ncp) / Math.sqrt(v / df) <= t) below++;
    }
    const mc = below / draws;
    const exact = noncentralTCdf(t, df, ncp);
    const se = Math.sqrt(exact * (1 - exact) / draws);
    console.log(
      `noncentral t F(${t}; ${df}, ${ncp}): ${exact.toFixed(4)}, Monte Carlo ${
        mc.toFixed(4)
      } ± ${se.toFixed(4)}`,
    );
    assert.ok(Math.abs(mc - exact) < 4 * se);
  }
  assert.ok(Number.isNaN(noncentralTCdf(1, 0.5, 0)));
});

Deno.test("replicateMean, slope, interval, pTwoSided on hand values", () => {
  const e = replicateMean([1, 2, 3]);
  assert.equal(e.estimate, 2);
  assert.ok(Math.abs(e.se - 1 / Math.sqrt(3)) < 1e-12);
  assert.equal(e.df, 2);
  assert.ok(Number.isNaN(replicateMean([4]).se));
  assert.equal(slope([0, 1, 2], [1, 3, 5]), 2);
  const [lo, hi] = interval({ estimate: 1, se: 0.5, df: 2 });
  assert.ok(Math.abs(lo - (1 - 4.302653 * 0.5)) < 1e-5 && hi > 3);
  assert.ok(
    Math.abs(pTwoSided({ estimate: 4.302653, se: 1, df: 2 }) - 0.05) < 1e-6,
  );
});

Deno.test("judgeLine: Bonferroni levels, the verdict read off the printed interval, p consistent with it", () => {
  const e = { estimate: 0.04, se: 0.005, df: 2 };
  const one = judgeLine(e);
  assert.equal(one.level, 0.95);
  assert.deepEqual(one.interval, interval(e, 0.05));
  assert.equal(one.verdict, "held");
  const two = judgeLine(e, { m: 2 });
  assert.equal(two.level, 0.975);
  assert.ok(Math.abs(two.interval[0] - (0.04 - 6.205347 * 0.005)) < 1e-6);
  assert.equal(judgeLine({ ...e, estimate: -0.04 }).verdict, "contradicted");
  assert.equal(judgeLine({ ...e, estimate: 0.01 }).verdict, "inconclusive");
  const eq = judgeLine({ estimate: 0.1, se: 0.2, df: 7 }, {
    kind: "equivalent",
    margin: 1,
    m: 2,
  });
  assert.equal(eq.level, 0.95);
  assert.ok(Math.abs(eq.interval[1] - (0.1 + 2.364624 * 0.2)) < 1e-6);
  assert.equal(eq.verdict, "held");
  assert.equal(
    judgeLine({ estimate: 0.1, se: 0.2, df: 7 }, {
      kind: "equivalent",
      margin: 1,
    }).level,
    0.9,
  );
  assert.throws(() => judgeLine(e, { kind: "equivalent" }));
  // No spread: the interval is the point; too few replicates: no answer.
  assert.equal(judgeLine({ estimate: 0.01, se: 0, df: 2 }).verdict, "held");
  const none = judgeLine({ estimate: 0.01, se: NaN, df: 0 });
  assert.equal(none.verdict, "inconclusive");
  assert.ok(Number.isNaN(none.interval[0]) && Number.isNaN(none.pAdjusted));
  // Across a grid of t statistics, p_adj < α exactly when the interval
  // decides (greater), when it lies inside (held) or beyond (contradicted).
  for (const m of [1, 2, 3, 4]) {
    for (const df of [1, 2, 4, 7]) {
      for (let t = -12; t <= 12; t += 0.05) {
        const est: Estimate = { estimate: t * 0.3, se: 0.3, df };
        const g = judgeLine(est, { m });
        assert.equal(g.pAdjusted < 0.05, g.verdict !== "inconclusive");
        assert.ok(
          Math.abs(g.pAdjusted - Math.min(1, m * pTwoSided(est))) < 1e-12,
        );
        const q = judgeLine(est, { m, kind: "equivalent", margin: 1 });
        assert.equal(q.pAdjusted < 0.05, q.verdict === "held");
        assert.equal(q.pBeyond! < 0.05, q.verdict === "contradicted");
      }
    }
  }
});

/**
 * The shape of a simulated run, in accuracy points: per replicate r and
 * configuration c, fold accuracies
 * acc[c][r][f] = μ_c + u[c][r] + t[c][r] + s[r][f] + w[c][r][f], with
 * u the configuration × test-pairs effect (sd τ), t the training noise, s
 * the fold's difficulty (shared by every configuration: the same pairs)
 * and w the configuration's own noise on the fold (which of the fold's
 * pairs this model gets wrong): per fold sd √(1.5² + 1.3²) ≈ 2 points.
 */
const SHAPE = { tau: 1, training: 1.25, foldShared: 1.5, foldOwn: 1.3 };
const FOLDS = 10;
/** The true sd of a per-replicate difference of two configurations. */
const SD_DIFF = Math.sqrt(
  2 * (SHAPE.tau ** 2 + SHAPE.training ** 2 + SHAPE.foldOwn ** 2 / FOLDS),
);

/**
 * Fold-averaged accuracies `[config][replicate]` of one run. Each replicate
 * draws its own test pairs (u, s) unless `sharedTestPairs`, where u and s
 * are drawn once for the whole run (the former design).
 */
function simulateRun(
  rng: Rng,
  mu: number[],
  replicates: number,
  sharedTestPairs = false,
): number[][] {
  const draw = () => ({
    u: mu.map(() => SHAPE.tau * rng.normal()),
    s: Array.from({ length: FOLDS }, () => SHAPE.foldShared * rng.normal()),
  });
  const once = sharedTestPairs ? draw() : undefined;
  const out = mu.map(() => new Array<number>(replicates));
  for (let r = 0; r < replicates; r++) {
    const { u, s } = once ?? draw();
    mu.forEach((m, c) => {
      const t = SHAPE.training * rng.normal();
      let sum = 0;
      for (let f = 0; f < FOLDS; f++) {
        sum += 78 + m + u[c] + t + s[f] + SHAPE.foldOwn * rng.normal();
      }
      out[c][r] = sum / FOLDS;
    });
  }
  return out;
}

/** Per-replicate differences a[i][r] − a[j][r]. */
const diff = (a: number[][], i: number, j: number) =>
  a[i].map((x, r) => x - a[j][r]);

// 4000 runs: the SE of a rate near 95 % is 0.34 %, near 98.3 % 0.20 %,
// near 5 % 0.34 %, near 80 % 0.63 %. Each band below lies about 3 SE or
// more beyond the rate the method guarantees (coverage 93–97 %: 5.8 SE;
// 97.3–99.3 %: 5 SE; false answers ≤ 6 %: 2.9 SE above the guaranteed 5 %;
// simulated vs exact power within 3 points: ≥ 3.7 SE), so with the fixed
// seeds it does not fail by chance, yet a real miscalibration (the shared
// test pairs' 65–89 %, the former bootstrap's 99.5 %) fails it.
const RUNS = 4000;

Deno.test("coverage: with the test pairs redrawn per replicate the t on replicates covers at its level (m = 1 and m = 3)", () => {
  const rng = new Rng(101);
  const effect = 2;
  for (const n of [3, 8]) {
    let cover1 = 0, cover3 = 0;
    for (let k = 0; k < RUNS; k++) {
      const e = replicateMean(diff(simulateRun(rng, [effect, 0], n), 0, 1));
      const [a, b] = judgeLine(e).interval;
      const [c, d] = judgeLine(e, { m: 3 }).interval;
      if (a < effect && effect < b) cover1++;
      if (c < effect && effect < d) cover3++;
    }
    console.log(
      `${n} replicates, data redrawn: 95 % interval covers ${
        pct(cover1 / RUNS)
      }, 98.3 % (m = 3) covers ${pct(cover3 / RUNS)} (${RUNS} runs)`,
    );
    assert.ok(cover1 / RUNS >= 0.93 && cover1 / RUNS <= 0.97);
    assert.ok(cover3 / RUNS >= 0.973 && cover3 / RUNS <= 0.993);
  }
});

Deno.test("contrast: replicates sharing one set of test pairs do not cover the method's effect", () => {
  // u[c] and the folds' difficulty drawn once per run: the estimate carries
  // u_A − u_B (sd √2·τ = 1.4 points) that no replicate-to-replicate spread
  // shows, so the interval is about these test pairs, not the method.
  const rng = new Rng(202);
  const effect = 2;
  let previous = 1;
  for (const n of [3, 5, 8]) {
    let cover = 0;
    for (let k = 0; k < RUNS; k++) {
      const e = replicateMean(
        diff(simulateRun(rng, [effect, 0], n, true), 0, 1),
      );
      const [a, b] = judgeLine(e).interval;
      if (a < effect && effect < b) cover++;
    }
    console.log(
      `${n} replicates, test pairs shared: 95 % interval covers μ_A − μ_B ${
        pct(cover / RUNS)
      }`,
    );
    assert.ok(cover / RUNS < 0.9, "clearly below 95 %");
    assert.ok(cover / RUNS < previous, "more replicates make it worse");
    previous = cover / RUNS;
  }
});

Deno.test("no effect: a family answers held or contradicted wrongly in at most 5 % of runs", () => {
  const rng = new Rng(303);
  for (const n of [3, 8]) {
    // One line (A vs B), and a family of three sharing arm A (A vs B, C, D).
    let wrong1 = 0, wrong3 = 0;
    for (let k = 0; k < RUNS; k++) {
      const a = simulateRun(rng, [0, 0, 0, 0], n);
      const lines = [1, 2, 3].map((j) => replicateMean(diff(a, 0, j)));
      if (judgeLine(lines[0]).verdict !== "inconclusive") wrong1++;
      if (
        lines.some((e) => judgeLine(e, { m: 3 }).verdict !== "inconclusive")
      ) {
        wrong3++;
      }
    }
    console.log(
      `${n} replicates, no effect: a wrong answer in ${
        pct(wrong1 / RUNS)
      } of runs (1 line), ${pct(wrong3 / RUNS)} (family of 3 lines)`,
    );
    // The guarantee is ≤ 5 % (one line: exactly 5 % in expectation), so a
    // strict "≤ 5 %" on a 4000-run estimate would fail about half the seeds;
    // the band allows 3 SE of simulation error above it.
    assert.ok(wrong1 / RUNS <= 0.06);
    assert.ok(wrong3 / RUNS <= 0.06);
  }
});

Deno.test("power at 3, 5, 8 replicates for a 3-point effect: grows, and matches power()", () => {
  const rng = new Rng(404);
  const effect = 3;
  let previous = 0;
  for (const n of [3, 5, 8]) {
    let held = 0;
    for (let k = 0; k < RUNS; k++) {
      const e = replicateMean(diff(simulateRun(rng, [effect, 0], n), 0, 1));
      if (judgeLine(e).verdict === "held") held++;
    }
    const sim = held / RUNS;
    const exact = power(effect, SD_DIFF, n);
    console.log(
      `${n} replicates, 3-point effect, sd ${SD_DIFF.toFixed(2)}: held in ${
        pct(sim)
      }, power() ${pct(exact)}`,
    );
    assert.ok(Math.abs(sim - exact) < 0.03);
    assert.ok(sim > previous);
    previous = sim;
  }
});

Deno.test("minimumDetectableEffect inverts power (greater and equivalence)", () => {
  const rows: string[] = [];
  for (const n of [3, 5, 8]) {
    const cells: string[] = [];
    for (const m of [1, 2, 4]) {
      const mde = minimumDetectableEffect({ sd: 1.5, n, m });
      assert.ok(Math.abs(power(mde, 1.5, n, m) - 0.8) < 1e-6);
      const eq = minimumDetectableEffect({
        sd: 1.5,
        n,
        m,
        kind: "equivalent",
      });
      assert.ok(Math.abs(equivalencePower(eq, 1.5, n, m) - 0.8) < 1e-6);
      cells.push(`m=${m}: ${mde.toFixed(2)} (equivalence ±${eq.toFixed(2)})`);
    }
    rows.push(`n=${n}  ${cells.join("  ")}`);
  }
  console.log(`MDE at 80 % power, sd 1.5 points:\n${rows.join("\n")}`);
  // Scale: the MDE is proportional to the sd; 90 % power needs more.
  const base = minimumDetectableEffect({ sd: 1.5, n: 5 });
  assert.ok(
    Math.abs(minimumDetectableEffect({ sd: 3, n: 5 }) - 2 * base) < 1e-6,
  );
  assert.ok(minimumDetectableEffect({ sd: 1.5, n: 5, power: 0.9 }) > base);
  assert.ok(Number.isNaN(minimumDetectableEffect({ sd: 1.5, n: 1 })));
  assert.ok(Number.isNaN(minimumDetectableEffect({ sd: NaN, n: 5 })));
  assert.ok(Number.isNaN(power(1, 1.5, 1)));
  assert.equal(minimumDetectableEffect({ sd: 0, n: 5 }), 0);
});

Deno.test("equivalence (TOST): no false contradicted at a true 0, no false held at a true 2 points (margin 1)", () => {
  const rng = new Rng(505);
  const margin = 1;
  for (const n of [3, 8]) {
    let contradicted0 = 0, held2 = 0, heldAtMde = 0;
    const mde = minimumDetectableEffect({
      sd: SD_DIFF,
      n,
      kind: "equivalent",
    });
    for (let k = 0; k < RUNS; k++) {
      const e0 = replicateMean(diff(simulateRun(rng, [0, 0], n), 0, 1));
      if (
        judgeLine(e0, { kind: "equivalent", margin }).verdict === "contradicted"
      ) {
        contradicted0++;
      }
      if (
        judgeLine(e0, { kind: "equivalent", margin: mde }).verdict === "held"
      ) {
        heldAtMde++;
      }
      const e2 = replicateMean(diff(simulateRun(rng, [2, 0], n), 0, 1));
      if (judgeLine(e2, { kind: "equivalent", margin }).verdict === "held") {
        held2++;
      }
    }
    console.log(
      `${n} replicates, margin ±1: contradicted at a true 0 in ${
        pct(contradicted0 / RUNS)
      }, held at a true 2 in ${pct(held2 / RUNS)}; at margin ±${
        mde.toFixed(2)
      } (the equivalence MDE) held at a true 0 in ${pct(heldAtMde / RUNS)}`,
    );
    assert.ok(contradicted0 / RUNS <= 0.05);
    assert.ok(held2 / RUNS <= 0.05);
    assert.ok(Math.abs(heldAtMde / RUNS - 0.8) < 0.03);
  }
});

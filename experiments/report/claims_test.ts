import assert from "node:assert/strict";
import {
  type Estimate,
  interval,
  pTwoSided,
  tQuantile,
} from "../../lib/eval/inference.ts";
import {
  ALPHA,
  arm,
  type ClaimVerdict,
  foldTable,
  greaterAccuracy,
  greaterPerSeed,
  judge,
  lambdaTriple,
  notTested,
  type PendingClaim,
} from "./claims.ts";
import type { ResultRow, Results } from "./results.ts";

/** A claim whose estimate has the given two-sided p-value (t on 2 df). */
function claimWithP(claim: string, p: number, se = 0.01): PendingClaim {
  const t = tQuantile(1 - p / 2, 2);
  return greater(claim, { estimate: t * se, se, df: 2 });
}

function greater(claim: string, estimate: Estimate): PendingClaim {
  return {
    claim,
    estimate,
    kind: "greater",
    scale: 100,
    unit: "points",
    seeds: 3,
    what: "a − b",
  };
}

function equivalent(claim: string, estimate: Estimate): PendingClaim {
  return {
    claim,
    estimate,
    kind: "equivalent",
    margin: 0.02,
    scale: 100,
    unit: "points",
    seeds: 3,
    what: "a − b",
  };
}

/** A per-seed result row. */
function row(
  config: string,
  seed: string,
  fields: Record<string, string> = {},
): ResultRow {
  return {
    config,
    scorer: "l2",
    fields: { config, scorer: "l2", seed, status: "ok", ...fields },
    file: "x.csv",
    line: 2,
  };
}

const folds = (...v: number[]) => ({ fold_accuracy: v.join(";") });

Deno.test("judge: Holm over the claims of one call — p = 0.03 holds alone, not among four weak claims", () => {
  const strong = claimWithP("strong", 0.03);
  assert.ok(Math.abs(pTwoSided(strong.estimate) - 0.03) < 1e-6);
  const [alone] = judge([strong]);
  assert.equal(alone.verdict, "held");
  assert.ok(Math.abs(alone.p! - 0.03) < 1e-6);
  assert.ok(Math.abs(alone.pHolm! - 0.03) < 1e-6);
  // Untested claims pass through and do not count in the adjustment.
  const [withUntested, passed] = judge([
    strong,
    notTested("untested", "no rows"),
  ]);
  assert.equal(withUntested.verdict, "held");
  assert.ok(Math.abs(withUntested.pHolm! - 0.03) < 1e-6);
  assert.deepEqual(passed, notTested("untested", "no rows"));
  // Four weak claims (p = 0.5): Holm multiplies the smallest p by 5.
  const weak = [1, 2, 3, 4].map((k) => claimWithP(`weak ${k}`, 0.5));
  const verdicts = judge([...weak.slice(0, 2), strong, ...weak.slice(2)]);
  assert.deepEqual(verdicts.map((v) => v.claim), [
    "weak 1",
    "weak 2",
    "strong",
    "weak 3",
    "weak 4",
  ]);
  const s = verdicts[2];
  assert.equal(s.verdict, "inconclusive");
  assert.ok(Math.abs(s.p! - 0.03) < 1e-6, "the unadjusted p is kept");
  assert.ok(Math.abs(s.pHolm! - 0.15) < 1e-6, `Holm: ${s.pHolm}`);
  for (const v of verdicts) assert.ok(v.pHolm! >= ALPHA);
  assert.deepEqual(
    verdicts.map((v) => v.verdict),
    Array(5).fill("inconclusive"),
  );
});

Deno.test("judge: the effect, its interval and the detail in reported units", () => {
  const e = { estimate: 0.04, se: 0.002, df: 2 };
  const [v] = judge([greater("a beats b", e)]);
  assert.equal(v.verdict, "held");
  assert.ok(Math.abs(v.effect! - 4) < 1e-12);
  const [lo, hi] = interval(e);
  assert.ok(Math.abs(v.ci![0] - 100 * lo) < 1e-9);
  assert.ok(Math.abs(v.ci![1] - 100 * hi) < 1e-9);
  assert.equal(v.seeds, 3);
  assert.equal(v.unit, "points");
  assert.match(
    v.detail,
    /^a − b: \+4\.00 points \[\+3\.\d\d, \+4\.\d\d\]; p = 0\.00\d, Holm 0\.00\d; 3 seeds$/,
  );
});

Deno.test("judge: an effect in the wrong direction is contradicted", () => {
  const [v] = judge([
    greater("a beats b", { estimate: -0.04, se: 0.002, df: 2 }),
  ]);
  assert.equal(v.verdict, "contradicted");
  assert.ok(v.ci![1] < 0, "the interval lies below 0");
  assert.match(v.detail, /^a − b: −4\.00 points \[−4\.\d\d, −3\.\d\d\]/);
  // Small and noisy either way: inconclusive.
  const [n] = judge([
    greater("a beats b", { estimate: -0.004, se: 0.01, df: 2 }),
  ]);
  assert.equal(n.verdict, "inconclusive");
});

Deno.test("judge: equivalence within the margin (TOST)", () => {
  // Tight and well inside ±2 points: held.
  const [inside] = judge([
    equivalent("close", { estimate: 0.005, se: 0.001, df: 2 }),
  ]);
  assert.equal(inside.verdict, "held");
  assert.ok(inside.ci![0] > -2 && inside.ci![1] < 2);
  assert.match(inside.detail, /, margin ±2\.0 points; p = /);
  // Far outside on either side: contradicted.
  for (const estimate of [0.06, -0.06]) {
    const [outside] = judge([
      equivalent("close", { estimate, se: 0.002, df: 2 }),
    ]);
    assert.equal(outside.verdict, "contradicted", String(estimate));
    assert.ok(outside.ci![0] > 2 || outside.ci![1] < -2);
  }
  // Near the margin with a wide interval: neither.
  const [edge] = judge([
    equivalent("close", { estimate: 0.019, se: 0.01, df: 2 }),
  ]);
  assert.equal(edge.verdict, "inconclusive");
  // A wide interval around 0 does not show equivalence either.
  const [wide] = judge([equivalent("close", { estimate: 0, se: 0.03, df: 2 })]);
  assert.equal(wide.verdict, "inconclusive");
});

Deno.test("foldTable: the seeds every arm has, in the first arm's order; fewer than 2 is why", () => {
  const a = [
    row("A", "1", folds(0.9, 0.8)),
    row("A", "2", folds(0.91, 0.81)),
    row("A", "3", folds(0.92, 0.82)),
  ];
  const b = [
    row("B", "3", folds(0.7, 0.6)),
    row("B", "2", folds(0.71, 0.61)),
    row("B", "4", folds(0.72, 0.62)),
  ];
  const t = foldTable([a, b]);
  assert.ok(!("why" in t));
  assert.deepEqual(t.seeds, ["2", "3"]);
  assert.deepEqual(t.data, [
    [[0.91, 0.81], [0.92, 0.82]],
    [[0.71, 0.61], [0.7, 0.6]],
  ]);
  // A row without fold accuracies does not count as a seed.
  const c = [row("C", "2", folds(0.5, 0.5)), row("C", "3")];
  assert.deepEqual(foldTable([a, b, c]), {
    why:
      "1 seed(s) where every arm trained healthy; an interval needs 2 or more",
  });
  assert.deepEqual(foldTable([a, []]), {
    why:
      "0 seed(s) where every arm trained healthy; an interval needs 2 or more",
  });
});

Deno.test("arm: the healthy per-seed rows of one configuration and scorer", () => {
  const seedRows = [
    row("A", "1", folds(0.9, 0.9)),
    row("A", "2", { ...folds(0.5, 0.5), status: "collapsed" }),
    row("A", "3", folds(0.9, 0.9)),
    row("B", "1", folds(0.8, 0.8)),
    { ...row("A", "1"), scorer: "cosine" },
  ];
  const results: Results = new Map([[
    "x",
    {
      experiment: "x",
      columns: [],
      rows: [],
      seedRows,
      files: [],
      shards: 0,
      commands: [],
    },
  ]]);
  assert.deepEqual(
    arm(results, "x", "A", "l2").map((r) => r.fields.seed),
    ["1", "3"],
  );
  assert.deepEqual(arm(results, "x", undefined, "l2"), []);
  assert.deepEqual(arm(results, "y", "A", "l2"), []);
  // Two healthy seeds of A against B's one: not tested.
  const v = greaterAccuracy(
    "A beats B",
    arm(results, "x", "A", "l2"),
    arm(results, "x", "B", "l2"),
    "A − B",
  );
  assert.equal((v as ClaimVerdict).verdict, "not tested");
  assert.match((v as ClaimVerdict).detail, /^A − B: 1 seed\(s\)/);
});

Deno.test("greaterAccuracy: the paired difference of the seeds' fold means", () => {
  const a = [
    row("A", "1", folds(0.9, 0.92)),
    row("A", "2", folds(0.93, 0.91)),
  ];
  const b = [
    row("B", "1", folds(0.85, 0.87)),
    row("B", "2", folds(0.86, 0.88)),
  ];
  const v = greaterAccuracy("A beats B", a, b, "A − B") as PendingClaim;
  assert.equal(v.kind, "greater");
  assert.equal(v.seeds, 2);
  // Seed 1: 0.91 − 0.86, seed 2: 0.92 − 0.87.
  assert.ok(Math.abs(v.estimate.estimate - 0.05) < 1e-12);
  assert.equal(v.estimate.df, 1);
  assert.equal(v.scale, 100);
});

Deno.test("greaterPerSeed: mean of the seeds' differences over the seeds both have", () => {
  const a = new Map([["1", 0.3], ["2", 0.32], ["3", 0.31], ["4", NaN]]);
  const b = new Map([["1", 0.1], ["2", 0.11], ["3", 0.12], ["4", 0.1]]);
  const v = greaterPerSeed("ratio", a, b, "a − b") as PendingClaim;
  assert.equal(v.seeds, 3, "seed 4's NaN left out");
  const d = [0.2, 0.21, 0.19];
  assert.ok(Math.abs(v.estimate.estimate - 0.2) < 1e-12);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - 0.2) ** 2, 0) / 2);
  assert.ok(Math.abs(v.estimate.se - sd / Math.sqrt(3)) < 1e-12);
  assert.equal(v.estimate.df, 2);
  assert.equal(v.scale, 1);
  assert.equal(v.unit, "");
  const [held] = judge([v]);
  assert.equal(held.verdict, "held");
  // sign −1: "smaller is better".
  const flipped = greaterPerSeed("ratio", a, b, "b − a", {
    sign: -1,
    scale: 100,
    unit: "points",
  }) as PendingClaim;
  assert.ok(Math.abs(flipped.estimate.estimate + 0.2) < 1e-12);
  assert.equal(flipped.scale, 100);
  assert.equal(flipped.unit, "points");
  assert.equal(judge([flipped])[0].verdict, "contradicted");
  // One common seed: not tested.
  const one = greaterPerSeed(
    "ratio",
    new Map([["1", 0.3], ["2", 0.3]]),
    new Map([["2", 0.1], ["3", 0.1]]),
    "a − b",
  );
  assert.deepEqual(
    one,
    notTested(
      "ratio",
      "a − b: 1 seed(s) with both values; an interval needs 2 or more",
    ),
  );
});

Deno.test("lambdaTriple: the intermediate λ is chosen on validation accuracy, not test accuracy", () => {
  const agg = (lambda: string, test: number, val: number | "") =>
    row(`lambda=${lambda}`, "mean", {
      lambda,
      accuracy_mean: String(test),
      val_accuracy_mean: String(val),
    });
  const rows = [
    agg("0", 0.99, 0.99),
    agg("0.05", 0.9, 0.92),
    agg("0.5", 0.95, 0.91), // better on the test pairs only
    agg("5", 0.97, ""), // no validation accuracy: not a candidate
    agg("inf", 0.8, 0.995),
  ];
  const { zero, inf, best } = lambdaTriple(rows);
  assert.equal(zero?.config, "lambda=0");
  assert.equal(inf?.config, "lambda=inf");
  assert.equal(best?.config, "lambda=0.05");
  assert.equal(
    lambdaTriple(rows.filter((r) => r !== rows[1] && r !== rows[2])).best,
    undefined,
  );
});

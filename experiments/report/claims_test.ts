import assert from "node:assert/strict";
import {
  judgeLine,
  minimumDetectableEffect,
  replicateMean,
  tQuantile,
} from "../../lib/eval/inference.ts";
import { aggregateRows } from "../harness/result_files.ts";
import {
  aboveChance,
  ALPHA,
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimSource,
  type ClaimVerdict,
  equalAccuracy,
  greaterAccuracy,
  greaterPerModel,
  judgeAll,
  lambdaTriple,
  notTested,
  replicateTable,
  statisticLine,
} from "./claims.ts";
import type { ResultRow, Results } from "./results.ts";

/** Table 1's equivalence margin (experiments/verification_signals.ts), as a fraction. */
const MARGIN = 0.01;

/**
 * A per-replicate row of `experiment`: its fold-averaged accuracy and its
 * model (by default one per config and replicate).
 */
function row(
  experiment: string,
  config: string,
  seed: number | string,
  accuracy: number | "",
  fields: Record<string, string> = {},
): ResultRow {
  const f: Record<string, string> = {
    experiment,
    config,
    scorer: "l2",
    seed: String(seed),
    status: "ok",
    accuracy_mean: String(accuracy),
    model: `${config}#${seed}`,
    ...fields,
  };
  return { config, scorer: f.scorer, fields: f, file: "x.csv", line: 2 };
}

/** Rows of one configuration, one per replicate (seeds 1, 2, ...). */
function rows(
  experiment: string,
  config: string,
  accuracies: number[],
  fields: Record<string, string> = {},
): ResultRow[] {
  return accuracies.map((a, k) => row(experiment, config, k + 1, a, fields));
}

/** Results holding these per-replicate rows, with their mean rows as `make tables` computes them. */
function resultsOf(seedRows: ResultRow[]): Results {
  const out: Results = new Map();
  for (const name of new Set(seedRows.map((r) => r.fields.experiment))) {
    const mine = seedRows.filter((r) => r.fields.experiment === name);
    out.set(name, {
      experiment: name,
      columns: [],
      rows: aggregateRows(mine.map((r) => r.fields)).map((fields) => ({
        config: fields.config,
        scorer: fields.scorer,
        fields,
        file: "x.csv",
        line: 0,
      })),
      seedRows: mine,
      files: [],
      shards: 0,
      commands: [],
    });
  }
  return out;
}

/** An experiment for `judgeAll` with one family. */
function source(
  name: string,
  family: string,
  lines: (r: Results) => (ClaimLine | ClaimVerdict)[],
  claimPriority?: number,
): ClaimSource {
  return {
    name,
    claimPriority,
    claims: (r): ClaimFamily[] => [{ claim: family, lines: lines(r) }],
  };
}

const near = (a: number | undefined, b: number, tol = 1e-9) =>
  assert.ok(a !== undefined && Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** Base accuracies of arm B; arm A is B + the per-replicate difference. */
const BASE = [0.8, 0.81, 0.82, 0.83, 0.84];
const plus = (d: number[]) => d.map((x, k) => BASE[k] + x);

Deno.test("judgeAll: each line at 1 − α/m for its family's m; effect, interval, sd and detail in points", () => {
  const d = [0.02, 0.03, 0.05];
  for (const m of [1, 2, 4]) {
    const seedRows = [
      ...rows("x", "B", BASE.slice(0, 3)),
      ...Array.from(
        { length: m },
        (_, k) => rows("x", `A${k}`, plus(d.map((v) => v + 0.01 * k))),
      ).flat(),
    ];
    const results = resultsOf(seedRows);
    const lines = (r: Results) => [
      ...Array.from({ length: m }, (_, k) =>
        greaterAccuracy(
          `A${k} beats B`,
          arm(r, "x", `A${k}`, "l2"),
          arm(r, "x", "B", "l2"),
          `A${k} − B`,
        )),
      // Not tested: passes through and does not count in m.
      notTested("untested", "no rows"),
    ];
    const verdicts = judgeAll([source("x", "the claim", lines)], results).get(
      "x",
    )!;
    assert.equal(verdicts.length, m + 1);
    verdicts.slice(0, m).forEach((v, k) => {
      const values = d.map((x) => x + 0.01 * k);
      const e = replicateMean(values);
      const j = judgeLine(e, { m, alpha: ALPHA });
      assert.equal(v.familySize, m);
      assert.equal(v.family, "the claim");
      near(v.level, 1 - 0.05 / m, 1e-12);
      near(v.effect, 100 * e.estimate, 1e-9);
      near(v.ci![0], 100 * j.interval[0], 1e-9);
      near(v.ci![1], 100 * j.interval[1], 1e-9);
      near(v.p, j.pAdjusted, 1e-12);
      assert.equal(v.verdict, j.verdict);
      assert.equal(v.replicates, 3);
      near(v.sd, 100 * e.se * Math.sqrt(3), 1e-9);
      assert.equal(v.unit, "points");
      assert.equal(v.judgedIn, undefined);
      assert.equal(v.improving, undefined);
    });
    assert.deepEqual(verdicts[m], {
      ...notTested("untested", "no rows"),
      family: "the claim",
    });
  }
  // The detail, by hand: differences 2, 3, 5 points; mean 3.33, sd 1.53,
  // se 0.882; q(0.975, 2 df) = 4.303 → ±3.79; t = 3.78, and on 2 df
  // F(t) = 1/2 + t / (2√(2 + t²)) gives p = 0.063; 80 % power at n = 3
  // needs a noncentrality of about 5.65: 5.65 · 1.53 / √3 = 4.99.
  const results = resultsOf([
    ...rows("x", "B", BASE.slice(0, 3)),
    ...rows("x", "A", plus(d)),
  ]);
  const [v] = judgeAll([
    source("x", "c", (r) => [
      greaterAccuracy(
        "A beats B",
        arm(r, "x", "A", "l2"),
        arm(r, "x", "B", "l2"),
        "A − B",
      ),
    ]),
  ], results).get("x")!;
  assert.equal(
    v.detail,
    "A − B: +3.33 points [−0.46, +7.13] (95 %, 1 line in the family); " +
      "p = 0.063 adjusted; 3 replicates, sd 1.53 points; " +
      "detects 4.99 points with 80 % power",
  );
  assert.equal(v.verdict, "inconclusive");
});

Deno.test("judgeAll: held ⇔ the interval's lower end > 0, contradicted ⇔ its upper end < 0, else inconclusive", () => {
  // Differences x − δ, x, x + δ: sd δ, se δ/√3; at m lines the interval's
  // lower end is 0 at x = q·δ/√3, q the t quantile at 1 − α/(2m).
  const delta = 0.01;
  const edge = (m: number) =>
    tQuantile(1 - ALPHA / (2 * m), 2) * delta / Math.sqrt(3);
  const judge = (xs: number[]) => {
    const seedRows = [...rows("x", "B", BASE.slice(0, 3))];
    xs.forEach((x, k) =>
      seedRows.push(...rows("x", `A${k}`, plus([x - delta, x, x + delta])))
    );
    return judgeAll([
      source("x", "c", (r) =>
        xs.map((_, k) =>
          greaterAccuracy(
            `A${k}`,
            arm(r, "x", `A${k}`, "l2"),
            arm(r, "x", "B", "l2"),
            "A − B",
          )
        )),
    ], resultsOf(seedRows)).get("x")!;
  };
  const e1 = edge(1);
  const cases: [number, string][] = [
    [1.001 * e1, "held"],
    [0.999 * e1, "inconclusive"],
    [0, "inconclusive"],
    [-0.999 * e1, "inconclusive"],
    [-1.001 * e1, "contradicted"],
  ];
  for (const [x, want] of cases) {
    const [v] = judge([x]);
    assert.equal(v.verdict, want, `x = ${x}: ${v.detail}`);
    assert.equal(v.ci![0] > 0, want === "held", v.detail);
    assert.equal(v.ci![1] < 0, want === "contradicted", v.detail);
    near(v.ci![0], 100 * (x - e1), 1e-6);
  }
  // The same line among three: its interval is wider (1 − α/3), no longer above 0.
  const three = judge([1.001 * e1, 0.02, 0.02]);
  assert.equal(three[0].verdict, "inconclusive", three[0].detail);
  assert.ok(three[0].ci![0] < 0 && three[0].ci![1] > 0);
  near(three[0].level, 1 - 0.05 / 3, 1e-12);
  const [justHeld] = judge([1.001 * edge(3), 0.02, 0.02]);
  assert.equal(justHeld.verdict, "held", justHeld.detail);
});

Deno.test("judgeAll: equivalence within the 1-point margin read off the TOST interval (1 − 2α/m)", () => {
  const cases: [string, number[], string][] = [
    // Tight and well inside ±1 point.
    ["inside", [0.002, 0.003, 0.004], "held"],
    // Wholly beyond +1 or −1 point.
    ["above", [0.029, 0.03, 0.031], "contradicted"],
    ["below", [-0.031, -0.03, -0.029], "contradicted"],
    // Straddling the margin.
    ["edge", [0.005, 0.01, 0.015], "inconclusive"],
    // Around 0 but too wide to show equivalence.
    ["wide", [-0.02, 0, 0.02], "inconclusive"],
  ];
  const seedRows = [...rows("x", "B", BASE.slice(0, 3))];
  for (const [name, d] of cases) seedRows.push(...rows("x", name, plus(d)));
  const results = resultsOf(seedRows);
  const verdicts = judgeAll([
    source("x", "c", (r) => [
      ...cases.map(([name]) =>
        equalAccuracy(
          `${name} is close to B`,
          arm(r, "x", name, "l2"),
          arm(r, "x", "B", "l2"),
          MARGIN,
          `${name} − B`,
        )
      ),
      // A `greater` line in the same family: 1 − α/m, not 1 − 2α/m.
      greaterAccuracy(
        "above beats B",
        arm(r, "x", "above", "l2"),
        arm(r, "x", "B", "l2"),
        "above − B",
      ),
    ]),
  ], results).get("x")!;
  const m = cases.length + 1;
  cases.forEach(([name, d, want], k) => {
    const v = verdicts[k];
    const j = judgeLine(replicateMean(d), {
      m,
      kind: "equivalent",
      margin: MARGIN,
    });
    assert.equal(v.verdict, want, `${name}: ${v.detail}`);
    near(v.level, 1 - 2 * 0.05 / m, 1e-12);
    near(v.ci![0], 100 * j.interval[0], 1e-9);
    near(v.ci![1], 100 * j.interval[1], 1e-9);
    near(v.margin, 1, 1e-12);
    const [lo, hi] = v.ci!;
    assert.equal(want === "held", lo > -1 && hi < 1, `${name}: ${v.detail}`);
    assert.equal(want === "contradicted", lo > 1 || hi < -1, name);
    assert.match(
      v.detail,
      new RegExp(
        `^${name} − B: [+−]\\d\\.\\d\\d points \\[[^\\]]+\\] \\(${
          Number((100 * (1 - 0.1 / m)).toFixed(1))
        } %, ${m} lines in the family\\), margin ±1\\.0 points; p = [^;]+ adjusted; ` +
          `3 replicates, sd \\d+\\.\\d\\d points; could confirm a margin of ±\\d+\\.\\d\\d points$`,
      ),
    );
    // Its minimum detectable effect: the margin TOST would confirm at a true 0.
    near(
      v.mde,
      minimumDetectableEffect({ sd: v.sd!, n: 3, m, kind: "equivalent" }),
      1e-6 * v.mde!,
    );
  });
  near(verdicts[m - 1].level, 1 - 0.05 / m, 1e-12);
  assert.equal(verdicts[m - 1].verdict, "held");
});

Deno.test("judgeAll: the minimum detectable effect is finite with 2 or more replicates and matches minimumDetectableEffect", () => {
  for (const n of [2, 3, 5]) {
    for (const m of [1, 4]) {
      const d = [0.02, 0.035, 0.01, 0.03, 0.025].slice(0, n);
      const seedRows = [...rows("x", "B", BASE.slice(0, n))];
      for (let k = 0; k < m; k++) seedRows.push(...rows("x", `A${k}`, plus(d)));
      const verdicts = judgeAll([
        source(
          "x",
          "c",
          (r) =>
            Array.from({ length: m }, (_, k) =>
              greaterAccuracy(
                `A${k}`,
                arm(r, "x", `A${k}`, "l2"),
                arm(r, "x", "B", "l2"),
                "A − B",
              )),
        ),
      ], resultsOf(seedRows)).get("x")!;
      for (const v of verdicts) {
        assert.equal(v.replicates, n);
        assert.ok(Number.isFinite(v.mde) && v.mde! > 0, `n ${n}: ${v.mde}`);
        const want = minimumDetectableEffect({ sd: v.sd!, n, m });
        near(v.mde, want, 1e-6 * want);
        assert.ok(
          v.detail.endsWith(
            `; detects ${v.mde!.toFixed(2)} points with 80 % power`,
          ),
          v.detail,
        );
      }
    }
  }
  // More lines in the family: a wider interval, a larger detectable effect.
  const mde = (m: number) =>
    minimumDetectableEffect({ sd: 1.5, n: 3, m, alpha: ALPHA });
  assert.ok(mde(4) > mde(1));
});

Deno.test("judgeAll: a comparison two experiments make is judged once, by the lowest claimPriority, and copied", () => {
  // Experiment "other" (listed first, default priority) and "owner"
  // (priority 0) compare the same models — "other" reads them from rows of
  // its own with the same model keys — with the same statistic and scorer.
  const a = [0.9, 0.92, 0.95], b = [0.85, 0.86, 0.88];
  const seedRows = [
    ...rows("owner", "A", a),
    ...rows("owner", "B", b),
    ...rows("owner", "C", [0.7, 0.72, 0.71]),
    ...rows("other", "B", b), // same models as owner's B
    ...rows("other", "B2", b, { model: "retrained" }), // same numbers, other models
  ];
  const results = resultsOf(seedRows);
  const shared = (r: Results, experiment: string, claim: string) =>
    greaterAccuracy(
      claim,
      arm(r, "owner", "A", "l2"),
      arm(r, experiment, "B", "l2"),
      "A − B",
    );
  const owner = source("owner", "owner's claim", (r) => [
    shared(r, "owner", "A beats B (owner)"),
    greaterAccuracy(
      "B beats C",
      arm(r, "owner", "B", "l2"),
      arm(r, "owner", "C", "l2"),
      "B − C",
    ),
  ], 0);
  const other = source("other", "other's claim", (r) => [
    aboveChance("B above chance", arm(r, "other", "B", "l2"), "B − 50 %"),
    shared(r, "other", "A beats B (other)"),
    // Same numbers, other models: its own line.
    greaterAccuracy(
      "A beats B2",
      arm(r, "owner", "A", "l2"),
      arm(r, "other", "B2", "l2"),
      "A − B2",
    ),
  ]);
  const all = judgeAll([other, owner], results);
  const [mine, copy] = all.get("owner")!;
  const [chance, shown, own] = all.get("other")!;
  // The owner judges it in its family of 2.
  assert.equal(mine.claim, "A beats B (owner)");
  assert.equal(mine.judgedIn, undefined);
  assert.equal(mine.familySize, 2);
  near(mine.level, 1 - 0.05 / 2, 1e-12);
  assert.equal(copy.familySize, 2);
  // The other shows the owner's answer under its own wording and family.
  assert.equal(shown.claim, "A beats B (other)");
  assert.equal(shown.family, "other's claim");
  assert.equal(shown.judgedIn, "owner");
  for (
    const k of [
      "verdict",
      "effect",
      "ci",
      "level",
      "familySize",
      "p",
      "replicates",
      "sd",
      "mde",
    ] as const
  ) {
    assert.deepEqual(shown[k], mine[k], k);
  }
  assert.equal(
    shown.detail,
    `${mine.detail}; judged in owner (owner's claim)`,
  );
  // The other's m counts only the lines it judges itself: 2 of its 3.
  for (const v of [chance, own]) {
    assert.equal(v.familySize, 2, v.claim);
    assert.equal(v.judgedIn, undefined);
    near(v.level, 1 - 0.05 / 2, 1e-12);
  }
  // Same numbers on other models: the same effect, but its own judgement.
  near(own.effect, mine.effect!, 1e-9);
  assert.equal(own.detail.includes("judged in"), false);
  // Without the owner, the other judges the comparison itself (m = 3).
  const alone = judgeAll([other], results).get("other")!;
  assert.deepEqual(alone.map((v) => v.familySize), [3, 3, 3]);
  assert.equal(alone[1].judgedIn, undefined);
  // Equal priorities: the first listed owns it.
  const tie = judgeAll(
    [{ ...other, claimPriority: 0 }, owner],
    results,
  );
  assert.equal(tie.get("other")![1].judgedIn, undefined);
  assert.equal(tie.get("owner")![0].judgedIn, "other");
  // The copy keeps the m of the family that judged it; the owner's own
  // family now judges one line.
  assert.equal(tie.get("owner")![0].familySize, 3);
  assert.equal(tie.get("owner")![1].familySize, 1);
});

Deno.test("judgeAll: memoised per results and list of experiments", () => {
  const results = resultsOf([
    ...rows("x", "A", [0.9, 0.92, 0.95]),
    ...rows("x", "B", [0.85, 0.86, 0.88]),
  ]);
  let calls = 0;
  const line = (r: Results) => {
    calls++;
    return [
      greaterAccuracy(
        "A beats B",
        arm(r, "x", "A", "l2"),
        arm(r, "x", "B", "l2"),
        "A − B",
      ),
    ];
  };
  const x = source("x", "c", line);
  const y = source("y", "c", line, 0);
  const first = judgeAll([x], results);
  assert.equal(judgeAll([x], results), first);
  assert.equal(calls, 1);
  // Another list on the same results is judged anew: y owns the line now.
  const both = judgeAll([x, y], results);
  assert.notEqual(both, first);
  assert.equal(first.get("x")![0].judgedIn, undefined);
  assert.equal(both.get("x")![0].judgedIn, "y");
  assert.equal(calls, 3);
});

Deno.test("replicateTable: the replicates every arm has, in the first arm's order; fewer than 2 is why", () => {
  const acc = (r: ResultRow) => Number(r.fields.accuracy_mean || NaN);
  const a = [
    row("x", "A", 1, 0.9),
    row("x", "A", 2, 0.91),
    row("x", "A", 3, 0.92),
  ];
  const b = [
    row("x", "B", 3, 0.7),
    row("x", "B", 2, 0.71),
    row("x", "B", 4, 0.72),
  ];
  const t = replicateTable([a, b], acc);
  assert.ok(!("why" in t));
  assert.deepEqual(t.seeds, ["2", "3"]);
  assert.deepEqual(t.values, [[0.91, 0.71], [0.92, 0.7]]);
  // A replicate without the metric does not count.
  const c = [row("x", "C", 2, 0.5), row("x", "C", 3, "")];
  assert.deepEqual(replicateTable([a, b, c], acc), {
    why:
      "1 replicate(s) where every arm was scored; an interval needs 2 or more",
  });
  assert.deepEqual(replicateTable([a, []], acc), {
    why:
      "0 replicate(s) where every arm was scored; an interval needs 2 or more",
  });
  // A line on too few replicates is not tested, with the reason.
  assert.deepEqual(
    statisticLine("A beats C", [a, c], {
      name: "a−b",
      of: (m) => m[0] - m[1],
    }, "A − C"),
    notTested(
      "A beats C",
      "A − C: 1 replicate(s) where every arm was scored; an interval needs 2 or more",
    ),
  );
});

Deno.test("arm: the scored per-replicate rows (ok or still improving) of one configuration and scorer", () => {
  const seedRows = [
    row("x", "A", 1, 0.9),
    row("x", "A", 2, "", { status: "collapsed" }),
    row("x", "A", 3, 0.9, { status: "still improving" }),
    row("x", "A", 4, "", { status: "diverged" }),
    row("x", "A", 5, 0.9, { status: "" }),
    row("x", "B", 1, 0.8),
    row("x", "A", 1, 0.9, { scorer: "cosine" }),
  ];
  const results = resultsOf(seedRows);
  assert.deepEqual(
    arm(results, "x", "A", "l2").map((r) => r.fields.seed),
    ["1", "3", "5"],
  );
  assert.deepEqual(
    arm(results, "x", "A", "cosine").map((r) => r.fields.seed),
    ["1"],
  );
  assert.deepEqual(arm(results, "x", undefined, "l2"), []);
  assert.deepEqual(arm(results, "y", "A", "l2"), []);
  // Three scored replicates of A against B's one: not tested.
  const v = greaterAccuracy(
    "A beats B",
    arm(results, "x", "A", "l2"),
    arm(results, "x", "B", "l2"),
    "A − B",
  ) as ClaimVerdict;
  assert.equal(v.verdict, "not tested");
  assert.match(v.detail, /^A − B: 1 replicate\(s\) where every arm was scored/);
});

Deno.test("a line on a model still improving lists it, says so in its detail, and so does its copy", () => {
  const seedRows = [
    ...rows("x", "A", [0.9, 0.92, 0.95]),
    ...rows("x", "B", [0.85, 0.86, 0.88]),
  ];
  seedRows[1].fields.status = "still improving"; // A, replicate 2
  const results = resultsOf(seedRows);
  const line = (r: Results) =>
    greaterAccuracy(
      "A beats B",
      arm(r, "x", "A", "l2"),
      arm(r, "x", "B", "l2"),
      "A − B",
    );
  const pending = line(results) as ClaimLine;
  assert.deepEqual(pending.improving, ["A seed2"]);
  assert.equal(pending.values.size, 3, "scored: it counts");
  const all = judgeAll([
    source("x", "c", (r) => [line(r)], 0),
    source("y", "d", (r) => [line(r)]),
  ], results);
  const [v] = all.get("x")!;
  assert.deepEqual(v.improving, ["A seed2"]);
  assert.ok(
    v.detail.endsWith("; uses models still improving: A seed2"),
    v.detail,
  );
  const [copy] = all.get("y")!;
  assert.equal(copy.judgedIn, "x");
  assert.deepEqual(copy.improving, ["A seed2"]);
  // A line on converged models says nothing of it.
  seedRows[1].fields.status = "ok";
  const [clean] = judgeAll(
    [source("x", "c", (r) => [line(r)])],
    resultsOf(seedRows),
  ).get("x")!;
  assert.equal(clean.improving, undefined);
  assert.ok(!clean.detail.includes("still improving"));
});

Deno.test("a line's identity and its models still improving are those of the replicates it uses", () => {
  // A has a third replicate, still improving, that B lacks: the line uses
  // replicates 1 and 2 only.
  const a = rows("x", "A", [0.9, 0.92, 0.95]);
  a[2].fields.status = "still improving";
  const b = rows("x", "B", [0.85, 0.86]);
  const v = greaterAccuracy("A beats B", a, b, "A − B") as ClaimLine;
  assert.deepEqual([...v.values.keys()], ["1", "2"]);
  assert.deepEqual(v.improving, []);
  // The same comparison as on A's first two replicates alone.
  const w = greaterAccuracy(
    "A beats B",
    a.slice(0, 2),
    b,
    "A − B",
  ) as ClaimLine;
  assert.equal(v.identity, w.identity);
  assert.equal(v.identity, "greater:a−b|l2|A#1,A#2 ; B#1,B#2");
});

Deno.test("greaterAccuracy, aboveChance, equalAccuracy: per-replicate statistics of the fold-averaged accuracy", () => {
  const a = rows("x", "A", [0.91, 0.92]);
  const b = rows("x", "B", [0.86, 0.87]);
  const v = greaterAccuracy("A beats B", a, b, "A − B") as ClaimLine;
  assert.equal(v.kind, "greater");
  assert.equal(v.scale, 100);
  assert.equal(v.unit, "points");
  assert.deepEqual([...v.values.keys()], ["1", "2"]);
  for (const d of v.values.values()) near(d, 0.05, 1e-12);
  assert.deepEqual(v.improving, []);
  // The identity names the statistic, the scorer and each arm's models.
  assert.equal(v.identity, "greater:a−b|l2|A#1,A#2 ; B#1,B#2");
  const reversed = greaterAccuracy("B beats A", b, a, "B − A") as ClaimLine;
  assert.notEqual(reversed.identity, v.identity);
  const c = aboveChance("A above chance", a, "A − 50 %") as ClaimLine;
  assert.deepEqual(
    [...c.values.values()].map((x) => Number(x.toFixed(12))),
    [0.41, 0.42],
  );
  assert.notEqual(c.identity, v.identity);
  const e = equalAccuracy("A close to B", a, b, MARGIN, "A − B") as ClaimLine;
  assert.equal(e.kind, "equivalent");
  assert.equal(e.margin, MARGIN);
});

Deno.test("greaterPerModel: the mean over replicates of a per-model statistic's difference", () => {
  const ratio = (r: ResultRow) => Number(r.fields.ratio);
  const metric = { name: "ratio", of: ratio };
  const withRatio = (config: string, v: number[]) =>
    v.map((x, k) => row("x", config, k + 1, 0.9, { ratio: String(x) }));
  const a = withRatio("A", [0.3, 0.32, 0.31, NaN]);
  const b = withRatio("B", [0.1, 0.11, 0.12, 0.1]);
  const v = greaterPerModel("ratio", a, b, metric, "A − B") as ClaimLine;
  assert.equal(v.values.size, 3, "replicate 4's NaN left out");
  const d = [...v.values.values()];
  [0.2, 0.21, 0.19].forEach((x, k) => near(d[k], x, 1e-12));
  assert.equal(v.scale, 1);
  assert.equal(v.unit, "");
  // sign −1: "smaller is better"; in points.
  const flipped = greaterPerModel("ratio", a, b, metric, "B − A", {
    sign: -1,
    scale: 100,
    unit: "points",
  }) as ClaimLine;
  near([...flipped.values.values()][0], -0.2, 1e-12);
  assert.notEqual(flipped.identity, v.identity);
  const results = resultsOf([...a, ...b]);
  const [held, contradicted] = judgeAll([
    source("x", "c", () => [v, flipped]),
  ], results).get("x")!;
  assert.equal(held.verdict, "held");
  near(held.effect, 0.2, 1e-9);
  assert.equal(held.unit, "");
  assert.equal(contradicted.verdict, "contradicted");
  near(contradicted.effect, -20, 1e-9);
  assert.ok(contradicted.ci![1] < 0);
});

Deno.test("lambdaTriple: the intermediate λ is chosen on validation accuracy, not test accuracy", () => {
  const agg = (lambda: string, test: number, val: number | "") =>
    row("x", `lambda=${lambda}`, "mean", test, {
      lambda,
      val_accuracy_mean: String(val),
    });
  const rs = [
    agg("0", 0.99, 0.99),
    agg("0.05", 0.9, 0.92),
    agg("0.5", 0.95, 0.91), // better on the test pairs only
    agg("5", 0.97, ""), // no validation accuracy: not a candidate
    agg("inf", 0.8, 0.995),
  ];
  const { zero, inf, best } = lambdaTriple(rs);
  assert.equal(zero?.config, "lambda=0");
  assert.equal(inf?.config, "lambda=inf");
  assert.equal(best?.config, "lambda=0.05");
  assert.equal(
    lambdaTriple(rs.filter((r) => r !== rs[1] && r !== rs[2])).best,
    undefined,
  );
});

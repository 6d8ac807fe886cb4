import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { InputError } from "../lib/base/io.ts";
import { EXPERIMENTS as ALL } from "./all.ts";
import { type ClaimVerdict, spearman, type Verdict } from "./report/claims.ts";
import { drawExperimentFigures } from "./report/figures.ts";
import {
  listExperiments,
  loadExperiment,
  loadResults as loadAll,
  readResultsCsv,
  type Results,
  value,
} from "./report/results.ts";
import {
  CLAIM_COLUMNS,
  readmeResults as readmeFor,
  updateReadme,
  writeTables as writeAll,
} from "./report/tables.ts";

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;
const BY_NAME = new Map(ALL.map((e) => [e.name, e]));
const ORDER = ALL.map((e) => e.name);

/** The verdicts of one experiment's own claim checks. */
function judgeClaims(name: string, results: Results): ClaimVerdict[] {
  return BY_NAME.get(name)!.claims(results);
}
const loadResults = (dir: string, options = {}) =>
  loadAll(dir, { order: ORDER, ...options });
const readmeResults = (results: Results) => readmeFor(BY_NAME, results);
const writeTables = (dir: string, options = {}) => writeAll(ALL, dir, options);

const EXPERIMENTS = [
  "identification_only",
  "verification_only",
  "joint_lambda",
  "variance_spectra",
  "identities",
  "verification_signals",
  "face_identification",
];

/** Claims per experiment in the fixtures (the paper scorers, L2 and Joint Bayesian). */
const CLAIM_COUNTS: Record<string, number> = {
  identification_only: 5,
  verification_only: 3,
  joint_lambda: 4,
  variance_spectra: 2,
  identities: 4,
  verification_signals: 10,
  face_identification: 4,
};
const ALL_CLAIMS = Object.values(CLAIM_COUNTS).reduce((a, b) => a + b, 0);

/** Copies a fixture folder into a fresh temp folder (tables.ts writes into it). */
async function copyFixture(name: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  await copyTree(join(TESTDATA, name), dir);
  return dir;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

function verdictsOf(verdicts: ClaimVerdict[]): Verdict[] {
  return verdicts.map((v) => v.verdict);
}

/** A tested verdict's numbers agree with its answer: the interval on the claim's side, or the other. */
function assertConsistent(v: ClaimVerdict, where: string) {
  assert.ok(v.effect !== undefined && v.ci && v.p !== undefined, where);
  assert.ok(v.pHolm! >= v.p!, `${where}: Holm never lowers p`);
  assert.ok(v.ci![0] <= v.effect! && v.effect! <= v.ci![1], where);
  if (v.verdict === "held" || v.verdict === "contradicted") {
    assert.ok(v.pHolm! < 0.05, `${where}: ${v.detail}`);
  } else {
    assert.ok(v.pHolm! >= 0.05, `${where}: ${v.detail}`);
  }
}

/** A CSV file as records. */
async function readCsv(path: string): Promise<Record<string, string>[]> {
  return parse(await Deno.readTextFile(path), { columns: true }) as Record<
    string,
    string
  >[];
}

Deno.test("writeTables: every section, the claims, the command, figures, README block, claims.csv", async () => {
  const dir = await copyFixture("results_held");
  try {
    const readme = join(dir, "README.md");
    await Deno.writeTextFile(
      readme,
      "# deepid2\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\nafter\n",
    );
    const report = await writeTables(dir, { readme });
    assert.deepEqual(report.experiments, EXPERIMENTS);
    assert.equal(report.readme, "updated");
    const md = await Deno.readTextFile(join(dir, "TABLES.md"));
    for (const name of EXPERIMENTS) {
      assert.ok(md.includes(`(\`${name}\`)`), name);
    }
    assert.ok(md.includes("99.15 %"), "the [C] number is quoted");
    assert.ok(
      md.includes("reconstruction of the Best-Rowden et al. 2014 protocol"),
    );
    assert.ok(
      md.includes(
        "**Command:** `deno run -A experiments/joint_lambda.ts --profile quick --seed 1`",
      ),
    );
    assert.ok(
      md.includes(
        "**Command:** `deno run -A experiments/identities.ts --profile quick` " +
          "(reconstructed: no `command` in `identities.meta.json`)",
      ),
    );
    // Mean over seeds ± std across seeds, the seeds that count, validation accuracy.
    assert.ok(
      md.includes(
        "| config | scorer | accuracy (%) | AUC | EER (%) | TAR@FAR=1e-3 (%) | " +
          "TAR@FAR=1e-2 (%) | seeds | pairs | validation acc. (%) | dead units (%) |",
      ),
    );
    assert.ok(
      md.includes(
        "| λ=0.05 | L2 | **94.00 ± 0.30** | 0.9900 | 7.00 | 54.00 | 74.00 | 3/3 | 600 | 93.00 | 25.00 |",
      ),
    );
    assert.ok(
      md.includes(
        "| λ=0.05 | Joint Bayesian | **95.00 ± 0.30** | 0.9990 | 6.00 | 55.00 | 75.00 | " +
          "80.00 ± 0.00 | 50.00 ± 0.03 | 3/3 | 600 | 94.00 | 25.00 |",
      ),
    );
    // Every claim line says held, none anything else.
    assert.equal(md.match(/: \*\*held\*\* — /g)?.length, ALL_CLAIMS);
    for (const w of ["contradicted", "inconclusive", "not tested"]) {
      assert.ok(!md.includes(`: **${w}** — `), w);
    }
    assert.ok(
      md.includes(
        "- accuracy peaks at an intermediate λ: λ=0.05 (best on validation) " +
          "beats λ=0 (L2 scoring): **held** — λ=0.05 − λ=0: +4.00 points [",
      ),
    );
    for (
      const f of [
        "joint_lambda_roc.svg",
        "fig3_accuracy_vs_lambda.svg",
        "fig4_spectra.svg",
        "fig5_scatter_lambda=0.05.svg",
        "fig6_accuracy_vs_identities.svg",
        "table1_signals.svg",
      ]
    ) {
      assert.ok(report.figures.includes(join(dir, "figures", f)), f);
      assert.ok(md.includes(`](figures/${encodeURI(f)})`), `linked: ${f}`);
      assert.match(await Deno.readTextFile(join(dir, "figures", f)), /^<svg /);
    }
    const text = await Deno.readTextFile(readme);
    assert.ok(
      text.startsWith(
        "# deepid2\n\n<!-- results:start -->\n\nLast run: profile quick",
      ),
    );
    assert.ok(text.endsWith("<!-- results:end -->\n\nafter\n"));
    // As `deno fmt` writes it (columns padded): the summary, then every claim.
    assert.match(
      text,
      /\n\| Fig\. 3 +\| `joint_lambda` +\| λ=0\.05, Joint Bayesian: 95\.50 ± 0\.30 % +\| 4 held +\|\n/,
    );
    assert.match(
      text,
      /\n\| Table 1 +\| `verification_signals` +\| signal=L2, Joint Bayesian: 95\.00 ± 0\.30 % +\| 10 held +\|\n/,
    );
    assert.match(
      text,
      /\n\| `joint_lambda` +\| accuracy peaks at an intermediate λ: λ=0\.05 \(best on validation\) beats λ=0 \(L2 scoring\) +\| \*\*held\*\* +\| \+4\.00 \[\+\d\.\d\d, \+\d\.\d\d\] points +\| 3 +\|\n/,
    );
    assert.equal(text.match(/\| \*\*held\*\* +\|/g)?.length, ALL_CLAIMS);
    // Every verdict as data: one row per claim, in the contract's columns.
    const claimsCsv = await Deno.readTextFile(join(dir, "claims.csv"));
    assert.equal(claimsCsv.split("\n")[0], CLAIM_COLUMNS.join(","));
    const claims = await readCsv(join(dir, "claims.csv"));
    const results = await loadResults(dir);
    const expected = EXPERIMENTS.flatMap((name) =>
      judgeClaims(name, results).map((v) => ({ name, v }))
    );
    assert.equal(claims.length, ALL_CLAIMS);
    assert.deepEqual(
      claims.map((c) => `${c.experiment}: ${c.claim}`),
      expected.map(({ name, v }) => `${name}: ${v.claim}`),
    );
    for (const [k, c] of claims.entries()) {
      const { v } = expected[k];
      assert.equal(c.verdict, "held", c.claim);
      assert.equal(c.seeds, "3");
      assert.equal(c.detail, v.detail);
      assert.equal(c.unit, v.unit);
      assert.ok(Math.abs(Number(c.effect) - v.effect!) < 1e-4, c.claim);
      assert.ok(Number(c.ci_low) < Number(c.effect), c.claim);
      assert.ok(Number(c.effect) < Number(c.ci_high), c.claim);
      assert.ok(Number(c.ci_low) > 0, `${c.claim}: interval above 0`);
      assert.ok(Number(c.p) <= Number(c.p_holm) && Number(c.p_holm) < 0.05);
    }
    // Same inputs, same bytes; the README is left alone the second time.
    const again = await writeTables(dir, { readme, figures: false });
    assert.equal(again.readme, "unchanged");
    assert.equal(await Deno.readTextFile(join(dir, "TABLES.md")), md);
    assert.equal(await Deno.readTextFile(join(dir, "claims.csv")), claimsCsv);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("judgeClaims: every claim holds on the fixture built to hold", async () => {
  const results = await loadResults(join(TESTDATA, "results_held"));
  for (const name of EXPERIMENTS) {
    const verdicts = judgeClaims(name, results);
    assert.equal(verdicts.length, CLAIM_COUNTS[name], name);
    for (const v of verdicts) {
      assert.equal(v.verdict, "held", `${name}: ${v.claim}: ${v.detail}`);
      assert.equal(v.seeds, 3, `${name}: ${v.claim}`);
      assertConsistent(v, `${name}: ${v.claim}`);
    }
  }
  const near = (a: number | undefined, b: number, tol = 1e-9) =>
    a !== undefined && Math.abs(a - b) < tol;
  const joint = judgeClaims("joint_lambda", results);
  assert.deepEqual(joint.map((v) => v.claim), [
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=0 (L2 scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=∞ (L2 scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=0 (Joint Bayesian scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=∞ (Joint Bayesian scoring)",
  ]);
  // The paired difference of the seeds' fold means, in points.
  assert.deepEqual(
    joint.map((v) => Number(v.effect!.toFixed(6))),
    [4, 14, 3.5, 14.5],
  );
  assert.equal(joint[0].unit, "points");
  assert.match(
    joint[0].detail,
    /^λ=0\.05 − λ=0: \+4\.00 points \[\+\d\.\d\d, \+\d\.\d\d\]; p = < 0\.001, Holm < 0\.001; 3 seeds$/,
  );
  const ids = judgeClaims("identities", results);
  assert.equal(
    ids[0].claim,
    "more identities → better verification (λ=0.05, L2 scoring): accuracy rises with log₂ n",
  );
  assert.ok(near(ids[0].effect, 3, 1e-6), "3 points per doubling");
  assert.equal(ids[0].unit, "points per doubling");
  assert.match(ids[0].detail, /^slope over n = 32, 64, 128, 256: \+3\.00 /);
  // Spectra: the seeds' within/between ratios, λ=0 (0.3) and λ=∞ (0.75) vs λ=0.05 (1/9).
  const spectra = judgeClaims("variance_spectra", results);
  assert.ok(near(spectra[0].effect, 0.3 - 1 / 9, 2e-3), spectra[0].detail);
  assert.ok(near(spectra[1].effect, 0.75 - 1 / 9, 2e-3), spectra[1].detail);
  // L2+ within the ±2-point margin of L2, the interval too.
  const signals = judgeClaims("verification_signals", results);
  const close = signals.filter((v) => v.claim.startsWith("L2+ is close"));
  assert.deepEqual(close.map((v) => v.claim), [
    "L2+ is close to L2, within ±2 points (L2 scoring)",
    "L2+ is close to L2, within ±2 points (Joint Bayesian scoring)",
  ]);
  for (const v of close) {
    assert.ok(near(v.effect, 0.5, 1e-6));
    assert.ok(v.ci![0] > -2 && v.ci![1] < 2, v.detail);
    assert.match(v.detail, /margin ±2\.0 points/);
  }
  const faces = judgeClaims("face_identification", results);
  assert.deepEqual(
    faces.map((v) => Number(v.effect!.toFixed(6))),
    [10, 30, 10, 30],
  );
});

Deno.test("judgeClaims: claims contradicted by clear effects in the wrong direction; collapsed models are not tested", async () => {
  const results = await loadResults(join(TESTDATA, "results_failed"));
  for (const name of EXPERIMENTS) {
    for (const v of judgeClaims(name, results)) {
      if (v.verdict === "not tested") {
        assert.equal(v.effect, undefined);
        assert.equal(v.ci, undefined);
      } else assertConsistent(v, `${name}: ${v.claim}`);
      if (v.verdict === "contradicted") {
        // The interval lies wholly on the other side of the claim.
        const equivalence = v.claim.includes("close to");
        assert.ok(
          equivalence ? v.ci![0] > 2 || v.ci![1] < -2 : v.ci![1] < 0,
          `${name}: ${v.detail}`,
        );
      }
    }
  }
  // L2 peaks at λ=0; Joint Bayesian still peaks in between. λ=0.5 is better
  // than λ=0.05 on the test pairs, but λ=0.05 on validation: it is the joint λ.
  const joint = judgeClaims("joint_lambda", results);
  assert.deepEqual(verdictsOf(joint), [
    "contradicted",
    "held",
    "held",
    "held",
  ]);
  const ex = results.get("joint_lambda")!;
  const row = (config: string, scorer: string) =>
    ex.rows.find((r) => r.config === config && r.scorer === scorer)!;
  for (const scorer of ["l2", "joint_bayesian"]) {
    assert.ok(
      value(row("lambda=0.5", scorer), "accuracy_mean") >
        value(row("lambda=0.05", scorer), "accuracy_mean"),
    );
    assert.ok(
      value(row("lambda=0.5", scorer), "val_accuracy_mean") <
        value(row("lambda=0.05", scorer), "val_accuracy_mean"),
    );
  }
  assert.ok(
    joint.every((v) => v.claim.includes("λ=0.05 (best on validation)")),
  );
  assert.match(joint[0].detail, /^λ=0\.05 − λ=0: −2\.00 points \[−/);
  // Near chance: below it with L2 (contradicted), at it within a wide spread
  // with Joint Bayesian (inconclusive); the within/between ratio is smaller.
  assert.deepEqual(verdictsOf(judgeClaims("identification_only", results)), [
    "contradicted",
    "held",
    "inconclusive",
    "held",
    "contradicted",
  ]);
  // λ=∞ collapsed in every seed: its accuracy claims are not tested; the
  // spectra (variance_spectra's own λ=∞ model) contradict the other.
  const verif = judgeClaims("verification_only", results);
  assert.deepEqual(verdictsOf(verif), [
    "not tested",
    "not tested",
    "contradicted",
  ]);
  assert.equal(
    verif[0].detail,
    "joint_lambda λ=0.05 − λ=∞: 0 seed(s) where every arm trained healthy; an interval needs 2 or more",
  );
  assert.deepEqual(verdictsOf(judgeClaims("variance_spectra", results)), [
    "contradicted",
    "contradicted",
  ]);
  // λ=0.05 falls with more identities; λ=0 rises, but its n=32 model
  // collapsed in 2 of 3 seeds: one seed left, not tested.
  const ids = judgeClaims("identities", results);
  assert.deepEqual(verdictsOf(ids), [
    "contradicted",
    "contradicted",
    "not tested",
    "not tested",
  ]);
  assert.match(ids[2].detail, /: 1 seed\(s\) where every arm trained healthy/);
  // L2−, L1 and none beat L2, L2+ is 4 points off; only cosine is below L2.
  const signals = judgeClaims("verification_signals", results);
  const perScorer: Verdict[] = [
    "contradicted",
    "contradicted",
    "held",
    "contradicted",
    "contradicted",
  ];
  assert.deepEqual(verdictsOf(signals), [...perScorer, ...perScorer]);
  assert.match(signals[1].detail, /^L2 − L1: −3\.00 points \[/);
  assert.match(
    signals[3].detail,
    /^L2 − L2\+: \+4\.00 points \[\+\d\.\d\d, \+\d\.\d\d\], margin ±2\.0 points/,
  );
  assert.deepEqual(verdictsOf(judgeClaims("face_identification", results)), [
    "contradicted",
    "held",
    "contradicted",
    "held",
  ]);
  // The README: the counts per experiment, every claim with its answer.
  const md = readmeResults(results);
  assert.match(
    md,
    /\| Fig\. 3 \(λ = ∞\) \| `verification_only` \| — \| 1 contradicted, 2 not tested \|/,
  );
  assert.match(
    md,
    /\| `identification_only` \| λ=0, Joint Bayesian: 50\.50 ± 0\.32 % \| 2 held, 2 contradicted, 1 inconclusive \|/,
  );
  assert.ok(
    md.includes(
      "| `joint_lambda` | accuracy peaks at an intermediate λ: λ=0.05 (best on validation) " +
        "beats λ=0 (L2 scoring) | **contradicted** | −2.00 [−",
    ),
  );
  // A claim that was not tested shows why instead of an effect.
  assert.ok(
    md.includes(
      "| **not tested** | joint_lambda λ=0.05 − λ=∞: 0 seed(s) where every arm " +
        "trained healthy; an interval needs 2 or more | — |",
    ),
  );
});

Deno.test("TABLES.md: collapsed and partly collapsed models say so, with each seed's reason", async () => {
  const dir = await copyFixture("results_failed");
  try {
    await writeTables(dir, { readme: "", figures: false });
    const md = await Deno.readTextFile(join(dir, "TABLES.md"));
    assert.ok(md.includes("| λ=∞ | L2 | **collapsed** |"));
    assert.match(
      md,
      /\n- λ=∞: collapsed — seed 1: 100 % of the DeepID2 units are zero [^\n]*; seed 2: [^\n]*; seed 3: /,
    );
    // One healthy seed of three: its numbers, no spread, 1/3.
    assert.match(
      md,
      /\n\| n=32, λ=0 \| L2 \| \d\d\.\d\d \| 0\.8500 \| 21\.00 \| 40\.00 \| 60\.00 \| 1\/3 \| 600 \|/,
    );
    assert.match(md, /\n- n=32, λ=0: partial — seed 2: [^\n]*; seed 3: /);
    assert.ok(md.includes(": **not tested** — "));
    assert.ok(md.includes(": **inconclusive** — "));
    const claims = await readCsv(join(dir, "claims.csv"));
    assert.equal(claims.length, ALL_CLAIMS);
    const untested = claims.filter((c) => c.verdict === "not tested");
    assert.equal(untested.length, 4);
    for (const c of untested) {
      assert.deepEqual(
        [c.effect, c.ci_low, c.ci_high, c.p, c.p_holm, c.seeds],
        ["", "", "", "", "", ""],
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("judgeClaims: missing configurations or seeds are 'not tested', not failures", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  try {
    const csv = await Deno.readTextFile(
      join(TESTDATA, "results_held", "joint_lambda.csv"),
    );
    const lines = csv.trimEnd().split("\n");
    await Deno.writeTextFile(
      join(dir, "joint_lambda.csv"),
      lines.filter((l) => !l.includes("lambda=inf")).join("\n") + "\n",
    );
    let results = await loadResults(dir);
    let verdicts = judgeClaims("joint_lambda", results);
    assert.deepEqual(verdictsOf(verdicts), [
      "held",
      "not tested",
      "held",
      "not tested",
    ]);
    assert.equal(verdicts[1].detail, "no row for λ=∞");
    // No results, no claims.
    assert.deepEqual(judgeClaims("verification_only", results), []);
    // One seed per configuration: no interval, every claim not tested.
    const seed = lines[0].split(",").indexOf("seed");
    await Deno.writeTextFile(
      join(dir, "joint_lambda.csv"),
      lines.filter((l, k) => k === 0 || l.split(",")[seed] === "1").join(
        "\n",
      ) + "\n",
    );
    results = await loadResults(dir);
    assert.equal(results.get("joint_lambda")!.seedRows.length, 14);
    verdicts = judgeClaims("joint_lambda", results);
    assert.deepEqual(verdictsOf(verdicts), Array(4).fill("not tested"));
    for (const v of verdicts) {
      assert.match(
        v.detail,
        /: 1 seed\(s\) where every arm trained healthy; an interval needs 2 or more$/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadExperiment: per-seed rows in seedRows, the means over seeds in rows", async () => {
  const ex = await loadExperiment(
    join(TESTDATA, "results_held"),
    "joint_lambda",
  );
  // 7 λ x 2 scorers, 3 seeds each.
  assert.equal(ex.rows.length, 14);
  assert.equal(ex.seedRows.length, 42);
  assert.deepEqual(
    ex.seedRows.slice(0, 6).map((r) =>
      `${r.config} ${r.scorer} ${r.fields.seed}`
    ),
    [
      "lambda=0 l2 1",
      "lambda=0 l2 2",
      "lambda=0 l2 3",
      "lambda=0 joint_bayesian 1",
      "lambda=0 joint_bayesian 2",
      "lambda=0 joint_bayesian 3",
    ],
  );
  assert.deepEqual(
    ex.rows.slice(0, 4).map((r) => `${r.config} ${r.scorer}`),
    [
      "lambda=0 l2",
      "lambda=0 joint_bayesian",
      "lambda=0.0005 l2",
      "lambda=0.0005 joint_bayesian",
    ],
  );
  for (const r of ex.rows) {
    assert.equal(r.fields.seed, "mean");
    assert.equal(r.fields.seeds_ok, "3/3");
    assert.equal(r.fields.status, "ok");
    assert.equal(r.fields.fold_accuracy, "");
    const seeds = ex.seedRows.filter((s) =>
      s.config === r.config && s.scorer === r.scorer
    );
    assert.deepEqual(seeds.map((s) => s.fields.seed), ["1", "2", "3"]);
    const accs = seeds.map((s) => value(s, "accuracy_mean"));
    const mean = accs.reduce((a, b) => a + b, 0) / 3;
    const sd = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    assert.ok(Math.abs(value(r, "accuracy_mean") - mean) < 1e-6);
    assert.ok(
      Math.abs(value(r, "accuracy_std") - sd) < 1e-6,
      "std across seeds",
    );
    for (const s of seeds) {
      // The fixture's fold accuracies average to the seed's accuracy.
      const folds = s.fields.fold_accuracy.split(";").map(Number);
      assert.equal(folds.length, 10);
      const m = folds.reduce((a, b) => a + b, 0) / 10;
      assert.ok(Math.abs(m - value(s, "accuracy_mean")) < 1e-6, s.config);
    }
  }
});

Deno.test("loadExperiment: stored mean rows are recomputed from the seeds, never trusted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  try {
    const fixture = join(TESTDATA, "results_held");
    const truth = await loadExperiment(fixture, "joint_lambda");
    const csv = await Deno.readTextFile(join(fixture, "joint_lambda.csv"));
    const [head, ...lines] = csv.trimEnd().split("\n");
    const cols = head.split(",");
    const [seed, acc, std, ok] = [
      "seed",
      "accuracy_mean",
      "accuracy_std",
      "seeds_ok",
    ]
      .map((c) => cols.indexOf(c));
    // Tamper with every stored mean, and store a mean of seeds that do not exist.
    const tampered = lines.map((l) => {
      const f = l.split(",");
      if (f[seed] !== "mean") return l;
      f[acc] = "0.123456";
      f[std] = "0.5";
      f[ok] = "9/9";
      return f.join(",");
    });
    const ghost = tampered.find((l) => l.includes(",mean,"))!.replace(
      "lambda=0,",
      "lambda=2,",
    );
    await Deno.writeTextFile(
      join(dir, "joint_lambda.csv"),
      [head, ...tampered, ghost].join("\n") + "\n",
    );
    const ex = await loadExperiment(dir, "joint_lambda");
    assert.deepEqual(
      ex.rows.map((r) => r.fields),
      truth.rows.map((r) => r.fields),
    );
    assert.ok(
      !ex.rows.some((r) => r.config === "lambda=2"),
      "no seeds, no mean",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spearman matches hand values, ties get average ranks", () => {
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
  assert.ok(
    Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 4.5 / Math.sqrt(22.5)) <
      1e-12,
  );
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
});

Deno.test("shards: one per (config, seed), merged by (config, scorer, seed), newest file wins, merge written back", async () => {
  const dir = await copyFixture("results_shards");
  try {
    const top = join(dir, "joint_lambda.csv");
    const t0 = new Date("2024-01-01T00:00:00Z");
    const later = new Date("2024-01-02T00:00:00Z");
    await Deno.utime(top, t0, t0);
    const shards = [
      "lambda=0.05_seed1.csv",
      "lambda=0.05_seed2.csv",
      "lambda=5_seed1.csv",
    ];
    for (const f of shards) {
      await Deno.utime(join(dir, "joint_lambda", f), later, later);
    }
    assert.deepEqual(await listExperiments(dir), ["joint_lambda"]);
    const ex = await loadExperiment(dir, "joint_lambda", { writeMerged: true });
    assert.equal(ex.shards, 3);
    assert.deepEqual(
      ex.seedRows.map((r) =>
        `${r.config} ${r.scorer} ${r.fields.seed} ${r.fields.accuracy_mean}`
      ),
      [
        "lambda=0 l2 1 0.9",
        "lambda=0 l2 2 0.92",
        // The newer shards replace the older 0.91 and 0.93, seed by seed.
        "lambda=0.05 l2 1 0.95",
        "lambda=0.05 l2 2 0.97",
        "lambda=0.05 joint_bayesian 1 0.96",
        "lambda=0.05 joint_bayesian 2 0.98",
        "lambda=5 l2 1 0.89",
        "lambda=inf l2 1 0.8",
        "lambda=inf l2 2 0.82",
      ],
    );
    // The means over seeds, recomputed: the stored 0.5 for λ=0 and the stored
    // λ=0.5 (no seed rows) are not trusted.
    assert.deepEqual(
      ex.rows.map((r) =>
        `${r.config} ${r.scorer} ${r.fields.seed} ${r.fields.accuracy_mean} ${r.fields.seeds_ok}`
      ),
      [
        "lambda=0 l2 mean 0.91 2/2",
        "lambda=0.05 l2 mean 0.96 2/2", // two seed shards, one mean
        "lambda=0.05 joint_bayesian mean 0.97 2/2",
        "lambda=5 l2 mean 0.89 1/1",
        "lambda=inf l2 mean 0.81 2/2",
      ],
    );
    assert.equal(ex.rows[1].fields.accuracy_std, "0.014142");
    assert.equal(ex.rows[3].fields.accuracy_std, "", "one seed: no spread");
    assert.deepEqual(ex.commands, [
      "deno run -A experiments/joint_lambda.ts --shard 2/2",
    ]);
    const merged = await Deno.readTextFile(top);
    const lines = merged.trim().split("\n");
    assert.ok(
      lines[0].endsWith(",seed,backend,profile,lambda,seeds_ok,wall_s"),
      `union of the columns: ${lines[0]}`,
    );
    // The per-seed rows, then the means.
    assert.equal(lines.length, 1 + 9 + 5);
    assert.equal(
      lines[7],
      "joint_lambda,lambda=5,l2,0.89,0.01,0.0032,0.94,0.12,0.49,0.69,600,1,wasm,quick,5,,12.5",
    );
    assert.ok(lines[10].startsWith("joint_lambda,lambda=0,l2,0.91,"));
    assert.ok(lines[13].startsWith("joint_lambda,lambda=5,l2,0.89,,,"));
    assert.ok(lines[13].endsWith(",mean,wasm,quick,5,1/1,12.5"));
    // Merging again changes nothing.
    const stat = await Deno.stat(top);
    await loadExperiment(dir, "joint_lambda", { writeMerged: true });
    assert.equal(
      (await Deno.stat(top)).mtime?.getTime(),
      stat.mtime?.getTime(),
    );
    // A newer full run wins over the older shard, for that seed only.
    assert.equal(merged.split("lambda=0.05,l2,0.95,").length, 2);
    await Deno.writeTextFile(
      top,
      merged.replace("lambda=0.05,l2,0.95,", "lambda=0.05,l2,0.93,"),
    );
    const newest = new Date("2024-01-03T00:00:00Z");
    await Deno.utime(top, newest, newest);
    const again = await loadExperiment(dir, "joint_lambda");
    assert.equal(again.rows[1].fields.accuracy_mean, "0.95");
    // Shards alone make an experiment; spectra files alone do not.
    await Deno.remove(top);
    await Deno.mkdir(join(dir, "variance_spectra"));
    await Deno.writeTextFile(
      join(dir, "variance_spectra", "spectra_lambda=0.csv"),
      "index,between,within\n0,1,1\n",
    );
    assert.deepEqual(await listExperiments(dir), ["joint_lambda"]);
    const alone = await loadExperiment(dir, "joint_lambda");
    assert.deepEqual(
      alone.rows.map((r) => `${r.config} ${r.scorer} ${r.fields.seeds_ok}`),
      [
        "lambda=0.05 l2 2/2",
        "lambda=0.05 joint_bayesian 2/2",
        "lambda=5 l2 1/1",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed CSVs are reported as FILE:LINE: message", async () => {
  const bad = join(TESTDATA, "malformed");
  const cases: [string, number, RegExp][] = [
    ["bad_number.csv", 3, /column "accuracy_mean": not a number: "abc"/],
    ["ragged.csv", 4, /expected 15 fields as in the header, found 14/],
    ["missing_column.csv", 1, /missing column "scorer"/],
    ["percent.csv", 2, /"accuracy_mean": 94.1 is not a fraction in \[0, 1\]/],
    ["empty.csv", 1, /empty file/],
    ["unclosed_quote.csv", 3, /not valid CSV/],
    ["empty_seed.csv", 3, /empty value for "seed"/],
  ];
  for (const [file, line, message] of cases) {
    const path = join(bad, file);
    await assert.rejects(readResultsCsv(path), (e: unknown) => {
      assert.ok(e instanceof InputError, file);
      assert.ok(e.message.startsWith(`${path}:${line}: `), e.message);
      assert.match(e.message, message);
      return true;
    });
  }
  const path = join(bad, "wrong_experiment.csv");
  await assert.rejects(
    readResultsCsv(path, { experiment: "identities" }),
    new RegExp(
      `^InputError: ${path}:2: experiment "joint_lambda" does not match`,
    ),
  );
});

Deno.test("bad input stops make tables before TABLES.md is written", async () => {
  const dir = await copyFixture("results_held");
  try {
    await Deno.copyFile(
      join(TESTDATA, "malformed", "bad_number.csv"),
      join(dir, "joint_lambda.csv"),
    );
    await assert.rejects(
      writeTables(dir, { readme: "" }),
      /joint_lambda.csv:3: /,
    );
    await Deno.remove(join(dir, "joint_lambda.csv"));
    await Deno.writeTextFile(
      join(dir, "identities.meta.json"),
      '{\n  "command": "x",\n}\n',
    );
    await assert.rejects(
      writeTables(dir, { readme: "" }),
      /identities.meta.json:\d+: not valid JSON/,
    );
    assert.equal(
      [...Deno.readDirSync(dir)].some((e) =>
        e.name === "TABLES.md" || e.name === "claims.csv"
      ),
      false,
    );
    // The command line prints the same message and exits with status 1.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./tables.ts", import.meta.url).pathname,
        "--results",
        dir,
        "--readme",
        "",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(
      new TextDecoder().decode(out.stderr),
      /identities.meta.json:\d+: not valid JSON/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeExperimentFigures draws one experiment's figures; the ROC from the first seed's tables", async () => {
  const dir = await copyFixture("results_held");
  try {
    const written = await drawExperimentFigures(
      BY_NAME.get("joint_lambda")!,
      dir,
    );
    assert.deepEqual(written, [
      join(dir, "figures", "joint_lambda_roc.svg"),
      join(dir, "figures", "fig3_accuracy_vs_lambda.svg"),
    ]);
    const curves = async () => {
      const roc = await Deno.readTextFile(written[0]);
      const lines =
        roc.match(/<g class="mark-line role-mark[^>]*>(<path [^>]*>)*/g) ?? [];
      return lines.join("").match(/<path /g)?.length;
    };
    // 3 configs x 2 scorers (one seed each), plus one chance line per scorer panel.
    assert.equal(await curves(), 8);
    // The curves come from roc/<experiment>/<config>_seed<k>_<scorer>.csv:
    // without λ=∞'s first-seed tables, λ=∞ has no curve.
    for (const scorer of ["l2", "joint_bayesian"]) {
      await Deno.remove(
        join(dir, "roc", "joint_lambda", `lambda=inf_seed1_${scorer}.csv`),
      );
    }
    await drawExperimentFigures(BY_NAME.get("joint_lambda")!, dir);
    assert.equal(await curves(), 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("updateReadme: no file, no markers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  try {
    assert.equal(await updateReadme(join(dir, "README.md"), "x"), "no README");
    await Deno.writeTextFile(join(dir, "README.md"), "# no markers\n");
    assert.equal(await updateReadme(join(dir, "README.md"), "x"), "no markers");
    assert.equal(
      await Deno.readTextFile(join(dir, "README.md")),
      "# no markers\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

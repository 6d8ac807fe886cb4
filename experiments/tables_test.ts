import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { InputError } from "../lib/base/io.ts";
import { minimumDetectableEffect } from "../lib/eval/inference.ts";
import { EXPERIMENTS as ALL } from "./all.ts";
import { jointModel } from "./joint_lambda.ts";
import {
  type ClaimVerdict,
  judgeAll,
  lambdaOf,
  spearman,
  type Verdict,
} from "./report/claims.ts";
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
  farSupported,
  readmeResults as readmeFor,
  updateReadme,
  writeTables as writeAll,
} from "./report/tables.ts";
import { EQUIVALENCE_MARGIN } from "./verification_signals.ts";

const TESTDATA = new URL("./testdata/", import.meta.url).pathname;
const BY_NAME = new Map(ALL.map((e) => [e.name, e]));
const ORDER = ALL.map((e) => e.name);

/** One experiment's verdicts, every experiment's families judged together (as `make tables` does). */
function judgeClaims(name: string, results: Results): ClaimVerdict[] {
  return judgeAll(ALL, results).get(name) ?? [];
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

/** Lines per experiment in the fixtures (the paper scorers, L2 and Joint Bayesian), copies included. */
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
/**
 * Lines of results_held judged in another experiment's family: the joint λ
 * against λ = 0 (identification_only, verification_signals' "L2 beats
 * none") and against λ = ∞ (verification_only), each per scorer, are
 * joint_lambda's; identification_only's variance ratio is variance_spectra's.
 */
const COPIES = 2 + 2 + 2 + 1;

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

const near = (a: number | undefined, b: number, tol = 1e-9) =>
  a !== undefined && Math.abs(a - b) <= tol;

/**
 * A tested verdict's numbers agree with its answer: the answer is read off
 * the interval at 1 − α/m (1 − 2α/m for an equivalence), the adjusted p
 * agrees, and the minimum detectable effect is the one of the line's sd,
 * replicates and family size.
 */
function assertConsistent(v: ClaimVerdict, where: string) {
  const at = `${where}: ${v.detail}`;
  assert.ok(
    v.effect !== undefined && v.ci && v.p !== undefined && v.level &&
      v.familySize,
    where,
  );
  const [lo, hi] = v.ci!;
  assert.ok(lo <= v.effect! && v.effect! <= hi, at);
  const m = v.familySize!;
  if (v.margin === undefined) {
    near(v.level, 1 - 0.05 / m, 1e-12) || assert.fail(`level: ${at}`);
    const want = lo > 0 ? "held" : hi < 0 ? "contradicted" : "inconclusive";
    assert.equal(v.verdict, want, at);
    assert.equal(v.p! < 0.05, v.verdict !== "inconclusive", at);
  } else {
    near(v.level, 1 - 0.1 / m, 1e-12) || assert.fail(`level: ${at}`);
    const d = v.margin;
    const want = lo > -d && hi < d
      ? "held"
      : lo > d || hi < -d
      ? "contradicted"
      : "inconclusive";
    assert.equal(v.verdict, want, at);
    assert.equal(v.p! < 0.05, v.verdict === "held", at);
  }
  assert.ok(v.replicates! >= 2, at);
  assert.ok(Number.isFinite(v.mde) && v.mde! >= 0, `mde: ${at}`);
  const mde = minimumDetectableEffect({
    sd: v.sd!,
    n: v.replicates!,
    m,
    kind: v.margin === undefined ? "greater" : "equivalent",
  });
  assert.ok(near(v.mde, mde, 1e-6 * mde + 1e-12), `mde ${v.mde} vs ${mde}`);
  if (v.judgedIn) {
    assert.ok(v.detail.includes(`; judged in ${v.judgedIn} (`), at);
  }
}

/** The numbers of a verdict that a copy shares with the line it copies. */
function judgement(v: ClaimVerdict) {
  const { verdict, effect, ci, level, familySize, p, replicates, sd, mde } = v;
  return { verdict, effect, ci, level, familySize, p, replicates, sd, mde };
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
    assert.ok(
      md.includes(
        "**Run:** profile quick · backend wasm · replicates 1, 2, 3 · pairs 600 · 1 file",
      ),
    );
    // The mean over replicates ± the sd across them, the fold spread in a
    // column of its own, the replicates that count, validation accuracy; TAR
    // at 1e-3 needs more than 600 pairs (farSupported): "—".
    assert.ok(
      md.includes(
        "| config | scorer | accuracy (%), mean ± sd over replicates | ± over folds (%) | " +
          "AUC | EER (%) | TAR@FAR=1e-3 (%) | TAR@FAR=1e-2 (%) | replicates | pairs | " +
          "validation acc. (%) | dead units (%) |",
      ),
    );
    assert.ok(
      md.includes(
        "| λ=0.05 | L2 | **94.02 ± 0.30** | 0.87 | 0.9900 | 7.00 | — | 74.00 | 3/3 | 600 | 93.00 | 25.00 |",
      ),
    );
    assert.ok(
      md.includes(
        "| λ=0.05 | Joint Bayesian | **95.50 ± 0.30** | 0.88 | 0.9990 | 5.50 | — | 75.50 | " +
          "80.00 ± 0.00 | 50.00 ± 0.03 | 3/3 | 600 | 94.50 | 25.00 |",
      ),
      "face identification: rank-1 and DIR ± sd over replicates",
    );
    assert.ok(!md.includes("Not converged"), "every model at its plateau");
    assert.ok(!md.includes("Not results"), "no model collapsed");
    // Every claim line says held, none anything else.
    assert.equal(md.match(/: \*\*held\*\* — /g)?.length, ALL_CLAIMS);
    for (const w of ["contradicted", "inconclusive", "not tested"]) {
      assert.ok(!md.includes(`: **${w}** — `), w);
    }
    assert.ok(
      md.includes(
        "- accuracy peaks at an intermediate λ: λ=0.05 (best on validation) " +
          "beats λ=0 (L2 scoring): **held** — λ=0.05 − λ=0: +4.02 points [+3.84, +4.20] " +
          "(98.8 %, 4 lines in the family); p = < 0.001 adjusted; 3 replicates, " +
          "sd 0.03 points; detects 0.23 points with 80 % power\n",
      ),
    );
    // identification_only shows joint_lambda's answer on the same models.
    assert.ok(
      md.includes(
        "- joint training does better: λ=0.05 (best on validation) beats λ=0 " +
          "(L2 scoring): **held** — λ=0.05 − λ=0: +4.02 points [+3.84, +4.20] " +
          "(98.8 %, 4 lines in the family); p = < 0.001 adjusted; 3 replicates, " +
          "sd 0.03 points; detects 0.23 points with 80 % power; judged in " +
          "joint_lambda (accuracy peaks at an intermediate λ (0.05 in the paper) " +
          "for both L2 and Joint Bayesian scoring)\n",
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
    // As `deno fmt` writes it (columns padded): the summary, then every
    // comparison once, with what it could detect.
    assert.match(
      text,
      /\n\| paper +\| experiment +\| best accuracy, mean ± sd over replicates +\| claim lines \(this run\) +\|\n/,
    );
    assert.match(
      text,
      /\n\| Fig\. 3 +\| `joint_lambda` +\| λ=0\.05, Joint Bayesian: 95\.50 ± 0\.30 % +\| 4 held +\|\n/,
    );
    assert.match(
      text,
      /\n\| Table 1 +\| `verification_signals` +\| signal=L2, Joint Bayesian: 95\.50 ± 0\.30 % +\| 10 held +\|\n/,
    );
    assert.match(
      text,
      /\n\| experiment +\| claim +\| answer +\| effect \[interval\] \(level\) +\| detectable +\| replicates +\|\n/,
    );
    assert.match(
      text,
      /\n\| `joint_lambda` +\| accuracy peaks at an intermediate λ: λ=0\.05 \(best on validation\) beats λ=0 \(L2 scoring\) +\| \*\*held\*\* +\| \+4\.02 \[\+3\.84, \+4\.20\] points \(98\.8 %\) +\| 0\.23 points +\| 3 +\|\n/,
    );
    assert.match(
      text,
      /\n\| `verification_signals` +\| L2\+ is close to L2, within ±1 point \(L2 scoring\) +\| \*\*held\*\* +\| \+0\.52 \[\+0\.\d\d, \+0\.\d\d\] points \(98\.8 %\) +\| ±0\.\d\d points +\| 3 +\|\n/,
    );
    // A comparison judged in another experiment appears once, where it was judged.
    assert.equal(
      text.match(/\| \*\*held\*\* +\|/g)?.length,
      ALL_CLAIMS - COPIES,
    );
    for (
      const claim of [
        "joint training does better",
        "worse than joint training",
        "intra-personal variance stays large",
        "L2 beats none",
      ]
    ) {
      assert.ok(!text.includes(claim), claim);
    }
    // Every verdict as data: one row per line per experiment, in the contract's columns.
    const claimsCsv = await Deno.readTextFile(join(dir, "claims.csv"));
    assert.equal(claimsCsv.split("\n")[0], CLAIM_COLUMNS.join(","));
    for (
      const c of [
        "family",
        "replicates",
        "mde",
        "ci_level",
        "judged_in",
        "family_lines",
        "not_converged",
      ]
    ) {
      assert.ok((CLAIM_COLUMNS as readonly string[]).includes(c), c);
    }
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
    const num = (s: string, want: number | undefined, what: string) =>
      assert.ok(
        want !== undefined &&
          Math.abs(Number(s) - want) <= 1e-5 * Math.max(1, Math.abs(want)),
        `${what}: ${s} vs ${want}`,
      );
    for (const [k, c] of claims.entries()) {
      const { name, v } = expected[k];
      assert.equal(c.verdict, "held", c.claim);
      assert.equal(c.family, BY_NAME.get(name)!.paper.claim);
      assert.equal(c.replicates, "3");
      assert.equal(c.detail, v.detail);
      assert.equal(c.unit, v.unit);
      assert.equal(c.family_lines, String(v.familySize));
      assert.equal(c.judged_in, v.judgedIn ?? "");
      assert.equal(c.not_converged, "");
      num(c.effect, v.effect, "effect");
      num(c.ci_low, v.ci![0], "ci_low");
      num(c.ci_high, v.ci![1], "ci_high");
      num(c.ci_level, v.level, "ci_level");
      num(c.mde, v.mde, "mde");
      num(c.sd, v.sd, "sd");
      assert.equal(c.margin === "", v.margin === undefined, c.claim);
      assert.ok(Number(c.ci_low) > 0 || c.margin !== "", c.claim);
      assert.ok(Number(c.p_adjusted) < 0.05, c.claim);
    }
    assert.equal(claims.filter((c) => c.judged_in !== "").length, COPIES);
    // Same inputs, same bytes; the README is left alone the second time.
    const again = await writeTables(dir, { readme, figures: false });
    assert.equal(again.readme, "unchanged");
    assert.equal(await Deno.readTextFile(join(dir, "TABLES.md")), md);
    assert.equal(await Deno.readTextFile(join(dir, "claims.csv")), claimsCsv);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("judgeAll: every claim holds on the fixture built to hold, each line's numbers agree with its answer", async () => {
  const results = await loadResults(join(TESTDATA, "results_held"));
  for (const name of EXPERIMENTS) {
    const verdicts = judgeClaims(name, results);
    assert.equal(verdicts.length, CLAIM_COUNTS[name], name);
    for (const v of verdicts) {
      assert.equal(v.verdict, "held", `${name}: ${v.claim}: ${v.detail}`);
      assert.equal(v.replicates, 3, `${name}: ${v.claim}`);
      assert.equal(v.family, BY_NAME.get(name)!.paper.claim);
      assertConsistent(v, `${name}: ${v.claim}`);
    }
  }
  const joint = judgeClaims("joint_lambda", results);
  assert.deepEqual(joint.map((v) => v.claim), [
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=0 (L2 scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=∞ (L2 scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=0 (Joint Bayesian scoring)",
    "accuracy peaks at an intermediate λ: λ=0.05 (best on validation) beats λ=∞ (Joint Bayesian scoring)",
  ]);
  // The mean over replicates of the paired differences of their fold-averaged accuracies, in points.
  assert.deepEqual(
    joint.map((v) => Number(v.effect!.toFixed(6))),
    [4.02, 14.02, 3.5, 14.5],
  );
  assert.equal(joint[0].unit, "points");
  assert.deepEqual(joint.map((v) => v.familySize), [4, 4, 4, 4]);
  assert.match(
    joint[0].detail,
    /^λ=0\.05 − λ=0: \+4\.02 points \[\+3\.84, \+4\.20\] \(98\.8 %, 4 lines in the family\); p = < 0\.001 adjusted; 3 replicates, sd 0\.03 points; detects 0\.23 points with 80 % power$/,
  );
  const ids = judgeClaims("identities", results);
  assert.equal(
    ids[0].claim,
    "more identities → better verification (λ=0.05, L2 scoring): accuracy rises with log₂ n",
  );
  assert.ok(near(ids[0].effect, 3, 1e-6), "3 points per doubling");
  assert.equal(ids[0].unit, "points per doubling");
  assert.match(ids[0].detail, /^slope over n = 32, 64, 128, 256: \+3\.00 /);
  // Spectra: the replicates' within/between ratios, λ=0 (0.3) and λ=∞ (0.75) vs λ=0.05 (1/9).
  const spectra = judgeClaims("variance_spectra", results);
  assert.ok(near(spectra[0].effect, 0.3 - 1 / 9, 2e-3), spectra[0].detail);
  assert.ok(near(spectra[1].effect, 0.75 - 1 / 9, 2e-3), spectra[1].detail);
  assert.deepEqual(spectra.map((v) => v.familySize), [2, 2]);
  // L2+ within the ±1-point margin of L2 (EQUIVALENCE_MARGIN), the TOST interval too.
  assert.equal(EQUIVALENCE_MARGIN, 0.01);
  const signals = judgeClaims("verification_signals", results);
  const close = signals.filter((v) => v.claim.startsWith("L2+ is close"));
  assert.deepEqual(close.map((v) => v.claim), [
    "L2+ is close to L2, within ±1 point (L2 scoring)",
    "L2+ is close to L2, within ±1 point (Joint Bayesian scoring)",
  ]);
  for (const v of close) {
    assert.ok(v.effect! > 0.45 && v.effect! < 0.55, v.detail);
    assert.equal(v.margin, 1);
    assert.ok(v.ci![0] > -1 && v.ci![1] < 1, v.detail);
    assert.ok(near(v.level, 1 - 0.1 / 8, 1e-12), v.detail);
    assert.match(
      v.detail,
      /\(98\.8 %, 8 lines in the family\), margin ±1\.0 points; .*; could confirm a margin of ±0\.\d\d points$/,
    );
  }
  const faces = judgeClaims("face_identification", results);
  assert.deepEqual(
    faces.map((v) => Number(v.effect!.toFixed(6))),
    [10, 30, 10, 30],
  );
});

Deno.test("judgeAll: a comparison several experiments make on the same models is judged once, in the owner's family", async () => {
  const results = await loadResults(join(TESTDATA, "results_held"));
  const of = (name: string) => judgeClaims(name, results);
  const joint = of("joint_lambda");
  for (const v of joint) assert.equal(v.judgedIn, undefined, v.claim);
  // identification_only's "joint beats λ=0" (L2, Joint Bayesian) is
  // joint_lambda's λ=0.05 − λ=0 on the same models: the same answer,
  // interval and effect, counted once in joint_lambda's m = 4 and not in
  // identification_only's (its own lines: the two above chance).
  const id = of("identification_only");
  for (const [mine, owner] of [[1, 0], [3, 2]]) {
    assert.equal(id[mine].judgedIn, "joint_lambda", id[mine].claim);
    assert.deepEqual(judgement(id[mine]), judgement(joint[owner]));
    assert.match(id[mine].claim, /^joint training does better: /);
    assert.equal(
      id[mine].family,
      BY_NAME.get("identification_only")!.paper.claim,
    );
  }
  assert.deepEqual(
    [id[0], id[2]].map((v) => [v.familySize, v.level, v.judgedIn]),
    [[2, 0.975, undefined], [2, 0.975, undefined]],
  );
  // Its variance ratio is variance_spectra's λ=0 line.
  const spectra = of("variance_spectra");
  assert.equal(id[4].judgedIn, "variance_spectra");
  assert.deepEqual(judgement(id[4]), judgement(spectra[0]));
  assert.ok(
    id[4].detail.endsWith(
      `; judged in variance_spectra (${
        BY_NAME.get("variance_spectra")!.paper.claim
      })`,
    ),
  );
  // verification_only's "joint beats λ=∞" lines are joint_lambda's; its
  // share-of-variance line is its own, alone in its family.
  const vo = of("verification_only");
  assert.deepEqual(judgement(vo[0]), judgement(joint[1]));
  assert.deepEqual(judgement(vo[1]), judgement(joint[3]));
  assert.deepEqual(vo.map((v) => v.judgedIn), [
    "joint_lambda",
    "joint_lambda",
    undefined,
  ]);
  assert.equal(vo[2].familySize, 1);
  // verification_signals' "L2 beats none": the L2 signal's models are
  // joint_lambda's λ=0.05 (the joint λ chosen on validation is bestLambda,
  // 0.05) and "none" is λ=0 — the same comparison, judged there.
  for (const scorer of ["l2", "joint_bayesian"]) {
    assert.equal(lambdaOf(jointModel(results, scorer)!), 0.05, scorer);
  }
  const signals = of("verification_signals");
  const none = signals.filter((v) => v.claim.includes("L2 beats none"));
  assert.equal(none.length, 2);
  assert.deepEqual(judgement(none[0]), judgement(joint[0]));
  assert.deepEqual(judgement(none[1]), judgement(joint[2]));
  for (const v of none) assert.equal(v.judgedIn, "joint_lambda");
  for (const v of signals.filter((v) => !none.includes(v))) {
    assert.equal(v.familySize, 8, v.claim);
    assert.equal(v.judgedIn, undefined);
  }
});

Deno.test("judgeAll: when the joint λ chosen on validation is not bestLambda, 'L2 beats none' is verification_signals' own line", async () => {
  const results = await loadResults(join(TESTDATA, "results_held"));
  // λ=0.5 now best on validation: joint_lambda compares λ=0.5 with the ends,
  // while the L2 signal's models are still λ=0.05's.
  for (const r of results.get("joint_lambda")!.rows) {
    if (r.config === "lambda=0.5") r.fields.val_accuracy_mean = "0.99";
  }
  const joint = judgeClaims("joint_lambda", results);
  assert.match(joint[0].claim, /λ=0\.5 \(best on validation\) beats λ=0/);
  const signals = judgeClaims("verification_signals", results);
  const none = signals.filter((v) => v.claim.includes("L2 beats none"));
  assert.equal(none.length, 2);
  for (const v of [...signals]) {
    assert.equal(v.judgedIn, undefined, v.claim);
    assert.equal(v.familySize, 10, v.claim);
    assertConsistent(v, v.claim);
  }
  assert.match(none[0].detail, /^L2 − none: \+4\.02 points /);
  // identification_only's comparison follows the chosen λ: still joint_lambda's.
  const id = judgeClaims("identification_only", results);
  assert.match(id[1].claim, /λ=0\.5 \(best on validation\) beats λ=0/);
  assert.equal(id[1].judgedIn, "joint_lambda");
  assert.deepEqual(judgement(id[1]), judgement(joint[0]));
});

Deno.test("judgeAll: claims contradicted by clear effects in the wrong direction; collapsed models are not tested", async () => {
  const results = await loadResults(join(TESTDATA, "results_failed"));
  for (const name of EXPERIMENTS) {
    const verdicts = judgeClaims(name, results);
    assert.equal(verdicts.length, CLAIM_COUNTS[name], name);
    for (const v of verdicts) {
      if (v.verdict === "not tested") {
        assert.equal(v.effect, undefined);
        assert.equal(v.ci, undefined);
        assert.equal(v.mde, undefined);
        assert.equal(v.replicates, undefined);
      } else assertConsistent(v, `${name}: ${v.claim}`);
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
  // This fixture has no model keys: identification_only's λ=0 models are
  // not known to be joint_lambda's, so it judges "joint beats λ=0" itself.
  const id = judgeClaims("identification_only", results);
  assert.deepEqual(verdictsOf(id), [
    "contradicted",
    "held",
    "inconclusive",
    "held",
    "contradicted",
  ]);
  assert.deepEqual(id.map((v) => v.judgedIn), [
    undefined,
    undefined,
    undefined,
    undefined,
    "variance_spectra",
  ]);
  assert.deepEqual(id.map((v) => v.familySize), [4, 4, 4, 4, 2]);
  assert.match(id[1].detail, /^joint_lambda λ=0\.05 − λ=0: \+47\.00 points /);
  // λ=∞ collapsed in every replicate: its accuracy claims are not tested;
  // the spectra (variance_spectra's own λ=∞ model) contradict the other,
  // the only line its family judges.
  const verif = judgeClaims("verification_only", results);
  assert.deepEqual(verdictsOf(verif), [
    "not tested",
    "not tested",
    "contradicted",
  ]);
  assert.equal(
    verif[0].detail,
    "joint_lambda λ=0.05 − λ=∞: 0 replicate(s) where every arm was scored; an interval needs 2 or more",
  );
  assert.equal(verif[2].familySize, 1);
  assert.equal(verif[2].level, 0.95);
  assert.deepEqual(verdictsOf(judgeClaims("variance_spectra", results)), [
    "contradicted",
    "contradicted",
  ]);
  // λ=0.05 falls with more identities; λ=0 rises, but its n=32 model
  // collapsed in one replicate and diverged in another: one left (still
  // improving), not tested.
  const ids = judgeClaims("identities", results);
  assert.deepEqual(verdictsOf(ids), [
    "contradicted",
    "contradicted",
    "not tested",
    "not tested",
  ]);
  assert.match(
    ids[2].detail,
    /: 1 replicate\(s\) where every arm was scored; an interval needs 2 or more$/,
  );
  assert.deepEqual(ids.slice(0, 2).map((v) => v.familySize), [2, 2]);
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
    /^L2 − L2\+: \+4\.00 points \[\+\d\.\d\d, \+\d\.\d\d\] \(99 %, 10 lines in the family\), margin ±1\.0 points/,
  );
  for (const k of [3, 8]) assert.ok(signals[k].ci![0] > 1, signals[k].detail);
  // No model keys: "L2 beats none" is verification_signals' own line.
  assert.match(signals[4].detail, /^L2 − none: −1\.50 points \[/);
  assert.ok(signals.every((v) => !v.judgedIn && v.familySize === 10));
  // The L1 model of replicate 2 was still improving: scored, used, and said.
  for (const [k, v] of signals.entries()) {
    const l1 = k === 1 || k === 6;
    assert.deepEqual(v.improving, l1 ? ["signal=l1 seed2"] : undefined);
    assert.equal(
      v.detail.endsWith("; uses models still improving: signal=l1 seed2"),
      l1,
      v.detail,
    );
    if (l1) assert.equal(v.replicates, 3);
  }
  assert.deepEqual(verdictsOf(judgeClaims("face_identification", results)), [
    "contradicted",
    "held",
    "contradicted",
    "held",
  ]);
  // The README: the counts per experiment, every comparison once with its answer.
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
        "beats λ=0 (L2 scoring) | **contradicted** | −2.00 [−2.00, −2.00] points (98.8 %) | ",
    ),
  );
  assert.ok(
    md.includes(
      "| `verification_signals` | L2+ is close to L2, within ±1 point (L2 scoring) | " +
        "**contradicted** | +4.00 [+3.80, +4.20] points (99 %) | ±0.27 points | 3 |",
    ),
  );
  // A claim that was not tested shows why instead of an effect.
  assert.ok(
    md.includes(
      "| **not tested** | joint_lambda λ=0.05 − λ=∞: 0 replicate(s) where every arm " +
        "was scored; an interval needs 2 or more | — | — |",
    ),
  );
  const body = md.split("| experiment | claim | answer |")[1].split("\n")
    .filter((l) => l.startsWith("| `"));
  const shown = EXPERIMENTS.flatMap((n) => judgeClaims(n, results))
    .filter((v) => !v.judgedIn);
  assert.equal(body.length, shown.length);
  assert.equal(shown.length, ALL_CLAIMS - 1, "the ratio line shown once");
});

Deno.test("TABLES.md: collapsed, diverged and still-improving models say so, with each replicate's reason", async () => {
  const dir = await copyFixture("results_failed");
  try {
    await writeTables(dir, { readme: "", figures: false });
    const md = await Deno.readTextFile(join(dir, "TABLES.md"));
    assert.ok(md.includes("| λ=∞ | L2 | **collapsed** |"));
    const reason =
      "100 % of the DeepID2 units are zero on every validation face (collapsed at ≥ 100 %)";
    assert.ok(
      md.includes(
        "Not results (never scored):\n\n" +
          [1, 2, 3].map((k) => `- λ=∞, replicate ${k}: collapsed — ${reason}`)
            .join("\n") +
          "\n",
      ),
    );
    // One scored replicate of three, and it still improving: its numbers,
    // no spread, marked ⚠, 1/3; the others listed with their reasons.
    assert.ok(
      md.includes(
        "| n=32, λ=0 | L2 | 79.72 ⚠ | 0.86 | 0.8500 | 21.00 | — | 60.00 | 1/3 | 600 | 78.72 | 25.00 |",
      ),
    );
    assert.ok(
      md.includes(
        "Not converged (scored, marked ⚠; every claim that uses them says so):\n\n" +
          "- n=32, λ=0, replicate 1: still improving — validation accuracy (cosine) " +
          "still rose 0.70 points over the last quarter of training (allowed 0.50 points)\n",
      ),
    );
    assert.ok(
      md.includes(
        "Not results (never scored):\n\n" +
          `- n=32, λ=0, replicate 2: collapsed — ${reason}\n` +
          "- n=32, λ=0, replicate 3: diverged — the loss is not finite (NaN) at step 812\n",
      ),
    );
    // Still improving: scored and marked ⚠, listed with its whole reason
    // (two rules, "; " between them).
    assert.ok(
      md.includes(
        "| signal=L1 | L2 | **95.00 ± 0.30 ⚠** | 0.88 | 0.9990 | 6.00 | — | 75.00 | 3/3 |",
      ),
    );
    assert.ok(
      md.includes(
        "Not converged (scored, marked ⚠; every claim that uses them says so):\n\n" +
          "- signal=L1, replicate 2: still improving — validation accuracy (l2) " +
          "still rose 0.90 points over the last quarter of training (allowed 0.50 " +
          "points); identification loss 2.950 is 43 % of chance (2 ln 30 = 6.80; " +
          "allowed 40 %)\n",
      ),
    );
    assert.equal(md.match(/Not converged/g)?.length, 2);
    assert.ok(
      md.includes(
        "- L1 helps less than L2 (L2 scoring): **contradicted** — L2 − L1: −3.00 points [",
      ),
    );
    assert.equal(
      md.match(/; uses models still improving: signal=l1 seed2\n/g)?.length,
      2,
    );
    assert.ok(md.includes(": **not tested** — "));
    assert.ok(md.includes(": **inconclusive** — "));
    const claims = await readCsv(join(dir, "claims.csv"));
    assert.equal(claims.length, ALL_CLAIMS);
    const untested = claims.filter((c) => c.verdict === "not tested");
    assert.equal(untested.length, 4);
    for (const c of untested) {
      assert.deepEqual(
        [
          c.effect,
          c.ci_low,
          c.ci_high,
          c.ci_level,
          c.p_adjusted,
          c.family_lines,
          c.replicates,
          c.sd,
          c.mde,
          c.judged_in,
        ],
        ["", "", "", "", "", "", "", "", "", ""],
      );
      assert.notEqual(c.family, "");
    }
    assert.deepEqual(
      claims.filter((c) => c.not_converged !== "").map((c) =>
        `${c.claim}: ${c.not_converged}`
      ),
      [
        "L1 helps less than L2 (L2 scoring): signal=l1 seed2",
        "L1 helps less than L2 (Joint Bayesian scoring): signal=l1 seed2",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("judgeAll: missing configurations or replicates are 'not tested', not failures", async () => {
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
    // The untested lines do not count: a family of 2.
    assert.deepEqual(verdicts.map((v) => v.familySize), [
      2,
      undefined,
      2,
      undefined,
    ]);
    // No results, no claims.
    assert.deepEqual(judgeClaims("verification_only", results), []);
    // One replicate per configuration: no interval, every claim not tested.
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
        /: 1 replicate\(s\) where every arm was scored; an interval needs 2 or more$/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadExperiment: per-replicate rows in seedRows; in rows the mean over replicates, the fold spread averaged, the spread across replicates", async () => {
  const ex = await loadExperiment(
    join(TESTDATA, "results_held"),
    "joint_lambda",
  );
  // 7 λ x 2 scorers, 3 replicates each.
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
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  for (const r of ex.rows) {
    assert.equal(r.fields.seed, "mean");
    assert.equal(r.fields.seeds_ok, "3/3");
    assert.equal(r.fields.status, "ok");
    assert.equal(r.fields.status_reason, "");
    assert.equal(r.fields.fold_accuracy, "");
    assert.equal(r.fields.model, "");
    const seeds = ex.seedRows.filter((s) =>
      s.config === r.config && s.scorer === r.scorer
    );
    assert.deepEqual(seeds.map((s) => s.fields.seed), ["1", "2", "3"]);
    const accs = seeds.map((s) => value(s, "accuracy_mean"));
    const m = mean(accs);
    const sd = Math.sqrt(accs.reduce((a, b) => a + (b - m) ** 2, 0) / 2);
    assert.ok(Math.abs(value(r, "accuracy_mean") - m) < 1e-6);
    // accuracy_std keeps its meaning: the spread over folds, averaged.
    const foldStd = mean(seeds.map((s) => value(s, "accuracy_std")));
    assert.ok(
      Math.abs(value(r, "accuracy_std") - foldStd) < 1e-6,
      "mean of the replicates' fold stds",
    );
    assert.ok(
      Math.abs(value(r, "accuracy_sd_replicates") - sd) < 1e-6,
      "sample std across replicates",
    );
    assert.ok(
      Math.abs(value(r, "accuracy_se_replicates") - sd / Math.sqrt(3)) < 1e-6,
    );
    for (const s of seeds) {
      // The fixture's fold accuracies average to the replicate's accuracy.
      const folds = s.fields.fold_accuracy.split(";").map(Number);
      assert.equal(folds.length, 10);
      assert.ok(Math.abs(mean(folds) - value(s, "accuracy_mean")) < 1e-6);
      assert.equal(s.fields.model, `model-${s.config}-r${s.fields.seed}`);
    }
  }
  // By hand: λ=0, L2 — replicates 0.8971, 0.8998, 0.9031 with fold stds
  // 0.008669, 0.008527, 0.008927.
  const l2 = ex.rows[0];
  assert.equal(l2.fields.accuracy_mean, "0.9");
  assert.equal(l2.fields.accuracy_std, "0.008708");
  assert.equal(l2.fields.accuracy_sd_replicates, "0.003005");
  assert.equal(l2.fields.accuracy_se_replicates, "0.001735");
  // Rank-1 and DIR get theirs too: DIR 0.4998, 0.5004, 0.4998 → sd
  // √((2 · 0.0002² + 0.0004²) / 2) = 0.000346.
  const faces = await loadExperiment(
    join(TESTDATA, "results_held"),
    "face_identification",
  );
  const jb = faces.rows.find((r) =>
    r.config === "lambda=0.05" && r.scorer === "joint_bayesian"
  )!;
  assert.equal(jb.fields.rank1_mean, "0.8");
  assert.equal(jb.fields.rank1_sd_replicates, "0");
  assert.equal(jb.fields["dir_at_far_1e-2_sd_replicates"], "0.000346");
});

Deno.test("loadExperiment: stored mean rows are recomputed from the replicates, never trusted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  try {
    const fixture = join(TESTDATA, "results_held");
    const truth = await loadExperiment(fixture, "joint_lambda");
    const csv = await Deno.readTextFile(join(fixture, "joint_lambda.csv"));
    const [head, ...lines] = csv.trimEnd().split("\n");
    const cols = head.split(",");
    const [seed, acc, std, sdr, ok] = [
      "seed",
      "accuracy_mean",
      "accuracy_std",
      "accuracy_sd_replicates",
      "seeds_ok",
    ].map((c) => cols.indexOf(c));
    assert.ok(sdr > 0);
    // Tamper with every stored mean, and store a mean of replicates that do not exist.
    const tampered = lines.map((l) => {
      const f = l.split(",");
      if (f[seed] !== "mean") return l;
      f[acc] = "0.123456";
      f[std] = "0.5";
      f[sdr] = "0.25";
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
      "no replicates, no mean",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("farSupported: TAR at a FAR needs one false accept among the training folds' different pairs", () => {
  // 0.45 of the pairs are different-identity pairs.
  assert.equal(farSupported(600, 1e-3), false);
  assert.equal(farSupported(600, 1e-2), true);
  assert.equal(farSupported(2000, 1e-3), false);
  assert.equal(farSupported(3000, 1e-3), true);
  assert.equal(farSupported(NaN, 1e-2), false);
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
    // The means over replicates, recomputed: the stored 0.5 for λ=0 and the
    // stored λ=0.5 (no replicate rows) are not trusted.
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
    // accuracy_std: the shards' fold stds (0.01, 0.02) averaged; the spread
    // across replicates in its own column.
    assert.equal(ex.rows[1].fields.accuracy_std, "0.015");
    assert.equal(ex.rows[1].fields.accuracy_sd_replicates, "0.014142");
    assert.equal(ex.rows[1].fields.accuracy_se_replicates, "0.01");
    // One replicate: its own fold std, no spread across replicates.
    assert.equal(ex.rows[3].fields.accuracy_std, "0.01");
    assert.equal(ex.rows[3].fields.accuracy_sd_replicates, "", "one replicate");
    assert.deepEqual(ex.commands, [
      "deno run -A experiments/joint_lambda.ts --shard 2/2",
    ]);
    const merged = await Deno.readTextFile(top);
    const lines = merged.trim().split("\n");
    assert.ok(
      lines[0].includes(",seed,backend,profile,lambda,seeds_ok,wall_s,") &&
        lines[0].includes(",accuracy_sd_replicates,"),
      `union of the columns, and the mean rows': ${lines[0]}`,
    );
    // The per-seed rows, then the means.
    assert.equal(lines.length, 1 + 9 + 5);
    assert.ok(
      lines[7].startsWith(
        "joint_lambda,lambda=5,l2,0.89,0.01,0.0032,0.94,0.12,0.49,0.69,600,1,wasm,quick,5,,12.5,",
      ),
      lines[7],
    );
    assert.ok(lines[10].startsWith("joint_lambda,lambda=0,l2,0.91,"));
    assert.ok(
      lines[13].startsWith("joint_lambda,lambda=5,l2,0.89,0.01,0.0032,"),
    );
    assert.ok(lines[13].includes(",mean,wasm,quick,5,1/1,12.5,"), lines[13]);
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

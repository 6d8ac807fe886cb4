import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../lib/base/io.ts";
import { EXPERIMENTS as ALL } from "./all.ts";
import { type ClaimVerdict, spearman } from "./report/claims.ts";
import { drawExperimentFigures } from "./report/figures.ts";
import {
  listExperiments,
  loadExperiment,
  loadResults as loadAll,
  readResultsCsv,
  type Results,
} from "./report/results.ts";
import {
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

function heldOf(verdicts: ClaimVerdict[]): (boolean | null)[] {
  return verdicts.map((v) => v.held);
}

Deno.test("writeTables: every section, the claims, the command, figures, README block", async () => {
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
        "| λ=0.05 | L2 | **94.00 ± 0.80** | 0.9900 | 7.00 | 54.00 | 74.00 | 600 |",
      ),
    );
    assert.ok(
      md.includes("| λ=0.05 | Joint Bayesian | 80.00 ± 2.00 | 50.00 ± 3.00 |"),
    );
    assert.ok(!md.includes("did not hold") && !md.includes("not tested"));
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
    // As `deno fmt` writes it (columns padded).
    assert.match(
      text,
      /\n\| Fig\. 3 +\| `joint_lambda` +\| λ=0\.05, Joint Bayesian: 95\.50 ± 0\.80 % +\| 2 of 2 held +\|\n/,
    );
    // Same inputs, same bytes; the README is left alone the second time.
    const again = await writeTables(dir, { readme, figures: false });
    assert.equal(again.readme, "unchanged");
    assert.equal(await Deno.readTextFile(join(dir, "TABLES.md")), md);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("judgeClaims: every claim holds on the fixture built to hold", async () => {
  const results = await loadResults(join(TESTDATA, "results_held"));
  for (const name of EXPERIMENTS) {
    const verdicts = judgeClaims(name, results);
    assert.ok(verdicts.length > 0, name);
    for (const v of verdicts) {
      assert.equal(v.held, true, `${name}: ${v.claim}: ${v.detail}`);
    }
  }
  const [l2] = judgeClaims("joint_lambda", results);
  assert.equal(l2.claim, "accuracy peaks at an intermediate λ (L2 scoring)");
  assert.equal(
    l2.detail,
    "best intermediate λ=0.05 (94.00 %) vs λ=0 (90.00 %): +4.00 points, " +
      "vs λ=∞ (80.00 %): +14.00 points (fold std ≤ 0.80; paper's peak: λ=0.05)",
  );
  const ids = judgeClaims("identities", results);
  assert.equal(
    ids[0].claim,
    "more identities → better verification (λ=0.05, L2)",
  );
  assert.match(
    ids[0].detail,
    /n=32 → 256: 81.00 % → 90.00 % \(\+9.00 points.*ρ = 1.00; 3 of 3 steps up/,
  );
  const spectra = judgeClaims("variance_spectra", results);
  assert.match(spectra[0].detail, /λ=0.05 0.111, λ=0 0.300, λ=∞ 0.750/);
});

Deno.test("judgeClaims: claims that do not hold are reported with their numbers", async () => {
  const results = await loadResults(join(TESTDATA, "results_failed"));
  // L2 peaks at λ=0; Joint Bayesian still peaks in between.
  const joint = judgeClaims("joint_lambda", results);
  assert.deepEqual(heldOf(joint), [false, true]);
  assert.match(joint[0].detail, /vs λ=0 \(95.00 %\): −1.00 points/);
  // λ=0.05 falls with more identities, λ=0 rises.
  assert.deepEqual(heldOf(judgeClaims("identities", results)), [false, true]);
  // L1 beats L2, L2+ is 3 points off, none beats L2: for both scorers.
  const signals = judgeClaims("verification_signals", results);
  assert.deepEqual(heldOf(signals), [
    false,
    false,
    false,
    false,
    false,
    false,
    false,
    false,
  ]);
  assert.match(
    signals[0].detail,
    /best other: L1 95.00 % \(L2 − L1 = −3.00 points/,
  );
  assert.deepEqual(heldOf(judgeClaims("variance_spectra", results)), [false]);
  // Verification-only within the fold std of joint: not "clearly worse".
  assert.deepEqual(heldOf(judgeClaims("verification_only", results)), [
    false,
    false,
    false,
  ]);
  // Identification-only near chance; its within/between ratio is not larger.
  assert.deepEqual(
    heldOf(judgeClaims("identification_only", results)),
    [false, true, true, false],
  );
  assert.deepEqual(heldOf(judgeClaims("face_identification", results)), [
    false,
  ]);
  const md = readmeResults(results);
  assert.ok(md.includes("Claims that did not hold in this run:"));
  assert.ok(
    md.includes(
      "- `joint_lambda`: accuracy peaks at an intermediate λ (L2 scoring) — ",
    ),
  );
});

Deno.test("judgeClaims: missing configurations are 'not tested', not failures", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tables_test_" });
  try {
    const csv = await Deno.readTextFile(
      join(TESTDATA, "results_held", "joint_lambda.csv"),
    );
    await Deno.writeTextFile(
      join(dir, "joint_lambda.csv"),
      csv.split("\n").filter((l) => !l.includes("lambda=inf")).join("\n"),
    );
    const results = await loadResults(dir);
    const verdicts = judgeClaims("joint_lambda", results);
    assert.deepEqual(heldOf(verdicts), [null, null]);
    assert.equal(verdicts[0].detail, "no row for λ=∞");
    // No results, no claims.
    assert.deepEqual(judgeClaims("verification_only", results), []);
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

Deno.test("shards: merged by (config, scorer), newest file wins, merge written back", async () => {
  const dir = await copyFixture("results_shards");
  try {
    const top = join(dir, "joint_lambda.csv");
    const t0 = new Date("2024-01-01T00:00:00Z");
    const later = new Date("2024-01-02T00:00:00Z");
    await Deno.utime(top, t0, t0);
    for (const f of ["lambda=0.05.csv", "lambda=5.csv"]) {
      await Deno.utime(join(dir, "joint_lambda", f), later, later);
    }
    assert.deepEqual(await listExperiments(dir), ["joint_lambda"]);
    const ex = await loadExperiment(dir, "joint_lambda", { writeMerged: true });
    assert.equal(ex.shards, 2);
    assert.deepEqual(
      ex.rows.map((r) => `${r.config} ${r.scorer} ${r.fields.accuracy_mean}`),
      [
        "lambda=0 l2 0.9",
        "lambda=0.05 l2 0.95", // the newer shard replaces the older 0.91
        "lambda=0.05 joint_bayesian 0.96",
        "lambda=5 l2 0.89",
        "lambda=inf l2 0.8",
      ],
    );
    assert.deepEqual(ex.commands, [
      "deno run -A experiments/joint_lambda.ts --shard 2/2",
    ]);
    const merged = await Deno.readTextFile(top);
    const lines = merged.trim().split("\n");
    assert.ok(lines[0].endsWith(",lambda,wall_s"), "union of the columns");
    assert.equal(lines.length, 6);
    assert.ok(
      lines[4].startsWith("joint_lambda,lambda=5,l2,0.89,") &&
        lines[4].endsWith(",5,12.5"),
    );
    // Merging again changes nothing.
    const stat = await Deno.stat(top);
    await loadExperiment(dir, "joint_lambda", { writeMerged: true });
    assert.equal(
      (await Deno.stat(top)).mtime?.getTime(),
      stat.mtime?.getTime(),
    );
    // A newer full run wins over the older shard.
    await Deno.writeTextFile(
      top,
      merged.replace("lambda=0.05,l2,0.95,", "lambda=0.05,l2,0.93,"),
    );
    const newest = new Date("2024-01-03T00:00:00Z");
    await Deno.utime(top, newest, newest);
    const again = await loadExperiment(dir, "joint_lambda");
    assert.equal(again.rows[1].fields.accuracy_mean, "0.93");
    // Shards alone make an experiment; spectra files alone do not.
    await Deno.remove(top);
    await Deno.mkdir(join(dir, "variance_spectra"));
    await Deno.writeTextFile(
      join(dir, "variance_spectra", "spectra_lambda=0.csv"),
      "index,between,within\n0,1,1\n",
    );
    assert.deepEqual(await listExperiments(dir), ["joint_lambda"]);
    assert.equal((await loadExperiment(dir, "joint_lambda")).rows.length, 3);
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
      [...Deno.readDirSync(dir)].some((e) => e.name === "TABLES.md"),
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

Deno.test("writeExperimentFigures draws one experiment's figures", async () => {
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
    const roc = await Deno.readTextFile(written[0]);
    // 3 configs x 2 scorers, plus one chance line per scorer panel.
    const lines =
      roc.match(/<g class="mark-line role-mark[^>]*>(<path [^>]*>)*/g) ?? [];
    assert.equal(lines.join("").match(/<path /g)?.length, 8);
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

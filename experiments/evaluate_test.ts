import assert from "node:assert/strict";
import {
  fitJointBayesian,
  JointBayesianModel,
} from "../lib/eval/joint_bayesian.ts";
import {
  buildScoringFile,
  saveScoringFile,
  scoringFilePath,
} from "../lib/eval/scoring_file.ts";
import { cosineScore, l2Score } from "../lib/eval/scorers.ts";
import {
  evaluateVerification,
  type VerificationRow,
} from "../lib/eval/verification.ts";
import { EVALUATE_USAGE, summary } from "./evaluate.ts";

const root = new URL("..", import.meta.url).pathname;
const script = new URL("./evaluate.ts", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const ROWS: VerificationRow[] = [
  { fold: 0, label: 1, score: 0.9 },
  { fold: 0, label: 0, score: 0.2 },
  { fold: 0, label: 1, score: 0.4 },
  { fold: 0, label: 0, score: 0.5 },
  { fold: 1, label: 1, score: 0.8 },
  { fold: 1, label: 0, score: 0.3 },
  { fold: 1, label: 1, score: 0.6 },
  { fold: 1, label: 0, score: 0.1 },
];

Deno.test("--scores prints the summary line and writes the ROC", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Column order is free and extra columns are ignored.
    const csv = "label,score,fold,pair\n" +
      ROWS.map((r, i) => `${r.label},${r.score},${r.fold},p${i}`).join("\n") +
      "\n";
    await Deno.writeTextFile(`${dir}/s.csv`, csv);
    const r = await run([
      "--scores",
      `${dir}/s.csv`,
      "--roc",
      `${dir}/roc.csv`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const got = JSON.parse(lines[0]);
    assert.deepEqual(got, summary(evaluateVerification(ROWS)));
    assert.deepEqual(Object.keys(got).slice(0, 8), [
      "accuracy_mean",
      "accuracy_std",
      "accuracy_se",
      "auc",
      "eer",
      "tar_at_far_1e-3",
      "tar_at_far_1e-2",
      "n_pairs",
    ]);
    assert.equal(got.accuracy_mean, 0.625);
    const roc = (await Deno.readTextFile(`${dir}/roc.csv`)).trim().split("\n");
    assert.equal(roc[0], "fpr,tpr,threshold");
    assert.equal(roc.length, 1 + 9); // +Infinity and 8 distinct scores
    assert.equal(roc[1], "0,0,Infinity");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed scores files: FILE:LINE: message, non-zero exit", async () => {
  const dir = await Deno.makeTempDir();
  const good = ROWS.map((r) => `${r.fold},${r.label},${r.score}`);
  const cases: [string, string[], RegExp][] = [
    ["missing column", ["fold,label", "0,1"], /:1: missing column "score"/],
    [
      "bad label",
      ["fold,label,score", ...good.slice(0, 2), "0,2,0.5"],
      /:4: label "2" is not 0 or 1/,
    ],
    [
      "bad score",
      ["fold,label,score", "0,1,abc", ...good],
      /:2: score "abc" is not a finite number/,
    ],
    [
      "missing value",
      ["fold,label,score", ...good, "1,0"],
      /:10: missing value for "score"/,
    ],
    ["one fold", ["fold,label,score", ...good.slice(0, 4)], /:2: only 1 fold/],
    [
      "one-class fold",
      ["fold,label,score", ...good, "2,1,0.5", "2,1,0.7"],
      /:10: fold 2 has only same \(1\) pairs/,
    ],
  ];
  try {
    for (const [name, lines, want] of cases) {
      const file = `${dir}/${name.replaceAll(" ", "_")}.csv`;
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      const r = await run(["--scores", file]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.startsWith(file + ":"), `${name}: ${r.stderr}`);
      assert.match(r.stderr, want, name);
    }
    const usage = await run(["--bogus", "x"]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr.split("\n")[0], "unknown flag --bogus");
    assert.match(usage.stderr, /usage/);
    const help = await run(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout.trim(), EVALUATE_USAGE);
    const scorer = await run(["--scores", `${dir}/s.csv`, "--scorer", "dot"]);
    assert.equal(scorer.code, 2);
    assert.match(
      scorer.stderr,
      /^--scorer must be l2, cosine or joint_bayesian, not "dot"\n/,
    );
    const missing = await run(["--scores", `${dir}/nope.csv`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope.csv: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--features with --pairs scores LFW pairs (l2, cosine, joint_bayesian)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 2 folds x (1 same + 1 different); a View 2 header; mixed extensions.
    await Deno.writeTextFile(
      `${dir}/pairs.txt`,
      "2\t1\nAnn 1 2\nAnn 1 Bob 1\nBob 1 2\nAnn 2 Bob 2\n",
    );
    const images: [string, number[]][] = [
      ["Ann/Ann_0001.jpg", [1, 0, 0.5]],
      ["Ann/Ann_0002.png", [0.9, 0.2, 0.4]],
      ["Bob/Bob_0001.jpg", [0, 1, -0.2]],
      ["Bob/Bob_0002.jpg", [0.3, 0.8, 0.1]],
    ];
    await Deno.writeTextFile(
      `${dir}/features.csv`,
      "path,f0,f1,f2\n" +
        images.map(([p, f]) => [p, ...f].join(",")).join("\n") + "\n",
    );
    const f = Object.fromEntries(images.map(([p, v]) => [p.slice(4, 12), v]));
    const pairs: [string, string, 0 | 1, number][] = [
      ["Ann_0001", "Ann_0002", 1, 0],
      ["Ann_0001", "Bob_0001", 0, 0],
      ["Bob_0001", "Bob_0002", 1, 1],
      ["Ann_0002", "Bob_0002", 0, 1],
    ];
    const expect = (score: (a: number[], b: number[]) => number) =>
      summary(evaluateVerification(pairs.map(([a, b, label, fold]) => ({
        fold,
        label,
        score: score(f[a], f[b]),
      }))));
    const base = [
      "--features",
      `${dir}/features.csv`,
      "--pairs",
      `${dir}/pairs.txt`,
    ];
    let r = await run(base);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), expect(l2Score));
    r = await run([...base, "--scorer", "cosine"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), expect(cosineScore));

    const train = Float64Array.from(
      { length: 60 * 3 },
      (_, i) => Math.sin(i * 1.7) + Math.floor(i / 12) * 0.3,
    );
    const model = fitJointBayesian(
      train,
      3,
      Array.from({ length: 60 }, (_, i) => Math.floor(i / 4)),
      { pcaDim: 3 },
    );
    await Deno.writeTextFile(`${dir}/jb.json`, JSON.stringify(model));
    r = await run([
      ...base,
      "--scorer",
      "joint_bayesian",
      "--model",
      `${dir}/jb.json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), expect((a, b) => model.score(a, b)));

    // An image the features file lacks: the pairs file line is named.
    await Deno.writeTextFile(
      `${dir}/pairs.txt`,
      "2\t1\nAnn 1 2\nAnn 1 Bob 3\nBob 1 2\nAnn 2 Bob 2\n",
    );
    r = await run(base);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pairs\.txt:3: no row for Bob\/Bob_0003/);
    // A non-numeric feature: the features file line is named.
    await Deno.writeTextFile(
      `${dir}/features.csv`,
      "path,f0\nAnn/Ann_0001.jpg,x\n",
    );
    r = await run(base);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /features\.csv:2: feature f0 "x" is not a finite number/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--scoring FILE and --model M use a network's saved PCA + Joint Bayesian", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/pairs.txt`,
      "2\t1\nAnn 1 2\nAnn 1 Bob 1\nBob 1 2\nAnn 2 Bob 2\n",
    );
    const images: [string, number[]][] = [
      ["Ann/Ann_0001.jpg", [1, 0, 0.5]],
      ["Ann/Ann_0002.jpg", [0.9, 0.2, 0.4]],
      ["Bob/Bob_0001.jpg", [0, 1, 0.2]],
      ["Bob/Bob_0002.jpg", [0.3, 0.8, 0.1]],
    ];
    await Deno.writeTextFile(
      `${dir}/features.csv`,
      "path,f0,f1,f2\n" +
        images.map(([p, f]) => [p, ...f].join(",")).join("\n") + "\n",
    );
    const key = "0123456789abcdef01234567";
    const held = Float32Array.from(
      { length: 60 * 3 },
      (_, i) => Math.abs(Math.sin(i * 1.7)) + Math.floor(i / 12) * 0.3,
    );
    const { file } = buildScoringFile({
      model: key,
      crop: { height: 55, width: 47, gray: false },
      dim: 3,
      pcaDim: 3,
      heldOutFeatures: held,
      heldOutLabels: Int32Array.from(
        { length: 60 },
        (_, i) => Math.floor(i / 4),
      ),
      validationFeatures: held.slice(0, 8 * 3),
      validationPairs: [
        { fold: 0, same: true, a: 0, b: 1 },
        { fold: 1, same: false, a: 0, b: 4 },
      ],
    });
    await Deno.mkdir(`${dir}/cache/models`, { recursive: true });
    await Deno.writeTextFile(`${dir}/cache/models/${key}.model`, "");
    await saveScoringFile(scoringFilePath(`${dir}/cache`, key), file);
    const jb = JointBayesianModel.fromJSON(file.jointBayesian);
    const f = Object.fromEntries(images.map(([p, v]) => [p.slice(4, 12), v]));
    const want = summary(evaluateVerification(
      ([["Ann_0001", "Ann_0002", 1, 0], ["Ann_0001", "Bob_0001", 0, 0], [
        "Bob_0001",
        "Bob_0002",
        1,
        1,
      ], ["Ann_0002", "Bob_0002", 0, 1]] as const).map((
        [a, b, label, fold],
      ) => ({
        fold,
        label,
        score: jb.score(f[a], f[b]),
      })),
    ));
    const base = [
      "--features",
      `${dir}/features.csv`,
      "--pairs",
      `${dir}/pairs.txt`,
      "--scorer",
      "joint_bayesian",
    ];
    let r = await run([
      ...base,
      "--scoring",
      scoringFilePath(`${dir}/cache`, key),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), want);
    r = await run([...base, "--model", key, "--cache", `${dir}/cache`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), want);
    // A network without a scoring file, and a name that matches nothing.
    const other = "1123456789abcdef01234567";
    await Deno.writeTextFile(`${dir}/cache/models/${other}.model`, "");
    r = await run([...base, "--model", other, "--cache", `${dir}/cache`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `${other}\\.scoring\\.json: model ${other} has no scoring file`,
      ),
    );
    r = await run([
      ...base,
      "--model",
      "joint_lambda:lambda=9:seed1",
      "--results",
      `${dir}/none`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no experiment joint_lambda in .*none\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

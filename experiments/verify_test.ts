import assert from "node:assert/strict";
import { decidePair, loadScoringFile } from "../lib/eval/scoring_file.ts";
import { readFeaturesCsv } from "./evaluate.ts";
import { main as features } from "./features.ts";
import { main, splitPositional, VERIFY_FLAGS } from "./verify.ts";
import { modelFixture, runMain, TINY_DATA } from "./_model_fixture.ts";

const A = `${TINY_DATA}/lfw/lfw/Kofi_Pereira/Kofi_Pereira_0001.jpg`;
const B = `${TINY_DATA}/lfw/lfw/Rosa_Petrov/Rosa_Petrov_0001.jpg`;

Deno.test("verify: the score, the validation threshold and the decision, as text and as JSON", async () => {
  const fx = await modelFixture();
  try {
    const scoring = await loadScoringFile(
      `${fx.cache}/models/${fx.key}.scoring.json`,
    );
    // The features deno task features gives the two images, scored by the file.
    await Deno.mkdir(`${fx.dir}/two`);
    await Deno.copyFile(A, `${fx.dir}/two/a.jpg`);
    await Deno.copyFile(B, `${fx.dir}/two/b.jpg`);
    const f = await runMain(features, [
      "--model",
      fx.unit,
      ...fx.lookup,
      "--images",
      `${fx.dir}/two`,
      "--out",
      `${fx.dir}/f.csv`,
      "--backend",
      "cpu",
    ]);
    assert.equal(f.code, 0, f.stderr);
    // The CSV holds float32 values: read back as float32, exact.
    const t = Float32Array.from(
      (await readFeaturesCsv(`${fx.dir}/f.csv`)).features,
    );
    for (const scorer of ["l2", "cosine", "joint_bayesian"] as const) {
      const want = decidePair(
        scoring,
        scorer,
        t.subarray(0, 160),
        t.subarray(160),
      );
      const r = await runMain(main, [
        "--model",
        fx.unit,
        A,
        ...fx.lookup,
        B,
        "--scorer",
        scorer,
        "--json",
        "--backend",
        "cpu",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 1);
      const got = JSON.parse(lines[0]);
      assert.equal(got.model, fx.key);
      assert.equal(got.scorer, scorer);
      assert.equal(got.score, want.score);
      assert.equal(got.threshold, want.threshold);
      assert.equal(got.same, want.same);
      assert.equal(got.decision, want.same ? "same" : "different");
      assert.equal(got.alignment, "fixed_lfw_box");
    }
    // One image against itself: distance 0, "same" by l2 whatever the threshold (< 0).
    const self = await runMain(main, [
      "--model",
      fx.unit,
      ...fx.lookup,
      A,
      A,
      "--scorer",
      "l2",
      "--backend",
      "cpu",
    ]);
    assert.equal(self.code, 0, self.stderr);
    assert.match(
      self.stdout,
      /^model +0{23}1 \(joint_lambda:lambda=0\.05:seed1\)$/m,
    );
    assert.match(self.stdout, /^score +0\.00000$/m);
    assert.match(
      self.stdout,
      /^threshold +-?[\d.e+-]+ \(chosen on 20 validation pairs, accuracy [\d.]+ %\)$/m,
    );
    assert.match(self.stdout, /^decision +same \(score >= threshold\)$/m);
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("verify: no scoring file, a bad image, a bad name, a bad command line", async () => {
  const fx = await modelFixture({ scoring: false });
  try {
    const run = (args: string[]) =>
      runMain(main, [...args, "--backend", "cpu"]);
    let r = await run(["--model", fx.modelPath, A, B]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /has no scoring file .*\.scoring\.json: it holds the validation thresholds/,
    );
    r = await run([
      "--model",
      "joint_lambda:lambda=0.05:seed2",
      ...fx.lookup,
      A,
      B,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no unit lambda=0\.05 seed 2 in /);
    const fy = await modelFixture({ seed: 2 });
    try {
      r = await run([
        "--model",
        fy.modelPath,
        A,
        `${TINY_DATA}/../not_an_image.jpg`,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not_an_image\.jpg: does not decode as an image/);
    } finally {
      await Deno.remove(fy.dir, { recursive: true });
    }
    r = await run(["--model", fx.modelPath, A]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected two images, got 1/);
    r = await run(["--model", fx.modelPath, A, B, "--scorer", "svm"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--scorer must be l2, cosine, joint_bayesian, not "svm"/,
    );
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("verify: flags and their values are told from the two images", () => {
  assert.deepEqual(
    splitPositional(
      ["--model", "m", "a.jpg", "--json", "b.jpg", "--scorer=l2"],
      VERIFY_FLAGS,
    ),
    {
      flags: ["--model", "m", "--json", "--scorer=l2"],
      positional: ["a.jpg", "b.jpg"],
    },
  );
});

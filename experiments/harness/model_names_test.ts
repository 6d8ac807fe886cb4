import assert from "node:assert/strict";
import {
  checkOutputPath,
  parseUnitName,
  resolveModel,
  resultsFolder,
} from "./model_names.ts";

const K1 = "aaaaaaaaaaaaaaaaaaaaaaa1";
const K2 = "aaaaaaaaaaaaaaaaaaaaaaa2";
const K3 = "aaaaaaaaaaaaaaaaaaaaaaa3";

/** A results folder with joint_lambda units (two seeds of λ = 0.05, one of λ = 0) and a cache. */
async function fixture(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const jl = `${dir}/results/joint_lambda`;
  await Deno.mkdir(jl, { recursive: true });
  await Deno.mkdir(`${dir}/results/final_system`, { recursive: true });
  await Deno.mkdir(`${dir}/cache/models`, { recursive: true });
  const unit = (file: string, model: string) =>
    Deno.writeTextFile(file, JSON.stringify({ key: "x", model }));
  await unit(`${jl}/lambda=0.05_seed1.json`, K1);
  await unit(`${jl}/lambda=0.05_seed2.json`, K2);
  await unit(`${jl}/lambda=0_seed1.json`, K3);
  await Deno.writeTextFile(`${jl}/lambda=0_seed1.csv`, "");
  await unit(`${dir}/results/joint_lambda.meta.json`, K1);
  // A combination: its key names no model file.
  await unit(
    `${dir}/results/final_system/all+flips_seed1.json`,
    "b".repeat(24),
  );
  for (const k of [K1, K2, K3]) {
    await Deno.writeTextFile(`${dir}/cache/models/${k}.model`, "");
  }
  return dir;
}

Deno.test("model names: a unit, a key and a file resolve to the model and its scoring file", async () => {
  const dir = await fixture();
  try {
    const lookup = { results: `${dir}/results`, cache: `${dir}/cache` };
    const u = await resolveModel("joint_lambda:lambda=0.05:seed2", lookup);
    assert.equal(u.key, K2);
    assert.equal(u.path, `${dir}/cache/models/${K2}.model`);
    assert.equal(u.scoringPath, `${dir}/cache/models/${K2}.scoring.json`);
    assert.equal(u.kind, "unit");
    assert.deepEqual(u.unit, {
      experiment: "joint_lambda",
      config: "lambda=0.05",
      seed: 2,
      file: `${dir}/results/joint_lambda/lambda=0.05_seed2.json`,
    });
    // One seed there: no :seedK needed.
    assert.equal((await resolveModel("joint_lambda:lambda=0", lookup)).key, K3);
    const k = await resolveModel(K1, lookup);
    assert.equal(k.kind, "key");
    assert.equal(k.path, `${dir}/cache/models/${K1}.model`);
    const f = await resolveModel(`${dir}/cache/models/${K3}.model`);
    assert.equal(f.kind, "file");
    assert.equal(f.key, K3);
    assert.equal(f.scoringPath, `${dir}/cache/models/${K3}.scoring.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model names: nothing or more than one match is an error naming where it looked and what is there", async () => {
  const dir = await fixture();
  try {
    const lookup = { results: `${dir}/results`, cache: `${dir}/cache` };
    await assert.rejects(
      resolveModel("joint_lambda:lambda=0.5:seed1", lookup),
      (e: Error) => {
        assert.match(
          e.message,
          /no unit lambda=0\.5 seed 1 in .*results\/joint_lambda\//,
        );
        assert.match(
          e.message,
          /there: lambda=0 \(seed 1\), lambda=0\.05 \(seeds 1, 2\)/,
        );
        return true;
      },
    );
    await assert.rejects(
      resolveModel("joint_lambda:lambda=0.05", lookup),
      /matches 2 units in .*joint_lambda\/: joint_lambda:lambda=0\.05:seed1, joint_lambda:lambda=0\.05:seed2; add :seedK/,
    );
    await assert.rejects(
      resolveModel("nosuch:lambda=0:seed1", lookup),
      /no experiment nosuch in .*results\/ \(experiments there: final_system, joint_lambda\)/,
    );
    await assert.rejects(
      resolveModel("final_system:all+flips:seed1", lookup),
      /all\+flips_seed1\.json names model b{24}, but .*b{24}\.model does not exist \(a unit that combines/,
    );
    await assert.rejects(
      resolveModel("c".repeat(24), lookup),
      new RegExp(`model c{24}: no ${dir}/cache/models/c{24}\\.model`),
    );
    await assert.rejects(
      resolveModel(`${dir}/none.model`),
      /none\.model: model file not found/,
    );
    await assert.rejects(
      resolveModel("lambda", lookup),
      /expected EXPERIMENT:CONFIG\[:seedK\]/,
    );
    await assert.rejects(
      resolveModel("joint_lambda:lambda=0:seed1", { results: `${dir}/empty` }),
      /no experiment joint_lambda in .*empty\/ \(no results there/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model names: unit names split on the first colon and an optional :seedK", () => {
  assert.deepEqual(parseUnitName("joint_lambda:lambda=0.05:seed1"), {
    experiment: "joint_lambda",
    config: "lambda=0.05",
    seed: 1,
  });
  assert.deepEqual(parseUnitName("x:a:b"), {
    experiment: "x",
    config: "a:b",
    seed: undefined,
  });
  assert.deepEqual(parseUnitName("x:seed3"), {
    experiment: "x",
    config: "seed3",
    seed: undefined,
  });
  assert.equal(resultsFolder("quick"), "results");
  assert.equal(resultsFolder("smoke"), "results/smoke");
  assert.throws(() => resultsFolder("huge"), /unknown profile "huge"/);
});

Deno.test("output paths: a missing folder or a folder as the file are errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkOutputPath(`${dir}/f.csv`);
    await assert.rejects(
      checkOutputPath(`${dir}/nope/f.csv`),
      new RegExp(`--out ${dir}/nope/f.csv: folder ${dir}/nope does not exist`),
    );
    await assert.rejects(checkOutputPath(dir), /is a folder/);
    await assert.rejects(checkOutputPath(""), /--out FILE is required/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

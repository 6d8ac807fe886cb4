import assert from "node:assert/strict";
import { Rng } from "../base/rng.ts";
import type { Pair } from "../faces.ts";
import {
  buildScoringFile,
  decidePair,
  loadScoringFile,
  parseScoringFile,
  saveScoringFile,
  scoringFilePath,
  type ScoringInputs,
  scoringInputsHash,
  scoringScorers,
  writeScoringFile,
} from "./scoring_file.ts";
import { scorePairs, standardScorers } from "./scorers.ts";
import { bestAccuracyThreshold } from "./verification.ts";

const DIM = 6;

/** Features of `ids` identities x `per` images around a centre each, `[N, DIM]`. */
function clustered(rng: Rng, ids: number, per: number) {
  const labels = Int32Array.from(
    { length: ids * per },
    (_, i) => Math.floor(i / per),
  );
  const centres = Array.from(
    { length: ids },
    () => Array.from({ length: DIM }, () => 2 * rng.normal()),
  );
  const f = new Float32Array(labels.length * DIM);
  labels.forEach((l, i) => {
    for (let k = 0; k < DIM; k++) {
      f[i * DIM + k] = Math.max(0, centres[l][k] + 0.5 * rng.normal());
    }
  });
  return { labels, f };
}

function inputs(): ScoringInputs {
  const rng = new Rng(3);
  const held = clustered(rng, 8, 5);
  const val = clustered(rng, 6, 4);
  const pairs: Pair[] = [];
  for (let i = 0; i < 24; i++) {
    for (let j = i + 1; j < 24; j += 3) {
      pairs.push({
        fold: i % 10,
        same: val.labels[i] === val.labels[j],
        a: i,
        b: j,
      });
    }
  }
  return {
    model: "0123456789abcdef01234567",
    crop: {
      height: 47,
      width: 47,
      gray: true,
      patch: { cx: 23, cy: 20, zoom: 1.5 },
    },
    dim: DIM,
    pcaDim: 4,
    heldOutFeatures: held.f,
    heldOutLabels: held.labels,
    validationFeatures: val.f,
    validationPairs: pairs,
  };
}

Deno.test("scoring file: the experiments' Joint Bayesian and the pooled validation thresholds", () => {
  const inp = inputs();
  const { file, scorers } = buildScoringFile(inp);
  // The same model as standardScorers fits: the same scores on every pair.
  const standard = standardScorers(
    inp.heldOutLabels,
    inp.heldOutFeatures,
    DIM,
    4,
  );
  const labels = inp.validationPairs.map((p) => (p.same ? 1 : 0));
  for (const s of standard) {
    const want = scorePairs(
      inp.validationFeatures,
      DIM,
      inp.validationPairs,
      s,
    );
    const mine = scorers[s.name as "l2"]!;
    assert.deepEqual(
      scorePairs(inp.validationFeatures, DIM, inp.validationPairs, mine),
      want,
    );
    assert.deepEqual(
      file.thresholds[s.name as "l2"],
      bestAccuracyThreshold(labels, want),
    );
  }
  assert.equal(file.model, inp.model);
  assert.equal(file.featureDim, DIM);
  assert.deepEqual(file.crop, inp.crop);
  assert.equal(file.jointBayesian!.pcaDim, 4);
  assert.equal(file.validation.pairs, inp.validationPairs.length);
  assert.equal(
    file.validation.same + file.validation.different,
    file.validation.pairs,
  );
  assert.deepEqual(file.heldOut, { images: 40, identities: 8 });
  assert.ok(file.thresholds.joint_bayesian!.accuracy > 0.5);
});

Deno.test("scoring file: save, load, the same scorers and decisions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inp = inputs();
    const path = await writeScoringFile(dir, inp);
    assert.equal(path, scoringFilePath(dir, inp.model));
    assert.equal(path, `${dir}/models/${inp.model}.scoring.json`);
    const { file } = buildScoringFile(inp);
    const back = await loadScoringFile(path);
    assert.deepEqual(back, { ...file, inputs: await scoringInputsHash(inp) });
    const a = inp.validationFeatures.subarray(0, DIM);
    const b = inp.validationFeatures.subarray(DIM, 2 * DIM);
    for (const name of ["l2", "cosine", "joint_bayesian"] as const) {
      const d = decidePair(back, name, a, b);
      const direct: number = scorePairs(
        inp.validationFeatures,
        DIM,
        [{ a: 0, b: 1 }],
        scoringScorers(back)[name]!,
      )[0];
      assert.equal(d.score, direct);
      assert.equal(d.threshold, file.thresholds[name]!.threshold);
      assert.equal(d.same, d.score >= d.threshold);
    }
    assert.throws(() => decidePair(back, "l2", a, [1, 2]), /is for 6/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scoring file: infinite thresholds and an unfittable Joint Bayesian survive the round trip", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inp = inputs();
    // Dead features: no variance anywhere, every pair scores alike.
    inp.heldOutFeatures = new Float32Array(inp.heldOutFeatures.length);
    inp.validationFeatures = new Float32Array(inp.validationFeatures.length);
    const { file } = buildScoringFile(inp);
    assert.equal(file.jointBayesian, null);
    assert.equal(file.thresholds.joint_bayesian, null);
    assert.ok(!Number.isFinite(file.thresholds.l2!.threshold));
    await saveScoringFile(`${dir}/s.json`, file);
    assert.match(await Deno.readTextFile(`${dir}/s.json`), /"Infinity"/);
    const back = await loadScoringFile(`${dir}/s.json`);
    assert.deepEqual(back, file);
    assert.throws(
      () =>
        decidePair(
          back,
          "joint_bayesian",
          new Array(DIM).fill(0),
          new Array(DIM).fill(0),
        ),
      /no joint_bayesian scorer .* use l2 or cosine/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scoring file: missing, truncated or foreign files name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadScoringFile(`${dir}/none.json`),
      new RegExp(`${dir}/none.json: scoring file not found`),
    );
    const text = JSON.stringify(buildScoringFile(inputs()).file);
    assert.throws(
      () => parseScoringFile(text.slice(0, 200), "s.json"),
      /s\.json: not a deepid2 scoring file \(not JSON/,
    );
    assert.throws(
      () => parseScoringFile('{"format":"x"}', "s.json"),
      /s\.json: .*format\/version/,
    );
    const j = JSON.parse(text);
    j.jointBayesian.mean = j.jointBayesian.mean.slice(1);
    assert.throws(
      () => parseScoringFile(JSON.stringify(j), "s.json"),
      /s\.json: .*jointBayesian: model field mean/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scoring file: written once per set of inputs, rewritten when they change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const inp = inputs();
    const path = await writeScoringFile(dir, inp);
    // Mark the file: a second write with the same inputs keeps it.
    const marked = JSON.parse(await Deno.readTextFile(path));
    marked.heldOut.images = 999;
    await Deno.writeTextFile(path, JSON.stringify(marked));
    await writeScoringFile(dir, inp);
    assert.equal((await loadScoringFile(path)).heldOut.images, 999);
    // Other features: fitted and written again.
    inp.heldOutFeatures = inp.heldOutFeatures.map((v) => v * 2);
    await writeScoringFile(dir, inp);
    const again = await loadScoringFile(path);
    assert.equal(again.heldOut.images, 40);
    assert.equal(again.inputs, await scoringInputsHash(inp));
    // An unreadable file is replaced.
    await Deno.writeTextFile(path, "{");
    await writeScoringFile(dir, inp);
    assert.equal((await loadScoringFile(path)).heldOut.images, 40);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

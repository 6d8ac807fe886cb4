import assertStrict from "node:assert/strict";
import type { FaceSet } from "../../lib/faces.ts";
import {
  deadFeatureFraction,
  lambdaName,
  makeScorers,
  parseFlags,
  subsetTrain,
} from "./run.ts";

function faceSet(labels: number[]): FaceSet {
  return {
    images: new Uint8Array(labels.length * 2).map((_, i) => i),
    shape: [1, 2, 1],
    labels: Int32Array.from(labels),
    identities: Array.from(
      { length: Math.max(...labels) + 1 },
      (_, i) => `id${i}`,
    ),
    paths: labels.map((_, i) => `p${i}`),
  };
}

Deno.test("makeScorers: collapsed (all-zero) features score every pair alike instead of failing", () => {
  const set = faceSet([0, 0, 1, 1]);
  const scorers = makeScorers(set, new Float32Array(4 * 3), 3, 2);
  assertStrict.deepEqual(scorers.map((s) => s.name), [
    "l2",
    "cosine",
    "joint_bayesian",
  ]);
  const jb = scorers[2].prepare(new Float32Array(6), 3);
  assertStrict.equal(jb(0, 1), 0);
});

Deno.test("deadFeatureFraction: dimensions zero on every image", () => {
  // 3 images x 4 dims; dims 1 and 3 never fire.
  const f = Float32Array.from([1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0]);
  assertStrict.equal(deadFeatureFraction(f, 4), 0.5);
});

Deno.test("subsetTrain: n identities of a seeded order, labels remapped, images kept with their labels", () => {
  const set = faceSet([0, 1, 2, 0, 1, 2]);
  const sub = subsetTrain(set, 2, 1);
  assertStrict.equal(sub.identities.length, 2);
  assertStrict.equal(sub.labels.length, 4);
  for (let k = 0; k < sub.labels.length; k++) {
    const src = set.paths.indexOf(sub.paths[k]);
    assertStrict.equal(
      sub.identities[sub.labels[k]],
      set.identities[set.labels[src]],
    );
    assertStrict.deepEqual(
      Array.from(sub.images.subarray(2 * k, 2 * k + 2)),
      Array.from(set.images.subarray(2 * src, 2 * src + 2)),
    );
  }
  assertStrict.deepEqual(subsetTrain(set, 2, 1), sub, "seeded");
  assertStrict.equal(subsetTrain(set, 5, 1), set, "n >= all: the whole set");
  assertStrict.throws(() => subsetTrain(set, 1, 1), /at least 2/);
});

Deno.test("parseFlags: defaults, shards, resume, and clear errors", () => {
  const f = parseFlags([
    "--profile",
    "smoke",
    "--shard",
    "1/3",
    "--resume=false",
    "--steps=5",
  ]);
  assertStrict.equal(f.profile, "smoke");
  assertStrict.deepEqual(f.shard, [1, 3]);
  assertStrict.equal(f.resume, false);
  assertStrict.deepEqual(f.overrides, { steps: "5" });
  assertStrict.equal(parseFlags([]).resume, true);
  assertStrict.throws(
    () => parseFlags(["--shard", "3/3"]),
    /--shard must be i\/n/,
  );
  assertStrict.throws(
    () => parseFlags(["--seed", "x"]),
    /--seed must be an integer/,
  );
  assertStrict.throws(
    () => parseFlags(["stray"]),
    /unexpected argument "stray"/,
  );
  assertStrict.equal(lambdaName(Infinity), "inf");
  assertStrict.equal(lambdaName(0.05), "0.05");
});

Deno.test("parseFlags: quick writes to results/, other profiles to results/<profile>/ unless --out", () => {
  assertStrict.equal(parseFlags([]).out, "results");
  assertStrict.equal(parseFlags(["--profile", "smoke"]).out, "results/smoke");
  assertStrict.equal(parseFlags(["--profile", "paper", "--out", "x"]).out, "x");
});

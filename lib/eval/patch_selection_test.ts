import assert from "node:assert/strict";
import { Rng } from "../base/rng.ts";
import type { Pair } from "../faces.ts";
import { fitJointBayesian } from "./joint_bayesian.ts";
import {
  concatFeatures,
  greedySelect,
  type SelectionFeatures,
  selectPatches,
  validationScore,
} from "./patch_selection.ts";
import { jointBayesianScorer } from "./scorers.ts";
import { verifyPairs } from "./verification.ts";

Deno.test("concatFeatures: each face's parts side by side, in order", () => {
  const a = Float32Array.from([1, 2, 3, 4]); // 2 faces x 2
  const b = Float32Array.from([5, 6, 7]); // 2 faces... 3 values is not 2 x 2
  assert.throws(() => concatFeatures([a, b], [2, 2]), /part 1 has 3 values/);
  const c = Float32Array.from([9, 8]); // 2 faces x 1
  assert.deepEqual(
    [...concatFeatures([a, c], [2, 1])],
    [1, 2, 9, 3, 4, 8],
  );
});

/**
 * A hand-made score table over subsets of 4 candidates (bit k = candidate
 * k) where forward selection alone ends at {0, 1, 2} (0.80) and the best
 * subset of all, {0, 2} (0.81), needs the backward pass.
 */
const TABLE: Record<number, number> = {
  0b0001: 0.68,
  0b0010: 0.70,
  0b0100: 0.66,
  0b1000: 0.60,
  0b0011: 0.72,
  0b0110: 0.74,
  0b1010: 0.71,
  0b0101: 0.81,
  0b1001: 0.62,
  0b1100: 0.64,
  0b0111: 0.80,
  0b1110: 0.75,
  0b1011: 0.70,
  0b1101: 0.69,
  0b1111: 0.79,
};
const fromTable = (set: readonly number[]) =>
  TABLE[set.reduce((m, k) => m | (1 << k), 0)];

Deno.test("greedySelect: forward then backward finds the table's best subset", () => {
  const best = Object.entries(TABLE).sort((x, y) => y[1] - x[1])[0];
  assert.equal(Number(best[0]), 0b0101, "the table's best subset is {0, 2}");
  const s = greedySelect(4, fromTable);
  assert.deepEqual([...s.selected].sort(), [0, 2]);
  assert.equal(s.score, 0.81);
  assert.deepEqual(
    s.steps.map((x) => [x.pass, x.candidate, x.score]),
    [
      ["forward", 1, 0.70],
      ["forward", 2, 0.74],
      ["forward", 0, 0.80],
      ["forward", 3, 0.79],
      ["backward", 1, 0.81],
    ],
  );
  // maxSize stops the forward pass early.
  const two = greedySelect(4, fromTable, { maxSize: 2 });
  assert.deepEqual(two.steps.filter((x) => x.pass === "forward").length, 2);
  assert.deepEqual(two.selected, [1, 2]);
});

/** Features of `n` faces, `perId` per identity: identity signal plus noise, `dim` wide. */
function faces(seed: number, ids: number, perId: number, dim: number) {
  const rng = new Rng(seed);
  const labels = new Int32Array(ids * perId);
  const f = new Float32Array(ids * perId * dim);
  for (let i = 0; i < ids; i++) {
    const mu = Array.from({ length: dim }, () => rng.normal());
    for (let j = 0; j < perId; j++) {
      const r = i * perId + j;
      labels[r] = i;
      for (let k = 0; k < dim; k++) {
        f[r * dim + k] = mu[k] + 0.8 * rng.normal();
      }
    }
  }
  return { f, labels };
}

/** Pairs over `ids` identities of `perId` faces, 10 folds of same and different pairs. */
function pairsOf(ids: number, perId: number): Pair[] {
  const out: Pair[] = [];
  for (let i = 0; i < ids; i++) {
    const fold = i % 10;
    out.push({ fold, same: true, a: i * perId, b: i * perId + 1 });
    const o = (i + 1) % ids;
    out.push({ fold, same: false, a: i * perId + 2, b: o * perId });
  }
  return out;
}

/** Two patches' features of the same faces: the columns of one wider draw. */
function twoPatches(dims: [number, number]) {
  const held = faces(1, 40, 4, dims[0] + dims[1]);
  const val = faces(2, 40, 4, dims[0] + dims[1]);
  const split = (f: Float32Array, lo: number, d: number) => {
    const total = dims[0] + dims[1], n = f.length / total;
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      out.set(f.subarray(i * total + lo, i * total + lo + d), i * d);
    }
    return out;
  };
  const patches: SelectionFeatures[] = [
    {
      heldOut: split(held.f, 0, dims[0]),
      validation: split(val.f, 0, dims[0]),
      dim: dims[0],
    },
    {
      heldOut: split(held.f, dims[0], dims[1]),
      validation: split(val.f, dims[0], dims[1]),
      dim: dims[1],
    },
  ];
  return { held, val, patches };
}

Deno.test("validationScore: PCA + Joint Bayesian on concatenated patches equals the direct computation", () => {
  const dims: [number, number] = [6, 4];
  const { held, val, patches } = twoPatches(dims);
  const validationPairs = pairsOf(40, 4);
  const data = {
    patches,
    heldOutLabels: held.labels,
    validationPairs,
    pcaDim: 8,
  };
  // Direct: the undivided 10-wide features, PCA to 8, Joint Bayesian.
  const jb = jointBayesianScorer(
    fitJointBayesian(held.f, 10, held.labels, { pcaDim: 8, maxIter: 200 }),
  );
  const direct = verifyPairs(val.f, 10, validationPairs, [jb])
    .get("joint_bayesian")!.accuracy_mean;
  assert.ok(direct > 0.6, `the draw is separable: ${direct}`);
  assert.equal(validationScore(data, [0, 1]), direct);
  assert.equal(validationScore(data, [1, 0]), direct, "order does not matter");
  // One patch alone is a different, weaker computation.
  assert.notEqual(validationScore(data, [1]), direct);
});

Deno.test("selectPatches: no test feature reaches selection", () => {
  const { held, patches } = twoPatches([6, 4]);
  const data = {
    patches,
    heldOutLabels: held.labels,
    validationPairs: pairsOf(40, 4),
    pcaDim: 8,
  };
  // What a caller holds per patch: the test features too, here poisoned.
  // Selection is handed the same objects and must give the same answer.
  const withTest = patches.map((p) => ({
    ...p,
    test: new Float32Array(p.validation.length).fill(NaN),
  }));
  const clean = selectPatches(data);
  const poisoned = selectPatches({ ...data, patches: withTest });
  assert.deepEqual(poisoned, clean);
  assert.ok(clean.steps.every((s) => Number.isFinite(s.score)));
});

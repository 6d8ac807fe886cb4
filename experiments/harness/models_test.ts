import assertStrict from "node:assert/strict";
import type { FaceSet } from "../../lib/faces.ts";
import { backendKey, subsetTrain } from "./models.ts";

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

Deno.test("validate: learning-curve numbers come from the validation pairs only", async () => {
  const { initBackend } = await import("../../lib/engine/backend.ts");
  const { createDeepID2, defaultModelConfig, disposeModel } = await import(
    "../../lib/nn/model.ts"
  );
  const { Rng } = await import("../../lib/base/rng.ts");
  const { validate } = await import("./models.ts");
  const info = await initBackend("cpu", { quiet: true });
  const net = createDeepID2(
    { ...defaultModelConfig(4), inputShape: [55, 47, 3] },
    1,
    { paths: info.paths },
  );
  try {
    const rng = new Rng(3);
    const n = 20;
    const per = 55 * 47 * 3;
    const validation = {
      images: Uint8Array.from({ length: n * per }, () => rng.int(256)),
      shape: [55, 47, 3] as [number, number, number],
      labels: Int32Array.from({ length: n }, (_, i) => i % 10),
      identities: Array.from({ length: 10 }, (_, i) => `v${i}`),
      paths: Array.from({ length: n }, (_, i) => `v/${i}.jpg`),
    };
    const validationPairs = Array.from({ length: 20 }, (_, k) => ({
      fold: Math.floor(k / 2), // one same and one different pair per fold
      same: k % 2 === 0,
      a: k % n,
      b: (k + (k % 2 === 0 ? 10 : 1)) % n,
    }));
    const empty = {
      images: new Uint8Array(0),
      shape: [55, 47, 3] as [number, number, number],
      labels: new Int32Array(0),
      identities: [],
      paths: [],
    };
    // No test images and no test pairs at all: validate still runs.
    const dataset = {
      train: empty,
      heldOut: empty,
      test: empty,
      pairs: [],
      numFolds: 10,
      validation,
      validationPairs,
      info: {},
    };
    const a = await validate(net, dataset, 8);
    assertStrict.ok(a.l2 >= 0 && a.l2 <= 1);
    // Swapping the validation labels changes the answer: it reads them.
    const flipped = await validate(net, {
      ...dataset,
      validationPairs: validationPairs.map((p) => ({ ...p, same: !p.same })),
    }, 8);
    assertStrict.ok(a.l2 !== flipped.l2 || a.cosine !== flipped.cosine);
  } finally {
    disposeModel(net);
  }
});

Deno.test("backendKey: the native backends name their libtensorflow when it is not 2.9.1", () => {
  assertStrict.equal(backendKey("tensorflow", "2.9.1"), "tensorflow");
  assertStrict.equal(backendKey("tensorflow-gpu", "2.9.1"), "tensorflow-gpu");
  assertStrict.equal(backendKey("tensorflow", "2.18.0"), "tensorflow@2.18.0");
  assertStrict.equal(backendKey("wasm", undefined), "wasm");
  assertStrict.equal(backendKey("wasm", "2.18.0"), "wasm");
});

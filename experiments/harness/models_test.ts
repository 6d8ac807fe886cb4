import assertStrict from "node:assert/strict";
import type { FaceSet } from "../../lib/faces.ts";
import { subsetTrain } from "./models.ts";

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

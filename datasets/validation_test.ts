import assert from "node:assert/strict";
import type { FaceSet, Pair } from "../lib/faces.ts";
import {
  buildVerificationPairs,
  carveValidationIdentities,
  defaultValidationCount,
  foldShortfall,
  VALIDATION_FOLDS,
  view1Folds,
} from "./validation.ts";

/** A FaceSet of 1x1 gray images with `perId[k]` images of identity k. */
function fakeSet(perId: number[]): FaceSet {
  const labels: number[] = [];
  perId.forEach((k, id) => {
    for (let j = 0; j < k; j++) labels.push(id);
  });
  // Interleave identities so that grouping by label is exercised.
  const order = labels.map((_, i) => i).sort((a, b) =>
    (a % 3) - (b % 3) || a - b
  );
  const shuffled = order.map((i) => labels[i]);
  return {
    images: new Uint8Array(shuffled.length),
    shape: [1, 1, 1],
    labels: Int32Array.from(shuffled),
    identities: perId.map((_, id) => `id${id}`),
    paths: shuffled.map((l, i) => `id${l}/${i}.jpg`),
  };
}

function checkPairs(set: FaceSet, pairs: Pair[]): void {
  const keys = new Set<string>();
  for (const p of pairs) {
    assert.ok(p.a >= 0 && p.a < set.labels.length);
    assert.ok(p.b >= 0 && p.b < set.labels.length);
    assert.ok(p.a < p.b, "a < b");
    assert.equal(set.labels[p.a] === set.labels[p.b], p.same);
    assert.ok(p.fold >= 0 && p.fold < VALIDATION_FOLDS);
    keys.add(`${p.a},${p.b}`);
  }
  assert.equal(keys.size, pairs.length, "pairs are distinct");
  assert.equal(foldShortfall(pairs), null);
  // ordered by fold, same pairs first within a fold
  for (let i = 1; i < pairs.length; i++) {
    const [x, y] = [pairs[i - 1], pairs[i]];
    assert.ok(x.fold < y.fold || (x.fold === y.fold && (x.same || !y.same)));
  }
}

Deno.test("view1Folds: the k-th pair of each kind goes to fold floor(10k/N)", () => {
  // LFW View 1: 1100 + 500 same pairs, and as many different, per file.
  const entries = [
    ...Array(1100).fill({ same: true }),
    ...Array(1100).fill({ same: false }),
    ...Array(500).fill({ same: true }),
    ...Array(500).fill({ same: false }),
  ];
  const folds = view1Folds(entries);
  for (let f = 0; f < 10; f++) {
    const inFold = entries.filter((_, i) => folds[i] === f);
    assert.equal(inFold.filter((e) => e.same).length, 160);
    assert.equal(inFold.filter((e) => !e.same).length, 160);
  }
  // the 1101st same pair (k = 1100, in pairsDevTest.txt) is in fold 6
  assert.equal(folds[2200], Math.floor(10 * 1100 / 1600));
  assert.deepEqual(
    view1Folds([{ same: true }, { same: false }, { same: true }], 2),
    [0, 0, 1],
  );
});

Deno.test("buildVerificationPairs: seeded, distinct, right kinds, 10 folds each with both", () => {
  // Few pairs available: all same pairs are enumerated, the count is capped.
  const small = fakeSet([5, 2, 3, 1]);
  const p = buildVerificationPairs(small, { seed: 3 });
  // same pairs: C(5,2) + C(2,2) + C(3,2) = 14 < 1600
  assert.equal(p.filter((x) => x.same).length, 14);
  assert.equal(p.filter((x) => !x.same).length, 14);
  checkPairs(small, p);
  assert.deepEqual(buildVerificationPairs(small, { seed: 3 }), p);
  assert.notDeepEqual(buildVerificationPairs(small, { seed: 4 }), p);
  // Many available: sampled, capped by the target.
  const big = fakeSet(Array(60).fill(8));
  const q = buildVerificationPairs(big, { seed: 1, pairsPerKind: 300 });
  assert.equal(q.length, 600);
  checkPairs(big, q);
  for (let f = 0; f < 10; f++) {
    assert.equal(q.filter((x) => x.fold === f && x.same).length, 30);
  }
  assert.deepEqual(
    buildVerificationPairs(big, { seed: 1, pairsPerKind: 300 }),
    q,
  );
  // Default size: View 1's 1600 of each kind.
  assert.equal(buildVerificationPairs(big, { seed: 1 }).length, 3200);
});

Deno.test("foldShortfall: names the first fold lacking a kind", () => {
  const pairs = buildVerificationPairs(fakeSet([2, 2, 2]), { seed: 1 });
  assert.equal(pairs.filter((x) => x.same).length, 3);
  assert.match(
    foldShortfall(pairs)!,
    /^fold 1 has no same pair \(3 same and 3 different pairs in all; 10 folds need at least 10 of each\)$/,
  );
  assert.equal(
    foldShortfall([]),
    "fold 0 has no same pair (0 same and 0 different pairs in all; 10 folds need at least 10 of each)",
  );
});

Deno.test("carveValidationIdentities: seeded, sorted, only identities with 2+ images", () => {
  const set = fakeSet([3, 1, 2, 4, 1, 2, 5, 2]);
  const a = carveValidationIdentities(set, { count: 3, seed: 9 });
  assert.equal(a.length, 3);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  assert.ok(a.every((id) => id !== 1 && id !== 4));
  assert.deepEqual(carveValidationIdentities(set, { count: 3, seed: 9 }), a);
  const seen = new Set<string>();
  for (let s = 0; s < 20; s++) {
    seen.add(carveValidationIdentities(set, { count: 3, seed: s }).join());
  }
  assert.ok(seen.size > 1, "other seeds carve other identities");
  assert.throws(
    () => carveValidationIdentities(set, { count: 7, seed: 1 }),
    /asked for 7 validation identities, the data has 6 with 2 or more images/,
  );
  assert.throws(
    () => carveValidationIdentities(set, { count: 1, seed: 1 }),
    /must be an integer >= 2/,
  );
  assert.equal(defaultValidationCount(3), 2);
  assert.equal(defaultValidationCount(10177), 509);
});

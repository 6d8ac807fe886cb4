import assertStrict from "node:assert/strict";
import { useBackend } from "../_test_helpers.ts";
import { tf } from "./tf.ts";

Deno.test("wasm Slice override equals the cpu backend on every rank and offset pattern", async () => {
  const cases: [number[], number[], number[]][] = [
    [[4, 5, 6, 7], [1, 2, 0, 3], [2, 3, 6, 4]],
    [[4, 5, 6, 7], [1, 0, 0, 0], [2, 5, 6, 7]],
    [[4, 5, 6, 7], [0, 1, 2, 0], [4, 3, 3, 7]],
    [[10, 8], [3, 2], [4, 5]],
    [[3, 4, 5], [0, 1, 0], [3, 2, 5]],
    [[2, 3, 4, 5, 6], [0, 1, 1, 0, 2], [2, 2, 3, 5, 3]],
    [[6], [2], [3]],
    [[3, 4], [1, 0], [0, 4]],
  ];
  for (const [shape, begin, size] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: n }, (_, i) => i);
    const out: number[][] = [];
    for (const b of ["cpu", "wasm"] as const) {
      await useBackend(b);
      out.push(
        Array.from(await tf.slice(tf.tensor(vals, shape), begin, size).data()),
      );
    }
    assertStrict.deepEqual(out[1], out[0], `slice ${shape} ${begin} ${size}`);
  }
  await useBackend("wasm");
  const ints = tf.slice(tf.tensor([1, 2, 3, 4], [2, 2], "int32"), [1, 0], [
    1,
    2,
  ]);
  assertStrict.equal(ints.dtype, "int32");
  assertStrict.deepEqual(Array.from(await ints.data()), [3, 4]);
});

Deno.test("wasm Sum override: a sum over leading axes has the stock kernel's bits; other sums run the stock kernel", async () => {
  await useBackend("wasm");
  // Values over many magnitudes, so that another order of summation shows.
  const x = tf.tidy(() =>
    tf.randomNormal([16, 13, 11, 20], 0, 3, "float32", 5).mul(
      tf.randomUniform([16, 13, 11, 20], -8, 8, "float32", 6).exp(),
    )
  );
  const ours = tf.sum(x, [0, 1, 2]);
  // The same sums with the reduced axes innermost: the stock kernel, in order.
  const stock = tf.sum(tf.transpose(x, [3, 0, 1, 2]), [1, 2, 3]);
  assertStrict.deepEqual(
    new Uint32Array((await ours.data()).buffer),
    new Uint32Array((await stock.data()).buffer),
  );
  const kept = tf.sum(x, [0, 1], true);
  assertStrict.deepEqual(kept.shape, [1, 1, 11, 20]);
  const last = tf.sum(tf.tensor2d([[1, 2], [3, 4]]), 1);
  assertStrict.deepEqual(Array.from(await last.data()), [3, 7]);
  const ints = tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), 0);
  assertStrict.deepEqual(Array.from(await ints.data()), [4, 6]);
});

Deno.test("wasm Identity shares its input's data; MaxPoolGrad falls back to the stock kernel off 2x2", async () => {
  await useBackend("wasm");
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const b = tf.clone(a);
  a.dispose();
  assertStrict.deepEqual(Array.from(await b.data()), [1, 2, 3, 4]);
  const grads: number[][] = [];
  for (const name of ["cpu", "wasm"] as const) {
    await useBackend(name);
    // Distinct values (151 is prime): no ties, whose winner differs.
    const x = tf.tensor4d(
      Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => (i * 37) % 151),
      [2, 5, 5, 3],
    );
    const g = tf.grad((t: tf.Tensor) =>
      tf.maxPool(t as tf.Tensor4D, 3, 1, "valid").sum()
    )(x);
    grads.push(Array.from(await g.data()));
  }
  assertStrict.deepEqual(grads[1], grads[0]);
});

Deno.test("wasm Concat and Transpose overrides equal the cpu backend bit for bit on every axis and permutation pattern", async () => {
  const concats: [number[][], number][] = [
    [[[4, 5, 6, 7], [4, 5, 6, 3]], 3],
    [[[4, 5, 6, 7], [4, 2, 6, 7], [4, 1, 6, 7]], 1],
    [[[2, 3], [5, 3]], 0],
    [[[2, 0], [2, 3], [2, 1]], 1],
  ];
  const transposes: [number[], number[]][] = [
    [[12, 8], [1, 0]], // 2-D, whole tiles
    [[5, 7], [1, 0]], // edges: the stock kernel
    [[8, 9, 6, 4], [1, 2, 0, 3]], // the last axis stays
    [[8, 7, 5, 4], [3, 1, 2, 0]], // [A, M, B] by [2, 1, 0]
    [[3, 3, 8, 4], [0, 1, 3, 2]], // [N, R, C] by [0, 2, 1]
    [[2, 3, 4, 5, 6], [4, 0, 2, 1, 3]], // not covered: the stock kernel
    [[1, 8, 1, 4], [2, 3, 0, 1]], // size-1 axes
    [[6], [0]],
  ];
  const values = (shape: number[], seed: number) =>
    tf.tidy(() => tf.randomNormal(shape, 0, 1, "float32", seed));
  const results: Uint32Array[][] = [];
  for (const name of ["cpu", "wasm"] as const) {
    await useBackend(name);
    const got: Uint32Array[] = [];
    concats.forEach(([shapes, axis], i) => {
      const xs = shapes.map((s, j) => values(s, 10 * i + j + 1));
      got.push(new Uint32Array(tf.concat(xs, axis).dataSync().buffer));
    });
    transposes.forEach(([shape, perm], i) => {
      const t = tf.transpose(values(shape, 100 + i), perm);
      assertStrict.deepEqual(t.shape, perm.map((a) => shape[a]));
      got.push(new Uint32Array(t.dataSync().buffer));
    });
    const ints = tf.transpose(tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32"));
    got.push(new Uint32Array(ints.dataSync().buffer));
    results.push(got);
  }
  results[1].forEach((r, i) =>
    assertStrict.deepEqual(r, results[0][i], `case ${i}`)
  );
});

import { assert, assertAllClose, useBackend } from "../_test_helpers.ts";
import { conv2dValid } from "./conv.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

const cases: [number[], number[]][] = [
  [[2, 6, 5, 3], [3, 3, 3, 4]],
  [[3, 7, 7, 2], [4, 2, 2, 5]],
  [[1, 4, 4, 1], [1, 1, 1, 1]],
];

Deno.test("conv2dValid: value and gradients match tf.conv2d's on cpu", async () => {
  await useBackend("cpu");
  for (const [xs, ws] of cases) {
    const x = rand(xs, 1) as tf.Tensor4D;
    const w = rand(ws, 2) as tf.Tensor4D;
    const up = rand([xs[0], xs[1] - ws[0] + 1, xs[2] - ws[1] + 1, ws[3]], 3);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "valid"), up),
      )
    )([x, w]);
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv2dValid(a as tf.Tensor4D, b as tf.Tensor4D), up))
    )([x, w]);
    assertAllClose(await ours[0].data(), await ref[0].data(), 1e-4);
    assertAllClose(await ours[1].data(), await ref[1].data(), 1e-4);
    assertAllClose(
      await conv2dValid(x, w).data(),
      await tf.conv2d(x, w, 1, "valid").data(),
      1e-5,
    );
    const noDx = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        conv2dValid(a as tf.Tensor4D, b as tf.Tensor4D, {
          inputGradient: false,
        }),
      )
    )([x, w]);
    assert((await tf.max(tf.abs(noDx[0])).data())[0] === 0, "dx skipped");
  }
});

Deno.test("conv2dValid: wasm gradients equal cpu's and a few SGD steps lower the loss", async () => {
  const [xs, ws] = cases[0];
  const results: Float32Array[][] = [];
  for (const b of ["cpu", "wasm"] as const) {
    await useBackend(b);
    const x = rand(xs, 1) as tf.Tensor4D;
    const w = rand(ws, 2) as tf.Tensor4D;
    const g = tf.grads((a: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.square(conv2dValid(a as tf.Tensor4D, c as tf.Tensor4D)))
    )([x, w]);
    results.push([
      await g[0].data() as Float32Array,
      await g[1].data() as Float32Array,
    ]);
  }
  assertAllClose(results[1][0], results[0][0], 1e-3);
  assertAllClose(results[1][1], results[0][1], 1e-3);
  // Fit a target convolution on wasm.
  const x = rand(xs, 4) as tf.Tensor4D;
  const target = tf.conv2d(x, rand(ws, 5) as tf.Tensor4D, 1, "valid");
  const w = tf.variable(tf.mul(rand(ws, 6), 0.1));
  const loss = () =>
    tf.mean(
      tf.square(tf.sub(conv2dValid(x, w as tf.Tensor4D), target)),
    ) as tf.Scalar;
  const first = (await loss().data())[0];
  const opt = tf.train.sgd(0.02);
  for (let i = 0; i < 30; i++) opt.minimize(loss);
  const last = (await loss().data())[0];
  assert(last < first * 0.5, `loss ${first} -> ${last}`);
});

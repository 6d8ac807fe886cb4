import assertStrict from "node:assert/strict";
import { assertAllClose, useBackend } from "../_test_helpers.ts";
import {
  extractPatches,
  extractPatchesChannelMajor,
  locallyShared,
  locallySharedShape,
  type LocallySharedSpec,
} from "./locally_shared.ts";
import {
  countParams,
  createDeepID2,
  defaultModelConfig,
  disposeModel,
  features,
  modelShapes,
} from "./model.ts";
import { PORTABLE } from "../engine/fast_paths.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

/** Naive reference: every output position computed on its own, default tfjs gradients. */
function naive(
  x: tf.Tensor4D,
  w: tf.Tensor3D,
  bias: tf.Tensor2D,
  s: LocallySharedSpec,
): tf.Tensor4D {
  const { outH, outW, gw, patch } = locallySharedShape(s);
  const ws = tf.unstack(w) as tf.Tensor2D[];
  const bs = tf.unstack(bias) as tf.Tensor1D[];
  assertStrict.equal(ws[0].shape[0], patch);
  const b = x.shape[0];
  const rows: tf.Tensor[] = [];
  for (let i = 0; i < outH; i++) {
    const cols: tf.Tensor[] = [];
    for (let j = 0; j < outW; j++) {
      const r = Math.floor(i / s.rh) * gw + Math.floor(j / s.rw);
      const patch = tf.reshape(
        tf.slice(x, [0, i, j, 0], [b, s.kh, s.kw, s.inC]),
        [b, -1],
      );
      cols.push(tf.add(tf.matMul(patch as tf.Tensor2D, ws[r]), bs[r])); // [B, outC]
    }
    rows.push(tf.stack(cols, 1)); // [B, outW, outC]
  }
  return tf.stack(rows, 1) as tf.Tensor4D;
}

function params(
  s: LocallySharedSpec,
  seed: number,
): [tf.Tensor3D, tf.Tensor2D] {
  const { regions, patch } = locallySharedShape(s);
  return [
    rand([regions, patch, s.outC], seed) as tf.Tensor3D,
    rand([regions, s.outC], seed + 100) as tf.Tensor2D,
  ];
}

const specs: LocallySharedSpec[] = [
  { inH: 6, inW: 5, inC: 3, kh: 3, kw: 2, outC: 4, rh: 2, rw: 2 }, // locally shared
  { inH: 5, inW: 4, inC: 2, kh: 2, kw: 2, outC: 3, rh: 1, rw: 1 }, // unshared
  { inH: 5, inW: 5, inC: 2, kh: 2, kw: 2, outC: 3, rh: 4, rw: 2 }, // uneven regions
];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`locallyShared (${backend}): values and gradients equal the naive per-position computation`, async () => {
    await useBackend(backend);
    for (const s of specs) {
      const x = rand([2, s.inH, s.inW, s.inC], 9) as tf.Tensor4D;
      const [w, b] = params(s, 20);
      const { outH, outW } = locallySharedShape(s);
      const up = rand([2, outH, outW, s.outC], 5);
      const f = (impl: typeof naive) => (...a: tf.Tensor[]) =>
        tf.sum(tf.mul(
          impl(
            a[0] as tf.Tensor4D,
            a[1] as tf.Tensor3D,
            a[2] as tf.Tensor2D,
            s,
          ),
          up,
        ));
      const ours = tf.grads(f(locallyShared))([x, w, b]);
      const ref = tf.grads(f(naive))([x, w, b]);
      for (let i = 0; i < ours.length; i++) {
        assertStrict.deepEqual(ours[i].shape, ref[i].shape);
        assertAllClose(await ours[i].data(), await ref[i].data(), 1e-4);
      }
      assertAllClose(
        await locallyShared(x, w, b, s).data(),
        await naive(x, w, b, s).data(),
        1e-5,
      );
    }
  });
}

Deno.test("locallyShared: one region covering the map equals conv2d", async () => {
  await useBackend("cpu");
  const s = { inH: 7, inW: 6, inC: 3, kh: 3, kw: 3, outC: 5, rh: 5, rw: 4 };
  const x = rand([2, 7, 6, 3], 1) as tf.Tensor4D;
  const [w, b] = params(s, 3);
  const w4 = tf.reshape(w, [3, 3, 3, 5]) as tf.Tensor4D;
  const conv = tf.add(tf.conv2d(x, w4, 1, "valid"), tf.reshape(b, [5]));
  assertAllClose(
    await locallyShared(x, w, b, s).data(),
    await conv.data(),
    1e-5,
  );
  // The same weights through the region path (two 5x2 regions sharing one bank).
  const s2 = { ...s, rw: 2 };
  assertAllClose(
    await locallyShared(x, tf.concat([w, w]), tf.concat([b, b]), s2).data(),
    await conv.data(),
    1e-5,
  );
});

Deno.test("extractPatches orders channels (dy, dx, cin) like a conv2d filter", async () => {
  await useBackend("cpu");
  const x = tf.tensor4d(Array.from({ length: 2 * 3 * 2 }, (_, i) => i), [
    1,
    3,
    2,
    2,
  ]);
  const p = await extractPatches(x, 2, 2).data(); // [1, 2, 1, 8]
  assertStrict.deepEqual(Array.from(p.slice(0, 8)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertStrict.deepEqual(Array.from(p.slice(8)), [4, 5, 6, 7, 8, 9, 10, 11]);
});

Deno.test("extractPatchesChannelMajor is extractPatches with channels ordered (cin, dy, dx)", async () => {
  await useBackend("cpu");
  const x = rand([2, 5, 4, 3], 4) as tf.Tensor4D;
  const a = extractPatches(x, 3, 2); // [2, 3, 3, 18] (dy, dx, cin)
  const b = extractPatchesChannelMajor(x, 3, 2); // (cin, dy, dx)
  const permuted = tf.reshape(
    tf.transpose(tf.reshape(b, [2, 3, 3, 3, 6]), [0, 1, 2, 4, 3]),
    a.shape,
  );
  assertStrict.deepEqual(
    Array.from(await permuted.data()),
    Array.from(await a.data()),
  );
});

Deno.test("locallyShared: bad geometry and weights get clear errors", () => {
  assertStrict.throws(
    () =>
      locallySharedShape({
        inH: 6,
        inW: 5,
        inC: 1,
        kh: 3,
        kw: 3,
        outC: 1,
        rh: 3,
        rw: 2,
      }),
    /not divisible by the sharing region 3x2/,
  );
  assertStrict.throws(
    () =>
      locallyShared(
        tf.zeros([1, 4, 4, 1]),
        tf.zeros([1, 9, 2]),
        tf.zeros([1, 2]),
        {
          inH: 4,
          inW: 4,
          inC: 1,
          kh: 3,
          kw: 3,
          outC: 2,
          rh: 1,
          rw: 1,
        },
      ),
    /weights must be \[4, 9, 2\] \(banks, patch, outC\), got \[1,9,2\]/,
  );
});

Deno.test("DeepID2 layer shapes for 55x47 and 47x47 inputs, and the parameter count", async () => {
  await useBackend("cpu");
  const s = modelShapes(defaultModelConfig(10));
  const out = s.convs.map((c) => {
    const d = locallySharedShape(c);
    return [d.outH, d.outW, c.outC, d.regions];
  });
  // conv1 52x44x20, conv2 24x20x40, conv3 10x8x60 in 5x4 banks, conv4 4x3x80 unshared.
  assertStrict.deepEqual(out, [[52, 44, 20, 1], [24, 20, 40, 1], [
    10,
    8,
    60,
    20,
  ], [4, 3, 80, 12]]);
  assertStrict.deepEqual(s.convs.map((c) => [c.inH, c.inW]), [
    [55, 47],
    [26, 22],
    [12, 10],
    [5, 4],
  ]);
  assertStrict.equal(s.pool3, 5 * 4 * 60);
  assertStrict.equal(s.conv4, 4 * 3 * 80);
  const sq = modelShapes({
    ...defaultModelConfig(10),
    inputShape: [47, 47, 1],
  });
  assertStrict.deepEqual(
    sq.convs.map((
      c,
    ) => [
      locallySharedShape(c).outH,
      locallySharedShape(c).outW,
      locallySharedShape(c).regions,
    ]),
    [[44, 44, 1], [20, 20, 1], [8, 8, 16], [3, 3, 9]],
  );
  assertStrict.equal(sq.pool3 + sq.conv4, 4 * 4 * 60 + 3 * 3 * 80);
  // Hand count: conv1 4*4*3*20+20, conv2 3*3*20*40+40, conv3 20 banks of 360*60+60,
  // conv4 12 banks of 240*80+80, DeepID2 (1200+960)*160+160, softmax 160*n+n.
  const net = createDeepID2(defaultModelConfig(1000), 1);
  const expected = 980 + 7240 + 20 * 21660 + 12 * 19280 + 345760 + 160 * 1000 +
    1000;
  assertStrict.equal(countParams(net), expected);
  const f = features(net, tf.zeros([2, 55, 47, 3]) as tf.Tensor4D);
  assertStrict.deepEqual(f.shape, [2, 160]);
  assertStrict.throws(
    () => features(net, tf.zeros([2, 47, 47, 3]) as tf.Tensor4D),
    /float32 \[batch, 55, 47, 3\]/,
  );
  disposeModel(net);
  assertStrict.throws(
    () => modelShapes({ ...defaultModelConfig(10), inputShape: [53, 47, 3] }),
    /conv3 on input 53x47x3: output 9x8 is not divisible/,
  );
});

Deno.test("locallyShared: the batched-regions formulation (TensorFlow's fast path) gives the same values and gradients", async () => {
  await useBackend("cpu");
  const s = specs[0];
  const x = rand([2, s.inH, s.inW, s.inC], 9) as tf.Tensor4D;
  const [w, b] = params(s, 20);
  const f = (batched: boolean) => (...a: tf.Tensor[]) =>
    tf.sum(
      tf.square(
        locallyShared(
          a[0] as tf.Tensor4D,
          a[1] as tf.Tensor3D,
          a[2] as tf.Tensor2D,
          s,
          {
            paths: batched
              ? { ...PORTABLE, batchedRegions: true, builtinGradients: true }
              : PORTABLE,
          },
        ),
      ),
    );
  const regions = tf.grads(f(false))([x, w, b]);
  const batched = tf.grads(f(true))([x, w, b]);
  for (let i = 0; i < regions.length; i++) {
    assertAllClose(await batched[i].data(), await regions[i].data(), 1e-4);
  }
});

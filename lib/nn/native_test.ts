/**
 * The network's layers and forward pass on the native TensorFlow backend,
 * each backend with the formulations `initBackend` picks for it, against
 * wasm (and cpu for TensorFlow's own convolution gradients). Without the
 * native install (`make tensorflow`) every test here is skipped, and the
 * reason is printed.
 *
 * Tolerance: the two backends sum in different orders (oneDNN vs XNNPACK),
 * so results are compared as max |a - b| / max |b| per tensor: 1e-5 for
 * forward values and features, 1e-4 for gradients (a deeper chain of float32
 * sums). Measured with libtensorflow 2.9.1 on x86-64: at most 1e-6 forward
 * and 2e-6 for gradients (NATIVE_TEST_VERBOSE=1 prints them).
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import {
  across,
  arrays,
  assertRelClose,
  onBackend,
  randn,
} from "../_test_helpers.ts";
import { maxPool2x2, maxPoolBiasRelu, relu } from "./activations.ts";
import { conv2dValid } from "./conv.ts";
import { locallyShared, locallySharedShape } from "./locally_shared.ts";
import {
  createDeepID2,
  defaultModelConfig,
  disposeModel,
  extractFeatures,
  features,
  logits,
  normaliseImages,
} from "./model.ts";
import type { FastPaths } from "../engine/fast_paths.ts";
import { loadNative } from "../engine/native.ts";
import {
  forceProductsIsa,
  gatherPatchesKernel,
  loadKernelsLibrary,
  productKernel,
  productsIsa,
  type ProductSpec,
} from "../engine/native_kernels.ts";
import { fullyConnected } from "./matmul.ts";
import { PORTABLE } from "../engine/fast_paths.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

const reason = await loadNative("tensorflow");
if (reason !== null) console.log(`native tests skipped: ${reason}`);
const ignore = reason !== null;

const FORWARD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

Deno.test({
  name: "native: conv2d, matMul and their gradients agree with wasm and cpu",
  ignore,
  async fn() {
    const run = async (paths: Readonly<FastPaths>) => {
      const x = randn([4, 13, 11, 3], 1) as tf.Tensor4D;
      const w = randn([3, 3, 3, 8], 2) as tf.Tensor4D;
      const a = randn([33, 70], 3) as tf.Tensor2D;
      const m = randn([70, 20], 4) as tf.Tensor2D;
      const up = randn([4, 11, 9, 8], 5);
      const loss = (p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(
          tf.mul(
            conv2dValid(p as tf.Tensor4D, q as tf.Tensor4D, { paths }),
            up,
          ),
        );
      const [gx, gw] = tf.grads(loss)([x, w]);
      const [ga, gm] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D)))
      )([a, m]);
      const out = await arrays([
        tf.conv2d(x, w, 1, "valid"),
        tf.matMul(a, m),
        gx,
        gw,
        ga,
        gm,
      ]);
      tf.dispose([x, w, a, m, up]);
      return out;
    };
    const [t, w] = await across(["tensorflow", "wasm"], run);
    const names = ["conv2d", "matMul", "conv dx", "conv dw", "matMul da", "dm"];
    names.forEach((n, i) =>
      assertRelClose(n, t[i], w[i], i < 2 ? FORWARD_TOL : GRAD_TOL)
    );
    // TensorFlow's own Conv2DBackpropFilter/Input (wasm has none) vs cpu's.
    const native = async () => {
      const x = randn([4, 13, 11, 3], 1) as tf.Tensor4D;
      const w = randn([3, 3, 3, 8], 2) as tf.Tensor4D;
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(
          tf.square(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, "valid")),
        )
      )([x, w]);
      tf.dispose([x, w]);
      return await arrays(g);
    };
    const [tn, cn] = await across(["tensorflow", "cpu"], native);
    assertRelClose("native conv dx (vs cpu)", tn[0], cn[0], GRAD_TOL);
    assertRelClose("native conv dw (vs cpu)", tn[1], cn[1], GRAD_TOL);
  },
});

Deno.test({
  name:
    "native: the fused ReLU gradient, our pooling gradient and oneDNN pooling equal TensorFlow's stock kernels, ties included",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    assertStrict.ok(found.nativeOps, "TensorFlow's ReluGrad is always there");
    if (!found.poolWorkspace) {
      console.log(
        "oneDNN pooling not in this libtensorflow: the stock MaxPoolGrad runs",
      );
    }
    if (!found.poolGrad2x2) {
      console.log(
        `our pooling gradient kernel is off: ${loadKernelsLibrary()}`,
      );
    }
    // Small integers: many windows hold two or more equal maxima, and zeros.
    // 8 channels: oneDNN's pooling runs only where C is a multiple of 8.
    const rng = new Rng(3);
    const x = tf.tensor4d(
      Array.from({ length: 3 * 9 * 7 * 8 }, () => rng.int(4) - 1),
      [3, 9, 7, 8],
    );
    const up = randn([3, 4, 3, 8], 8);
    const upRelu = randn([3, 9, 7, 8], 9);
    const run = async (paths: typeof found) => {
      const poolRelu = (a: tf.Tensor4D) => relu(maxPool2x2(a, paths), paths);
      const [gp] = tf.grads((a: tf.Tensor) =>
        tf.sum(tf.mul(poolRelu(a as tf.Tensor4D), up))
      )([x]);
      const [gr] = tf.grads((a: tf.Tensor) =>
        tf.sum(tf.mul(relu(a, paths), upRelu))
      )([x]);
      return await arrays([poolRelu(x), gp, relu(x, paths), gr]);
    };
    try {
      const fast = await run(found);
      const stock = await run({
        ...found,
        nativeOps: false,
        poolWorkspace: false,
        poolGrad2x2: false,
      });
      // oneDNN's pooling where our own gradient kernel would run.
      const onednn = await run({ ...found, poolGrad2x2: false });
      ["poolRelu", "its gradient", "relu", "its gradient"].forEach((n, i) => {
        assertStrict.deepEqual(Array.from(fast[i]), Array.from(stock[i]), n);
        assertStrict.deepEqual(Array.from(onednn[i]), Array.from(stock[i]), n);
      });
      // And the gradient really went to one maximum per window.
      const g = fast[1];
      assertStrict.ok(g.some((v) => v !== 0));
      assertStrict.equal(
        g.filter((v) => v !== 0).length <= up.size,
        true,
        "at most one position per window gets the gradient",
      );
    } finally {
      tf.dispose([x, up, upRelu]);
    }
  },
});

Deno.test({
  name:
    "native: the fused pooling + bias + ReLU kernels equal the stock composition: values and dx bit for bit, dbias to float32 rounding",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    if (!found.poolBiasRelu) {
      console.log(`our fused kernels are off: ${loadKernelsLibrary()}`);
      return;
    }
    // Ties, zeros of both signs and negatives in x and the bias; 20 channels
    // as conv1's (not a multiple of the kernels' 4-wide vectors); an odd map.
    const rng = new Rng(4);
    const signed = (n: number) =>
      Array.from({ length: n }, () => [-1, -0, 0, 1, 2][rng.int(5)]);
    const x = tf.tensor4d(signed(3 * 9 * 7 * 22), [3, 9, 7, 22]);
    const bias = tf.tensor1d(signed(22));
    const up = randn([3, 4, 3, 22], 10);
    // [y, dx, dbias] with the bias, [y, dx] without.
    const run = async (paths: typeof found, withBias: boolean) => {
      const f = (a: tf.Tensor, b?: tf.Tensor) =>
        maxPoolBiasRelu(a as tf.Tensor4D, (b ?? null) as tf.Tensor1D, paths);
      const grads = withBias
        ? tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), up)))(
          [x, bias],
        )
        : tf.grads((a: tf.Tensor) => tf.sum(tf.mul(f(a), up)))([x]);
      return await arrays([withBias ? f(x, bias) : f(x), ...grads]);
    };
    try {
      for (const withBias of [true, false]) {
        const fused = await run(found, withBias);
        const stock = await run({
          ...found,
          poolBiasRelu: false,
          poolGrad2x2: false,
          poolWorkspace: false,
        }, withBias);
        const unfused = await run({ ...found, poolBiasRelu: false }, withBias);
        ["y", "dx", "dbias"].slice(0, fused.length).forEach((n, i) => {
          const what = `${n}${withBias ? "" : " (no bias)"}`;
          assertStrict.deepEqual(
            Array.from(unfused[i]),
            Array.from(stock[i]),
            what,
          );
          if (n !== "dbias") {
            assertStrict.deepEqual(
              Array.from(fused[i]),
              Array.from(stock[i]),
              what,
            );
            return;
          }
          // Our kernel sums dz in its own order (each image's windows, then
          // the images), TensorFlow's Sum in another: float32 rounding apart.
          fused[i].forEach((v, j) => {
            const want = stock[i][j];
            assertStrict.ok(
              Math.abs(v - want) <= 1e-5 * (1 + Math.abs(want)),
              `${what}[${j}]: ${v} vs ${want}`,
            );
          });
        });
        assertStrict.ok(fused[1].some((v) => v !== 0), "a gradient flowed");
      }
    } finally {
      tf.dispose([x, bias, up]);
    }
  },
});

/**
 * The layers our products serve (`lib/engine/native/products.c`): conv3's
 * locally shared geometry, conv4's locally connected one with its ReLU, and
 * fully connected ones with and without a ReLU, each at a small and a large
 * batch, so that the input gradient is computed both ways (dz transposed
 * for small batches, the banks for large ones).
 */
const PRODUCT_CASES: {
  name: string;
  x: number[];
  spec: ProductSpec;
  outC: number;
}[] = [
  {
    name: "locally shared 2x2 (conv3)",
    x: [3, 12, 10, 40],
    spec: { kh: 3, kw: 3, rh: 2, rw: 2, relu: false },
    outC: 60,
  },
  {
    name: "locally shared 2x2 (conv3), batch 24",
    x: [24, 12, 10, 40],
    spec: { kh: 3, kw: 3, rh: 2, rw: 2, relu: false },
    outC: 60,
  },
  {
    name: "locally connected with ReLU (conv4)",
    x: [4, 5, 4, 60],
    spec: { kh: 2, kw: 2, rh: 1, rw: 1, relu: true },
    outC: 80,
  },
  {
    name: "locally connected with ReLU (conv4), batch 90",
    x: [90, 5, 4, 60],
    spec: { kh: 2, kw: 2, rh: 1, rw: 1, relu: true },
    outC: 80,
  },
  {
    name: "fully connected with ReLU",
    x: [6, 130],
    spec: { kh: 1, kw: 1, rh: 1, rw: 1, relu: true },
    outC: 37,
  },
  {
    name: "fully connected, batch 200",
    x: [200, 50],
    spec: { kh: 1, kw: 1, rh: 1, rw: 1, relu: false },
    outC: 21,
  },
];

/** A case's output, and its gradients for x, w, b against seeded weights. */
function productRun(
  c: (typeof PRODUCT_CASES)[number],
  layer: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor,
): tf.Tensor[] {
  return tf.tidy(() => {
    const dense = c.x.length === 2;
    const k = dense ? c.x[1] : c.spec.kh * c.spec.kw * c.x[3];
    const regions = dense ? 1 : locallySharedShape({
      inH: c.x[1],
      inW: c.x[2],
      inC: c.x[3],
      kh: c.spec.kh,
      kw: c.spec.kw,
      outC: c.outC,
      rh: c.spec.rh,
      rw: c.spec.rw,
    }).regions;
    const x = randn(c.x, 21);
    const w = tf.tidy(() =>
      tf.mul(randn(dense ? [k, c.outC] : [regions, k, c.outC], 22), 0.1)
    );
    const b = randn(dense ? [c.outC] : [regions, c.outC], 23);
    const y = layer(x, w, b);
    const up = randn(y.shape, 24);
    const grads = tf.grads((a: tf.Tensor, v: tf.Tensor, u: tf.Tensor) =>
      tf.sum(tf.mul(layer(a, v, u), up))
    )([x, w, b]);
    return [y, ...grads];
  });
}

/** The same layer in tfjs ops (the portable formulation). */
function portableLayer(c: (typeof PRODUCT_CASES)[number]) {
  return (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => {
    if (x.rank === 2) {
      return fullyConnected(
        x as tf.Tensor2D,
        w as tf.Tensor2D,
        b as tf.Tensor1D,
        {
          relu: c.spec.relu,
          paths: PORTABLE,
        },
      );
    }
    const spec = {
      inH: x.shape[1]!,
      inW: x.shape[2]!,
      inC: x.shape[3]!,
      kh: c.spec.kh,
      kw: c.spec.kw,
      outC: c.outC,
      rh: c.spec.rh,
      rw: c.spec.rw,
    };
    return locallyShared(
      x as tf.Tensor4D,
      w as tf.Tensor3D,
      b as tf.Tensor2D,
      spec,
      {
        relu: c.spec.relu,
        paths: PORTABLE,
      },
    );
  };
}

Deno.test({
  name:
    "native: our products (locally shared, locally connected, fully connected) equal the tfjs layers, values and gradients",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    if (!found.ownProducts) {
      console.log(`our products are off: ${loadKernelsLibrary()}`);
      return;
    }
    for (const c of PRODUCT_CASES) {
      const before = tf.memory().numTensors;
      const ours = await arrays(
        productRun(c, (x, w, b) => productKernel(x, w, b, c.spec)),
      );
      const theirs = await arrays(productRun(c, portableLayer(c)));
      assertStrict.equal(tf.memory().numTensors, before, `${c.name}: leaked`);
      ["y", "dx", "dw", "db"].forEach((n, i) =>
        assertRelClose(
          `${c.name}: ${n}`,
          ours[i],
          theirs[i],
          i === 0 ? FORWARD_TOL : GRAD_TOL,
        )
      );
      assertStrict.ok(ours[1].some((v) => v !== 0), `${c.name}: dx flowed`);
    }
  },
});

Deno.test({
  name:
    "native: our products give the same bits on every vector path (AVX-512, AVX2, scalar) this CPU has",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    if (!found.ownProducts) {
      console.log(`our products are off: ${loadKernelsLibrary()}`);
      return;
    }
    const chosen = productsIsa() as "avx512" | "avx2" | "scalar";
    try {
      for (const c of PRODUCT_CASES) {
        const runs: Float32Array[][] = [];
        for (const isa of ["avx512", "avx2", "scalar"] as const) {
          if (!forceProductsIsa(isa)) continue;
          runs.push(
            await arrays(
              productRun(c, (x, w, b) => productKernel(x, w, b, c.spec)),
            ),
          );
        }
        assertStrict.ok(
          runs.length >= 2,
          "at least scalar and one vector path",
        );
        for (const r of runs.slice(1)) {
          r.forEach((t, i) =>
            assertStrict.deepEqual(
              Array.from(t),
              Array.from(runs[0][i]),
              `${c.name}: output ${i}`,
            )
          );
        }
      }
    } finally {
      forceProductsIsa(chosen);
    }
  },
});

// The DeepID2 network at its real input size (55x47x3), small batch.
const IDS = 10;
const config = defaultModelConfig(IDS);
const [H, W, C] = config.inputShape;
const N = 24;
const rng = new Rng(11);
const images = Uint8Array.from({ length: N * H * W * C }, () => rng.int(256));

Deno.test({
  name: "native: DeepID2 forward pass agrees with wasm",
  ignore,
  async fn() {
    const [t, w] = await across(["tensorflow", "wasm"], async (paths) => {
      const net = createDeepID2(config, 3, { paths });
      const out = await arrays(tf.tidy(() => {
        const x = normaliseImages(images, config.inputShape, [0, 5, 9, 17]);
        const f = features(net, x);
        return [f, logits(net, f)];
      }));
      disposeModel(net);
      return out;
    });
    assertRelClose("features", t[0], w[0], FORWARD_TOL);
    assertRelClose("logits", t[1], w[1], FORWARD_TOL);
  },
});

Deno.test({
  name: "native: feature extraction agrees with wasm",
  ignore,
  async fn() {
    const [t, w] = await across(["tensorflow", "wasm"], async (paths) => {
      const net = createDeepID2(config, 4, { paths });
      const f = await extractFeatures(net, images, config.inputShape, {
        batchSize: 10,
      });
      disposeModel(net);
      return f;
    });
    assertStrict.equal(t.length, N * config.deepid2Dim);
    assertRelClose("extracted features", t, w, FORWARD_TOL);
  },
});

Deno.test({
  name:
    "native: patches gathered (GatherNd/ScatterNd) give the locally shared layer the depthwise path's values and gradients",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    assertStrict.ok(found.gatherPatches, "the gather/scatter probe passed");
    // conv3 and conv4 of the network, and an uneven region.
    const specs = [
      { inH: 12, inW: 10, inC: 40, kh: 3, kw: 3, outC: 60, rh: 2, rw: 2 },
      { inH: 5, inW: 4, inC: 60, kh: 2, kw: 2, outC: 80, rh: 1, rw: 1 },
      { inH: 6, inW: 9, inC: 5, kh: 3, kw: 2, outC: 7, rh: 1, rw: 4 },
    ];
    for (const [i, spec] of specs.entries()) {
      const { regions, patch } = locallySharedShape(spec);
      const x = randn([3, spec.inH, spec.inW, spec.inC], 30 + i) as tf.Tensor4D;
      const w = randn([regions, patch, spec.outC], 40 + i) as tf.Tensor3D;
      const b = randn([regions, spec.outC], 50 + i) as tf.Tensor2D;
      const run = async (gatherPatches: boolean) => {
        const paths = { ...found, gatherPatches };
        const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.sin(locallyShared(
            xx as tf.Tensor4D,
            ww as tf.Tensor3D,
            bb as tf.Tensor2D,
            spec,
            { paths },
          )));
        const y = locallyShared(x, w, b, spec, { paths });
        return await arrays([y, ...tf.grads(f)([x, w, b])]);
      };
      const g = await run(true);
      const d = await run(false);
      ["values", "dx", "dw", "db"].forEach((n, k) =>
        assertRelClose(`${n} (spec ${i})`, g[k], d[k], GRAD_TOL)
      );
      // The gather itself is a copy: exactly the input's values.
      const p = gatherPatchesKernel(x, spec);
      const [pv, xv] = await arrays([p, x.clone()]);
      assertStrict.deepEqual(p.shape, [
        regions,
        3 * spec.rh * spec.rw,
        spec.kh * spec.kw,
        spec.inC,
      ]);
      // Region 0, batch 0, first row, tap (ky, kx) = (1, 0): pixel (1, 0).
      const tap = 1 * spec.kw;
      assertStrict.deepEqual(
        Array.from(pv.subarray(tap * spec.inC, (tap + 1) * spec.inC)),
        Array.from(
          xv.subarray(spec.inW * spec.inC, (spec.inW + 1) * spec.inC),
        ),
      );
      tf.dispose([x, w, b]);
    }
  },
});

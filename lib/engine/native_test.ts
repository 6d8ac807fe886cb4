/**
 * The native TensorFlow backend (`make tensorflow`) against the wasm backend:
 * plain ops, then the DeepID2 forward pass, one joint training step and
 * feature extraction. Without the native install every test here is skipped,
 * and the reason is printed.
 *
 * Tolerance: the two backends sum in different orders (oneDNN vs XNNPACK),
 * so results are compared as max |a - b| / max |b| per tensor: 1e-5 for
 * forward values, losses and features, 1e-4 for gradients (a deeper chain of
 * float32 sums). Measured with libtensorflow 2.9.1 on x86-64: at most 1e-6
 * forward and 2e-6 for gradients (NATIVE_TEST_VERBOSE=1 prints them).
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import { useBackend } from "../_test_helpers.ts";
import { conv2dValid } from "../nn/conv.ts";
import {
  createDeepID2,
  defaultModelConfig,
  disposeModel,
  extractFeatures,
  features,
  logits,
  normaliseImages,
} from "../nn/model.ts";
import { loadedNative, loadNative } from "./native.ts";
import {
  gatherPatchesKernel,
  installNativeKernels,
  transposeKernel,
} from "./native_kernels.ts";
import { locallyShared, locallySharedShape } from "../nn/locally_shared.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { maxPool2x2, relu } from "../nn/activations.ts";
import { fastPaths, fastPathsFor } from "./fast_paths.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "./tf.ts";
import { DEFAULT_TRAIN, train } from "../train/train.ts";

const reason = await loadNative("tensorflow");
if (reason !== null) console.log(`native tests skipped: ${reason}`);
const ignore = reason !== null;

const FORWARD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

type Name = "tensorflow" | "wasm" | "cpu";

/** Switches backend and, as `initBackend` does, the formulations it runs. */
async function on(name: Name): Promise<void> {
  if (name === "tensorflow") {
    await tf.setBackend("tensorflow");
    await tf.ready();
    assertStrict.equal(tf.getBackend(), "tensorflow");
    Object.assign(
      fastPaths,
      fastPathsFor("tensorflow"),
      await installNativeKernels(),
    );
  } else {
    await useBackend(name);
    Object.assign(fastPaths, fastPathsFor(name));
  }
}

/** Runs `fn` on each backend; returns its arrays per backend. */
async function across<T>(
  names: Name[],
  fn: () => Promise<T> | T,
): Promise<T[]> {
  const out: T[] = [];
  for (const n of names) {
    await on(n);
    const before = tf.memory().numTensors;
    out.push(await fn());
    assertStrict.equal(
      tf.memory().numTensors,
      before,
      `${n}: tensors leaked`,
    );
  }
  return out;
}

/** max |a - b| / max |b|, with an error that names what differs. */
function assertClose(
  what: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
): number {
  assertStrict.equal(a.length, b.length, `${what}: length`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`${what}: ${a[i]} at ${i}`);
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  const rel = diff / Math.max(scale, 1e-12);
  if (!(rel <= tol)) {
    throw new Error(
      `${what}: tensorflow and wasm differ by ${rel.toExponential(2)} ` +
        `of the largest magnitude ${scale.toExponential(2)} (tolerance ${tol})`,
    );
  }
  if (Deno.env.get("NATIVE_TEST_VERBOSE")) {
    console.log(`${what}: ${rel.toExponential(2)}`);
  }
  return rel;
}

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

async function arrays(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = [];
  for (const t of ts) out.push(await t.data() as Float32Array);
  tf.dispose(ts);
  return out;
}

Deno.test({
  name: "native: tfjs-node registers `tensorflow` in the project's tfjs-core",
  ignore,
  fn() {
    const m = loadedNative()!;
    assertStrict.ok(tf.engine().registryFactory["tensorflow"]);
    const b = tf.findBackend("tensorflow") as unknown as {
      binding: { TF_Version: string };
    };
    assertStrict.equal(b.binding.TF_Version, m.manifest.libtensorflow);
    // No second copy of the kernels: tfjs-node's and ours are the same registry.
    assertStrict.ok(tf.getKernel("Conv2D", "tensorflow"));
    assertStrict.ok(tf.getKernel("Conv2D", "wasm"));
  },
});

Deno.test({
  name: "native: conv2d, matMul and their gradients agree with wasm and cpu",
  ignore,
  async fn() {
    const run = async () => {
      const x = rand([4, 13, 11, 3], 1) as tf.Tensor4D;
      const w = rand([3, 3, 3, 8], 2) as tf.Tensor4D;
      const a = rand([33, 70], 3) as tf.Tensor2D;
      const m = rand([70, 20], 4) as tf.Tensor2D;
      const up = rand([4, 11, 9, 8], 5);
      const loss = (p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(tf.mul(conv2dValid(p as tf.Tensor4D, q as tf.Tensor4D), up));
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
      assertClose(n, t[i], w[i], i < 2 ? FORWARD_TOL : GRAD_TOL)
    );
    // TensorFlow's own Conv2DBackpropFilter/Input (wasm has none) vs cpu's.
    const native = async () => {
      const x = rand([4, 13, 11, 3], 1) as tf.Tensor4D;
      const w = rand([3, 3, 3, 8], 2) as tf.Tensor4D;
      const g = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
        tf.sum(
          tf.square(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, "valid")),
        )
      )([x, w]);
      tf.dispose([x, w]);
      return await arrays(g);
    };
    const [tn, cn] = await across(["tensorflow", "cpu"], native);
    assertClose("native conv dx (vs cpu)", tn[0], cn[0], GRAD_TOL);
    assertClose("native conv dw (vs cpu)", tn[1], cn[1], GRAD_TOL);
  },
});

Deno.test({
  name:
    "native: the fused ReLU gradient and oneDNN pooling equal TensorFlow's stock kernels, ties included",
  ignore,
  async fn() {
    await on("tensorflow");
    const found = { ...fastPaths };
    assertStrict.ok(found.nativeOps, "TensorFlow's ReluGrad is always there");
    if (!found.poolWorkspace) {
      console.log(
        "oneDNN pooling not in this libtensorflow: the stock MaxPoolGrad runs",
      );
    }
    // Small integers: many windows hold two or more equal maxima, and zeros.
    const rng = new Rng(3);
    const x = tf.tensor4d(
      Array.from({ length: 3 * 9 * 7 * 4 }, () => rng.int(4) - 1),
      [3, 9, 7, 4],
    );
    const up = rand([3, 4, 3, 4], 8);
    const upRelu = rand([3, 9, 7, 4], 9);
    const poolRelu = (a: tf.Tensor4D) => relu(maxPool2x2(a));
    const run = async () => {
      const [gp] = tf.grads((a: tf.Tensor) =>
        tf.sum(tf.mul(poolRelu(a as tf.Tensor4D), up))
      )([x]);
      const [gr] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(relu(a), upRelu)))(
        [x],
      );
      return await arrays([poolRelu(x), gp, relu(x), gr]);
    };
    try {
      const fast = await run();
      fastPaths.nativeOps = fastPaths.poolWorkspace = false;
      const stock = await run();
      ["poolRelu", "its gradient", "relu", "its gradient"].forEach((n, i) =>
        assertStrict.deepEqual(Array.from(fast[i]), Array.from(stock[i]), n)
      );
      // And the gradient really went to one maximum per window.
      const g = fast[1];
      assertStrict.ok(g.some((v) => v !== 0));
      assertStrict.equal(
        g.filter((v) => v !== 0).length <= up.size,
        true,
        "at most one position per window gets the gradient",
      );
    } finally {
      Object.assign(fastPaths, found);
      tf.dispose([x, up, upRelu]);
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
const labels = Int32Array.from({ length: N }, (_, i) => i % IDS);

Deno.test({
  name: "native: DeepID2 forward pass agrees with wasm",
  ignore,
  async fn() {
    const [t, w] = await across(["tensorflow", "wasm"], async () => {
      const net = createDeepID2(config, 3);
      const out = await arrays(tf.tidy(() => {
        const x = normaliseImages(images, config.inputShape, [0, 5, 9, 17]);
        const f = features(net, x);
        return [f, logits(net, f)];
      }));
      disposeModel(net);
      return out;
    });
    assertClose("features", t[0], w[0], FORWARD_TOL);
    assertClose("logits", t[1], w[1], FORWARD_TOL);
  },
});

Deno.test({
  name: "native: one joint training step gives the same gradients as wasm",
  ignore,
  async fn() {
    // lr 1, no momentum or decay: after one step, p0 - p1 is the gradient.
    const tcfg = {
      ...DEFAULT_TRAIN,
      steps: 1,
      pairsPerBatch: 4,
      lambda: 0.05,
      signal: "l2" as const,
      learningRate: 1,
      lrSchedule: "constant" as const,
      momentum: 0,
      weightDecay: 0,
      checkpointEvery: 0,
      seed: 5,
    };
    const data = { images, shape: config.inputShape, labels };
    const [t, w] = await across(["tensorflow", "wasm"], async () => {
      const net = createDeepID2(config, 3);
      const before = new Map<string, Float32Array>();
      for (const [k, v] of net.params) {
        before.set(k, await v.data() as Float32Array);
      }
      const r = await train(net, data, tcfg, { progressLabel: null });
      const grads = new Map<string, Float32Array>();
      for (const [k, v] of net.params) {
        const p1 = await v.data() as Float32Array;
        grads.set(k, before.get(k)!.map((p0, i) => p0 - p1[i]));
      }
      disposeModel(net);
      return { grads, log: r.log };
    });
    assertStrict.deepEqual([...t.grads.keys()], [...w.grads.keys()]);
    let nonzero = 0;
    for (const [k, g] of w.grads) {
      assertClose(`gradient of ${k}`, t.grads.get(k)!, g, GRAD_TOL);
      if (g.some((v) => v !== 0)) nonzero++;
    }
    assertStrict.ok(nonzero > w.grads.size / 2, "most gradients are nonzero");
    const lt = t.log.at(-1)!;
    const lw = w.log.at(-1)!;
    assertClose(
      "identification loss",
      [lt.identLoss],
      [lw.identLoss],
      FORWARD_TOL,
    );
    assertClose(
      "verification loss",
      [lt.verifLoss],
      [lw.verifLoss],
      FORWARD_TOL,
    );
  },
});

Deno.test({
  name: "native: feature extraction agrees with wasm",
  ignore,
  async fn() {
    const [t, w] = await across(["tensorflow", "wasm"], async () => {
      const net = createDeepID2(config, 4);
      const f = await extractFeatures(net, images, config.inputShape, {
        batchSize: 10,
      });
      disposeModel(net);
      return f;
    });
    assertStrict.equal(t.length, N * config.deepid2Dim);
    assertClose("extracted features", t, w, FORWARD_TOL);
  },
});

Deno.test({
  name:
    "native: oneDNN's transpose (and its gradient) and the cached-shape Reshape equal the stock kernels",
  ignore,
  async fn() {
    await on("tensorflow");
    const found = { ...fastPaths };
    if (!found.mklTranspose) {
      console.log("oneDNN transpose not in this libtensorflow: Eigen's runs");
      return;
    }
    const x = rand([6, 5, 2, 4, 2, 7], 21);
    const w = rand([5, 4, 6, 2, 2, 7], 22);
    const perm = [1, 3, 0, 2, 4, 5];
    try {
      const [mine, stock] = await arrays([
        transposeKernel(x, perm),
        tf.transpose(x, perm),
      ]);
      assertStrict.deepEqual(Array.from(mine), Array.from(stock));
      const grad = (tr: typeof transposeKernel) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tr(t, perm), w)))(x);
      const [g1, g2] = await arrays([
        grad(transposeKernel),
        grad(tf.transpose),
      ]);
      assertStrict.deepEqual(Array.from(g1), Array.from(g2), "gradient");
      // Reshape: the same values and shapes with the cached shape tensors
      // (nativeOps) as with tfjs-node's own kernel; -1 and int32 included.
      const shapes = [[30, -1], [2, 3, 5, 112], [-1]];
      const run = () =>
        shapes.flatMap((sh) => [
          tf.reshape(x, sh),
          tf.reshape(tf.cast(x, "int32"), sh),
        ]);
      const a = run();
      fastPaths.nativeOps = false;
      const b = run();
      a.forEach((t, i) => assertStrict.deepEqual(t.shape, b[i].shape));
      const [va, vb] = [await arrays(a), await arrays(b)];
      va.forEach((v, i) =>
        assertStrict.deepEqual(Array.from(v), Array.from(vb[i]))
      );
    } finally {
      Object.assign(fastPaths, found);
      tf.dispose([x, w]);
    }
  },
});

/** Training settings for the resource-variable SGD tests. */
const SGD_TRAIN = {
  ...DEFAULT_TRAIN,
  pairsPerBatch: 4,
  lambda: 0.05,
  signal: "l2" as const,
  learningRate: 0.02,
  momentum: 0.9,
  weightDecay: 0.01,
  checkpointEvery: 0,
  seed: 7,
};

async function weights(
  net: ReturnType<typeof createDeepID2>,
): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of net.params) out.set(k, await v.data() as Float32Array);
  return out;
}

Deno.test({
  name:
    "native: SGD on resource variables (momentum, decay) follows the tfjs update, velocities included",
  ignore,
  async fn() {
    await on("tensorflow");
    const found = { ...fastPaths };
    assertStrict.ok(found.nativeSgd, "the resource-variable SGD probe passed");
    const dir = await Deno.makeTempDir();
    const data = { images, shape: config.inputShape, labels };
    const run = async (native: boolean) => {
      fastPaths.nativeSgd = native;
      const net = createDeepID2(config, 5);
      const before = tf.memory().numTensors;
      const path = `${dir}/${native}.bin`;
      await train(net, data, { ...SGD_TRAIN, steps: 4 }, {
        progressLabel: null,
        checkpointPath: path,
      });
      assertStrict.equal(tf.memory().numTensors, before, "tensors leaked");
      const w = await weights(net);
      disposeModel(net);
      return { w, ck: await loadCheckpoint(path) };
    };
    try {
      const a = await run(true);
      const b = await run(false);
      for (const [k, v] of b.w) {
        // Rounding of the folded decay only: far below GRAD_TOL.
        assertClose(`${k} after 4 steps`, a.w.get(k)!, v, 1e-5);
        const va = a.ck.tensors.get(`${k}/v`)!.values;
        const vb = b.ck.tensors.get(`${k}/v`)!.values;
        assertClose(`${k} velocity`, va, vb, 1e-4);
        assertStrict.ok(vb.some((x) => x !== 0), `${k} moved`);
      }
    } finally {
      Object.assign(fastPaths, found);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "native: with resource-variable SGD, interrupted then resumed equals uninterrupted, and evaluation sees the current weights",
  ignore,
  async fn() {
    await on("tensorflow");
    assertStrict.ok(fastPaths.nativeSgd);
    const dir = await Deno.makeTempDir();
    const data = { images, shape: config.inputShape, labels };
    const cfg = { ...SGD_TRAIN, steps: 4, checkpointEvery: 2 };
    try {
      const whole = createDeepID2(config, 6);
      const seen: Map<string, Float32Array>[] = [];
      await train(whole, data, cfg, {
        progressLabel: null,
        checkpointPath: `${dir}/whole.bin`,
        evalEvery: 2,
        onEval: async (_step, net) => {
          seen.push(await weights(net));
        },
      });
      const end = await weights(whole);
      assertStrict.equal(seen.length, 2);
      for (const [k, v] of end) {
        assertStrict.deepEqual(
          seen[1].get(k),
          v,
          `${k} at the last evaluation`,
        );
      }
      assertStrict.notDeepEqual(seen[0].get("conv3/w"), end.get("conv3/w"));

      const cut = createDeepID2(config, 6);
      const path = `${dir}/cut.bin`;
      await train(cut, data, cfg, {
        progressLabel: null,
        checkpointPath: path,
        stopAfter: 2,
      });
      // A fresh process would start from new weights: resume must load them.
      disposeModel(cut);
      const resumed = createDeepID2(config, 99);
      await train(resumed, data, cfg, {
        progressLabel: null,
        checkpointPath: path,
        resume: true,
      });
      const r = await weights(resumed);
      for (const [k, v] of end) assertStrict.deepEqual(r.get(k), v, k);
      disposeModel(whole);
      disposeModel(resumed);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "native: patches gathered (GatherNd/ScatterNd) give the locally shared layer the depthwise path's values and gradients",
  ignore,
  async fn() {
    await on("tensorflow");
    const found = { ...fastPaths };
    assertStrict.ok(found.gatherPatches, "the gather/scatter probe passed");
    // conv3 and conv4 of the network, and an uneven region.
    const specs = [
      { inH: 12, inW: 10, inC: 40, kh: 3, kw: 3, outC: 60, rh: 2, rw: 2 },
      { inH: 5, inW: 4, inC: 60, kh: 2, kw: 2, outC: 80, rh: 1, rw: 1 },
      { inH: 6, inW: 9, inC: 5, kh: 3, kw: 2, outC: 7, rh: 1, rw: 4 },
    ];
    try {
      for (const [i, spec] of specs.entries()) {
        const { regions, patch } = locallySharedShape(spec);
        const x = rand(
          [3, spec.inH, spec.inW, spec.inC],
          30 + i,
        ) as tf.Tensor4D;
        const w = rand([regions, patch, spec.outC], 40 + i) as tf.Tensor3D;
        const b = rand([regions, spec.outC], 50 + i) as tf.Tensor2D;
        const run = async (gather: boolean) => {
          fastPaths.gatherPatches = gather;
          const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(tf.sin(locallyShared(
              xx as tf.Tensor4D,
              ww as tf.Tensor3D,
              bb as tf.Tensor2D,
              spec,
            )));
          const y = locallyShared(x, w, b, spec);
          return await arrays([y, ...tf.grads(f)([x, w, b])]);
        };
        const g = await run(true);
        const d = await run(false);
        ["values", "dx", "dw", "db"].forEach((n, k) =>
          assertClose(`${n} (spec ${i})`, g[k], d[k], GRAD_TOL)
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
    } finally {
      Object.assign(fastPaths, found);
    }
  },
});

Deno.test({
  name:
    "native: a diverging run with resource-variable SGD fails with a clear error and leaves no tensors behind",
  ignore,
  async fn() {
    await on("tensorflow");
    assertStrict.ok(fastPaths.nativeSgd);
    const data = { images, shape: config.inputShape, labels };
    const net = createDeepID2(config, 8);
    const before = tf.memory().numTensors;
    await assertStrict.rejects(
      train(net, data, { ...SGD_TRAIN, steps: 20, learningRate: 1e8 }, {
        progressLabel: null,
      }),
      /training diverged at step \d+ .*lower the learning rate/,
    );
    assertStrict.equal(tf.memory().numTensors, before, "tensors leaked");
    // The network holds the weights of the step that diverged, not stale ones.
    const w = await net.params.get("softmax/w")!.data();
    assertStrict.ok(
      !w.every(Number.isFinite) || w.some((v) => Math.abs(v) > 1e3),
    );
    disposeModel(net);
  },
});

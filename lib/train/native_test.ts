/**
 * Training on the native TensorFlow backend with the formulations
 * `initBackend` picks there (host-computed joint loss, resource-variable
 * SGD), against wasm and against the tfjs update. Without the native install
 * (`make tensorflow`) every test here is skipped, and the reason is printed.
 *
 * Tolerance as in `lib/nn/native_test.ts`: max |a - b| / max |b| per tensor,
 * 1e-5 for losses, 1e-4 for gradients.
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import { across, assertRelClose, onBackend } from "../_test_helpers.ts";
import { loadCheckpoint } from "../nn/checkpoint.ts";
import {
  createDeepID2,
  type DeepID2,
  defaultModelConfig,
  disposeModel,
} from "../nn/model.ts";
import { loadNative } from "../engine/native.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";
import {
  DEFAULT_TRAIN,
  train,
  type TrainConfig,
  TrainingDiverged,
} from "./train.ts";

const reason = await loadNative("tensorflow");
if (reason !== null) console.log(`native tests skipped: ${reason}`);
const ignore = reason !== null;

const FORWARD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

// The DeepID2 network at its real input size (55x47x3), small batch.
const IDS = 10;
const config = defaultModelConfig(IDS);
const [H, W, C] = config.inputShape;
const N = 24;
const rng = new Rng(11);
const images = Uint8Array.from({ length: N * H * W * C }, () => rng.int(256));
const labels = Int32Array.from({ length: N }, (_, i) => i % IDS);
const data = { images, shape: config.inputShape, labels };

async function weights(net: DeepID2): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of net.params) out.set(k, await v.data() as Float32Array);
  return out;
}

/** The one-step comparisons: the paper's default, and the new L1 form and λ scaling. */
const ONE_STEP: {
  lambda: number;
  signal: TrainConfig["signal"];
  lambdaScaling: TrainConfig["lambdaScaling"];
}[] = [
  { lambda: 0.05, signal: "l2", lambdaScaling: "bounded" },
  { lambda: 2, signal: "l1", lambdaScaling: "bounded" },
  { lambda: 50, signal: "cosine", lambdaScaling: "bounded" },
];

for (const one of ONE_STEP) {
  const what = `${one.signal}, lambda ${one.lambda} (${one.lambdaScaling})`;
  Deno.test({
    name:
      `native: one joint training step gives the same gradients as wasm, ${what}`,
    ignore,
    async fn() {
      // lr 1, no momentum or decay: after one step, p0 - p1 is the gradient.
      const tcfg = {
        ...DEFAULT_TRAIN,
        ...one,
        steps: 1,
        pairsPerBatch: 4,
        learningRate: 1,
        lrSchedule: "constant" as const,
        momentum: 0,
        weightDecay: 0,
        checkpointEvery: 0,
        seed: 5,
      };
      const [t, w] = await across(["tensorflow", "wasm"], async (paths) => {
        const net = createDeepID2(config, 3, { paths });
        const before = await weights(net);
        const r = await train(net, data, tcfg, { progressLabel: null });
        const grads = new Map<string, Float32Array>();
        for (const [k, p1] of await weights(net)) {
          grads.set(k, before.get(k)!.map((p0, i) => p0 - p1[i]));
        }
        disposeModel(net);
        return { grads, log: r.log };
      });
      assertStrict.deepEqual([...t.grads.keys()], [...w.grads.keys()]);
      let nonzero = 0;
      for (const [k, g] of w.grads) {
        assertRelClose(`gradient of ${k}`, t.grads.get(k)!, g, GRAD_TOL);
        if (g.some((v) => v !== 0)) nonzero++;
      }
      assertStrict.ok(nonzero > w.grads.size / 2, "most gradients are nonzero");
      const lt = t.log.at(-1)!;
      const lw = w.log.at(-1)!;
      assertRelClose(
        "identification loss",
        [lt.identLoss],
        [lw.identLoss],
        FORWARD_TOL,
      );
      assertRelClose(
        "verification loss",
        [lt.verifLoss],
        [lw.verifLoss],
        FORWARD_TOL,
      );
    },
  });
}

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

Deno.test({
  name:
    "native: SGD on resource variables (momentum, decay) follows the tfjs update, velocities included",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    assertStrict.ok(found.nativeSgd, "the resource-variable SGD probe passed");
    const dir = await Deno.makeTempDir();
    const run = async (nativeSgd: boolean) => {
      const net = createDeepID2(config, 5, { paths: { ...found, nativeSgd } });
      const before = tf.memory().numTensors;
      const path = `${dir}/${nativeSgd}.bin`;
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
        assertRelClose(`${k} after 4 steps`, a.w.get(k)!, v, 1e-5);
        const va = a.ck.tensors.get(`${k}/v`)!.values;
        const vb = b.ck.tensors.get(`${k}/v`)!.values;
        assertRelClose(`${k} velocity`, va, vb, 1e-4);
        assertStrict.ok(vb.some((x) => x !== 0), `${k} moved`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "native: with resource-variable SGD, interrupted then resumed equals uninterrupted, and evaluation sees the current weights",
  ignore,
  async fn() {
    const paths = await onBackend("tensorflow");
    assertStrict.ok(paths.nativeSgd);
    const dir = await Deno.makeTempDir();
    const cfg = { ...SGD_TRAIN, steps: 4, checkpointEvery: 2 };
    try {
      const whole = createDeepID2(config, 6, { paths });
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

      const cut = createDeepID2(config, 6, { paths });
      const path = `${dir}/cut.bin`;
      await train(cut, data, cfg, {
        progressLabel: null,
        checkpointPath: path,
        stopAfter: 2,
      });
      // A fresh process would start from new weights: resume must load them.
      disposeModel(cut);
      const resumed = createDeepID2(config, 99, { paths });
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
    "native: a diverging run with resource-variable SGD fails with a clear error and leaves no tensors behind",
  ignore,
  async fn() {
    const paths = await onBackend("tensorflow");
    assertStrict.ok(paths.nativeSgd);
    const net = createDeepID2(config, 8, { paths });
    const before = tf.memory().numTensors;
    await assertStrict.rejects(
      train(net, data, { ...SGD_TRAIN, steps: 20, learningRate: 1e8 }, {
        progressLabel: null,
      }),
      (e) =>
        e instanceof TrainingDiverged &&
        /training diverged at step \d+ .*lower the learning rate/.test(
          e.message,
        ),
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

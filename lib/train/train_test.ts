import assertStrict from "node:assert/strict";
import {
  assert,
  assertAllClose,
  assertRelClose,
  useBackend,
} from "../_test_helpers.ts";
import { PORTABLE } from "../engine/fast_paths.ts";
import { loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { SIGNALS } from "./losses.ts";
import {
  createDeepID2,
  type DeepID2,
  defaultModelConfig,
  disposeModel,
  extractFeatures,
  loadModel,
  saveModel,
} from "../nn/model.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";
import { PairSampler } from "./pairs.ts";
import {
  DEFAULT_TRAIN,
  type EvalStats,
  learningRateAt,
  train,
  type TrainConfig,
  type TrainData,
  TrainingDiverged,
} from "./train.ts";

const SHAPE: [number, number, number] = [55, 47, 3];
const PER = 55 * 47 * 3;

/** 8 identities x 5 images: a per-identity pattern plus per-image noise. */
function tinyData(): TrainData {
  const rng = new Rng(3);
  const ids = 8;
  const per = 5;
  const images = new Uint8Array(ids * per * PER);
  const labels = new Int32Array(ids * per);
  for (let id = 0; id < ids; id++) {
    const base = Float32Array.from({ length: PER }, () => rng.uniform(40, 215));
    for (let k = 0; k < per; k++) {
      const n = id * per + k;
      labels[n] = id;
      for (let j = 0; j < PER; j++) {
        images[n * PER + j] = Math.max(
          0,
          Math.min(255, base[j] + rng.normal() * 25),
        );
      }
    }
  }
  return { images, shape: SHAPE, labels };
}

const quick: TrainConfig = {
  ...DEFAULT_TRAIN,
  steps: 8,
  pairsPerBatch: 4,
  learningRate: 0.01,
  checkpointEvery: 0,
  marginEvery: 2,
};

async function weights(net: DeepID2): Promise<Float32Array[]> {
  return await Promise.all(
    [...net.params.values()].map(async (v) => await v.data() as Float32Array),
  );
}

function sameWeights(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length &&
    a.every((x, i) =>
      x.length === b[i].length && x.every((v, j) => v === b[i][j])
    );
}

Deno.test("train (wasm): joint training lowers the loss; margin is re-set", async () => {
  await useBackend("wasm");
  const data = tinyData();
  const net = createDeepID2(defaultModelConfig(8), 1);
  const r = await train(net, data, { ...quick, steps: 40, pairsPerBatch: 8 }, {
    progressLabel: null,
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(r.log.slice(0, 5).map((e) => e.identLoss));
  const last = mean(r.log.slice(-5).map((e) => e.identLoss));
  assert(last < first * 0.8, `identification loss ${first} -> ${last}`);
  assert(r.margin !== quick.margin, "margin was re-set");
  disposeModel(net);
});

Deno.test("train: same seed gives identical weights; no tensor leak across steps", async () => {
  await useBackend("wasm");
  const data = tinyData();
  const a = createDeepID2(defaultModelConfig(8), 5);
  const b = createDeepID2(defaultModelConfig(8), 5);
  await train(a, data, quick, { progressLabel: null });
  await train(b, data, quick, { progressLabel: null });
  assert(
    sameWeights(await weights(a), await weights(b)),
    "same seed, same weights",
  );
  // numTensors is flat: two calls of different length leave the same count.
  const n0 = tf.memory().numTensors;
  await train(a, data, { ...quick, steps: 2 }, { progressLabel: null });
  const n1 = tf.memory().numTensors;
  await train(a, data, { ...quick, steps: 6 }, { progressLabel: null });
  assertStrict.equal(tf.memory().numTensors, n1);
  assertStrict.equal(n1, n0);
  disposeModel(a);
  disposeModel(b);
});

Deno.test("train: interrupted then resumed equals uninterrupted; checkpoint -> load gives identical features", async () => {
  await useBackend("wasm");
  const dir = await Deno.makeTempDir();
  const data = tinyData();
  const full = createDeepID2(defaultModelConfig(8), 2);
  await train(full, data, quick, { progressLabel: null });
  const ck = `${dir}/ck.bin`;
  const part = createDeepID2(defaultModelConfig(8), 2);
  const r1 = await train(part, data, quick, {
    progressLabel: null,
    checkpointPath: ck,
    stopAfter: 3,
  });
  assertStrict.equal(r1.step, 3);
  disposeModel(part);
  // A fresh process would rebuild the net from scratch and resume.
  const resumed = createDeepID2(defaultModelConfig(8), 2);
  const r2 = await train(resumed, data, quick, {
    progressLabel: null,
    checkpointPath: ck,
    resume: true,
  });
  assertStrict.equal(r2.step, quick.steps);
  assertStrict.equal(r2.log.length, quick.steps);
  assert(
    sameWeights(await weights(full), await weights(resumed)),
    "resumed run equals uninterrupted run",
  );
  await saveModel(resumed, `${dir}/model.bin`);
  for (const path of [`${dir}/model.bin`, ck]) {
    const loaded = await loadModel(path);
    const f1 = await extractFeatures(resumed, data.images, SHAPE);
    const f2 = await extractFeatures(loaded, data.images, SHAPE);
    assert(
      f1.every((v, i) => v === f2[i]),
      `features identical after loading ${path}`,
    );
    disposeModel(loaded);
  }
  disposeModel(full);
  disposeModel(resumed);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: every signal and lambda = 0 / Infinity run; bad setups get clear errors", async () => {
  await useBackend("wasm");
  const data = tinyData();
  for (const signal of SIGNALS) {
    const net = createDeepID2(defaultModelConfig(8), 1);
    const r = await train(net, data, { ...quick, steps: 2, signal }, {
      progressLabel: null,
    });
    assert(
      r.log.every((e) => Number.isFinite(e.verifLoss) && e.verifLoss >= 0),
      signal,
    );
    if (signal === "cosine") assert(r.cosine && Number.isFinite(r.cosine.w));
    disposeModel(net);
  }
  const identOnly = createDeepID2(defaultModelConfig(8), 1);
  const r0 = await train(identOnly, data, { ...quick, steps: 2, lambda: 0 }, {
    progressLabel: null,
  });
  assert(r0.log.every((e) => e.verifLoss === 0));
  await assertStrict.rejects(
    () =>
      train(identOnly, data, { ...quick, lambda: Infinity }, {
        progressLabel: null,
      }),
    /lambda = Infinity trains without a softmax/,
  );
  disposeModel(identOnly);
  const verifOnly = createDeepID2(defaultModelConfig(0), 1);
  const rInf = await train(verifOnly, data, {
    ...quick,
    steps: 2,
    lambda: Infinity,
  }, { progressLabel: null });
  assert(rInf.log.every((e) => e.identLoss === 0 && e.verifLoss > 0));
  await assertStrict.rejects(
    () =>
      train(verifOnly, data, { ...quick, lambda: 0.05 }, {
        progressLabel: null,
      }),
    /needs a softmax/,
  );
  await assertStrict.rejects(
    () =>
      train(verifOnly, { ...data, shape: [47, 47, 3] }, {
        ...quick,
        lambda: Infinity,
      }, { progressLabel: null }),
    /training crops are 47x47x3, the network expects 55x47x3/,
  );
  disposeModel(verifOnly);
});

Deno.test("checkpoint: missing, truncated or foreign files get clear errors and are not overwritten", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  await assertStrict.rejects(
    () => loadModel(`${dir}/nope.bin`),
    /nope.bin: checkpoint not found/,
  );
  await Deno.writeTextFile(
    `${dir}/foreign.bin`,
    "hello world, not a checkpoint",
  );
  await assertStrict.rejects(
    () => loadCheckpoint(`${dir}/foreign.bin`),
    /foreign.bin: not a valid DeepID2 checkpoint \(wrong magic\)/,
  );
  await saveCheckpoint(`${dir}/ok.bin`, {
    tensors: new Map([["a", { shape: [2], values: Float32Array.of(1, 2) }]]),
    state: { step: 3 },
  });
  const bytes = await Deno.readFile(`${dir}/ok.bin`);
  await Deno.writeFile(`${dir}/cut.bin`, bytes.subarray(0, bytes.length - 3));
  await assertStrict.rejects(
    () => loadCheckpoint(`${dir}/cut.bin`),
    /cut.bin: not a valid DeepID2 checkpoint \(expected/,
  );
  const back = await loadCheckpoint(`${dir}/ok.bin`);
  assertStrict.deepEqual(Array.from(back.tensors.get("a")!.values), [1, 2]);
  assertStrict.equal(back.state.step, 3);
  // Resuming from a corrupt checkpoint fails and leaves the file as it was
  // (and no tensor of the trainer behind).
  const net = createDeepID2(defaultModelConfig(8), 1);
  const before = tf.memory().numTensors;
  // The error names the file, the defect and the way out.
  await assertStrict.rejects(
    () =>
      train(net, tinyData(), quick, {
        progressLabel: null,
        checkpointPath: `${dir}/cut.bin`,
        resume: true,
      }),
    /cut\.bin: not a valid DeepID2 checkpoint \(expected \d+ bytes, found \d+\); delete .*cut\.bin to start this training over/,
  );
  // Truncated inside the header too.
  await Deno.writeFile(`${dir}/head.bin`, bytes.subarray(0, 20));
  await assertStrict.rejects(
    () =>
      train(net, tinyData(), quick, {
        progressLabel: null,
        checkpointPath: `${dir}/head.bin`,
        resume: true,
      }),
    /head\.bin: not a valid DeepID2 checkpoint \(truncated header\); delete .*head\.bin to start this training over/,
  );
  // A valid file that is not a training run's (a saved model, here).
  await saveModel(net, `${dir}/model.bin`);
  const w0 = await weights(net);
  await assertStrict.rejects(
    () =>
      train(net, tinyData(), quick, {
        progressLabel: null,
        checkpointPath: `${dir}/model.bin`,
        resume: true,
      }),
    /model\.bin: not a training checkpoint .*; delete .*model\.bin to start this training over/,
  );
  assert(sameWeights(await weights(net), w0), "a bad file loads nothing");
  assertStrict.equal(tf.memory().numTensors, before, "tensors leaked");
  assertStrict.equal(
    (await Deno.readFile(`${dir}/cut.bin`)).length,
    bytes.length - 3,
  );
  // A diverging run: a TrainingDiverged that says what to change, and no
  // tensor left behind either.
  const err = await train(net, tinyData(), { ...quick, learningRate: 1e8 }, {
    progressLabel: null,
  }).then(() => null, (e) => e);
  assert(err instanceof TrainingDiverged, `got ${err}`);
  assert(err.step >= 1 && err.step <= quick.steps, `step ${err.step}`);
  assert(!Number.isFinite(err.identLoss) || !Number.isFinite(err.verifLoss));
  assertStrict.match(
    err.message,
    /training diverged at step \d+ .*deterministic.*diverge again at the same step: lower the learning rate, or raise warm-up/,
  );
  assertStrict.equal(tf.memory().numTensors, before, "tensors leaked");
  disposeModel(net);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pair sampler: the set fraction of positives, seeded; learning-rate schedules", () => {
  const labels = Int32Array.from({ length: 40 }, (_, i) => i % 8);
  const s1 = new PairSampler(labels, 4);
  const s2 = new PairSampler(labels, 4);
  const b1 = s1.batch(10, 0.3);
  assertStrict.deepEqual(b1, s2.batch(10, 0.3));
  for (let k = 0; k < 10; k++) {
    assertStrict.equal(labels[b1.a[k]] === labels[b1.b[k]], b1.same[k] === 1);
    assertStrict.notEqual(b1.a[k], b1.b[k]);
  }
  assertStrict.equal(b1.same.reduce((a, b) => a + b, 0), 3);
  assertStrict.throws(
    () => new PairSampler(new Int32Array([0, 0]), 1),
    /at least two identities/,
  );
  const c = { ...DEFAULT_TRAIN, steps: 100, learningRate: 1 };
  assertStrict.equal(learningRateAt(0, c), 1);
  assertStrict.ok(Math.abs(learningRateAt(100, c) - 0.1) < 1e-12);
  assertStrict.equal(learningRateAt(60, { ...c, lrSchedule: "step" }), 0.1);
  assertStrict.equal(learningRateAt(99, { ...c, lrSchedule: "constant" }), 1);
  // Warm-up: (step + 1) / N of the scheduled rate for the first N steps,
  // then the schedule itself, bit for bit.
  const w = { ...c, warmupSteps: 4 };
  assertStrict.deepEqual(
    [0, 1, 2, 3, 4, 50].map((s) => learningRateAt(s, w)),
    [0.25, 0.5, 0.75, 1, 1, 1].map((f, i) =>
      f * learningRateAt([0, 1, 2, 3, 4, 50][i], c)
    ),
  );
  assertStrict.equal(learningRateAt(3, w), learningRateAt(3, c));
  assertStrict.equal(learningRateAt(50, w), learningRateAt(50, c));
});

Deno.test("train: config values a caller could leave out or mistype are errors naming the key", async () => {
  await useBackend("cpu");
  const net = createDeepID2(defaultModelConfig(8), 1);
  const data = tinyData();
  const bad = (cfg: Record<string, unknown>) =>
    train(net, data, { ...quick, ...cfg } as TrainConfig, {
      progressLabel: null,
    });
  await assertStrict.rejects(
    () => bad({ lambdaScaling: undefined }),
    /lambdaScaling must be "bounded" or "none", got undefined/,
  );
  await assertStrict.rejects(
    () => bad({ warmupSteps: -1 }),
    /warmupSteps must be an integer >= 0, got -1/,
  );
  disposeModel(net);
});

Deno.test("train: lambda scaling: bounded equals none bit for bit at lambda <= 1, and at lambda = 1e6 trains the network like verification only", async () => {
  await useBackend("wasm");
  const data = tinyData();
  const run = async (cfg: Partial<TrainConfig>) => {
    const net = createDeepID2(
      defaultModelConfig(cfg.lambda === Infinity ? 0 : 8),
      1,
    );
    try {
      const r = await train(net, data, { ...quick, steps: 2, ...cfg }, {
        progressLabel: null,
      });
      const w = new Map<string, Float32Array>();
      for (const [k, v] of net.params) {
        w.set(k, await v.data() as Float32Array);
      }
      return { r, w };
    } finally {
      disposeModel(net);
    }
  };
  const a = await run({ lambda: 0.5, lambdaScaling: "bounded" });
  const b = await run({ lambda: 0.5, lambdaScaling: "none" });
  assertStrict.deepEqual(a.w, b.w);
  assertStrict.deepEqual(a.r.log, b.r.log);
  // λ = 1e6: the softmax's pull is 1e-6 of the verification's; the network
  // (all but the softmax) ends within 1e-4 of the λ = ∞ run from the same
  // start (the softmax is drawn after every other layer).
  const big = await run({ lambda: 1e6, lambdaScaling: "bounded" });
  const inf = await run({ lambda: Infinity });
  for (const [k, v] of inf.w) assertRelClose(k, big.w.get(k)!, v, 1e-4);
  // The same λ without the scaling takes steps ~1e6 times larger: with
  // this learning rate it diverges at once.
  await assertStrict.rejects(
    () => run({ lambda: 1e6, lambdaScaling: "none" }),
    TrainingDiverged,
  );
});

Deno.test("train: the evaluation callback runs every evalEvery steps with the step, the losses since the last call, margin and rate; its note is shown", async () => {
  await useBackend("wasm");
  const net = createDeepID2(defaultModelConfig(8), 1);
  const seen: [number, EvalStats][] = [];
  const lines: string[] = [];
  const r = await train(net, tinyData(), { ...quick, steps: 6 }, {
    progressLabel: "t",
    progressWrite: (text) => lines.push(text),
    evalEvery: 2,
    onEval: (step, _net, stats) => {
      seen.push([step, stats]);
      return `val ${step} %`;
    },
  });
  assertStrict.deepEqual(seen.map(([s]) => s), [2, 4, 6]);
  for (const [step, stats] of seen) {
    const window = r.log.slice(step - 2, step);
    const mean = (f: (e: typeof window[0]) => number) =>
      window.reduce((a, e) => a + f(e), 0) / window.length;
    assertStrict.equal(stats.steps, 2);
    assertAllClose([stats.identLoss, stats.verifLoss], [
      mean((e) => e.identLoss),
      mean((e) => e.verifLoss),
    ], 1e-12);
    assertStrict.equal(stats.margin, r.log[step - 1].margin);
    assertStrict.equal(stats.lr, r.log[step - 1].lr);
  }
  // The last line shows what the last evaluation returned.
  assertStrict.match(lines.join(""), /step 6\/6 .* val 6 %/);
  disposeModel(net);
});

Deno.test("train: the host-computed joint loss (TensorFlow's path) trains like the tfjs one, every signal and lambda", async () => {
  await useBackend("wasm");
  const data = tinyData();
  const run = async (hostLoss: boolean, cfg: Partial<TrainConfig>) => {
    const net = createDeepID2(
      defaultModelConfig(cfg.lambda === Infinity ? 0 : 8),
      1,
      { paths: { ...PORTABLE, hostLoss } },
    );
    const r = await train(net, data, { ...quick, steps: 2, ...cfg }, {
      progressLabel: null,
    });
    const w = await weights(net);
    disposeModel(net);
    return { r, w };
  };
  const cases: Partial<TrainConfig>[] = [
    ...SIGNALS.map((signal) => ({ signal })),
    { lambda: 0 },
    { lambda: Infinity },
    { lambda: 2, signal: "l1" },
    { lambda: 2, lambdaScaling: "none" },
    { lambda: 2, signal: "cosine" },
  ];
  for (const cfg of cases) {
    const a = await run(true, cfg);
    const b = await run(false, cfg);
    const what = JSON.stringify(cfg);
    for (let s = 0; s < a.r.log.length; s++) {
      const [x, y] = [a.r.log[s], b.r.log[s]];
      assertAllClose([x.identLoss, x.verifLoss, x.margin], [
        y.identLoss,
        y.verifLoss,
        y.margin,
      ], 1e-4);
    }
    a.w.forEach((w, i) => assertAllClose(w, b.w[i], 1e-4));
    if (cfg.signal === "cosine") {
      assertAllClose([a.r.cosine!.w, a.r.cosine!.b], [
        b.r.cosine!.w,
        b.r.cosine!.b,
      ], 1e-4);
    }
    assert(a.r.log.length === 2, what);
  }
});

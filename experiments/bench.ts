/**
 * `deno task bench [--backend B] [--batch 64] [--identities 1000] [--steps 10]`
 *
 * Throughput of the real DeepID2 network (locally shared layers included):
 * one full joint training step (forward, backward through both branches,
 * SGD update, softmax over `--identities`) and feature extraction, plus data
 * preparation (decode + align + crop, images/s) and evaluation timings (the
 * 10-fold protocol on 6000 pairs, Joint Bayesian on 20,000 x 180). Prints one
 * JSON line. `--model-only` skips preparation and evaluation.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchPrepare } from "../datasets/mod.ts";
import { benchEvaluation } from "../lib/eval/bench.ts";
import { initBackend } from "../lib/engine/backend.ts";
import { fastPaths } from "../lib/engine/fast_paths.ts";
import {
  createDeepID2,
  defaultModelConfig,
  extractFeatures,
} from "../lib/nn/model.ts";
import { Rng } from "../lib/base/rng.ts";
import { tf } from "../lib/engine/tf.ts";
import { DEFAULT_TRAIN, train } from "../lib/train/train.ts";

/** Measured throughput. */
export interface BenchResult {
  backend: string;
  batch: number;
  input: string;
  identities: number;
  train_img_per_s: number;
  extract_img_per_s: number;
  tensors_leaked: number;
  /** The formulations in force (lib/fast_paths.ts), e.g. `batchedRegions`. */
  paths: string[];
}

/** Runs the model benchmark on the current backend. */
export async function benchModel(
  options: {
    batch: number;
    identities: number;
    steps: number;
    backend: string;
  },
): Promise<BenchResult> {
  const cfg = defaultModelConfig(options.identities);
  const [h, w, c] = cfg.inputShape;
  const n = options.identities * 4;
  const rng = new Rng(7);
  const images = new Uint8Array(n * h * w * c).map(() => rng.int(256));
  const labels = Int32Array.from(
    { length: n },
    (_, i) => i % options.identities,
  );
  const net = createDeepID2(cfg, 1);
  const tcfg = {
    ...DEFAULT_TRAIN,
    steps: options.steps + 2,
    pairsPerBatch: options.batch / 2,
    checkpointEvery: 0,
  };
  const data = { images, shape: cfg.inputShape, labels };
  // Warm-up (kernel initialisation), then the timed steps.
  await train(net, data, { ...tcfg, steps: 2 }, { progressLabel: null });
  const before = tf.memory().numTensors;
  const r = await train(net, data, tcfg, {
    progressLabel: null,
    stopAfter: options.steps,
  });
  const leaked = tf.memory().numTensors - before;
  await extractFeatures(
    net,
    images.subarray(0, 256 * h * w * c),
    cfg.inputShape,
  );
  const t0 = performance.now();
  const m = Math.min(n, 1024);
  await extractFeatures(net, images.subarray(0, m * h * w * c), cfg.inputShape);
  const ex = m / ((performance.now() - t0) / 1000);
  for (const v of net.params.values()) v.dispose();
  return {
    backend: options.backend,
    batch: options.batch,
    input: `${h}x${w}x${c}`,
    identities: options.identities,
    train_img_per_s: Math.round(r.imagesPerSecond * 10) / 10,
    extract_img_per_s: Math.round(ex * 10) / 10,
    tensors_leaked: leaked,
    paths: Object.entries(fastPaths).filter(([, on]) => on).map(([k]) => k),
  };
}

const USAGE =
  "usage: deno task bench [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] [--batch 64]\n" +
  "         [--identities 1000] [--steps 10] [--model-only]\n" +
  "Prints one JSON line: training and extraction images/s (and, without\n" +
  "--model-only, data preparation and evaluation timings).";

async function main() {
  const { values } = parseArgs({
    options: {
      help: { type: "boolean", short: "h", default: false },
      backend: { type: "string", default: "auto" },
      batch: { type: "string", default: "64" },
      identities: { type: "string", default: "1000" },
      steps: { type: "string", default: "10" },
      "model-only": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const info = await initBackend(values.backend!);
  const batch = Number(values.batch);
  if (!Number.isInteger(batch) || batch < 2 || batch % 2) {
    throw new Error(
      `--batch must be an even integer >= 2, got ${values.batch}`,
    );
  }
  const res = await benchModel({
    batch,
    identities: Number(values.identities),
    steps: Number(values.steps),
    backend: info.name,
  });
  const extra = values["model-only"]
    ? {}
    : { ...await benchPrepare(), ...await benchEvaluation() };
  console.log(JSON.stringify({ ...res, ...extra }));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

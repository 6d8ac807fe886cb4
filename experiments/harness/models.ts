/**
 * Trained models, cached. A model is named by the hash of everything that
 * decides its numbers: the network config, the training config (seed
 * included), the data, the identity subset, the backend and the code of
 * training (its import closure, `code_key.ts`). The same training asked for
 * by two experiments (λ = 0 in identification_only, joint_lambda and
 * verification_signals) runs once. An interrupted training resumes from its
 * checkpoint.
 *
 * Files: `<cache>/models/<key>.model` (finished), `<key>.ckpt` (in progress).
 *
 * @module
 */
import type { FaceSet } from "../../lib/faces.ts";
import { exists, sha256Hex } from "../../lib/base/io.ts";
import { Rng } from "../../lib/base/rng.ts";
import {
  createDeepID2,
  type DeepID2,
  defaultModelConfig,
  disposeModel,
  loadModel,
  type ModelConfig,
  saveModel,
} from "../../lib/nn/model.ts";
import { train, type TrainConfig } from "../../lib/train/train.ts";
import { codeHash, TRAINING_ENTRIES } from "./code_key.ts";
import { configToJson } from "./config.ts";
import type { CommonConfig } from "./profiles.ts";
import type { Configuration, RunContext } from "./experiment.ts";

/** A training to run or reuse: its cache key and what it stands for. */
export interface ModelPlan {
  key: string;
  model: ModelConfig;
  train: TrainConfig;
  /** Training identities when a subset (Fig. 6); undefined = all. */
  identities: number | undefined;
}

/** A model ready for evaluation; `using` disposes its weights. */
export interface TrainedModel {
  net: DeepID2;
  key: string;
  /** Trained in this process (false: loaded from the cache). */
  trained: boolean;
  /** Training throughput, when trained here. */
  imagesPerSecond?: number;
  [Symbol.dispose](): void;
}

/** The training set restricted to the first `n` identities of a seeded order, labels remapped. */
export function subsetTrain(
  set: FaceSet,
  n: number | undefined,
  seed: number,
): FaceSet {
  const total = set.identities.length;
  if (n === undefined || n >= total) return set;
  if (n < 2) throw new Error(`identities must be at least 2, got ${n}`);
  const order = Rng.derive(seed, "identity-subset").shuffle(
    Array.from({ length: total }, (_, i) => i),
  );
  const keep = new Map(
    order.slice(0, n).sort((a, b) => a - b).map((id, k) => [id, k]),
  );
  const rows: number[] = [];
  set.labels.forEach((l, i) => {
    if (keep.has(l)) rows.push(i);
  });
  const per = set.shape[0] * set.shape[1] * set.shape[2];
  const images = new Uint8Array(rows.length * per);
  rows.forEach((r, k) =>
    images.set(set.images.subarray(r * per, (r + 1) * per), k * per)
  );
  return {
    images,
    shape: set.shape,
    labels: Int32Array.from(rows, (r) => keep.get(set.labels[r])!),
    identities: [...keep.keys()].map((id) => set.identities[id]),
    paths: rows.map((r) => set.paths[r]),
  };
}

function trainConfigFor(
  cfg: Configuration,
  config: CommonConfig,
  seed: number,
): TrainConfig {
  return {
    steps: config.steps,
    pairsPerBatch: config.pairsPerBatch,
    positiveFraction: config.positiveFraction,
    lambda: cfg.lambda,
    signal: cfg.signal,
    learningRate: config.learningRate,
    lrSchedule: config.lrSchedule,
    finalLrRatio: config.finalLrRatio,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    margin: config.margin,
    marginEvery: config.marginEvery,
    marginWindow: config.marginWindow,
    checkpointEvery: config.checkpointEvery,
    seed,
  };
}

/**
 * The model key and the training it stands for. Cheap: the identity subset
 * is only cut when the model has to be trained.
 */
export async function modelPlan(
  cfg: Configuration,
  config: CommonConfig,
  ctx: RunContext,
): Promise<ModelPlan> {
  // All identities = no subset, so Fig. 6's largest n shares the model of the other experiments.
  const n = cfg.identities !== undefined &&
      cfg.identities < ctx.dataset.train.identities.length
    ? cfg.identities
    : undefined;
  const model: ModelConfig = {
    ...defaultModelConfig(
      cfg.lambda === Infinity ? 0 : n ?? ctx.dataset.train.identities.length,
    ),
    inputShape: [config.cropHeight, config.cropWidth, config.channels],
  };
  const trainCfg = trainConfigFor(cfg, config, ctx.flags.seed);
  const key = (await sha256Hex(configToJson({
    model,
    // The checkpoint period does not change the result.
    train: { ...trainCfg, checkpointEvery: 0 },
    data: ctx.dataKey,
    identities: n,
    backend: ctx.backend.name,
    code: await codeHash(TRAINING_ENTRIES),
  }))).slice(0, 24);
  return { key, model, train: trainCfg, identities: n };
}

/** Where a plan's finished model lives in the cache. */
export function modelPath(cacheDir: string, key: string): string {
  return `${cacheDir}/models/${key}.model`;
}

/**
 * The trained model of a plan: from the model cache when the same training
 * (same key) already ran, otherwise trained, resuming from its checkpoint
 * when one exists (unless `force` or `--resume=false`).
 */
export async function ensureModel(
  plan: ModelPlan,
  ctx: RunContext,
  label: string,
  options: { force?: boolean } = {},
): Promise<TrainedModel> {
  const final = modelPath(ctx.flags.cacheDir, plan.key);
  const ckpt = final.replace(/\.model$/, ".ckpt");
  const handle = (
    net: DeepID2,
    trained: boolean,
    imagesPerSecond?: number,
  ) => ({
    net,
    key: plan.key,
    trained,
    imagesPerSecond,
    [Symbol.dispose]: () => disposeModel(net),
  });
  if (options.force ?? ctx.flags.force) {
    await Deno.remove(final).catch(() => {});
    await Deno.remove(ckpt).catch(() => {});
  } else if (await exists(final)) {
    return handle(
      await loadModel(final, { paths: ctx.backend.paths }),
      false,
    );
  }
  const net = createDeepID2(plan.model, ctx.flags.seed, {
    paths: ctx.backend.paths,
  });
  const set = subsetTrain(ctx.dataset.train, plan.identities, ctx.flags.seed);
  const r = await train(net, set, plan.train, {
    checkpointPath: ckpt,
    resume: ctx.flags.resume,
    progressLabel: ctx.flags.quiet ? null : label,
  });
  await saveModel(net, final, {
    key: plan.key,
    train: configToJson(plan.train),
    imagesPerSecond: r.imagesPerSecond,
  });
  await Deno.remove(ckpt).catch(() => {});
  return handle(net, true, r.imagesPerSecond);
}

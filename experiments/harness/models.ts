/**
 * Trained models, cached. A model is named by the hash of everything that
 * decides its numbers: the network config, the training config (seed
 * included), the replicate's data draw, the identity subset, the backend and
 * the code of training (its import closure, `code_key.ts`). The same training asked for
 * by two experiments (λ = 0 in identification_only, joint_lambda and
 * verification_signals) runs once. An interrupted training resumes from its
 * checkpoint.
 *
 * Files: `<cache>/models/<key>.model` (finished), `<key>.ckpt` (in progress).
 * A training holds the lock `<cache>/locks/model-<key>.lock` (`lib/base/lock.ts`).
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import type { Dataset, FaceSet } from "../../lib/faces.ts";
import { exists, sha256Hex, writeTextAtomic } from "../../lib/base/io.ts";
import { acquireLock } from "../../lib/base/lock.ts";
import { deadFeatureFraction } from "../../lib/eval/features.ts";
import { cosineScorer, l2Scorer } from "../../lib/eval/scorers.ts";
import { verifyPairs } from "../../lib/eval/verification.ts";
import { Rng } from "../../lib/base/rng.ts";
import { loadedNative } from "../../lib/engine/native.ts";
import {
  createDeepID2,
  type DeepID2,
  defaultModelConfig,
  disposeModel,
  extractFeatures,
  loadModel,
  type ModelConfig,
  saveModel,
} from "../../lib/nn/model.ts";
import {
  DEFAULT_TRAIN,
  lastStep,
  train,
  type TrainConfig,
  TrainingDiverged,
} from "../../lib/train/train.ts";
import { codeHash, TRAINING_ENTRIES } from "./code_key.ts";
import { configToJson } from "./config.ts";
import type { CropOptions } from "../../datasets/types.ts";
import { patchCrop } from "../../datasets/patches.ts";
import type { CommonConfig } from "./profiles.ts";
import type {
  Configuration,
  ReplicateData,
  UnitContext,
} from "./experiment.ts";
import {
  convergence,
  type ConvergenceRule,
} from "../../lib/train/convergence.ts";
import { round, writeCsv } from "./result_files.ts";

/** A training to run or reuse: its cache key and what it stands for. */
export interface ModelPlan {
  key: string;
  /** The replicate: its data draw, initialisation and pair sampling. */
  seed: number;
  model: ModelConfig;
  train: TrainConfig;
  /** Training identities when a subset (Fig. 6); undefined = all. */
  identities: number | undefined;
  /** Validation check every N steps (not part of the key: it does not change the weights). */
  evalEvery: number;
  evalBatch: number;
  /** Dead fraction of the DeepID2 units on validation faces from which the model counts as collapsed. */
  collapsedAt: number;
  /** Final validation accuracy (better of L2 and cosine) below which the model counts as collapsed. */
  collapsedBelow: number;
  /** When a finished training counts as at its validation plateau (`lib/train/convergence.ts`). */
  rule: ConvergenceRule;
}

/**
 * What became of a training: a result (`ok`: healthy and at its validation
 * plateau); `still improving` (healthy, but its learning curve had not
 * levelled off: scored, flagged in every row and claim that uses it); or no
 * result (`collapsed`, `diverged`: never scored).
 */
export type ModelStatus = "ok" | "still improving" | "collapsed" | "diverged";

/** A model ready for evaluation; `using` disposes its weights. */
export interface TrainedModel {
  /** The weights; none when the training diverged. */
  net: DeepID2 | undefined;
  key: string;
  status: ModelStatus;
  /** Why it is not a result, in words ("" when ok). */
  reason: string;
  /** Its learning curve (CSV, `CURVE_COLUMNS`). */
  curve: string;
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

/**
 * The training config of a configuration: every trainer key from the
 * experiment's config (so a new `TrainConfig` key needs no plumbing here),
 * the configuration's own overrides (calibration), its λ and signal, the seed.
 */
function trainConfigFor(
  cfg: Configuration,
  config: CommonConfig,
  seed: number,
): TrainConfig {
  // Only trainer keys: the initialisation's (weightInitGain, deepid2BiasInit)
  // belong to the model config, and must not enter this part of the key.
  const own = (cfg.train ?? {}) as Record<string, unknown>;
  const common = config as unknown as Record<string, unknown>;
  const picked = Object.fromEntries(
    Object.keys(DEFAULT_TRAIN).map((k) => [k, k in own ? own[k] : common[k]]),
  );
  return {
    ...picked,
    lambda: cfg.lambda,
    signal: cfg.signal,
    seed,
  } as TrainConfig;
}

/**
 * The model key and the training it stands for. Cheap: the identity subset
 * is only cut when the model has to be trained.
 */
export async function modelPlan(
  cfg: Configuration,
  config: CommonConfig,
  data: ReplicateData,
  backend: string,
): Promise<ModelPlan> {
  const total = data.dataset.train.identities.length;
  // All identities = no subset, so Fig. 6's largest n shares the model of the other experiments.
  const n = cfg.identities !== undefined && cfg.identities < total
    ? cfg.identities
    : undefined;
  const model: ModelConfig = {
    ...defaultModelConfig(cfg.lambda === Infinity ? 0 : n ?? total),
    inputShape: inputShapeOf(cropFor(cfg, config)),
    weightInitGain: cfg.train?.weightInitGain ?? config.weightInitGain,
    deepid2BiasInit: cfg.train?.deepid2BiasInit ?? config.deepid2BiasInit,
  };
  // The replicate seeds the initialisation and the pair sampling; its data
  // draw is `data` (the same seed drew it).
  const trainCfg = trainConfigFor(cfg, config, data.seed);
  if (
    lastStep(trainCfg) > trainCfg.steps && trainCfg.steps % config.evalEvery
  ) {
    throw new Error(
      `steps (${trainCfg.steps}) must be a multiple of evalEvery (${config.evalEvery}) when maxSteps (${trainCfg.maxSteps}) lets a training go on: each extension starts from a validation check`,
    );
  }
  const key = (await sha256Hex(configToJson({
    model,
    // The checkpoint period does not change the result.
    train: { ...trainCfg, checkpointEvery: 0 },
    data: data.dataKey,
    identities: n,
    backend: backendKey(backend),
    code: await codeHash(TRAINING_ENTRIES),
  }))).slice(0, 24);
  return {
    key,
    seed: data.seed,
    model,
    train: trainCfg,
    identities: n,
    evalEvery: config.evalEvery,
    evalBatch: config.evalBatch,
    collapsedAt: config.collapsedAt,
    collapsedBelow: config.collapsedBelow,
    rule: {
      maxGain: config.plateauGain,
      maxIdentFraction: config.identLossFraction,
      minChecks: config.plateauChecks,
    },
  };
}

/**
 * The backend as a model key names it: its name, and for the native backends
 * the libtensorflow version when it is not 2.9.1 (the CPU backend's 2.18.0
 * by default; 2.9.1's keys predate the version's being named), so that
 * models trained on another library, whose kernels round differently, are
 * never reused.
 */
export function backendKey(
  name: string,
  libtensorflow: string | undefined = loadedNative()?.manifest.libtensorflow,
): string {
  return name.startsWith("tensorflow") && libtensorflow &&
      libtensorflow !== "2.9.1"
    ? `${name}@${libtensorflow}`
    : name;
}

/**
 * The crop a configuration's network sees: its patch of the bank
 * (`datasets/patches.ts`), or the profile's whole-face crop.
 */
export function cropFor(
  cfg: Pick<Configuration, "patch">,
  config: Pick<CommonConfig, "cropHeight" | "cropWidth" | "channels">,
): CropOptions {
  return cfg.patch ? patchCrop(cfg.patch) : {
    height: config.cropHeight,
    width: config.cropWidth,
    gray: config.channels === 1,
  };
}

/** A crop's network input shape, [H, W, C]. */
function inputShapeOf(crop: CropOptions): [number, number, number] {
  return [crop.height, crop.width, crop.gray ? 1 : 3];
}

/** Where a plan's finished model lives in the cache. */
export function modelPath(cacheDir: string, key: string): string {
  return `${cacheDir}/models/${key}.model`;
}

/** A model's learning curve beside it in the cache: `<key>.curve.csv`. */
export function curvePath(cacheDir: string, key: string): string {
  return `${cacheDir}/models/${key}.curve.csv`;
}

/** The learning-curve columns: the trainer's numbers and the validation pairs'. */
export const CURVE_COLUMNS = [
  "step",
  "lr",
  "ident_loss",
  "verif_loss",
  "margin",
  "val_accuracy_l2",
  "val_accuracy_cosine",
  "val_dead_fraction",
] as const;

/** One row of a learning curve. */
export type CurveRow = Record<typeof CURVE_COLUMNS[number], number>;

/** What the validation pairs say about a model at one step. */
export interface ValidationCheck {
  /** 10-fold accuracy of L2 distance and of cosine similarity on the validation pairs. */
  l2: number;
  cosine: number;
  /** Fraction of DeepID2 units that are zero on every validation face. */
  deadFraction: number;
}

/**
 * Validation accuracy (L2 and cosine, 10-fold protocol on the validation
 * pairs: never the test pairs) and the dead fraction on validation faces.
 */
export async function validate(
  net: DeepID2,
  dataset: Dataset,
  batchSize: number,
): Promise<ValidationCheck> {
  const { validation, validationPairs } = dataset;
  const dim = net.config.deepid2Dim;
  const f = await extractFeatures(net, validation.images, validation.shape, {
    batchSize,
  });
  const v = verifyPairs(f, dim, validationPairs, [l2Scorer, cosineScorer]);
  return {
    l2: v.get("l2")!.accuracy_mean,
    cosine: v.get("cosine")!.accuracy_mean,
    deadFraction: deadFeatureFraction(f, dim),
  };
}

/** `<key>.status.json`: why a model is not a result (collapsed, diverged), or that it is. */
export interface StatusFile {
  status: ModelStatus;
  /** What was seen, in words. */
  reason: string;
  step: number;
  val_dead_fraction?: number;
}

export function statusPath(cacheDir: string, key: string): string {
  return `${cacheDir}/models/${key}.status.json`;
}

/** Whether a plan's training has finished (ok, collapsed or diverged: each leaves a status file). */
export function isTrained(cacheDir: string, key: string): Promise<boolean> {
  return exists(statusPath(cacheDir, key));
}

/** A model's learning curve (`curvePath`); none yet (or none ever, for a training that diverged before its first check): `[]`. */
export async function readCurve(path: string): Promise<CurveRow[]> {
  if (!(await exists(path))) return [];
  const rows = parse(await Deno.readTextFile(path), {
    columns: true,
  }) as Record<
    string,
    string
  >[];
  return rows.map((r) =>
    Object.fromEntries(
      CURVE_COLUMNS.map((c) => [c, r[c] === "" ? NaN : Number(r[c])]),
    ) as CurveRow
  );
}

/**
 * The trained model of a plan: from the model cache when the same training
 * (same key) already ran, otherwise trained, resuming from its checkpoint
 * when one exists (unless `force` or `--resume=false`). Every
 * `plan.evalEvery` steps, and at the end, the model is checked on the
 * validation pairs; the rows go to its learning curve. A model whose
 * DeepID2 layer died on the validation faces (dead fraction ≥
 * `plan.collapsedAt`) is `collapsed`; one whose loss became NaN or infinite
 * is `diverged` (no weights). Both are remembered in the cache, so a rerun
 * does not train them again unless `force`.
 */
export async function ensureModel(
  plan: ModelPlan,
  ctx: UnitContext,
  label: string,
  options: { force?: boolean } = {},
): Promise<TrainedModel> {
  // [lock] One process trains a model at a time: another that wants it
  // (an array task, an evaluation) waits, then finds it finished here.
  await using _lock = await acquireLock(
    ctx.flags.cacheDir,
    modelLockName(plan.key),
    { label: `model ${plan.key} (${label})` },
  );
  return await ensureModelLocked(plan, ctx, label, options);
}

/** The lock a model's training holds (`lib/base/lock.ts`). */
export function modelLockName(key: string): string {
  return `model-${key}`;
}

async function ensureModelLocked(
  plan: ModelPlan,
  ctx: UnitContext,
  label: string,
  options: { force?: boolean },
): Promise<TrainedModel> {
  const { cacheDir } = ctx.flags;
  const final = modelPath(cacheDir, plan.key);
  const ckpt = final.replace(/\.model$/, ".ckpt");
  const curve = curvePath(cacheDir, plan.key);
  const statusFile = statusPath(cacheDir, plan.key);
  const handle = (
    net: DeepID2 | undefined,
    status: StatusFile,
    trained: boolean,
    imagesPerSecond?: number,
  ): TrainedModel => ({
    net,
    key: plan.key,
    status: status.status,
    reason: status.reason,
    trained,
    imagesPerSecond,
    curve,
    [Symbol.dispose]: () => net && disposeModel(net),
  });
  if (options.force ?? ctx.flags.force) {
    for (const f of [final, ckpt, curve, statusFile]) {
      await Deno.remove(f).catch(() => {});
    }
  } else if (await exists(statusFile)) {
    const status = JSON.parse(
      await Deno.readTextFile(statusFile),
    ) as StatusFile;
    if (status.status === "diverged") return handle(undefined, status, false);
    if (await exists(final)) {
      // Health and convergence are judged now, from the learning curve, so a
      // cached model meets the rules in force rather than those it was
      // trained under.
      const rows = await readCurve(curve);
      const now = rows.length ? statusOf(rows, plan) : status;
      const net = await loadModel(final, { paths: ctx.backend.paths });
      return handle(net, now, false);
    }
  }
  // The model seed drives initialisation and pair sampling; the identity
  // subset (Fig. 6) is part of the data, so it follows `--seed`.
  const net = createDeepID2(plan.model, plan.train.seed, {
    paths: ctx.backend.paths,
  });
  const set = subsetTrain(ctx.data.dataset.train, plan.identities, plan.seed);
  let rows = await readCurve(curve);
  const check = async (
    step: number,
    net: DeepID2,
    stats: { identLoss: number; verifLoss: number; margin: number; lr: number },
  ) => {
    const lastCheck = await validate(net, ctx.data.dataset, plan.evalBatch);
    // Rows past this step are from before an interruption: this run redoes them.
    rows = rows.filter((r) => r.step < step);
    rows.push({
      step,
      lr: stats.lr,
      ident_loss: stats.identLoss,
      verif_loss: stats.verifLoss,
      margin: stats.margin,
      val_accuracy_l2: lastCheck.l2,
      val_accuracy_cosine: lastCheck.cosine,
      val_dead_fraction: lastCheck.deadFraction,
    });
    await writeCsv(curve, rows.map(roundRow), [...CURVE_COLUMNS]);
    return `val ${(100 * lastCheck.l2).toFixed(1)} %`;
  };
  let r;
  try {
    r = await train(net, set, plan.train, {
      checkpointPath: ckpt,
      resume: ctx.flags.resume,
      progressLabel: ctx.flags.quiet ? null : label,
      evalEvery: plan.evalEvery,
      onEval: check,
      // Past `steps`, on while the model is healthy and still improving on
      // its validation pairs (up to `maxSteps`).
      extend: () => statusOf(rows, plan).status === "still improving",
    });
  } catch (e) {
    disposeModel(net);
    if (!(e instanceof TrainingDiverged)) {
      // A bad checkpoint names its file; the harness's own way out is --force.
      if (e instanceof Error && e.message.includes(ckpt)) {
        throw new Error(`${e.message}; or rerun with --force`);
      }
      throw e;
    }
    const status: StatusFile = {
      status: "diverged",
      reason: e.message,
      step: e.step,
    };
    await writeTextAtomic(statusFile, JSON.stringify(status, null, 2) + "\n");
    await Deno.remove(ckpt).catch(() => {});
    return handle(undefined, status, true);
  }
  // The final weights get a validation check too (unless the last call just did).
  if (rows.at(-1)?.step !== r.step) {
    const last = r.log.at(-1);
    await check(r.step, net, {
      identLoss: last?.identLoss ?? NaN,
      verifLoss: last?.verifLoss ?? NaN,
      margin: r.margin,
      lr: last?.lr ?? NaN,
    });
  }
  const status = statusOf(rows, plan);
  await saveModel(net, final, {
    key: plan.key,
    train: configToJson(plan.train),
    imagesPerSecond: r.imagesPerSecond,
  });
  await writeTextAtomic(statusFile, JSON.stringify(status, null, 2) + "\n");
  await Deno.remove(ckpt).catch(() => {});
  return handle(net, status, true, r.imagesPerSecond);
}

/** The last step a training's learning curve reached (0 before its first check). */
export async function stepsReached(
  cacheDir: string,
  key: string,
): Promise<number> {
  try {
    return (await readCurve(curvePath(cacheDir, key))).at(-1)?.step ?? 0;
  } catch {
    return 0; // being rewritten: the next poll reads it
  }
}

/**
 * Whether a finished training is a result: `collapsed` when at least
 * `plan.collapsedAt` of the DeepID2 units are zero on every validation face
 * (the quick and paper profiles: 0.9) or
 * when its validation accuracy (the better of L2 and cosine) stays below
 * `plan.collapsedBelow`, i.e. within noise of chance; `ok` otherwise.
 */
export function healthOf(
  check: Pick<ValidationCheck, "l2" | "cosine" | "deadFraction">,
  plan: Pick<ModelPlan, "collapsedAt" | "collapsedBelow">,
  step: number,
): StatusFile {
  const dead = check.deadFraction;
  const best = Math.max(check.l2, check.cosine);
  const base = { step, val_dead_fraction: dead };
  if (dead >= plan.collapsedAt) {
    return {
      ...base,
      status: "collapsed",
      reason: `${(100 * dead).toFixed(0)} % of the DeepID2 units are zero on ` +
        `every validation face (collapsed at ≥ ${+(100 * plan.collapsedAt)
          .toFixed(1)} %)`,
    };
  }
  if (best < plan.collapsedBelow) {
    return {
      ...base,
      status: "collapsed",
      reason: `validation accuracy ${(100 * best).toFixed(1)} % (better of ` +
        `L2 and cosine) is below ${+(100 * plan.collapsedBelow).toFixed(
          1,
        )} %, within noise of chance`,
    };
  }
  return { ...base, status: "ok", reason: "" };
}

/**
 * The status of a finished training from its learning curve: the health
 * rule ({@linkcode healthOf}) on its last check, then, for a healthy model,
 * the convergence rule (`lib/train/convergence.ts`) on the whole curve:
 * `still improving`, with the reason, when it had not reached its plateau.
 */
export function statusOf(
  rows: CurveRow[],
  plan: Pick<ModelPlan, "collapsedAt" | "collapsedBelow" | "rule" | "model">,
): StatusFile {
  const last = rows.at(-1)!;
  const health = healthOf(
    {
      l2: last.val_accuracy_l2,
      cosine: last.val_accuracy_cosine,
      deadFraction: last.val_dead_fraction,
    },
    plan,
    last.step,
  );
  if (health.status !== "ok") return health;
  const c = convergence(
    rows.map((r) => ({
      step: r.step,
      l2: r.val_accuracy_l2,
      cosine: r.val_accuracy_cosine,
      identLoss: r.ident_loss,
    })),
    // The windows are fractions of the training's own length: where it ended.
    {
      steps: last.step,
      numIdentities: plan.model.numIdentities,
      rule: plan.rule,
    },
  );
  return c.converged
    ? health
    : { ...health, status: "still improving", reason: c.reason };
}

function roundRow(r: CurveRow): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, round(v)]),
  );
}

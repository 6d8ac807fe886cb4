/**
 * The machinery every experiment script shares (DESIGN.md data flow and
 * contracts): command-line flags and config overrides, the data set, trained
 * models cached by the hash of their training config, feature extraction,
 * the three scorers (L2, cosine, Joint Bayesian trained on held-out
 * identities), the LFW protocol, and the result files:
 *
 * - `results/<experiment>/<config>.csv` + `.json` per configuration (what
 *   `--shard i/n` runs write; the `.json` holds the key that lets a later run
 *   skip a configuration whose code and config are unchanged);
 * - `results/<experiment>.csv`, merged, one row per (config, scorer);
 * - `results/roc/<experiment>/<config>_<scorer>.csv` (`fpr, tpr, threshold`);
 * - `results/<experiment>.meta.json`: commit, versions, backend, profile,
 *   seed, data, resolved config, wall time per configuration.
 *
 * Nothing here knows any one experiment: a script gives its runs (config
 * name, λ, signal, identities) and optional extra analyses.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { parseArgs } from "node:util";
import { loadDataset, SYNTH_PROFILES } from "../../datasets/mod.ts";
import type { Dataset, FaceSet, Pair } from "../../lib/faces.ts";
import { type BackendInfo, initBackend } from "../../lib/engine/backend.ts";
import { codeHash, TRAINING_ENTRIES } from "./code_key.ts";
import { applyOverrides, configToJson } from "./config.ts";
import { exists, sha256Hex, writeTextAtomic } from "../../lib/base/io.ts";
import { fitJointBayesian } from "../../lib/eval/joint_bayesian.ts";
import type { Signal } from "../../lib/train/losses.ts";
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
  type CommonConfig,
  PROFILE_DEFAULTS,
  type ProfileName,
  PROFILES,
} from "./profiles.ts";
import { Rng } from "../../lib/base/rng.ts";
import {
  cosineScorer,
  jointBayesianScorer,
  l2Scorer,
  scorePairs,
  type Scorer,
} from "../../lib/eval/scorers.ts";
import { tf } from "../../lib/engine/tf.ts";
import { train, type TrainConfig } from "../../lib/train/train.ts";
import {
  evaluateVerification,
  type VerificationResult,
} from "../../lib/eval/verification.ts";

/** One configuration of an experiment: one trained model, scored three ways. */
export interface RunSpec {
  /** Config name used in file names and tables, e.g. `lambda=0.05`. */
  config: string;
  /** Weight of the verification signal (0 = identification only, Infinity = verification only). */
  lambda: number;
  /** Verification signal. */
  signal: Signal;
  /** Use only this many training identities (Fig. 6); all by default. */
  identities?: number;
  /** Extra columns of this configuration's rows (e.g. `lambda`, `signal`). */
  columns: Record<string, string | number>;
}

/** What an experiment's extra analysis receives. */
export interface AnalysisContext {
  run: RunSpec;
  net: DeepID2;
  dataset: Dataset;
  /** Test (LFW) features `[N, D]` and held-out features. */
  testFeatures: Float32Array;
  heldOutFeatures: Float32Array;
  dim: number;
  /** The three scorers, Joint Bayesian fitted on the held-out identities. */
  scorers: Scorer[];
  /** Per-scorer verification results. */
  verification: Map<string, VerificationResult>;
  outDir: string;
  experiment: string;
}

/** An experiment: its name, typed config and runs. */
export interface ExperimentDef<C extends Record<string, unknown>> {
  /** File-name stem, e.g. `joint_lambda`. */
  name: string;
  /** Experiment-specific config defaults per profile (merged over the common config). */
  defaults: (profile: ProfileName) => C;
  /** The configurations to run. */
  runs: (config: CommonConfig & C, ctx: { dataset: Dataset }) => RunSpec[];
  /**
   * Extra columns or files per configuration (spectra, identification).
   * Returns extra columns per scorer name.
   */
  analyse?: (
    ctx: AnalysisContext,
    config: CommonConfig & C,
  ) =>
    | Promise<Map<string, Record<string, string | number>>>
    | Map<string, Record<string, string | number>>;
}

/** The flags every experiment script takes. */
export interface CommonFlags {
  profile: ProfileName;
  backend: string;
  data: string;
  seed: number;
  out: string;
  resume: boolean;
  force: boolean;
  shard: [number, number];
  cacheDir: string;
  quiet: boolean;
  skipMissing: boolean;
  skipBadImages: boolean;
  /** `--key=value` config overrides. */
  overrides: Record<string, string>;
}

/** Flags and what they do, for `--help`. */
export const FLAG_HELP = `flags:
  --profile smoke|quick|paper   scale of the run (default quick)
  --backend auto|tensorflow-gpu|tensorflow|wasm|cpu   (default auto)
  --data synth|DIR              synthetic faces, or DIR with celeba/ and lfw/ in their real formats
  --seed N                      one seed for data order, initialisation, splits (default 1)
  --out DIR                     results folder (default results/ for quick, results/<profile>/ otherwise)
  --resume[=false]              continue interrupted trainings from their checkpoints (default true)
  --force                       recompute configurations whose results already exist
  --shard i/n                   run only configurations i, i+n, i+2n, ... (0-based)
  --cache DIR                   data and model cache (default .cache)
  --skip-missing, --skip-bad-images   skip (and count) missing or unreadable images
  --KEY=VALUE                   override a config value (printed at start; unknown keys are errors)`;

/**
 * Parses the common flags; every other `--key=value` is a config override.
 * Unknown flags without a value are errors.
 */
export function parseFlags(argv: string[]): CommonFlags {
  const known = new Set([
    "profile",
    "backend",
    "data",
    "seed",
    "out",
    "resume",
    "force",
    "shard",
    "cache",
    "quiet",
    "skip-missing",
    "skip-bad-images",
    "help",
  ]);
  const mine: string[] = [];
  const overrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument "${a}"`);
    if (known.has(m[1])) {
      if (m[1] === "resume" && m[2] !== undefined) {
        if (m[2] !== "true" && m[2] !== "false") {
          throw new Error(`--resume takes true or false, got "${m[2]}"`);
        }
        if (m[2] === "false") mine.push("--no-resume");
        continue;
      }
      mine.push(a);
      const takesValue = ![
        "resume",
        "force",
        "quiet",
        "skip-missing",
        "skip-bad-images",
        "help",
      ].includes(m[1]);
      if (takesValue && m[2] === undefined && i + 1 < argv.length) {
        mine.push(argv[++i]);
      }
    } else if (m[2] !== undefined) {
      overrides[m[1]] = m[2];
    } else {
      throw new Error(`unknown flag --${m[1]}\n${FLAG_HELP}`);
    }
  }
  const { values } = parseArgs({
    args: mine,
    options: {
      profile: { type: "string", default: "quick" },
      backend: { type: "string", default: "auto" },
      data: { type: "string", default: "synth" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      resume: { type: "boolean", default: true },
      "no-resume": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      shard: { type: "string", default: "0/1" },
      cache: { type: "string", default: ".cache" },
      quiet: { type: "boolean", default: false },
      "skip-missing": { type: "boolean", default: false },
      "skip-bad-images": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(FLAG_HELP);
    Deno.exit(0);
  }
  if (!(PROFILES as readonly string[]).includes(values.profile!)) {
    throw new Error(
      `unknown profile "${values.profile}"; valid profiles: ${
        PROFILES.join(", ")
      }`,
    );
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) {
    throw new Error(`--seed must be an integer, got "${values.seed}"`);
  }
  const sm = /^(\d+)\/(\d+)$/.exec(values.shard!);
  if (!sm || Number(sm[2]) < 1 || Number(sm[1]) >= Number(sm[2])) {
    throw new Error(
      `--shard must be i/n with 0 <= i < n, got "${values.shard}"`,
    );
  }
  return {
    profile: values.profile as ProfileName,
    backend: values.backend!,
    data: values.data!,
    seed,
    // The quick profile owns results/; the others write beside it, so a smoke
    // try-out never mixes with the committed quick results.
    out: values.out ??
      (values.profile === "quick" ? "results" : `results/${values.profile}`),
    resume: values.resume! && !values["no-resume"],
    force: values.force!,
    shard: [Number(sm[1]), Number(sm[2])],
    cacheDir: values.cache!,
    quiet: values.quiet!,
    skipMissing: values["skip-missing"]!,
    skipBadImages: values["skip-bad-images"]!,
    overrides,
  };
}

/** Resolves the config of an experiment: profile defaults, then overrides. */
export function resolveConfig<C extends Record<string, unknown>>(
  def: ExperimentDef<C>,
  flags: Pick<CommonFlags, "profile" | "overrides">,
): CommonConfig & C {
  const defaults = {
    ...PROFILE_DEFAULTS[flags.profile],
    ...def.defaults(flags.profile),
  };
  return applyOverrides(defaults, flags.overrides) as CommonConfig & C;
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

/** Everything that identifies a trained model. */
interface ModelKeyParts {
  model: ModelConfig;
  train: TrainConfig;
  data: unknown;
  identities: number | undefined;
  backend: string;
  code: string;
}

/** Context of one experiment process. */
export interface RunContext {
  flags: CommonFlags;
  backend: BackendInfo;
  dataset: Dataset;
  dataKey: string;
}

/** Loads the backend and the data set once per process. */
export async function openContext(
  flags: CommonFlags,
  config: CommonConfig,
): Promise<RunContext> {
  const backend = await initBackend(flags.backend, { quiet: flags.quiet });
  if (flags.profile === "paper" && flags.data === "synth") {
    throw new Error(
      "the paper profile needs real data: --data DIR, where DIR holds celeba/ and lfw/ in their real formats",
    );
  }
  const synth = flags.data === "synth"
    ? SYNTH_PROFILES[flags.profile as "smoke" | "quick"]
    : undefined;
  const dataset = await loadDataset({
    data: flags.data,
    synth,
    crop: {
      height: config.cropHeight,
      width: config.cropWidth,
      gray: config.channels === 1,
    },
    trainIdentities: config.trainIdentities || undefined,
    heldOutIdentities: config.heldOutIdentities || undefined,
    seed: flags.seed,
    skipMissing: flags.skipMissing,
    skipBadImages: flags.skipBadImages,
    cacheDir: flags.cacheDir,
    quiet: flags.quiet,
  });
  // Whether a crop cache was built in this run says nothing about the data.
  const stable = JSON.stringify(
    dataset.info,
    (k, v) => (k === "cacheBuilt" ? undefined : v),
  );
  const dataKey = (await sha256Hex(stable)).slice(0, 16);
  return { flags, backend, dataset, dataKey };
}

function trainConfigFor(
  run: RunSpec,
  config: CommonConfig,
  seed: number,
): TrainConfig {
  return {
    steps: config.steps,
    pairsPerBatch: config.pairsPerBatch,
    positiveFraction: config.positiveFraction,
    lambda: run.lambda,
    signal: run.signal,
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

/** A training to run or reuse: its cache key and what it stands for. */
export interface ModelPlan {
  key: string;
  model: ModelConfig;
  train: TrainConfig;
  /** Training identities when a subset (Fig. 6); undefined = all. */
  identities: number | undefined;
}

/**
 * The model key and the training it stands for. Cheap: the identity subset
 * is only cut when the model has to be trained.
 */
export async function modelPlan(
  run: RunSpec,
  config: CommonConfig,
  ctx: RunContext,
): Promise<ModelPlan> {
  // All identities = no subset, so Fig. 6's largest n shares the model of the other experiments.
  const n = run.identities !== undefined &&
      run.identities < ctx.dataset.train.identities.length
    ? run.identities
    : undefined;
  const model: ModelConfig = {
    ...defaultModelConfig(
      run.lambda === Infinity ? 0 : n ?? ctx.dataset.train.identities.length,
    ),
    inputShape: [config.cropHeight, config.cropWidth, config.channels],
  };
  const trainCfg = trainConfigFor(run, config, ctx.flags.seed);
  const parts: ModelKeyParts = {
    model,
    train: { ...trainCfg, checkpointEvery: 0 }, // checkpoint period does not change the result
    data: ctx.dataKey,
    identities: n,
    backend: ctx.backend.name,
    code: await codeHash(TRAINING_ENTRIES),
  };
  const key = (await sha256Hex(configToJson(parts))).slice(0, 24);
  return { key, model, train: trainCfg, identities: n };
}

/**
 * Returns the trained model for a run: from the model cache when the same
 * training (same key) already ran, otherwise trains it, resuming from its
 * checkpoint when one exists (unless `--force` or `--resume=false`).
 */
export async function ensureModel(
  plan: ModelPlan,
  ctx: RunContext,
  label: string,
  options: { force?: boolean } = {},
): Promise<
  { net: DeepID2; key: string; trained: boolean; imagesPerSecond?: number }
> {
  const dir = `${ctx.flags.cacheDir}/models`;
  const final = `${dir}/${plan.key}.model`;
  const ckpt = `${dir}/${plan.key}.ckpt`;
  if (options.force ?? ctx.flags.force) {
    await Deno.remove(final).catch(() => {});
    await Deno.remove(ckpt).catch(() => {});
  } else if (await exists(final)) {
    return { net: await loadModel(final), key: plan.key, trained: false };
  }
  const net = createDeepID2(plan.model, ctx.flags.seed);
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
  return {
    net,
    key: plan.key,
    trained: true,
    imagesPerSecond: r.imagesPerSecond,
  };
}

/** The common result columns, in contract order (DESIGN.md "Contracts"). */
export const RESULT_COLUMNS = [
  "experiment",
  "config",
  "scorer",
  "accuracy_mean",
  "accuracy_std",
  "accuracy_se",
  "auc",
  "eer",
  "tar_at_far_1e-3",
  "tar_at_far_1e-2",
  "n_pairs",
  "seed",
  "backend",
  "profile",
] as const;

function round(v: number, digits = 6): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

/** Writes a CSV atomically from rows of objects (columns in `columns` order). */
export async function writeCsv(
  path: string,
  rows: Record<string, unknown>[],
  columns: string[],
): Promise<void> {
  await writeTextAtomic(path, stringify(rows, { header: true, columns }));
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  const cols: string[] = [...RESULT_COLUMNS];
  for (const r of rows) {
    for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  }
  return cols;
}

/** File-system safe version of a config name (kept readable). */
export function configFileName(config: string): string {
  return config.replace(/[^A-Za-z0-9=+.,_-]/g, "_");
}

/** Scores the test pairs with each scorer and runs the LFW protocol. */
export function verifyAll(
  features: Float32Array,
  dim: number,
  pairs: Pair[],
  scorers: Scorer[],
): Map<string, VerificationResult> {
  const out = new Map<string, VerificationResult>();
  for (const s of scorers) {
    const scores = scorePairs(features, dim, pairs, s);
    out.set(
      s.name,
      evaluateVerification(
        pairs.map((p, k) => ({
          fold: p.fold,
          label: p.same ? 1 : 0,
          score: scores[k],
        })),
      ),
    );
  }
  return out;
}

/**
 * The three scorers; Joint Bayesian is fitted on the held-out identities'
 * features. A network whose features all died (every ReLU of the DeepID2
 * layer at zero, which a too-large λ or learning rate can cause) gives
 * features with no variance: Joint Bayesian cannot be fitted then, and it
 * scores every pair alike (chance), as L2 and cosine do on such features.
 */
export function makeScorers(
  heldOut: FaceSet,
  heldOutFeatures: Float32Array,
  dim: number,
  pcaDim: number,
): Scorer[] {
  let jb: Scorer;
  if (heldOutFeatures.some((v) => v !== heldOutFeatures[0])) {
    jb = jointBayesianScorer(
      fitJointBayesian(heldOutFeatures, dim, heldOut.labels, {
        pcaDim,
        maxIter: 200,
      }),
    );
  } else {
    jb = { name: "joint_bayesian", prepare: () => () => 0 };
  }
  return [l2Scorer, cosineScorer, jb];
}

/** Fraction of feature dimensions that are zero on every image (dead ReLUs). */
export function deadFeatureFraction(
  features: Float32Array,
  dim: number,
): number {
  const alive = new Uint8Array(dim);
  for (let i = 0; i < features.length; i++) {
    if (features[i] !== 0) alive[i % dim] = 1;
  }
  return 1 - alive.reduce((a, b) => a + b, 0) / dim;
}

async function gitInfo(): Promise<{ commit: string; dirty: boolean }> {
  try {
    const run = async (args: string[]) => {
      const o = await new Deno.Command("git", {
        args,
        stdout: "piped",
        stderr: "null",
      }).output();
      return o.success ? new TextDecoder().decode(o.stdout).trim() : "";
    };
    const commit = await run(["rev-parse", "HEAD"]);
    const status = await run([
      "status",
      "--porcelain",
      "--",
      "lib",
      "datasets",
      "experiments",
    ]);
    return { commit: commit || "unknown", dirty: status.length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/** What {@linkcode runExperiment} did. */
export interface ExperimentOutcome {
  rows: Record<string, unknown>[];
  ran: string[];
  skipped: string[];
  csv: string;
  outDir: string;
}

/**
 * Runs an experiment: every configuration of this shard, skipping those whose
 * results exist for the same code and config (unless `--force`); then merges
 * all per-configuration files into `results/<experiment>.csv` and writes the
 * run's metadata.
 */
export async function runExperiment<C extends Record<string, unknown>>(
  def: ExperimentDef<C>,
  argv: string[],
  options: {
    context?: RunContext;
    /** Retrain models too with --force (default); reproduce trains first, then evaluates with false. */
    forceModels?: boolean;
  } = {},
): Promise<ExperimentOutcome> {
  const t0 = performance.now();
  const flags = parseFlags(argv);
  const config = resolveConfig(def, flags);
  if (!flags.quiet) {
    console.error(
      `${def.name}: config ${JSON.stringify(JSON.parse(configToJson(config)))}`,
    );
  }
  const ctx = options.context ?? await openContext(flags, config);
  const outDir = flags.out;
  const runs = def.runs(config, { dataset: ctx.dataset });
  const names = new Set<string>();
  for (const r of runs) {
    if (names.has(r.config)) {
      throw new Error(`${def.name}: duplicate configuration "${r.config}"`);
    }
    names.add(r.config);
  }
  const mine = runs.filter((_, i) => i % flags.shard[1] === flags.shard[0]);
  const evalCode = await codeHash([`experiments/${def.name}.ts`]);
  const perConfigDir = `${outDir}/${def.name}`;
  const ran: string[] = [];
  const skipped: string[] = [];
  const wall: Record<string, number> = {};
  const { dataset } = ctx;
  for (const [k, run] of mine.entries()) {
    const label = `${def.name} [${k + 1}/${mine.length}] ${run.config}`;
    const plan = await modelPlan(run, config, ctx);
    const resultKey = (await sha256Hex(
      configToJson({ model: plan.key, evalCode, config, run }),
    )).slice(0, 24);
    const base = `${perConfigDir}/${configFileName(run.config)}`;
    if (
      !flags.force && await exists(`${base}.json`) &&
      await exists(`${base}.csv`)
    ) {
      const meta = JSON.parse(await Deno.readTextFile(`${base}.json`));
      if (meta.key === resultKey) {
        skipped.push(run.config);
        if (!flags.quiet) {
          console.error(
            `${label}: results exist for this code and config, skipped (--force reruns)`,
          );
        }
        continue;
      }
    }
    const tRun = performance.now();
    const { net, trained, imagesPerSecond } = await ensureModel(
      plan,
      ctx,
      label,
      {
        force: options.forceModels ?? flags.force,
      },
    );
    try {
      const dim = net.config.deepid2Dim;
      const testFeatures = await extractFeatures(
        net,
        dataset.test.images,
        dataset.test.shape,
        {
          batchSize: config.evalBatch,
        },
      );
      const heldOutFeatures = await extractFeatures(
        net,
        dataset.heldOut.images,
        dataset.heldOut.shape,
        {
          batchSize: config.evalBatch,
        },
      );
      const scorers = makeScorers(
        dataset.heldOut,
        heldOutFeatures,
        dim,
        config.jbPcaDim,
      );
      const verification = verifyAll(testFeatures, dim, dataset.pairs, scorers);
      const extra = def.analyse
        ? await def.analyse({
          run,
          net,
          dataset,
          testFeatures,
          heldOutFeatures,
          dim,
          scorers,
          verification,
          outDir,
          experiment: def.name,
        }, config)
        : new Map();
      const rows: Record<string, unknown>[] = [];
      for (const [scorer, v] of verification) {
        rows.push({
          experiment: def.name,
          config: run.config,
          scorer,
          accuracy_mean: round(v.accuracy_mean),
          accuracy_std: round(v.accuracy_std),
          accuracy_se: round(v.accuracy_se),
          auc: round(v.auc),
          eer: round(v.eer),
          "tar_at_far_1e-3": round(v["tar_at_far_1e-3"]),
          "tar_at_far_1e-2": round(v["tar_at_far_1e-2"]),
          n_pairs: v.n_pairs,
          dead_features: round(deadFeatureFraction(testFeatures, dim), 4),
          seed: flags.seed,
          backend: ctx.backend.name,
          profile: flags.profile,
          ...run.columns,
          ...(extra.get(scorer) ?? {}),
        });
        await writeCsv(
          `${outDir}/roc/${def.name}/${
            configFileName(run.config)
          }_${scorer}.csv`,
          v.roc.map((p) => ({
            fpr: round(p.fpr),
            tpr: round(p.tpr),
            threshold: round(p.threshold),
          })),
          ["fpr", "tpr", "threshold"],
        );
      }
      await writeCsv(`${base}.csv`, rows, columnsOf(rows));
      wall[run.config] = Math.round((performance.now() - tRun) / 100) / 10;
      await writeTextAtomic(
        `${base}.json`,
        configToJson({
          key: resultKey,
          model: plan.key,
          trained,
          train_img_per_s: imagesPerSecond,
          wall_s: wall[run.config],
          folds: Object.fromEntries(
            [...verification].map((
              [s, v],
            ) => [s, v.folds.map((f) => round(f.accuracy))]),
          ),
        }) + "\n",
      );
      ran.push(run.config);
      if (!flags.quiet) {
        const acc = [...verification].map(([s, v]) =>
          `${s} ${(100 * v.accuracy_mean).toFixed(2)}±${
            (100 * v.accuracy_std).toFixed(2)
          }%`
        ).join(", ");
        console.error(`${label}: ${acc} (${wall[run.config]}s)`);
      }
    } finally {
      disposeModel(net);
    }
  }
  // Merge every configuration of this experiment that has results (this or earlier shards).
  const rows: Record<string, unknown>[] = [];
  for (const run of runs) {
    const path = `${perConfigDir}/${configFileName(run.config)}.csv`;
    if (!await exists(path)) continue;
    rows.push(
      ...parse(await Deno.readTextFile(path), { columns: true }) as Record<
        string,
        unknown
      >[],
    );
  }
  const csv = `${outDir}/${def.name}.csv`;
  if (rows.length) await writeCsv(csv, rows, columnsOf(rows));
  const git = await gitInfo();
  const metaPath = `${outDir}/${def.name}.meta.json`;
  const previous = await exists(metaPath)
    ? JSON.parse(await Deno.readTextFile(metaPath))
    : {};
  await writeTextAtomic(
    metaPath,
    configToJson({
      experiment: def.name,
      command: `deno run -A experiments/${def.name}.ts ${argv.join(" ")}`
        .trim(),
      argv,
      git_commit: git.commit,
      git_dirty: git.dirty,
      deno: Deno.version.deno,
      tfjs: tf.version_core,
      backend: ctx.backend.name,
      profile: flags.profile,
      seed: flags.seed,
      shard: `${flags.shard[0]}/${flags.shard[1]}`,
      data: dataset.info,
      config,
      configurations: runs.map((r) => r.config),
      ran,
      skipped,
      wall_s_per_configuration: {
        ...(previous.wall_s_per_configuration ?? {}),
        ...wall,
      },
      wall_s: Math.round((performance.now() - t0) / 100) / 10,
      date: new Date().toISOString(),
    }) + "\n",
  );
  return { rows, ran, skipped, csv, outDir };
}

/** Entry point helper: runs `fn`, printing errors as one line and exiting non-zero. */
export async function mainGuard(
  name: string,
  fn: () => Promise<unknown>,
): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.error(`${name}: error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}

/** Config-name form of λ: `0`, `0.05`, `inf`. */
export function lambdaName(lambda: number): string {
  return lambda === Infinity ? "inf" : String(lambda);
}

/** One run per λ with the L2 signal: config `lambda=<λ>`, column `lambda`. */
export function lambdaRuns(lambdas: number[]): RunSpec[] {
  return lambdas.map((lambda) => ({
    config: `lambda=${lambdaName(lambda)}`,
    lambda,
    signal: "l2",
    columns: { lambda: lambdaName(lambda) },
  }));
}

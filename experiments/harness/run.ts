/**
 * The verbs an experiment script calls, in order, to run its own loop:
 *
 * ```ts
 * const run = await openRun(experiment, argv);          // flags, config, backend, data
 * for (const cfg of run.plan(configurations)) {         // this shard's configurations
 *   if (await run.isDone(cfg)) continue;                 // results exist for this code and config
 *   using model = await run.model(cfg);                  // cached, or trained (Algorithm 1)
 *   if (await run.skipUnhealthy(cfg, model)) continue;   // collapsed or diverged: reported, not scored
 *   const features = await run.features(model);          // test and held-out DeepID2 features
 *   await run.record(cfg, run.score(features));          // L2, cosine, Joint Bayesian; LFW protocol
 * }
 * return await run.finish();                             // merged CSV, metadata, figures
 * ```
 *
 * The result files are described in `result_files.ts`, the model cache in
 * `models.ts`.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import {
  loadDataset,
  SYNTH_PROFILES,
  type SynthParams,
} from "../../datasets/mod.ts";
import type { FaceSet } from "../../lib/faces.ts";
import { exists, sha256Hex, writeTextAtomic } from "../../lib/base/io.ts";
import { withLock } from "../../lib/base/lock.ts";
import { initBackend } from "../../lib/engine/backend.ts";
import { loadedNative } from "../../lib/engine/native.ts";
import { productsIsa } from "../../lib/engine/native_kernels.ts";
import { tf } from "../../lib/engine/tf.ts";
import { deadFeatureFraction } from "../../lib/eval/features.ts";
import { STANDARD_SCORERS, standardScorers } from "../../lib/eval/scorers.ts";
import { verifyPairs } from "../../lib/eval/verification.ts";
import { writeScoringFile } from "../../lib/eval/scoring_file.ts";
import type { JointBayesianModel } from "../../lib/eval/joint_bayesian.ts";
import { extractFeatures } from "../../lib/nn/model.ts";
import { drawExperimentFigures } from "../report/figures.ts";
import { codeHash } from "./code_key.ts";
import { applyOverrides, configToJson } from "./config.ts";
import type {
  Configuration,
  DataShape,
  Experiment,
  Features,
  ReplicateData,
  RunContext,
  RunOutcome,
  Scored,
  SharedContext,
  UnitContext,
} from "./experiment.ts";
import { parseRunFlags, type RunFlags, runUsage } from "./flags.ts";
import {
  cropFor,
  ensureModel,
  isTrained,
  type ModelPlan,
  modelPlan,
  type TrainedModel,
} from "./models.ts";
import type { CropOptions } from "../../datasets/types.ts";
import { mirrored } from "../../lib/faces.ts";
import { type CommonConfig, PROFILE_DEFAULTS } from "./profiles.ts";
import {
  aggregateRows,
  columnsOf,
  configFileName,
  rocPath,
  round,
  unitStem,
  writeCsv,
} from "./result_files.ts";

/** Resolves an experiment's config: common profile defaults, its own, then overrides. */
export function resolveConfig<C extends Record<string, unknown>>(
  experiment: Experiment<C>,
  flags: Pick<RunFlags, "profile" | "overrides">,
): CommonConfig & C {
  const defaults = {
    ...PROFILE_DEFAULTS[flags.profile],
    ...experiment.defaults(flags.profile),
  };
  return applyOverrides(defaults, flags.overrides) as CommonConfig & C;
}

/**
 * Loads the backend once per process; each replicate's data is loaded (or
 * generated) on first use and the last {@linkcode DATA_IN_MEMORY} are kept.
 */
export async function openContext(
  flags: RunFlags,
  config: CommonConfig,
): Promise<RunContext> {
  if (flags.profile === "paper" && flags.data === "synth") {
    throw new Error(
      "the paper profile needs real data: --data DIR, where DIR holds celeba/ and lfw/ in their real formats",
    );
  }
  const backend = await initBackend(flags.backend, { quiet: flags.quiet });
  const loaded = new Map<string, Promise<ReplicateData>>();
  const data = (
    seed: number,
    crop: CropOptions,
    alsoCrops: readonly CropOptions[] = [],
  ): Promise<ReplicateData> => {
    const key = `${seed} ${JSON.stringify(crop)}`;
    let p = loaded.get(key);
    if (p) {
      loaded.delete(key); // most recently used last
    } else {
      p = loadReplicate(flags, config, seed, crop, data, alsoCrops);
      // A failed load is not remembered: the next call tries again.
      p.catch(() => loaded.get(key) === p && loaded.delete(key));
    }
    loaded.set(key, p);
    while (loaded.size > DATA_IN_MEMORY) {
      loaded.delete(loaded.keys().next().value!);
    }
    return p;
  };
  return { flags, backend, data };
}

/**
 * Replicate data sets (in one crop each) kept in memory: a replicate's whole
 * face and its three quick-profile patches, ~110 MB each on the quick
 * synthetic set; units run replicate by replicate, so each is loaded once.
 */
export const DATA_IN_MEMORY = 4;

/** The synthetic set a profile's replicate draws: the profile's sizes, the replicate's seed. */
export function synthFor(
  profile: RunFlags["profile"],
  seed: number,
): SynthParams {
  return { ...SYNTH_PROFILES[profile === "smoke" ? "smoke" : "quick"], seed };
}

/**
 * One replicate's data in one crop, and the hash of its provenance. On
 * synthetic data the replicate's own face set (generated on first use);
 * on real data the one data folder, its identities split by the seed. A
 * patch's crops must hold the same faces in the same order as the whole
 * face's (the pairs index into them): checked.
 */
async function loadReplicate(
  flags: RunFlags,
  config: CommonConfig,
  seed: number,
  crop: CropOptions,
  data: RunContext["data"],
  alsoCrops: readonly CropOptions[],
): Promise<ReplicateData> {
  const synth = flags.data === "synth"
    ? synthFor(flags.profile, seed)
    : undefined;
  const options = {
    data: flags.data,
    synth,
    crop,
    trainIdentities: config.trainIdentities || undefined,
    heldOutIdentities: config.heldOutIdentities || undefined,
    seed,
    skipMissing: flags.skipMissing,
    skipBadImages: flags.skipBadImages,
    cacheDir: flags.cacheDir,
    quiet: flags.quiet,
  };
  // [lock] One process builds a replicate's data in a crop at a time; others
  // sharing the cache (array tasks) wait, then read it (lib/base/lock.ts).
  const lockName = `data-seed${seed}-${
    (await sha256Hex(JSON.stringify({ ...options, quiet: undefined })))
      .slice(0, 16)
  }`;
  const dataset = await withLock(
    flags.cacheDir,
    lockName,
    // Other crops' caches built in the same pass (each image decoded once).
    () => loadDataset({ ...options, alsoCrops }),
    { label: `replicate ${seed}'s data in crop ${JSON.stringify(crop)}` },
  );
  // Whether a crop cache was built in this run says nothing about the
  // data, and nor does where the data folder is (another cache, a moved
  // folder): the same draw keys the same models anywhere.
  const root = String(dataset.info.root);
  const stable = JSON.stringify(
    dataset.info,
    (k, v) => (k === "cacheBuilt" ? undefined : v),
  ).replaceAll(root, "<data>");
  const dataKey = (await sha256Hex(stable)).slice(0, 16);
  const whole = cropFor({}, config);
  if (JSON.stringify(crop) !== JSON.stringify(whole)) {
    const base = (await data(seed, whole)).dataset;
    const same = (a: FaceSet, b: FaceSet) =>
      a.paths.length === b.paths.length &&
      a.paths.every((p, i) => p === b.paths[i]);
    if (
      !same(base.test, dataset.test) || !same(base.heldOut, dataset.heldOut) ||
      !same(base.validation, dataset.validation) ||
      !same(base.train, dataset.train)
    ) {
      throw new Error(
        `replicate ${seed}: the crops ${
          JSON.stringify(crop)
        } hold other faces than the whole-face crops; delete ${flags.cacheDir}/crops and rerun to rebuild them`,
      );
    }
  }
  const dataDraw = synth
    ? {
      source: "synthetic",
      synth_seed: seed,
      synth_folder: root.slice(root.lastIndexOf("/") + 1),
      split_seed: seed,
      data_key: dataKey,
    }
    : {
      source: String(dataset.info.format),
      root,
      split_seed: seed,
      data_key: dataKey,
    };
  return { seed, dataset, dataKey, dataDraw };
}

/**
 * The data a unit trains and is scored in: its replicate's, in its
 * configuration's crop (a patch of the bank, or the profile's whole face).
 */
export async function unitContext(
  ctx: RunContext,
  cfg: Pick<Configuration, "patch" | "seed" | "name">,
  config: CommonConfig,
): Promise<UnitContext> {
  if (cfg.seed === undefined) {
    throw new Error(`${cfg.name}: no replicate (run.plan sets one per seed)`);
  }
  return {
    flags: ctx.flags,
    backend: ctx.backend,
    data: await ctx.data(cfg.seed, cropFor(cfg, config)),
  };
}

/** What the configurations may depend on, from the first replicate's data. */
export async function dataShape(
  ctx: RunContext,
  config: CommonConfig,
): Promise<DataShape> {
  const first = await ctx.data(config.seeds[0], cropFor({}, config));
  return { trainIdentities: first.dataset.train.identities.length };
}

/**
 * Opens a run of an experiment: parses `argv` (the common flags and config
 * overrides), prints the resolved config, and opens the backend and the data
 * (or takes reproduce's). `--help` prints the flags and config keys and exits.
 */
export async function openRun<C extends Record<string, unknown>>(
  experiment: Experiment<C>,
  argv: string[],
  shared?: SharedContext,
): Promise<Run<C>> {
  const flags = parseRunFlags(
    argv,
    `deno run -A experiments/${experiment.name}.ts`,
  );
  if (flags.help) {
    console.log(runUsage(`deno run -A experiments/${experiment.name}.ts`));
    const keys = Object.keys(resolveConfig(experiment, flags)).join(", ");
    console.log(`config keys: ${keys}`);
    Deno.exit(0);
  }
  const config = resolveConfig(experiment, flags);
  if (!flags.quiet) {
    console.error(
      `${experiment.name}: config ${
        JSON.stringify(JSON.parse(configToJson(config)))
      }`,
    );
  }
  const context = shared?.context ?? await openContext(flags, config);
  const shape = await dataShape(context, config);
  return new Run(experiment, argv, flags, config, context, shape, shared);
}

/** One run of one experiment; see the module doc for the order of the verbs. */
export class Run<C extends Record<string, unknown>> {
  readonly outDir: string;
  #t0 = performance.now();
  #all: Configuration[] = [];
  #mine: Configuration[] = [];
  #ran: string[] = [];
  #skipped: string[] = [];
  #missing: string[] = [];
  #wall: Record<string, number> = {};
  #started = new Map<string, number>();
  #plans = new Map<
    string,
    { plan?: ModelPlan; modelKey: string; resultKey: string }
  >();
  #models = new Map<string, TrainedModel>();
  /** The data each model was opened in (its replicate and its patch). */
  #modelData = new Map<string, ReplicateData>();
  /** Each replicate's data draw, as the metadata lists them. */
  #draws = new Map<number, Record<string, unknown>>();

  constructor(
    readonly experiment: Experiment<C>,
    readonly argv: string[],
    readonly flags: RunFlags,
    readonly config: CommonConfig & C,
    readonly context: RunContext,
    /** What the configurations may depend on (the same in every replicate). */
    readonly shape: DataShape,
    readonly shared?: SharedContext,
  ) {
    this.outDir = flags.out;
  }

  /**
   * Checks the configurations (names unique), makes one unit per
   * (configuration, seed of `config.seeds`) and returns this shard's share.
   */
  plan(configurations: Configuration[]): Configuration[] {
    const names = new Set<string>();
    for (const c of configurations) {
      if (names.has(c.name)) {
        throw new Error(
          `${this.experiment.name}: duplicate configuration "${c.name}"`,
        );
      }
      names.add(c.name);
    }
    const [i, n] = this.flags.shard;
    this.#all = withSeeds(configurations, this.config.seeds);
    this.#mine = this.#all.filter((_, k) => k % n === i);
    return this.#mine;
  }

  /** A unit's label on progress lines: `joint_lambda [2/21] lambda=0.05 seed 1`. */
  label(cfg: Configuration): string {
    const k = this.#mine.indexOf(cfg);
    return `${this.experiment.name} [${k + 1}/${this.#mine.length}] ${
      unitName(cfg)
    }`;
  }

  /** Where a unit's own files start: `<out>/<experiment>/<config>_seed<k>`. */
  fileBase(cfg: Configuration): string {
    return `${this.outDir}/${this.experiment.name}/${
      configFileName(unitName(cfg))
    }`;
  }

  async #keys(
    cfg: Configuration,
  ): Promise<{ plan?: ModelPlan; modelKey: string; resultKey: string }> {
    let k = this.#plans.get(unitName(cfg));
    if (!k) {
      let plan: ModelPlan | undefined, modelKey: string;
      if (cfg.combines) {
        // A combination of other units' features: keyed by their models.
        const keys: string[] = [];
        for (const name of cfg.combines) {
          const part = this.#all.find((c) =>
            c.name === name && c.seed === cfg.seed
          );
          if (!part) {
            throw new Error(
              `${this.experiment.name}: ${cfg.name} combines "${name}", which is not planned`,
            );
          }
          keys.push((await this.#keys(part)).modelKey);
        }
        modelKey = (await sha256Hex(keys.join("\n"))).slice(0, 24);
      } else {
        const unit = await unitContext(this.context, cfg, this.config);
        plan = await modelPlan(
          cfg,
          this.config,
          unit.data,
          unit.backend.name,
        );
        modelKey = plan.key;
      }
      const evalCode = await codeHash([
        `experiments/${this.experiment.name}.ts`,
      ]);
      const resultKey = (await sha256Hex(
        configToJson({ model: modelKey, evalCode, config: this.config, cfg }),
      )).slice(0, 24);
      k = { plan, modelKey, resultKey };
      this.#plans.set(unitName(cfg), k);
    }
    return k;
  }

  /**
   * Whether this unit has nothing to do: its results exist for the same code
   * and config (skipped, unless `--force`), or, under `reproduce --no-train`,
   * a model it needs is not trained (listed as missing, never trained here).
   */
  async isDone(cfg: Configuration): Promise<boolean> {
    this.#started.set(unitName(cfg), performance.now());
    const { resultKey } = await this.#keys(cfg);
    if (this.shared?.trainMissing === false) {
      const parts = cfg.combines
        ? cfg.combines.map((name) =>
          this.#all.find((c) => c.name === name && c.seed === cfg.seed)!
        )
        : [cfg];
      for (const part of parts) {
        const { plan } = await this.#keys(part);
        if (plan && !await isTrained(this.flags.cacheDir, plan.key)) {
          this.#missing.push(unitName(cfg));
          if (!this.flags.quiet) {
            console.error(
              `${this.label(cfg)}: model ${plan.key} not trained (${
                unitName(part)
              }); left out`,
            );
          }
          return true;
        }
      }
    }
    const base = this.fileBase(cfg);
    if (
      this.flags.force || !await exists(`${base}.json`) ||
      !await exists(`${base}.csv`)
    ) return false;
    const meta = JSON.parse(await Deno.readTextFile(`${base}.json`));
    if (meta.key !== resultKey) return false;
    this.#skipped.push(unitName(cfg));
    if (!this.flags.quiet) {
      console.error(
        `${
          this.label(cfg)
        }: results exist for this code and config, skipped (--force reruns)`,
      );
    }
    return true;
  }

  /** The configuration's trained model: from the cache, or trained now. */
  async model(cfg: Configuration): Promise<TrainedModel> {
    if (!this.#started.has(unitName(cfg))) {
      this.#started.set(unitName(cfg), performance.now());
    }
    const { plan } = await this.#keys(cfg);
    if (!plan) {
      throw new Error(
        `${
          this.label(cfg)
        } combines other models' features and has no model of its own`,
      );
    }
    const ctx = await unitContext(this.context, cfg, this.config);
    const model = await ensureModel(plan, ctx, this.label(cfg), {
      force: this.shared?.forceModels ?? this.flags.force,
    });
    this.#models.set(unitName(cfg), model);
    this.#modelData.set(model.key, ctx.data);
    this.#draws.set(ctx.data.seed, ctx.data.dataDraw);
    return model;
  }

  /**
   * DeepID2 features of the test, held-out and validation faces (in the
   * model's own patch); with `mirror`, of their horizontal mirrors.
   */
  async features(
    model: TrainedModel,
    options: { mirror?: boolean } = {},
  ): Promise<Features> {
    if (!model.net) {
      throw new Error(
        `model ${model.key} has no weights (${model.status}); check run.skipUnhealthy first`,
      );
    }
    const { net } = model;
    const batchSize = this.config.evalBatch;
    const dim = net.config.deepid2Dim;
    const data = this.#modelData.get(model.key);
    if (!data) {
      throw new Error(`model ${model.key} was not opened by run.model`);
    }
    const { dataset } = data;
    const of = (set: FaceSet) => {
      const faces = options.mirror ? mirrored(set) : set;
      return extractFeatures(net, faces.images, faces.shape, { batchSize });
    };
    const test = await of(dataset.test);
    return {
      data,
      test,
      heldOut: await of(dataset.heldOut),
      validation: await of(dataset.validation),
      dim,
      deadFraction: deadFeatureFraction(test, dim),
    };
  }

  /**
   * Scores the test pairs with L2, cosine and Joint Bayesian (fitted on
   * held-out faces), LFW protocol; and the validation pairs the same way.
   */
  score(features: Features): Scored {
    const { dataset } = features.data;
    const scorers = standardScorers(
      dataset.heldOut.labels,
      features.heldOut,
      features.dim,
      this.config.jbPcaDim,
    );
    const { dim } = features;
    return {
      features,
      scorers,
      verification: verifyPairs(
        features.test,
        dim,
        dataset.pairs,
        scorers,
      ),
      validation: verifyPairs(
        features.validation,
        dim,
        dataset.validationPairs,
        scorers,
      ),
    };
  }

  /**
   * A model that collapsed or diverged is not a result: its rows say so
   * (status, reason, no accuracy) and its learning curve is kept. Returns
   * whether it was such a model (then the loop skips it).
   */
  async skipUnhealthy(
    cfg: Configuration,
    model: TrainedModel,
  ): Promise<boolean> {
    // A model still improving is scored: its rows and claims say so.
    if (model.status === "ok" || model.status === "still improving") {
      return false;
    }
    const rows = STANDARD_SCORERS.map((scorer) => ({
      ...this.#rowHead(cfg, scorer),
      status: model.status,
      status_reason: model.reason,
      ...cfg.columns,
    }));
    await this.#writeConfiguration(cfg, rows, model, {});
    if (!this.flags.quiet) {
      console.error(`${this.label(cfg)}: ${model.status}: ${model.reason}`);
    }
    return true;
  }

  /** The data draw a unit's rows came from (its replicate's, as its models opened it). */
  #unitDraw(cfg: Configuration): Record<string, unknown> | undefined {
    return cfg.seed === undefined ? undefined : this.#draws.get(cfg.seed);
  }

  #rowHead(cfg: Configuration, scorer: string): Record<string, unknown> {
    return {
      experiment: this.experiment.name,
      config: cfg.name,
      scorer,
      seed: cfg.seed,
      backend: this.context.backend.name,
      profile: this.flags.profile,
    };
  }

  /** The per-configuration CSV, its learning curve and its key file. */
  async #writeConfiguration(
    cfg: Configuration,
    rows: Record<string, unknown>[],
    model: TrainedModel | undefined,
    folds: Record<string, unknown[]>,
  ): Promise<number> {
    const base = this.fileBase(cfg);
    await writeCsv(`${base}.csv`, rows, columnsOf(rows));
    if (model && await exists(model.curve)) {
      const dir = `${this.outDir}/${this.experiment.name}/curves`;
      await Deno.mkdir(dir, { recursive: true });
      await writeTextAtomic(
        `${dir}/${configFileName(unitName(cfg))}.csv`,
        await Deno.readTextFile(model.curve),
      );
    }
    const started = this.#started.get(unitName(cfg)) ?? performance.now();
    const wall = Math.round((performance.now() - started) / 100) / 10;
    this.#wall[unitName(cfg)] = wall;
    const { modelKey, resultKey } = await this.#keys(cfg);
    await writeTextAtomic(
      `${base}.json`,
      configToJson({
        key: resultKey,
        model: modelKey,
        replicate: cfg.seed,
        data_draw: this.#unitDraw(cfg),
        status: model?.status ?? "ok",
        trained: model?.trained ?? false,
        train_img_per_s: model?.imagesPerSecond,
        wall_s: wall,
        folds,
      }) + "\n",
    );
    this.#models.delete(unitName(cfg));
    this.#ran.push(unitName(cfg));
    return wall;
  }

  /**
   * Writes a configuration's rows (one per scorer, with `extra` columns per
   * scorer), its ROC tables, its learning curve and its key file.
   */
  async record(
    cfg: Configuration,
    scored: Scored,
    extra: Map<string, Record<string, string | number>> = new Map(),
  ): Promise<void> {
    const { verification, validation, features } = scored;
    const model = this.#models.get(unitName(cfg));
    const { modelKey } = await this.#keys(cfg);
    // What scored the model, beside it: lib/eval/scoring_file.ts.
    if (!cfg.combines) {
      await writeScoringFile(this.flags.cacheDir, {
        model: modelKey,
        crop: cropFor(cfg, this.config),
        dim: features.dim,
        pcaDim: this.config.jbPcaDim,
        heldOutFeatures: features.heldOut,
        heldOutLabels: features.data.dataset.heldOut.labels,
        validationFeatures: features.validation,
        validationPairs: features.data.dataset.validationPairs,
        // The run's own fit: the same model, not fitted twice.
        fitted: (scored.scorers.find((x) => x.name === "joint_bayesian") as {
          model?: JointBayesianModel;
        }).model ?? null,
      });
    }
    const rows: Record<string, unknown>[] = [];
    for (const [scorer, v] of verification) {
      rows.push({
        ...this.#rowHead(cfg, scorer),
        accuracy_mean: round(v.accuracy_mean),
        accuracy_std: round(v.accuracy_std),
        accuracy_se: round(v.accuracy_se),
        auc: round(v.auc),
        eer: round(v.eer),
        "tar_at_far_1e-3": round(v["tar_at_far_1e-3"]),
        "tar_at_far_1e-2": round(v["tar_at_far_1e-2"]),
        "tar_at_far_1e-1": round(v["tar_at_far_1e-1"]),
        n_pairs: v.n_pairs,
        // ok, or still improving: scored, and flagged wherever it is used.
        status: model?.status ?? "ok",
        status_reason: model?.reason ?? "",
        model: modelKey,
        dead_features: round(features.deadFraction, 4),
        val_accuracy_mean: round(validation.get(scorer)!.accuracy_mean),
        fold_accuracy: v.folds.map((f) => round(f.accuracy)).join(";"),
        ...cfg.columns,
        ...(extra.get(scorer) ?? {}),
      });
      await writeCsv(
        rocPath(this.outDir, this.experiment.name, unitName(cfg), scorer),
        v.roc.map((p) => ({
          fpr: round(p.fpr),
          tpr: round(p.tpr),
          threshold: round(p.threshold),
        })),
        ["fpr", "tpr", "threshold"],
      );
      // Each fold's own curve, on its held-out pairs.
      await writeCsv(
        rocPath(this.outDir, this.experiment.name, unitName(cfg), scorer)
          .replace(/\.csv$/, "_folds.csv"),
        v.roc_folds.flatMap((curve, k) =>
          curve.map((p) => ({
            fold: v.folds[k].fold,
            fpr: round(p.fpr),
            tpr: round(p.tpr),
            threshold: round(p.threshold),
          }))
        ),
        ["fold", "fpr", "tpr", "threshold"],
      );
    }
    const wall = await this.#writeConfiguration(
      cfg,
      rows,
      model,
      Object.fromEntries(
        [...verification].map((
          [s, v],
        ) => [
          s,
          v.folds.map((f) => ({
            fold: f.fold,
            n_pairs: f.n_pairs,
            threshold: round(f.threshold),
            train_accuracy: round(f.train_accuracy),
            accuracy: round(f.accuracy),
          })),
        ]),
      ),
    );
    if (!this.flags.quiet) {
      const acc = [...verification].map(([s, v]) =>
        `${s} ${(100 * v.accuracy_mean).toFixed(2)}±${
          (100 * v.accuracy_std).toFixed(2)
        }%`
      ).join(", ");
      console.error(`${this.label(cfg)}: ${acc} (${wall}s)`);
    }
  }

  /**
   * Merges every configuration that has results (this or earlier shards)
   * into `<out>/<experiment>.csv`, writes the run's metadata and draws the
   * experiment's figures.
   */
  async finish(): Promise<RunOutcome> {
    const name = this.experiment.name;
    const rows: Record<string, unknown>[] = [];
    for (const cfg of this.#all) {
      const path = `${this.fileBase(cfg)}.csv`;
      if (!await exists(path)) continue;
      rows.push(
        ...parse(await Deno.readTextFile(path), { columns: true }) as Record<
          string,
          unknown
        >[],
      );
    }
    // One row per (configuration, scorer, seed), then the mean over seeds.
    rows.push(...aggregateRows(rows));
    const csv = `${this.outDir}/${name}.csv`;
    if (rows.length) await writeCsv(csv, rows, columnsOf(rows));
    const git = await gitInfo();
    const metaPath = `${this.outDir}/${name}.meta.json`;
    const previous = await exists(metaPath)
      ? JSON.parse(await Deno.readTextFile(metaPath))
      : {};
    await writeTextAtomic(
      metaPath,
      configToJson({
        experiment: name,
        command: `deno run -A experiments/${name}.ts ${this.argv.join(" ")}`
          .trim(),
        argv: this.argv,
        git_commit: git.commit,
        git_dirty: git.dirty,
        deno: Deno.version.deno,
        tfjs: tf.version_core,
        backend: this.context.backend.name,
        // The library behind a native backend and the vector path of our own
        // kernels: 2.9.1 and 2.18.0 round differently; no path changes a bit.
        ...nativeInfo(),
        profile: this.flags.profile,
        seeds: this.config.seeds,
        shard: `${this.flags.shard[0]}/${this.flags.shard[1]}`,
        // Each replicate's own data draw, for the replicates this run opened.
        data_draws: Object.fromEntries(
          [...this.#draws].sort((a, b) => a[0] - b[0]).map((
            [seed, draw],
          ) => [`seed${seed}`, draw]),
        ),
        config: this.config,
        configurations: [...new Set(this.#all.map((c) => c.name))],
        ran: this.#ran,
        skipped: this.#skipped,
        wall_s_per_configuration: {
          ...(previous.wall_s_per_configuration ?? {}),
          ...this.#wall,
        },
        wall_s: Math.round((performance.now() - this.#t0) / 100) / 10,
        date: new Date().toISOString(),
      }) + "\n",
    );
    await drawExperimentFigures(this.experiment, this.outDir);
    return {
      rows,
      ran: this.#ran,
      skipped: this.#skipped,
      missing: this.#missing,
      csv,
      outDir: this.outDir,
    };
  }
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

/**
 * One unit per (configuration, replicate), replicate-major (every
 * configuration of the first replicate, then of the second, ...: each
 * replicate's data is loaded once), the same replicates for every
 * configuration; a configuration that names its own seed stays one unit,
 * in the first replicate's turn.
 */
export function withSeeds(
  configurations: Configuration[],
  seeds: number[],
): Configuration[] {
  if (seeds.length === 0) throw new Error("config seeds: at least one seed");
  const own = configurations.filter((c) => c.seed !== undefined);
  const rest = configurations.filter((c) => c.seed === undefined);
  return [
    ...own,
    ...seeds.flatMap((seed) => rest.map((c) => ({ ...c, seed }))),
  ];
}

/** A unit's name: `lambda=0.05 seed 2` (the configuration's alone when it has no seed). */
export function unitName(cfg: Configuration): string {
  return unitStem(cfg.name, cfg.seed);
}

/** Config-name form of λ: `0`, `0.05`, `inf`. */
export function lambdaName(lambda: number): string {
  return lambda === Infinity ? "inf" : String(lambda);
}

/** One configuration per λ with the L2 signal: name `lambda=<λ>`, column `lambda`. */
export function lambdaConfigurations(lambdas: number[]): Configuration[] {
  return lambdas.map((lambda) => ({
    name: `lambda=${lambdaName(lambda)}`,
    lambda,
    signal: "l2",
    columns: { lambda: lambdaName(lambda) },
  }));
}

/** `libtensorflow` and `kernels_isa` of a run on a native backend, else nothing. */
function nativeInfo(): { libtensorflow?: string; kernels_isa?: string } {
  if (!tf.getBackend().startsWith("tensorflow")) return {};
  const isa = productsIsa();
  return {
    libtensorflow: loadedNative()?.manifest.libtensorflow,
    ...(isa ? { kernels_isa: isa } : {}),
  };
}

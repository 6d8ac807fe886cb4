/**
 * How the training defaults of a profile were chosen: a small search on the
 * validation pairs only (the synthetic set's LFW View 1 files, or CelebA's
 * validation identities on real data). It never extracts a test feature.
 *
 * A search in stages, one setting at a time, each stage starting from the
 * setting the stages before it chose (the profile's defaults at first):
 *
 * 1. the weight initialisation's gain (`weightInitGains`),
 * 2. the learning rate (`learningRates`),
 * 3. the DeepID2 layer's bias start (`biasInits`).
 *
 * For each setting it trains the probe models — L2 at λ ∈ `probeLambdas`
 * (default 0, the joint λ, 0.5) and the L1 signal at the joint λ — once per
 * seed of the profile, since a setting must keep every seed healthy, checks
 * each on the validation pairs every `evalEvery` steps (learning curves),
 * and keeps the setting with the fewest collapsed or diverged probes (a
 * probe is collapsed at `collapsedAt` dead units, or below `collapsedBelow`
 * validation accuracy), then the best mean final validation accuracy (L2) of
 * its healthy probes (the meta file says whether every probe was healthy).
 * A stage with one value trains nothing new. λ > 1 is not probed: the paper
 * expects verification alone to do badly, so it may not veto a setting; the
 * whole λ axis then runs at the chosen setting (the 1/max(1, λ) scaling
 * keeps its step size comparable).
 *
 * Command: `deno task calibrate [--profile quick] [--learningRates=0.02,0.05,0.1]`
 * (the start is the profile's setting unless `--weightInitGain=`,
 * `--learningRate=` or `--deepid2BiasInit=` say otherwise; the committed
 * search's command is in its meta file and the README)
 * writes `results/calibration.csv` (one row per setting, probe and seed, the
 * chosen setting marked) and `results/calibration.meta.json`. The profile's
 * defaults in `experiments/harness/profiles.ts` are set by hand to the
 * chosen setting, with a comment pointing here; its probes are then the
 * same trainings as those configurations' models, which the cache reuses.
 *
 * @module
 */
import { writeTextAtomic } from "../lib/base/io.ts";
import { configToJson } from "./harness/config.ts";
import type { Configuration, Experiment } from "./harness/experiment.ts";
import { curvePath, readCurve } from "./harness/models.ts";
import type { CommonConfig } from "./harness/profiles.ts";
import { writeCsv } from "./harness/result_files.ts";
import { lambdaName, mainGuard, openRun } from "./harness/run.ts";
import type { Signal } from "../lib/train/losses.ts";

/** Config of the calibration. */
export interface Config extends Record<string, unknown> {
  /** Stage 1: the gains of the He-normal weight initialisation tried. */
  weightInitGains: number[];
  /** Stage 2: the learning rates tried at the chosen gain. */
  learningRates: number[];
  /** Stage 3: the DeepID2 bias starts tried at the chosen gain and rate. */
  biasInits: number[];
  /** λ of the probes trained with the L2 signal. */
  probeLambdas: number[];
  /** Signals probed at the joint λ besides L2. */
  probeSignals: string[];
}

/** One row of `results/calibration.csv`. */
export interface CalibrationRow {
  /** 1: weight gain; 2: learning rate; 3: DeepID2 bias start. */
  stage: number;
  weight_init_gain: number;
  learning_rate: number;
  deepid2_bias_init: number;
  probe: string;
  lambda: string;
  signal: string;
  seed: number;
  status: string;
  steps: number;
  val_accuracy_l2: number;
  val_accuracy_cosine: number;
  val_dead_fraction: number;
  /** Best validation accuracy (L2) along the curve, and at which step. */
  best_val_accuracy_l2: number;
  best_step: number;
  chosen: boolean;
}

/** A training setting the search compares. */
export interface Setting {
  weightInitGain: number;
  learningRate: number;
  deepid2BiasInit: number;
}

/** The setting a row was trained with, as a map key. */
function settingKey(
  r: Pick<
    CalibrationRow,
    "weight_init_gain" | "learning_rate" | "deepid2_bias_init"
  >,
): string {
  return `${r.weight_init_gain}/${r.learning_rate}/${r.deepid2_bias_init}`;
}

/** A setting as a map key: the same string as {@linkcode settingKey} of its rows. */
function keyOf(st: Setting): string {
  return settingKey({
    weight_init_gain: st.weightInitGain,
    learning_rate: st.learningRate,
    deepid2_bias_init: st.deepid2BiasInit,
  });
}

/**
 * One configuration per (setting, probe): λ in `probeLambdas` with L2, and
 * each probe signal at the joint λ.
 */
function probesOf(
  config: CommonConfig & Config,
  settings: Setting[],
): Configuration[] {
  const probes: { lambda: number; signal: Signal }[] = [
    ...config.probeLambdas.map((lambda) => ({
      lambda,
      signal: "l2" as const,
    })),
    ...config.probeSignals.map((s) => ({
      lambda: config.bestLambda,
      signal: s as Signal,
    })),
  ];
  // No seed here: the run makes one unit per seed of the profile.
  return settings.flatMap((st) =>
    probes.map(({ lambda, signal }) => ({
      name:
        `gain=${st.weightInitGain},lr=${st.learningRate},bias=${st.deepid2BiasInit},lambda=${
          lambdaName(lambda)
        },signal=${signal}`,
      lambda,
      signal,
      train: { ...st },
      columns: { lambda: lambdaName(lambda), signal },
    }))
  );
}

/** The profile's own setting, where the search starts. */
function startOf(config: CommonConfig): Setting {
  return {
    weightInitGain: config.weightInitGain,
    learningRate: config.learningRate,
    deepid2BiasInit: config.deepid2BiasInit,
  };
}

/** The settings a stage tries: `from` with the stage's field set to each of its values. */
function stageSettings(stage: Stage, from: Setting, config: Config): Setting[] {
  return stage.values(config).map((v) => ({ ...from, [stage.field]: v }));
}

/** Stage 1's configurations (the later stages depend on its outcome). */
function configurations(config: CommonConfig & Config): Configuration[] {
  return probesOf(config, stageSettings(STAGES[0], startOf(config), config));
}

/**
 * The rule: the setting with the fewest collapsed or diverged probes, and
 * among those the best mean final validation accuracy (L2) over its healthy
 * probes. With a fully healthy setting that is simply the best of those;
 * when every setting has an unhealthy probe, `healthy` in the result says so.
 * `key` names a row's setting.
 */
export function chooseSetting<K>(
  rows: Omit<CalibrationRow, "chosen">[],
  key: (r: Omit<CalibrationRow, "chosen">) => K,
): { setting: K; healthy: boolean } | undefined {
  const groups = new Map<K, Omit<CalibrationRow, "chosen">[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  let best: { k: K; bad: number; score: number } | undefined;
  for (const [k, group] of groups) {
    const ok = group.filter((r) => r.status === "ok");
    if (ok.length === 0) continue;
    const bad = group.length - ok.length;
    const score = ok.reduce((s, r) => s + r.val_accuracy_l2, 0) / ok.length;
    if (
      !best || bad < best.bad || (bad === best.bad && score > best.score)
    ) best = { k, bad, score };
  }
  return best && { setting: best.k, healthy: best.bad === 0 };
}

/** A stage of the search: which setting it varies, over which values. */
interface Stage {
  field: keyof Setting;
  values: (c: Config) => number[];
}

/** The stages of the search, in order. */
const STAGES: Stage[] = [
  { field: "weightInitGain", values: (c) => c.weightInitGains },
  { field: "learningRate", values: (c) => c.learningRates },
  { field: "deepid2BiasInit", values: (c) => c.biasInits },
];

/** Trains the probes, reads their validation curves, writes the calibration table. */
export async function main(argv: string[]): Promise<CalibrationRow[]> {
  const run = await openRun(experiment, argv);
  const rows: Omit<CalibrationRow, "chosen">[] = [];
  const measured = new Set<string>();
  const measure = async (stage: number, cfgs: Configuration[]) => {
    for (const cfg of run.plan(cfgs)) {
      const st = cfg.train as Setting;
      const key = `${cfg.name}/${cfg.seed}`;
      if (measured.has(key)) continue; // an earlier stage trained it
      measured.add(key);
      using model = await run.model(cfg);
      // A training that diverged before its first check has no curve: [].
      const curve = await readCurve(curvePath(run.flags.cacheDir, model.key));
      const last = curve.at(-1);
      const best = curve.reduce(
        (b, r) => r.val_accuracy_l2 > b.val_accuracy_l2 ? r : b,
        curve[0],
      );
      rows.push({
        stage,
        weight_init_gain: st.weightInitGain,
        learning_rate: st.learningRate,
        deepid2_bias_init: st.deepid2BiasInit,
        probe: `lambda=${cfg.columns.lambda},signal=${cfg.signal}`,
        lambda: String(cfg.columns.lambda),
        signal: cfg.signal,
        seed: cfg.seed ?? run.flags.seed,
        status: model.status,
        steps: last?.step ?? 0,
        val_accuracy_l2: last?.val_accuracy_l2 ?? NaN,
        val_accuracy_cosine: last?.val_accuracy_cosine ?? NaN,
        val_dead_fraction: last?.val_dead_fraction ?? NaN,
        best_val_accuracy_l2: best?.val_accuracy_l2 ?? NaN,
        best_step: best?.step ?? 0,
      });
    }
  };
  let setting = startOf(run.config);
  let healthy = false;
  for (const [i, stage] of STAGES.entries()) {
    const tried = stageSettings(stage, setting, run.config);
    if (tried.length === 0) continue;
    await measure(i + 1, probesOf(run.config, tried));
    // The rows of this stage's settings, whichever stage trained them.
    const keys = new Set(tried.map(keyOf));
    const pick = chooseSetting(
      rows.filter((r) => keys.has(settingKey(r))),
      settingKey,
    );
    if (!pick) continue; // every probe diverged: keep the setting so far
    setting = tried.find((t) => keyOf(t) === pick.setting)!;
    healthy = pick.healthy;
  }
  const chosenKey = keyOf(setting);
  const out = rows.map((r) => ({ ...r, chosen: settingKey(r) === chosenKey }));
  const columns = Object.keys(out[0] ?? {});
  await writeCsv(`${run.outDir}/calibration.csv`, out, columns);
  await writeTextAtomic(
    `${run.outDir}/calibration.meta.json`,
    configToJson({
      command: `deno task calibrate ${argv.join(" ")}`.trim(),
      backend: run.context.backend.name,
      profile: run.flags.profile,
      config: run.config,
      chosen: { ...setting, everyProbeHealthy: healthy },
      rule:
        "in stages (weight gain, learning rate, DeepID2 bias start), each from the setting chosen before: the value with the fewest collapsed or diverged probes over all probes and seeds, then the best mean final validation accuracy (L2) over its healthy probes",
      date: new Date().toISOString(),
    }) + "\n",
  );
  if (!run.flags.quiet) {
    console.error(
      `calibrate: chosen weight gain ${setting.weightInitGain}, learning rate ${setting.learningRate}, DeepID2 bias start ${setting.deepid2BiasInit}${
        healthy ? "" : " (no setting kept every probe healthy)"
      }; wrote ${run.outDir}/calibration.csv`,
    );
  }
  return out;
}

/** The calibration, as an experiment of the harness (not one of the paper's: it has no claim). */
export const experiment: Experiment<Config> = {
  name: "calibrate",
  paper: {
    title: "Calibration of the training defaults (validation pairs only)",
    source: "—",
    claim: "none: it chooses defaults",
  },
  defaults: (profile) => ({
    weightInitGains: profile === "smoke" ? [1] : [0.25, 0.5, 1],
    learningRates: profile === "smoke" ? [0.05] : [0.02, 0.05, 0.1],
    biasInits: profile === "smoke" ? [0, 0.1] : [0, 0.1],
    probeLambdas: [0, 0.05, 0.5],
    probeSignals: ["l1"],
  }),
  configurations,
  // Not run by reproduce (it is not in experiments/all.ts): its own command.
  main: () => Promise.reject(new Error("run experiments/calibrate.ts itself")),
  claims: () => [],
};

if (import.meta.main) await mainGuard("calibrate", () => main(Deno.args));

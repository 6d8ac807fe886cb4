/**
 * How the training defaults of a profile were chosen: a search on the
 * validation pairs only (each replicate's synthetic LFW View 1 files, or
 * CelebA's validation identities on real data). It never extracts a test
 * feature.
 *
 * A search in stages, one setting at a time, each stage starting from the
 * setting the stages before it chose (the profile's defaults at first):
 *
 * 1. the weight initialisation's gain (`weightInitGains`),
 * 2. the schedule: how far the exponential decay takes the rate by the
 *    end, `finalLrRatio` (`finalLrRatios`), which is also the rate a
 *    training still improving goes on at,
 * 3. the learning rate (`learningRates`),
 * 4. the number of steps, `steps` (`stepCounts`), the schedule's length and
 *    the least a training runs; a model still improving then goes on, in
 *    quarters of `steps` at the final rate, up to `maxSteps`
 *    (`lib/train/train.ts`).
 *
 * For each setting it trains the probe models — L2 at λ ∈ `probeLambdas`
 * (default 0, the joint λ, 0.5) and the L1 signal at the joint λ — once per
 * replicate of the profile (each on its own data draw), since a setting
 * must train every replicate, and checks each on its validation pairs every
 * `evalEvery` steps (its learning curve, and the health and plateau rules).
 *
 * **The rule**, the same at every stage: (a) the fewest probes collapsed
 * or diverged; (b) then the fewest still improving when training ended
 * (`lib/train/convergence.ts`); (c) then, among the settings whose mean
 * final validation accuracy (over probes and replicates, L2 and cosine
 * averaged) is within `accuracyTolerance` (0.5 points: about a quarter of
 * one check's standard error at 600 pairs, averaged over 12 models) of the
 * best of them, the one whose probes took the fewest training steps in all
 * (extensions included): the steps are the cost, and a setting that
 * reaches the plateau sooner wins at equal accuracy; (d) ties go to the
 * better accuracy. A numeric grid whose choice lies on its edge (the rate,
 * the gain, the final ratio) is widened by one step beyond that edge
 * (×2 or ÷2) and the stage is judged again, up to `edgeExtensions` times,
 * so that the chosen value is inside the grid it was chosen from.
 *
 * λ > 1 is not probed: the paper expects verification alone to do badly,
 * so it may not veto a setting; the whole λ axis then runs at the chosen
 * setting (the 1/max(1, λ) scaling keeps its step size comparable).
 *
 * Command: `deno task calibrate [--profile quick] [--learningRates=0.05,0.1,0.2]`
 * writes `results/calibration.csv` (one row per setting, probe and
 * replicate, the chosen setting marked) and `results/calibration.meta.json`
 * (the command, the rule, the choice). The profile's defaults in
 * `experiments/harness/profiles.ts` are set by hand to the chosen setting,
 * with a comment pointing here; its probes are then the same trainings as
 * those configurations' models, which the cache reuses.
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
  /** Stage 2: the learning rates tried. */
  learningRates: number[];
  /** Stage 3: the final / initial rate of the exponential schedule tried. */
  finalLrRatios: number[];
  /** Stage 4: the step counts (schedule lengths) tried. */
  stepCounts: number[];
  /** λ of the probes trained with the L2 signal. */
  probeLambdas: number[];
  /** Signals probed at the joint λ besides L2. */
  probeSignals: string[];
  /** Validation accuracy (fraction) within which settings count as equal, so the cheaper wins. */
  accuracyTolerance: number;
  /** How many times a stage's numeric grid may be widened past the edge its choice lies on. */
  edgeExtensions: number;
}

/** The settings the search varies (the rest of the training config is the profile's). */
export interface Setting {
  weightInitGain: number;
  learningRate: number;
  finalLrRatio: number;
  steps: number;
}

/** One row of `results/calibration.csv`. */
export interface CalibrationRow {
  /** 1: weight gain; 2: schedule (final rate ratio); 3: learning rate; 4: steps. */
  stage: number;
  weight_init_gain: number;
  learning_rate: number;
  final_lr_ratio: number;
  steps: number;
  probe: string;
  lambda: string;
  signal: string;
  seed: number;
  status: string;
  /** The step the training ended at (past `steps` when it was extended). */
  steps_trained: number;
  val_accuracy_l2: number;
  val_accuracy_cosine: number;
  val_dead_fraction: number;
  /** Last identification loss over chance, 2 ln n (empty for λ = ∞). */
  ident_fraction: number;
  /** Why the model is not a result, or still improving ("" when ok). */
  status_reason: string;
  chosen: boolean;
}

type Row = Omit<CalibrationRow, "chosen">;

/** A stage of the search: which setting it varies, over which values. */
interface Stage {
  field: keyof Setting;
  values: (c: Config) => number[];
  /** Widen the grid past an edge choice (numeric settings with no natural bound). */
  widen: boolean;
}

/** The stages of the search, in order. */
const STAGES: Stage[] = [
  { field: "weightInitGain", values: (c) => c.weightInitGains, widen: true },
  { field: "finalLrRatio", values: (c) => c.finalLrRatios, widen: true },
  { field: "learningRate", values: (c) => c.learningRates, widen: true },
  // Fewer steps always cost less: the smallest count is a fine choice.
  { field: "steps", values: (c) => c.stepCounts, widen: false },
];

const FIELDS: [keyof Setting, keyof Row][] = [
  ["weightInitGain", "weight_init_gain"],
  ["learningRate", "learning_rate"],
  ["finalLrRatio", "final_lr_ratio"],
  ["steps", "steps"],
];

/** A setting as a map key. */
export function keyOf(st: Setting): string {
  return FIELDS.map(([f]) => st[f]).join("/");
}

/** The setting a row was trained with, as a map key. */
function rowKey(r: Row): string {
  return FIELDS.map(([, c]) => r[c]).join("/");
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
  // No seed here: the run makes one unit per replicate of the profile.
  return settings.flatMap((st) =>
    probes.map(({ lambda, signal }) => ({
      name:
        `gain=${st.weightInitGain},lr=${st.learningRate},final=${st.finalLrRatio},steps=${st.steps},lambda=${
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
    finalLrRatio: config.finalLrRatio,
    steps: config.steps,
  };
}

/** Stage 1's configurations (the later stages depend on its outcome). */
function configurations(config: CommonConfig & Config): Configuration[] {
  return probesOf(
    config,
    STAGES[0].values(config).map((v) => ({
      ...startOf(config),
      [STAGES[0].field]: v,
    })),
  );
}

/** What the rule reads off one setting's rows. */
export interface SettingScore {
  unhealthy: number;
  improving: number;
  /** Mean final validation accuracy over the scored probes (L2 and cosine averaged). */
  accuracy: number;
  /** Training steps of all its probes, extensions included. */
  cost: number;
}

/** A setting's rows summarised for the rule. */
export function scoreOf(rows: Row[]): SettingScore {
  const scored = rows.filter((r) =>
    r.status === "ok" || r.status === "still improving"
  );
  return {
    unhealthy: rows.length - scored.length,
    improving: rows.filter((r) => r.status === "still improving").length,
    accuracy: scored.length
      ? scored.reduce(
        (s, r) => s + (r.val_accuracy_l2 + r.val_accuracy_cosine) / 2,
        0,
      ) / scored.length
      : NaN,
    cost: rows.reduce((s, r) => s + r.steps_trained, 0),
  };
}

/**
 * The rule of the module doc: the fewest unhealthy probes, then the fewest
 * still improving, then among those within `tolerance` of the best mean
 * validation accuracy the cheapest, ties to the more accurate. `key` names a
 * row's setting. Undefined when no setting has a scored probe.
 */
export function chooseSetting<K>(
  rows: Row[],
  key: (r: Row) => K,
  tolerance: number,
): { setting: K; score: SettingScore } | undefined {
  const groups = new Map<K, Row[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  let pool = [...groups].map(([k, g]) => ({ k, score: scoreOf(g) }))
    .filter((x) => !isNaN(x.score.accuracy));
  if (pool.length === 0) return undefined;
  const fewest = (f: (s: SettingScore) => number) => {
    const m = Math.min(...pool.map((x) => f(x.score)));
    pool = pool.filter((x) => f(x.score) === m);
  };
  fewest((s) => s.unhealthy);
  fewest((s) => s.improving);
  const best = Math.max(...pool.map((x) => x.score.accuracy));
  pool = pool.filter((x) => x.score.accuracy >= best - tolerance);
  pool.sort((a, b) =>
    a.score.cost - b.score.cost || b.score.accuracy - a.score.accuracy
  );
  return { setting: pool[0].k, score: pool[0].score };
}

/** The rule in words, as the meta file and the console print it. */
export function ruleText(config: Config): string {
  return "in stages (weight gain, final rate ratio, learning rate, steps), " +
    "each from the setting chosen before, every probe on every replicate: " +
    "(a) the fewest probes collapsed or diverged, (b) then the fewest still " +
    "improving when training ended, (c) then, among the settings within " +
    `${100 * config.accuracyTolerance} points of the best mean final ` +
    "validation accuracy (L2 and cosine averaged), the fewest training " +
    "steps in all (extensions included), (d) ties to the better accuracy; " +
    "a choice on the edge of a numeric grid (gain, rate, ratio) widens the " +
    `grid past that edge (×2 or ÷2), at most ${config.edgeExtensions} times`;
}

/** Trains the probes, reads their validation curves, writes the calibration table. */
export async function main(argv: string[]): Promise<CalibrationRow[]> {
  const run = await openRun(experiment, argv);
  const { config } = run;
  const rows: Row[] = [];
  const measured = new Set<string>();
  const measure = async (stage: number, cfgs: Configuration[]) => {
    for (const cfg of run.plan(cfgs)) {
      const st = cfg.train as Setting;
      const key = `${
        keyOf(st)
      }/${cfg.columns.lambda}/${cfg.signal}/${cfg.seed}`;
      if (measured.has(key)) continue; // an earlier stage trained it
      measured.add(key);
      using model = await run.model(cfg);
      // A training that diverged before its first check has no curve: [].
      const curve = await readCurve(curvePath(run.flags.cacheDir, model.key));
      const last = curve.at(-1);
      const n = model.net?.config.numIdentities ?? 0;
      rows.push({
        stage,
        weight_init_gain: st.weightInitGain,
        learning_rate: st.learningRate,
        final_lr_ratio: st.finalLrRatio,
        steps: st.steps,
        probe: `lambda=${cfg.columns.lambda},signal=${cfg.signal}`,
        lambda: String(cfg.columns.lambda),
        signal: cfg.signal,
        seed: cfg.seed!,
        status: model.status,
        steps_trained: last?.step ?? 0,
        val_accuracy_l2: last?.val_accuracy_l2 ?? NaN,
        val_accuracy_cosine: last?.val_accuracy_cosine ?? NaN,
        val_dead_fraction: last?.val_dead_fraction ?? NaN,
        ident_fraction: n > 0 && last
          ? Number((last.ident_loss / (2 * Math.log(n))).toFixed(4))
          : NaN,
        status_reason: model.reason,
      });
    }
  };
  let setting = startOf(config);
  let picked: ReturnType<typeof chooseSetting<string>>;
  const log: string[] = [];
  for (const [i, stage] of STAGES.entries()) {
    let values = [...new Set(stage.values(config))].sort((a, b) => a - b);
    if (values.length === 0) continue;
    for (let widened = 0;; widened++) {
      const tried = values.map((v) => ({ ...setting, [stage.field]: v }));
      await measure(i + 1, probesOf(config, tried));
      // The rows of this stage's settings, whichever stage trained them.
      const keys = new Set(tried.map(keyOf));
      picked = chooseSetting(
        rows.filter((r) => keys.has(rowKey(r))),
        rowKey,
        config.accuracyTolerance,
      );
      if (!picked) break; // every probe diverged: keep the setting so far
      const choice = tried.find((t) => keyOf(t) === picked!.setting)!;
      const v = choice[stage.field];
      const edge = values.length > 1 &&
        (v === values[0] || v === values.at(-1));
      if (!stage.widen || !edge || widened >= config.edgeExtensions) {
        setting = choice;
        break;
      }
      // On the edge: one more value beyond it, and judge the stage again.
      const next = v === values[0] ? v / 2 : v * 2;
      log.push(`${stage.field}: ${v} is on the grid's edge; adding ${next}`);
      values = [...values, next].sort((a, b) => a - b);
    }
    log.push(`stage ${i + 1} (${stage.field}): chose ${setting[stage.field]}`);
  }
  const chosenKey = keyOf(setting);
  const out = rows.map((r) => ({ ...r, chosen: rowKey(r) === chosenKey }));
  const columns = Object.keys(out[0] ?? {});
  await writeCsv(`${run.outDir}/calibration.csv`, out, columns);
  const score = scoreOf(rows.filter((r) => rowKey(r) === chosenKey));
  await writeTextAtomic(
    `${run.outDir}/calibration.meta.json`,
    configToJson({
      command: `deno task calibrate ${argv.join(" ")}`.trim(),
      backend: run.context.backend.name,
      profile: run.flags.profile,
      config,
      chosen: setting,
      chosen_score: score,
      rule: ruleText(config),
      log,
      date: new Date().toISOString(),
    }) + "\n",
  );
  if (!run.flags.quiet) {
    console.error(`calibrate: the rule: ${ruleText(config)}`);
    for (const line of log) console.error(`calibrate: ${line}`);
    console.error(
      `calibrate: chosen weight gain ${setting.weightInitGain}, learning rate ${setting.learningRate}, final rate ratio ${setting.finalLrRatio}, ${setting.steps} steps (${score.unhealthy} probes unhealthy, ${score.improving} still improving, mean validation accuracy ${
        (100 * score.accuracy).toFixed(2)
      } %, ${score.cost} steps); wrote ${run.outDir}/calibration.csv`,
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
    weightInitGains: profile === "smoke" ? [1] : [0.5, 1],
    learningRates: profile === "smoke" ? [0.05] : [0.05, 0.1, 0.2],
    finalLrRatios: profile === "smoke" ? [0.1] : [0.01, 0.03, 0.1],
    stepCounts: profile === "smoke" ? [4] : [1000, 1500, 2000],
    probeLambdas: [0, 0.05, 0.5],
    probeSignals: ["l1"],
    accuracyTolerance: 0.005,
    edgeExtensions: 2,
  }),
  configurations,
  // Not run by reproduce (it is not in experiments/all.ts): its own command.
  main: () => Promise.reject(new Error("run experiments/calibrate.ts itself")),
  claims: () => [],
};

if (import.meta.main) await mainGuard("calibrate", () => main(Deno.args));

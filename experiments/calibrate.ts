/**
 * How the training defaults of a profile were chosen: a small search on the
 * validation pairs only (the synthetic set's LFW View 1 files, or CelebA's
 * validation identities on real data). It never extracts a test feature.
 *
 * A two-stage search. Stage 1: for each learning rate of the grid it trains
 * a few probe models — L2 at λ ∈ `probeLambdas` (default 0, the joint λ,
 * 0.5) and the L1 signal at the joint λ — with the profile's other settings,
 * checks each on the validation pairs every `evalEvery` steps (learning
 * curves), and keeps the rate with the fewest collapsed or diverged probes,
 * then the best mean final validation accuracy (L2) of its healthy probes
 * (the meta file says whether every probe was healthy). Stage 2: the same
 * for the DeepID2 layer's bias start (`biasInits`) at that rate. λ > 1 is
 * not probed: the paper expects verification alone to do badly, so it may
 * not veto a setting; the whole λ axis then runs at the chosen setting (the
 * 1/max(1, λ) scaling keeps its step size comparable).
 *
 * Command: `deno task calibrate [--profile quick] [--learningRates=0.02,0.05,0.1]`
 * writes `results/calibration.csv` (one row per setting and probe, the
 * chosen setting marked) and `results/calibration.meta.json`. The profile's
 * defaults in `experiments/harness/profiles.ts` are set by hand to the
 * chosen setting, with a comment pointing here.
 *
 * @module
 */
import { writeTextAtomic } from "../lib/base/io.ts";
import { configToJson } from "./harness/config.ts";
import type { Configuration, Experiment } from "./harness/experiment.ts";
import { curvePath } from "./harness/models.ts";
import type { CommonConfig } from "./harness/profiles.ts";
import { writeCsv } from "./harness/result_files.ts";
import { lambdaName, mainGuard, openRun } from "./harness/run.ts";
import type { Signal } from "../lib/train/losses.ts";
import { parse } from "csv-parse/sync";

/** Config of the calibration. */
export interface Config extends Record<string, unknown> {
  /** Stage 1: the learning rates tried (at the profile's DeepID2 bias start). */
  learningRates: number[];
  /** Stage 2: the DeepID2 bias starts tried at the chosen learning rate. */
  biasInits: number[];
  /** λ of the probes trained with the L2 signal. */
  probeLambdas: number[];
  /** Signals probed at the joint λ besides L2. */
  probeSignals: string[];
}

/** One row of `results/calibration.csv`. */
export interface CalibrationRow {
  /** 1: learning rate; 2: DeepID2 bias start at the chosen rate. */
  stage: number;
  learning_rate: number;
  deepid2_bias_init: number;
  probe: string;
  lambda: string;
  signal: string;
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
interface Setting {
  learningRate: number;
  deepid2BiasInit: number;
}

/** One model per (setting, probe): λ in `probeLambdas` with L2, and each probe signal at the joint λ. */
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
  return settings.flatMap((st) =>
    probes.map(({ lambda, signal }) => ({
      name: `lr=${st.learningRate},bias=${st.deepid2BiasInit},lambda=${
        lambdaName(lambda)
      },signal=${signal}`,
      lambda,
      signal,
      // One seed, the profile's first: a probe at the chosen setting is the
      // same training as that configuration's first-seed model.
      seed: config.seeds[0],
      train: { ...st },
      columns: { lambda: lambdaName(lambda), signal },
    }))
  );
}

/** Stage 1's configurations (stage 2 depends on its outcome). */
function configurations(config: CommonConfig & Config): Configuration[] {
  return probesOf(
    config,
    config.learningRates.map((learningRate) => ({
      learningRate,
      deepid2BiasInit: config.deepid2BiasInit,
    })),
  );
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

/** Trains the probes, reads their validation curves, writes the calibration table. */
export async function main(argv: string[]): Promise<CalibrationRow[]> {
  const run = await openRun(experiment, argv);
  const rows: Omit<CalibrationRow, "chosen">[] = [];
  const measure = async (stage: number, cfgs: Configuration[]) => {
    for (const cfg of run.plan(cfgs)) {
      using model = await run.model(cfg);
      const curve = parse(
        await Deno.readTextFile(curvePath(run.flags.cacheDir, model.key)),
        { columns: true },
      ) as Record<string, string>[];
      const last = curve.at(-1);
      const best = curve.reduce(
        (b, r) => Number(r.val_accuracy_l2) > Number(b.val_accuracy_l2) ? r : b,
        curve[0],
      );
      rows.push({
        stage,
        learning_rate: cfg.train!.learningRate!,
        deepid2_bias_init: cfg.train!.deepid2BiasInit!,
        probe: `lambda=${cfg.columns.lambda},signal=${cfg.signal}`,
        lambda: String(cfg.columns.lambda),
        signal: cfg.signal,
        status: model.status,
        steps: Number(last?.step ?? 0),
        val_accuracy_l2: Number(last?.val_accuracy_l2 ?? NaN),
        val_accuracy_cosine: Number(last?.val_accuracy_cosine ?? NaN),
        val_dead_fraction: Number(last?.val_dead_fraction ?? NaN),
        best_val_accuracy_l2: Number(best?.val_accuracy_l2 ?? NaN),
        best_step: Number(best?.step ?? 0),
      });
    }
  };
  // Stage 1: the learning rate, at the profile's bias start.
  await measure(1, configurations(run.config));
  const stage1 = chooseSetting(rows, (r) => r.learning_rate);
  const lr = stage1?.setting ?? run.config.learningRate;
  // Stage 2: the DeepID2 bias start, at that rate (the stage-1 rows of that
  // rate are its baseline).
  const others = run.config.biasInits.filter((b) =>
    b !== run.config.deepid2BiasInit
  );
  await measure(
    2,
    probesOf(
      run.config,
      others.map((deepid2BiasInit) => ({ learningRate: lr, deepid2BiasInit })),
    ),
  );
  const atLr = rows.filter((r) => r.learning_rate === lr);
  const stage2 = chooseSetting(atLr, (r) => r.deepid2_bias_init);
  const bias = stage2?.setting;
  const out = rows.map((r) => ({
    ...r,
    chosen: r.learning_rate === lr && r.deepid2_bias_init === bias,
  }));
  const columns = Object.keys(out[0] ?? {});
  await writeCsv(`${run.outDir}/calibration.csv`, out, columns);
  await writeTextAtomic(
    `${run.outDir}/calibration.meta.json`,
    configToJson({
      command: `deno task calibrate ${argv.join(" ")}`.trim(),
      backend: run.context.backend.name,
      profile: run.flags.profile,
      seed: run.flags.seed,
      config: run.config,
      chosen: {
        learningRate: lr,
        deepid2BiasInit: bias ?? null,
        everyProbeHealthy: stage2?.healthy ?? false,
      },
      rule:
        "stage 1: the learning rate with the fewest collapsed or diverged probes, then the best mean final validation accuracy (L2) over its healthy probes; stage 2: the same rule over the DeepID2 bias starts at that rate",
      date: new Date().toISOString(),
    }) + "\n",
  );
  if (!run.flags.quiet) {
    console.error(
      `calibrate: chosen learning rate ${lr}, DeepID2 bias start ${bias}${
        stage2?.healthy ? "" : " (no setting kept every probe healthy)"
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

/**
 * How the training defaults of a profile were chosen: a small search on the
 * validation pairs only (the synthetic set's LFW View 1 files, or CelebA's
 * validation identities on real data). It never extracts a test feature.
 *
 * For each learning rate of the grid it trains a few probe models — λ = 0,
 * the joint λ, and the L1 signal at the joint λ — with the profile's other
 * settings, checks each on the validation pairs every `evalEvery` steps
 * (learning curves), and picks the learning rate with the best mean final
 * validation accuracy (L2) among those where no probe collapsed or
 * diverged. λ = ∞ is not probed: the paper expects verification alone to do
 * badly, so it may not veto a rate, and the whole λ axis then runs at the
 * chosen rate (the 1/max(1, λ) scaling keeps its step size comparable).
 *
 * Command: `deno task calibrate [--profile quick] [--learningRates=0.02,0.05,0.1]`
 * writes `results/calibration.csv` (one row per learning rate and probe, the
 * chosen rate marked) and `results/calibration.meta.json`. The profile's
 * default in `experiments/harness/profiles.ts` is set by hand to the chosen
 * rate, with a comment pointing here.
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
  /** The learning rates tried. */
  learningRates: number[];
  /** Signals probed at the joint λ besides L2. */
  probeSignals: string[];
}

/** One row of `results/calibration.csv`. */
export interface CalibrationRow {
  learning_rate: number;
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

/** One model per (learning rate, probe). */
function configurations(config: CommonConfig & Config): Configuration[] {
  const probes: { lambda: number; signal: Signal }[] = [
    ...[0, config.bestLambda].map((lambda) => ({
      lambda,
      signal: "l2" as const,
    })),
    ...config.probeSignals.map((s) => ({
      lambda: config.bestLambda,
      signal: s as Signal,
    })),
  ];
  return config.learningRates.flatMap((lr) =>
    probes.map(({ lambda, signal }) => ({
      name: `lr=${lr},lambda=${lambdaName(lambda)},signal=${signal}`,
      lambda,
      signal,
      train: { learningRate: lr },
      columns: { learning_rate: lr, lambda: lambdaName(lambda), signal },
    }))
  );
}

/**
 * The rule: among learning rates where no probe with λ ≤ 1 collapsed or
 * diverged, the one with the best mean final validation accuracy (L2).
 */
export function chooseLearningRate(
  rows: Omit<CalibrationRow, "chosen">[],
): number | undefined {
  const byLr = new Map<number, Omit<CalibrationRow, "chosen">[]>();
  for (const r of rows) {
    byLr.set(r.learning_rate, [...(byLr.get(r.learning_rate) ?? []), r]);
  }
  let best: { lr: number; score: number } | undefined;
  for (const [lr, group] of byLr) {
    const vetoes = group.filter((r) =>
      r.status !== "ok" && Number(r.lambda === "inf" ? Infinity : r.lambda) <= 1
    );
    if (vetoes.length) continue;
    const scored = group.filter((r) => r.status === "ok");
    const score = scored.reduce((s, r) => s + r.val_accuracy_l2, 0) /
      Math.max(1, scored.length);
    if (!best || score > best.score) best = { lr, score };
  }
  return best?.lr;
}

/** Trains the probes, reads their validation curves, writes the calibration table. */
export async function main(argv: string[]): Promise<CalibrationRow[]> {
  const run = await openRun(experiment, argv);
  const rows: Omit<CalibrationRow, "chosen">[] = [];
  for (const cfg of run.plan(configurations(run.config))) {
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
      learning_rate: cfg.train!.learningRate!,
      probe: cfg.name.replace(/^lr=[^,]*,/, ""),
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
  const chosen = chooseLearningRate(rows);
  const out = rows.map((r) => ({ ...r, chosen: r.learning_rate === chosen }));
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
      chosen_learning_rate: chosen ?? null,
      rule:
        "best mean final validation accuracy (L2) over the probes, among learning rates where no probe with λ ≤ 1 collapsed or diverged",
      date: new Date().toISOString(),
    }) + "\n",
  );
  if (!run.flags.quiet) {
    console.error(
      `calibrate: chosen learning rate ${
        chosen ?? "none (every rate had a collapsed or diverged probe)"
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
    probeSignals: ["l1"],
  }),
  configurations,
  // Not run by reproduce (it is not in experiments/all.ts): its own command.
  main: () => Promise.reject(new Error("run experiments/calibrate.ts itself")),
  claims: () => [],
};

if (import.meta.main) await mainGuard("calibrate", () => main(Deno.args));

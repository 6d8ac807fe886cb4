/**
 * Fig. 3 of Sun et al., NIPS 2014: face verification accuracy against the
 * weight λ of the verification signal, from identification only (λ = 0) to
 * verification only (λ = ∞), scored with L2 distance and Joint Bayesian
 * (and cosine).
 *
 * Command: `deno run -A experiments/joint_lambda.ts [--profile quick] [--lambdas=0,0.0005,0.005,0.05,0.5,5,inf] [--seeds=1,2,3]`
 *
 * Paper's claim: accuracy peaks at an intermediate λ (0.05 in the paper)
 * for both L2 and Joint Bayesian scoring; both ends are worse. The curve's
 * numbers are not confirmed (lib/PAPER.md, "Experiments and claims"), so
 * only the trend is compared.
 *
 * Our last numbers: results/TABLES.md, results/figures/fig3_accuracy_vs_lambda.svg.
 *
 * @module
 */
import { linePlot } from "../lib/report/plot.ts";
import type {
  Experiment,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import { lambdaConfigurations, mainGuard, openRun } from "./harness/run.ts";
import {
  acc,
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  greaterAccuracy,
  lambdaLabel,
  lambdaOf,
  lambdaTriple,
  notTested,
  PAPER_SCORERS,
  scorerName,
} from "./report/claims.ts";
import { accuracySeries } from "./report/figures.ts";
import {
  compareScorers,
  type ResultRow,
  type Results,
} from "./report/results.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** λ grid (log-spaced, with both ends). */
  lambdas: number[];
}

/** One model per λ of the grid, L2 signal. */
function configurations(config: Config) {
  return lambdaConfigurations(config.lambdas);
}

/** Trains and scores one model per λ. */
export async function main(
  argv: string[],
  shared?: SharedContext,
): Promise<RunOutcome> {
  const run = await openRun(experiment, argv, shared);
  for (const cfg of run.plan(configurations(run.config))) {
    if (await run.isDone(cfg)) continue;
    using model = await run.model(cfg);
    if (await run.skipUnhealthy(cfg, model)) continue; // collapsed or diverged: reported, not scored
    const features = await run.features(model);
    await run.record(cfg, run.score(features));
  }
  return await run.finish();
}

/**
 * Accuracy peaks at an intermediate λ: one family, the intermediate λ with
 * the best validation accuracy (chosen on validation pairs, never on the
 * test pairs) against each end, paired replicate by replicate, per paper
 * scorer. The peak holds when every line holds.
 */
function claims(results: Results): ClaimFamily[] {
  const ex = results.get(experiment.name);
  if (!ex) return [];
  const out: (ClaimLine | ClaimVerdict)[] = [];
  for (const scorer of PAPER_SCORERS) {
    const group = ex.rows.filter((r) => r.scorer === scorer);
    const { zero, inf, best } = lambdaTriple(group);
    const s = scorerName(scorer);
    const joint = best
      ? `${lambdaLabel(lambdaOf(best))} (best on validation)`
      : "the validation-chosen λ";
    for (const end of [zero, inf]) {
      const endName = end === zero ? "λ=0" : "λ=∞";
      const claim =
        `accuracy peaks at an intermediate λ: ${joint} beats ${endName} (${s} scoring)`;
      if (!best || !end) {
        out.push(
          notTested(
            claim,
            `no row for ${!best ? "an intermediate λ" : endName}`,
          ),
        );
        continue;
      }
      out.push(greaterAccuracy(
        claim,
        arm(results, experiment.name, best.config, scorer),
        arm(results, experiment.name, end.config, scorer),
        `${lambdaLabel(lambdaOf(best))} − ${endName}`,
      ));
    }
  }
  return [{ claim: experiment.paper.claim, lines: out }];
}

/**
 * The joint model of this experiment for a scorer: the intermediate λ with
 * the best validation accuracy (what the ends of Fig. 3,
 * identification_only and verification_only, are judged against).
 */
export function jointModel(
  results: Results,
  scorer: string,
): ResultRow | undefined {
  const rows = (results.get(experiment.name)?.rows ?? []).filter((r) =>
    r.scorer === scorer && !isNaN(acc(r))
  );
  return lambdaTriple(rows).best;
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "joint_lambda",
  paper: {
    title: "Joint identification-verification, λ sweep",
    source: "Fig. 3",
    claim: "accuracy peaks at an intermediate λ (0.05 in the paper) for both " +
      "L2 and Joint Bayesian scoring",
  },
  defaults: (profile) => ({
    lambdas: profile === "smoke" ? [0, 0.05, Infinity] : profile === "quick"
      // Cut from 7 λ to 4 so that 3 replicates of every experiment,
      // each trained to its plateau, fit the quick profile; the full
      // profile (or --lambdas=0,0.0005,0.005,0.05,0.5,5,inf) runs Fig. 3's grid.
      ? [0, 0.05, 0.5, Infinity]
      : [0, 5e-4, 5e-3, 0.05, 0.5, 5, Infinity],
  }),
  configurations,
  main,
  claims,
  // Its λ comparisons are also identification_only's, verification_only's
  // and verification_signals': judged here, shown there.
  claimPriority: 0,
  figures: (ex) => {
    const sorted = [...ex.rows].sort((a, b) =>
      compareScorers(a.scorer, b.scorer)
    );
    const series = accuracySeries(
      sorted,
      (r) => scorerName(r.scorer),
      lambdaOf,
    );
    if (series.length === 0) return Promise.resolve([]);
    return Promise.resolve([{
      file: "fig3_accuracy_vs_lambda.svg",
      caption: "Fig. 3: accuracy vs λ",
      draw: () =>
        linePlot(
          series.map((s) => ({
            ...s,
            x: s.x.map((l) => lambdaLabel(l).slice(2)),
          })),
          {
            title: "Fig. 3: accuracy vs λ (mean ± sd across replicates)",
            xLabel: "λ (weight of the verification signal)",
            yLabel: "LFW-protocol accuracy (%)",
            xScale: "band",
          },
        ),
    }]);
  },
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

/**
 * Fig. 3 of Sun et al., NIPS 2014: face verification accuracy against the
 * weight λ of the verification signal, from identification only (λ = 0) to
 * verification only (λ = ∞), scored with L2 distance and Joint Bayesian
 * (and cosine).
 *
 * Command: `deno run -A experiments/joint_lambda.ts [--profile quick] [--lambdas=0,0.0005,0.005,0.05,0.5,5,inf]`
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
  byScorer,
  type ClaimVerdict,
  foldStd,
  lambdaLabel,
  lambdaOf,
  lambdaTriple,
  notTested,
  pct,
  points,
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

/** Accuracy peaks at an intermediate λ: the best intermediate λ against both ends, per scorer. */
function claims(results: Results): ClaimVerdict[] {
  const rows = results.get(experiment.name)?.rows;
  if (!rows) return [];
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    // The paper states it for L2 and Joint Bayesian; other scorers are extra.
    const extra = scorer === "l2" || scorer === "joint_bayesian"
      ? ""
      : "; not claimed in the paper";
    const claim = `accuracy peaks at an intermediate λ (${
      scorerName(scorer)
    } scoring${extra})`;
    const { zero, inf, best } = lambdaTriple(group);
    if (!zero || !inf || !best) {
      const missing = [
        !zero && "λ=0",
        !inf && "λ=∞",
        !best && "an intermediate λ",
      ].filter(Boolean).join(", ");
      out.push(notTested(claim, `no row for ${missing}`));
      continue;
    }
    const d0 = acc(best) - acc(zero), dInf = acc(best) - acc(inf);
    out.push({
      claim,
      held: d0 > 0 && dInf > 0,
      detail:
        `best intermediate ${lambdaLabel(lambdaOf(best))} (${
          pct(acc(best))
        } %) ` +
        `vs λ=0 (${pct(acc(zero))} %): ${points(d0)} points, ` +
        `vs λ=∞ (${pct(acc(inf))} %): ${points(dInf)} points ` +
        `(${foldStd([best, zero, inf])}; paper's peak: λ=0.05)`,
    });
  }
  return out.length
    ? out
    : [notTested(experiment.paper.claim, "no accuracy rows")];
}

/**
 * The best intermediate λ's row of this experiment for a scorer (what the
 * ends of Fig. 3, identification_only and verification_only, are judged
 * against).
 */
export function bestIntermediate(
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
    lambdas: profile === "smoke"
      ? [0, 0.05, Infinity]
      : [0, 5e-4, 5e-3, 0.05, 0.5, 5, Infinity],
  }),
  configurations,
  main,
  claims,
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
            title: "Fig. 3: accuracy vs λ (mean ± fold std)",
            xLabel: "λ (weight of the verification signal)",
            yLabel: "LFW-protocol accuracy (%)",
            xScale: "band",
          },
        ),
    }]);
  },
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

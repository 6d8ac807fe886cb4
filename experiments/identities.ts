/**
 * Fig. 6 of Sun et al., NIPS 2014: verification accuracy against the number
 * of identities in the identification signal (32 ... 8192 in the paper,
 * powers of two), for joint training (λ = 0.05) and identification only.
 * The subsets are the first n identities of a seeded order; training steps
 * stay the same for every n.
 *
 * Command: `deno run -A experiments/identities.ts [--profile quick] [--minIdentities=64]`
 *
 * Paper's claim: more identities in the identification signal give better
 * verification, steadily across the range. Numbers not confirmed
 * (lib/PAPER.md, "Experiments and claims").
 *
 * Our last numbers: results/TABLES.md,
 * results/figures/fig6_accuracy_vs_identities.svg.
 *
 * @module
 */
import { linePlot } from "../lib/report/plot.ts";
import type {
  Configuration,
  DataShape,
  Experiment,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import { lambdaName, mainGuard, openRun } from "./harness/run.ts";
import {
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  identitiesOf,
  lambdaLabel,
  lambdaOf,
  notTested,
  PAPER_SCORERS,
  scorerName,
  statisticLine,
} from "./report/claims.ts";
import { slope } from "../lib/eval/inference.ts";
import { accuracySeries } from "./report/figures.ts";
import {
  compareScorers,
  type ResultRow,
  type Results,
} from "./report/results.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Smallest n; n doubles up to the training identities available. */
  minIdentities: number;
  /** The λ values compared at each n. */
  lambdas: number[];
}

/** One model per (λ, n), n = minIdentities, 2·minIdentities, ... up to all training identities. */
function configurations(config: Config, shape: DataShape): Configuration[] {
  const total = shape.trainIdentities;
  const ns: number[] = [];
  for (let n = config.minIdentities; n <= total; n *= 2) ns.push(n);
  if (ns.length === 0) {
    throw new Error(
      `identities: the data has ${total} training identities, fewer than minIdentities=${config.minIdentities}`,
    );
  }
  return config.lambdas.flatMap((lambda) =>
    ns.map((n) => ({
      name: `n=${n},lambda=${lambdaName(lambda)}`,
      lambda,
      signal: "l2" as const,
      identities: n,
      columns: { identities: n, lambda: lambdaName(lambda) },
    }))
  );
}

/** Trains (or loads) one model per (λ, n) and scores it. */
export async function main(
  argv: string[],
  shared?: SharedContext,
): Promise<RunOutcome> {
  const run = await openRun(experiment, argv, shared);
  for (const cfg of run.plan(configurations(run.config, run.shape))) {
    if (await run.isDone(cfg)) continue;
    using model = await run.model(cfg);
    if (await run.skipUnhealthy(cfg, model)) continue; // collapsed or diverged: reported, not scored
    const features = await run.features(model);
    await run.record(cfg, run.score(features));
  }
  return await run.finish();
}

/** A series' name: `λ=0.05, L2`. */
function seriesName(r: ResultRow): string {
  return `${isNaN(lambdaOf(r)) ? "" : lambdaLabel(lambdaOf(r)) + ", "}${
    scorerName(r.scorer)
  }`;
}

/**
 * More identities → better: the slope of accuracy against log₂ n (points
 * per doubling of the identities), fitted replicate by replicate, one
 * line per (λ, paper scorer), one family.
 */
function claims(results: Results): ClaimFamily[] {
  const ex = results.get(experiment.name);
  if (!ex) return [];
  const out: (ClaimLine | ClaimVerdict)[] = [];
  const lambdas = [...new Set(ex.rows.map(lambdaOf))].sort((a, b) => b - a);
  for (const lambda of lambdas) {
    for (const scorer of PAPER_SCORERS) {
      const claim = `more identities → better verification (${
        lambdaLabel(lambda)
      }, ${scorerName(scorer)} scoring): accuracy rises with log₂ n`;
      const group = ex.rows.filter((r) =>
        r.scorer === scorer && lambdaOf(r) === lambda &&
        !isNaN(identitiesOf(r))
      ).sort((a, b) => identitiesOf(a) - identitiesOf(b));
      if (group.length < 2) {
        out.push(notTested(claim, "fewer than two numbers of identities"));
        continue;
      }
      const x = group.map((r) => Math.log2(identitiesOf(r)));
      out.push(statisticLine(
        claim,
        group.map((r) => arm(results, experiment.name, r.config, scorer)),
        { name: `slope(log2 n = ${x})`, of: (m) => slope(x, m) },
        `slope over n = ${group.map(identitiesOf).join(", ")}`,
        { unit: "points per doubling" },
      ));
    }
  }
  return [{ claim: experiment.paper.claim, lines: out }];
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "identities",
  paper: {
    title: "Number of identities in the identification signal",
    source: "Fig. 6",
    claim: "more identities in the identification signal → better verification",
  },
  defaults: (profile) => ({
    // quick: 128, 256, 512 at λ=0.05 only (3 sizes × 3 replicates, each
    // trained to its plateau); the full profile runs 32–512 at λ = 0.05 and 0.
    minIdentities: profile === "smoke" ? 4 : profile === "quick" ? 128 : 32,
    lambdas: profile === "quick" ? [0.05] : [0.05, 0],
  }),
  configurations,
  main,
  claims,
  figures: (ex) => {
    const byLambda = [...ex.rows]
      .sort((a, b) => compareScorers(a.scorer, b.scorer))
      .sort((a, b) => lambdaOf(b) - lambdaOf(a));
    const series = accuracySeries(byLambda, seriesName, identitiesOf);
    if (series.length === 0) return Promise.resolve([]);
    return Promise.resolve([{
      file: "fig6_accuracy_vs_identities.svg",
      caption: "Fig. 6: accuracy vs identities",
      draw: () =>
        linePlot(series, {
          title:
            "Fig. 6: accuracy vs training identities (mean ± sd across replicates)",
          xLabel: "identities in the identification signal (log₂)",
          yLabel: "LFW-protocol accuracy (%)",
          xScale: "log",
          logBase: 2,
        }),
    }]);
  },
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

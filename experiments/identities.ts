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
import type { Dataset } from "../lib/faces.ts";
import { linePlot } from "../lib/report/plot.ts";
import type {
  Configuration,
  Experiment,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import { lambdaName, mainGuard, openRun } from "./harness/run.ts";
import {
  acc,
  type ClaimVerdict,
  foldStd,
  identitiesOf,
  lambdaLabel,
  lambdaOf,
  notTested,
  pct,
  points,
  scorerName,
  spearman,
} from "./report/claims.ts";
import { accuracySeries } from "./report/figures.ts";
import {
  compareScorers,
  compareValues,
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
function configurations(config: Config, dataset: Dataset): Configuration[] {
  const total = dataset.train.identities.length;
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
  for (const cfg of run.plan(configurations(run.config, run.dataset))) {
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

/** More identities → better: first against last n, with the rank correlation, per (λ, scorer). */
function claims(results: Results): ClaimVerdict[] {
  const rows = results.get(experiment.name)?.rows;
  if (!rows) return [];
  const groups = new Map<string, ResultRow[]>();
  const sorted = [...rows].sort((a, b) =>
    compareValues(String(lambdaOf(b)), String(lambdaOf(a))) ||
    compareScorers(a.scorer, b.scorer)
  );
  for (const r of sorted) {
    if (isNaN(acc(r)) || isNaN(identitiesOf(r))) continue;
    const key = seriesName(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ClaimVerdict[] = [];
  for (const [key, group] of groups) {
    const claim = `more identities → better verification (${key})`;
    const g = [...group].sort((a, b) => identitiesOf(a) - identitiesOf(b));
    if (new Set(g.map(identitiesOf)).size < 2) {
      out.push(notTested(claim, "fewer than two numbers of identities"));
      continue;
    }
    const first = g[0], last = g[g.length - 1];
    const d = acc(last) - acc(first);
    const rho = spearman(g.map(identitiesOf), g.map(acc));
    let up = 0;
    for (let i = 1; i < g.length; i++) if (acc(g[i]) > acc(g[i - 1])) up++;
    out.push({
      claim,
      held: d > 0 && rho > 0,
      detail: `n=${identitiesOf(first)} → ${identitiesOf(last)}: ` +
        `${pct(acc(first))} % → ${pct(acc(last))} % (${points(d)} points, ` +
        `${foldStd([first, last])}); Spearman ρ = ${
          rho.toFixed(2).replace("-", "−")
        }; ` +
        `${up} of ${g.length - 1} steps up`,
    });
  }
  return out.length
    ? out
    : [notTested(experiment.paper.claim, "no accuracy rows")];
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
    // quick: 64 ... 512 (4 sizes); 32 would add two trainings to the 45-minute budget.
    minIdentities: profile === "smoke" ? 4 : profile === "quick" ? 64 : 32,
    lambdas: [0.05, 0],
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
          title: "Fig. 6: accuracy vs training identities (mean ± fold std)",
          xLabel: "identities in the identification signal (log₂)",
          yLabel: "LFW-protocol accuracy (%)",
          xScale: "log",
          logBase: 2,
        }),
    }]);
  },
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

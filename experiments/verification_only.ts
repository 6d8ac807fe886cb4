/**
 * Verification signal only (λ = ∞): the right end of Fig. 3 of Sun et al.,
 * NIPS 2014. The softmax is absent and only the L2 verification loss (with
 * the margin re-set from recent pairs) trains the network.
 *
 * Command: `deno run -A experiments/verification_only.ts [--profile quick] [--backend auto] [--data synth|DIR]`
 *
 * Paper's claim: clearly worse than joint training — the verification
 * signal alone also collapses the inter-personal variance (Fig. 3, 4).
 * No number of the paper for this point is confirmed (lib/PAPER.md,
 * "Experiments and claims"). The comparisons use the best intermediate λ of
 * `joint_lambda` and the spectra of `variance_spectra`.
 *
 * Our last numbers: results/TABLES.md.
 *
 * @module
 */
import type {
  Experiment,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import { lambdaConfigurations, mainGuard, openRun } from "./harness/run.ts";
import { bestIntermediate } from "./joint_lambda.ts";
import {
  acc,
  byScorer,
  type ClaimVerdict,
  foldStd,
  lambdaLabel,
  lambdaOf,
  maxStd,
  notTested,
  pct,
  points,
  scorerName,
} from "./report/claims.ts";
import type { Results } from "./report/results.ts";
import { share, spectraSummaries } from "./variance_spectra.ts";

/** Experiment-specific config: none beyond the common one. */
export type Config = Record<string, never>;

/** One model: λ = ∞. */
function configurations() {
  return lambdaConfigurations([Infinity]);
}

/** Trains (or loads) the λ = ∞ model and scores it. */
export async function main(
  argv: string[],
  shared?: SharedContext,
): Promise<RunOutcome> {
  const run = await openRun(experiment, argv, shared);
  for (const cfg of run.plan(configurations())) {
    if (await run.isDone(cfg)) continue;
    using model = await run.model(cfg);
    if (await run.skipUnhealthy(cfg, model)) continue; // collapsed or diverged: reported, not scored
    const features = await run.features(model);
    await run.record(cfg, run.score(features));
  }
  return await run.finish();
}

/** Clearly worse than joint training; the inter-personal share of the variance collapses. */
function claims(results: Results): ClaimVerdict[] {
  const rows = results.get(experiment.name)?.rows;
  if (!rows) return [];
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    const claim =
      `clearly worse than joint training, by more than the fold std (${
        scorerName(scorer)
      } scoring)`;
    const best = bestIntermediate(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    const tol = maxStd([best, group[0]]);
    out.push({
      claim,
      held: d > (isNaN(tol) ? 0 : tol),
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=∞ ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results);
  const inf = s.find((x) => x.lambda === Infinity);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "inter-personal variance collapses too: smaller inter-personal share " +
    "of the variance than joint";
  if (!inf || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=∞ and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => share(b) > share(a) ? b : a);
    out.push({
      claim,
      held: share(inf) < share(m),
      detail: `between / (between + within) energy (variance_spectra): ` +
        `λ=∞ ${share(inf).toFixed(3)} vs ${lambdaLabel(m.lambda)} ${
          share(m).toFixed(3)
        }`,
    });
  }
  return out;
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "verification_only",
  paper: {
    title: "Verification signal only (λ = ∞)",
    source: "Fig. 3 (λ = ∞)",
    claim: "clearly worse than joint training: inter-personal variance " +
      "collapses too",
  },
  defaults: () => ({}),
  configurations,
  main,
  claims,
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

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
import { jointModel } from "./joint_lambda.ts";
import {
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  greaterAccuracy,
  greaterPerModel,
  lambdaLabel,
  lambdaOf,
  notTested,
  PAPER_SCORERS,
  scorerName,
} from "./report/claims.ts";
import type { Results } from "./report/results.ts";
import { SHARE, spectraRows, spectraSummaries } from "./variance_spectra.ts";

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
function claims(results: Results): ClaimFamily[] {
  const ex = results.get(experiment.name);
  if (!ex) return [];
  const out: (ClaimLine | ClaimVerdict)[] = [];
  for (const scorer of PAPER_SCORERS) {
    const inf = ex.rows.find((r) => r.scorer === scorer);
    const joint = jointModel(results, scorer);
    const claim = `worse than joint training: ${
      joint ? lambdaLabel(lambdaOf(joint)) : "the joint λ"
    } (best on validation) beats λ=∞ (${scorerName(scorer)} scoring)`;
    if (!joint || !inf) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    out.push(greaterAccuracy(
      claim,
      arm(results, "joint_lambda", joint.config, scorer),
      arm(results, experiment.name, inf.config, scorer),
      `joint_lambda ${lambdaLabel(lambdaOf(joint))} − λ=∞`,
    ));
  }
  const mids = spectraSummaries(results).filter((x) =>
    x.lambda > 0 && isFinite(x.lambda)
  );
  const claim = "inter-personal variance collapses too: smaller " +
    "inter-personal share of the variance than joint";
  if (mids.length === 0) {
    out.push(
      notTested(claim, "needs variance_spectra rows for an intermediate λ"),
    );
  } else {
    const m = mids[0].lambda;
    out.push(greaterPerModel(
      `${claim} (${lambdaLabel(m)})`,
      spectraRows(results, m),
      spectraRows(results, Infinity),
      SHARE,
      `between / (between + within) energy (variance_spectra), ${
        lambdaLabel(m)
      } − λ=∞`,
    ));
  }
  return [{ claim: experiment.paper.claim, lines: out }];
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

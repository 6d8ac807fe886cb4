/**
 * Identification signal only (λ = 0): the left end of Fig. 3 of Sun et al.,
 * "Deep Learning Face Representation by Joint Identification-Verification",
 * NIPS 2014.
 *
 * Command: `deno run -A experiments/identification_only.ts [--profile quick] [--backend auto] [--data synth|DIR]`
 *
 * Paper's claim: identification alone learns good features, but the
 * intra-personal variation stays large; joint training beats it (Fig. 3).
 * No number of the paper for this point is confirmed (lib/PAPER.md,
 * "Experiments and claims"), so none is printed. The comparisons use the
 * best intermediate λ of `joint_lambda` and the spectra of
 * `variance_spectra`.
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
  aboveChance,
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  greaterAccuracy,
  lambdaLabel,
  lambdaOf,
  notTested,
  PAPER_SCORERS,
  scorerName,
} from "./report/claims.ts";
import type { Results } from "./report/results.ts";
import { ratioLine, spectraSummaries } from "./variance_spectra.ts";

/** Experiment-specific config: none beyond the common one. */
export type Config = Record<string, never>;

/** One model: λ = 0. */
function configurations() {
  return lambdaConfigurations([0]);
}

/** Trains (or loads) the λ = 0 model and scores it. */
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

/**
 * One family: good features (above chance); joint training does better
 * (joint_lambda's comparison of the same models, judged there); larger
 * intra-personal variance (variance_spectra's, judged there).
 */
function claims(results: Results): ClaimFamily[] {
  const ex = results.get(experiment.name);
  if (!ex) return [];
  const out: (ClaimLine | ClaimVerdict)[] = [];
  for (const scorer of PAPER_SCORERS) {
    const s = scorerName(scorer);
    const zero = ex.rows.find((r) => r.scorer === scorer);
    const mine = arm(results, experiment.name, zero?.config, scorer);
    out.push(aboveChance(
      `good features: accuracy above the 50 % chance level (${s} scoring)`,
      mine,
      "λ=0 − 50 %",
    ));
    const joint = jointModel(results, scorer);
    const claim = `joint training does better: ${
      joint ? lambdaLabel(lambdaOf(joint)) : "the joint λ"
    } (best on validation) beats λ=0 (${s} scoring)`;
    if (!joint) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    out.push(greaterAccuracy(
      claim,
      arm(results, "joint_lambda", joint.config, scorer),
      mine,
      `joint_lambda ${lambdaLabel(lambdaOf(joint))} − λ=0`,
    ));
  }
  const mids = spectraSummaries(results).filter((x) =>
    x.lambda > 0 && isFinite(x.lambda)
  );
  const claim =
    "intra-personal variance stays large: higher within/between ratio than joint";
  if (mids.length === 0) {
    out.push(
      notTested(claim, "needs variance_spectra rows for an intermediate λ"),
    );
  } else {
    const m = mids[0].lambda;
    out.push(ratioLine(results, m, 0, `${claim} (${lambdaLabel(m)})`));
  }
  return [{ claim: experiment.paper.claim, lines: out }];
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "identification_only",
  paper: {
    title: "Identification signal only (λ = 0)",
    source: "Fig. 3 (λ = 0)",
    claim: "good features, but intra-personal variance stays large; " +
      "adding the verification signal does better",
  },
  defaults: () => ({}),
  configurations,
  main,
  claims,
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

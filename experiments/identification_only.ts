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
import { bestIntermediate } from "./joint_lambda.ts";
import {
  acc,
  accStd,
  byScorer,
  type ClaimVerdict,
  foldStd,
  lambdaLabel,
  lambdaOf,
  notTested,
  pct,
  points,
  scorerName,
} from "./report/claims.ts";
import type { Results } from "./report/results.ts";
import { ratio, spectraSummaries } from "./variance_spectra.ts";

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

/** Good features (above chance); joint training does better; larger intra-personal variance. */
function claims(results: Results): ClaimVerdict[] {
  const rows = results.get(experiment.name)?.rows;
  if (!rows) return [];
  const out: ClaimVerdict[] = [];
  const groups = byScorer(rows);
  if (groups.size) {
    const all = [...groups.values()].map((g) => g[0]);
    out.push({
      claim:
        "good features: well above the 50 % chance level (by > 2 fold std)",
      held: all.every((r) =>
        acc(r) - 0.5 > 2 * (isNaN(accStd(r)) ? 0 : accStd(r))
      ),
      detail: all.map((r) =>
        `${scorerName(r.scorer)} ${pct(acc(r))} ± ${pct(accStd(r))} %`
      ).join(", ") + " vs 50 % chance",
    });
  }
  for (const [scorer, group] of groups) {
    const claim = `joint training does better (${scorerName(scorer)} scoring)`;
    const best = bestIntermediate(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    out.push({
      claim,
      held: d > 0,
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=0 ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results);
  const zero = s.find((x) => x.lambda === 0);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "intra-personal variance stays large: higher within/between ratio than joint";
  if (!zero || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=0 and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => ratio(b) < ratio(a) ? b : a);
    out.push({
      claim,
      held: ratio(zero) > ratio(m),
      detail:
        `within/between energy (variance_spectra): λ=0 ${
          ratio(zero).toFixed(3)
        } ` +
        `vs ${lambdaLabel(m.lambda)} ${ratio(m).toFixed(3)}`,
    });
  }
  return out;
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

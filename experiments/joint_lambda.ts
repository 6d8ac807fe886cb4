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
 * numbers are not confirmed (PAPER.md), so only the trend is compared.
 *
 * Our last quick run: results/TABLES.md ("joint_lambda") and
 * results/figures/fig3_accuracy_vs_lambda.svg; backend and machine in
 * results/joint_lambda.meta.json.
 *
 * @module
 */
import {
  type ExperimentDef,
  lambdaRuns,
  mainGuard,
  runExperiment,
} from "../lib/experiment.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** λ grid (log-spaced, with both ends). */
  lambdas: number[];
}

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "joint_lambda",
  defaults: (profile) => ({
    lambdas: profile === "smoke"
      ? [0, 0.05, Infinity]
      : [0, 5e-4, 5e-3, 0.05, 0.5, 5, Infinity],
  }),
  runs: (config) => lambdaRuns(config.lambdas),
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

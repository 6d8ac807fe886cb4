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
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min): the peak is
 * intermediate for every scorer — L2 76.53 ± 3.46 % at λ = 0.05 (λ = 0: 74.80,
 * λ = ∞: 54.57), Joint Bayesian 79.30 ± 3.42 % at λ = 0.005 (0.05: 79.10, λ = 0:
 * 77.43, λ = ∞: 55.50); λ = 5 killed every DeepID2 unit (50 %). The gap to λ = 0
 * is within one fold std; at 500 steps it was 12 points (L2). Full tables and
 * figures: results/TABLES.md, results/figures/fig3_accuracy_vs_lambda.svg.
 *
 * @module
 */
import {
  type ExperimentDef,
  lambdaRuns,
  mainGuard,
  runExperiment,
} from "./harness/run.ts";
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

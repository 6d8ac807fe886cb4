/**
 * Verification signal only (λ = ∞): the right end of Fig. 3 of Sun et al.,
 * NIPS 2014. The softmax is absent and only the L2 verification loss (with
 * the margin re-set from recent pairs) trains the network.
 *
 * Command: `deno run -A experiments/verification_only.ts [--profile quick] [--backend auto] [--data synth|DIR]`
 *
 * Paper's claim: clearly worse than joint training — the verification
 * signal alone also collapses the inter-personal variance (Fig. 3, 4).
 * No number of the paper for this point is confirmed (PAPER.md).
 *
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min): λ = ∞ gave
 * L2 54.57 ± 3.51 %, cosine 51.53 ± 3.19 %, Joint Bayesian 55.50 ± 2.83 %:
 * clearly worse than joint training (~20 points). Full tables: results/TABLES.md.
 *
 * @module
 */
import { type ExperimentDef, mainGuard, runExperiment } from "./harness/run.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Experiment-specific config: none beyond the common one. */
export type Config = Record<string, never>;

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "verification_only",
  defaults: () => ({}),
  runs: () => [{
    config: "lambda=inf",
    lambda: Infinity,
    signal: "l2",
    columns: { lambda: "inf" },
  }],
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

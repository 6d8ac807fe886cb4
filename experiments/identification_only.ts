/**
 * Identification signal only (λ = 0): the left end of Fig. 3 of Sun et al.,
 * "Deep Learning Face Representation by Joint Identification-Verification",
 * NIPS 2014.
 *
 * Command: `deno run -A experiments/identification_only.ts [--profile quick] [--backend auto] [--data synth|DIR]`
 *
 * Paper's claim: identification alone learns good features, but the
 * intra-personal variation stays large; joint training beats it (Fig. 3).
 * No number of the paper for this point is confirmed (PAPER.md), so none is printed.
 *
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min): λ = 0 gave
 * L2 74.80 ± 2.70 %, cosine 76.83 ± 3.33 %, Joint Bayesian 77.43 ± 3.06 %
 * (mean ± fold std). Full tables: results/TABLES.md.
 *
 * @module
 */
import { type ExperimentDef, mainGuard, runExperiment } from "./harness/run.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Experiment-specific config: none beyond the common one. */
export type Config = Record<string, never>;

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "identification_only",
  defaults: () => ({}),
  runs: () => [{
    config: "lambda=0",
    lambda: 0,
    signal: "l2",
    columns: { lambda: 0 },
  }],
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

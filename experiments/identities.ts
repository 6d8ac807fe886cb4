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
 * verification, steadily across the range. Numbers not confirmed (PAPER.md).
 *
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min): joint, L2:
 * n = 64 77.00 %, 128 80.80 %, 256 81.40 %, 512 76.53 % — better up to 256, then
 * worse: with the same 700 steps the 512-way softmax is undertrained (the claim
 * is judged "did not hold" in results/TABLES.md). Figure:
 * results/figures/fig6_accuracy_vs_identities.svg.
 *
 * @module
 */
import {
  type ExperimentDef,
  lambdaName,
  mainGuard,
  runExperiment,
  type RunSpec,
} from "./harness/run.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Smallest n; n doubles up to the training identities available. */
  minIdentities: number;
  /** The λ values compared at each n. */
  lambdas: number[];
}

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "identities",
  defaults: (profile) => ({
    // quick: 64 ... 512 (4 sizes); 32 would add two trainings to the 45-minute budget.
    minIdentities: profile === "smoke" ? 4 : profile === "quick" ? 64 : 32,
    lambdas: [0.05, 0],
  }),
  runs: (config, { dataset }) => {
    const total = dataset.train.identities.length;
    const ns: number[] = [];
    for (let n = config.minIdentities; n <= total; n *= 2) ns.push(n);
    if (ns.length === 0) {
      throw new Error(
        `identities: the data has ${total} training identities, fewer than minIdentities=${config.minIdentities}`,
      );
    }
    const runs: RunSpec[] = [];
    for (const lambda of config.lambdas) {
      for (const n of ns) {
        runs.push({
          config: `n=${n},lambda=${lambdaName(lambda)}`,
          lambda,
          signal: "l2",
          identities: n,
          columns: { identities: n, lambda: lambdaName(lambda) },
        });
      }
    }
    return runs;
  },
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

/**
 * Table 1 of Sun et al., NIPS 2014: the verification signal compared — L2
 * (Eq. 3), L2+ (only same-identity pairs), L2− (only different-identity
 * pairs), L1, cosine, and none (identification only) — each trained jointly
 * with the identification signal at the same λ.
 *
 * Command: `deno run -A experiments/verification_signals.ts [--profile quick] [--signals=l2,l2+,l2-,l1,cosine,none]`
 *
 * Paper's claim: L2 is best; L2+ is close to it; L2−, L1 and cosine help
 * less. The exact forms of L1 and of L2± and the table's numbers are not
 * confirmed [U] (PAPER.md): see lib/losses.ts for the forms used.
 *
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min), Joint
 * Bayesian: L2 79.10 %, L2+ 81.30 %, L2− 80.00 %, L1 50.00 % (its squared L1
 * distances killed every DeepID2 unit), cosine 78.10 %, none 77.43 % (fold std
 * 2.5–3.1). Every signal but L1 helps over none; L2 is not the best here (L2+ is).
 * Full tables: results/TABLES.md.
 *
 * @module
 */
import { type ExperimentDef, mainGuard, runExperiment } from "./harness/run.ts";
import { type Signal, SIGNALS } from "../lib/train/losses.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Signals to compare; `none` = identification only (λ = 0). */
  signals: string[];
}

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "verification_signals",
  defaults: () => ({ signals: ["l2", "l2+", "l2-", "l1", "cosine", "none"] }),
  runs: (config) =>
    config.signals.map((s) => {
      if (s !== "none" && !(SIGNALS as readonly string[]).includes(s)) {
        throw new Error(
          `unknown signal "${s}"; valid: ${SIGNALS.join(", ")}, none`,
        );
      }
      return {
        config: `signal=${s}`,
        lambda: s === "none" ? 0 : config.bestLambda,
        signal: (s === "none" ? "l2" : s) as Signal,
        columns: { signal: s },
      };
    }),
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

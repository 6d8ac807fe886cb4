/**
 * Fig. 4 and 5 of Sun et al., NIPS 2014: what the two signals do to the
 * feature space. For λ = 0 (identification only), the paper's best λ and
 * λ = ∞ (verification only): the eigenvalue spectra of the between- and
 * within-identity scatter matrices of the DeepID2 features (Fig. 4), and a
 * 2-D PCA projection of six identities' features (Fig. 5). Both are computed
 * on the held-out identities (never seen in training).
 *
 * Command: `deno run -A experiments/variance_spectra.ts [--profile quick] [--bestLambda=0.05]`
 *
 * Paper's claim: joint training keeps the inter-personal variance (which
 * verification alone collapses) and shrinks the intra-personal variance
 * (which identification alone leaves large). The within/between energy ratio
 * summarises it; it is scale-free, so models with features of different
 * scale compare fairly.
 *
 * Our last quick run (synthetic faces, 700 steps; wasm backend, 2-core CPU build machine; all experiments 29.4 min): within/between
 * energy ratio on held-out identities λ = 0: 0.51, λ = 0.05: 0.32, λ = ∞: 3.69
 * (the verification-only features collapsed to a total energy of 2e-4). Figures:
 * results/figures/fig4_spectra.svg, fig5_scatter_*.svg.
 *
 * @module
 */
import {
  type AnalysisContext,
  configFileName,
  type ExperimentDef,
  lambdaRuns,
  mainGuard,
  runExperiment,
  writeCsv,
} from "./harness/run.ts";
import { pcaProjection2d, scatterSpectra } from "../lib/eval/scatter.ts";
import { writeExperimentFigures } from "./tables.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Identities shown in the 2-D projection (Fig. 5: six). */
  scatterIdentities: number;
}

/** Spectra and projection of one model's held-out features; columns for every scorer row. */
async function analyse(ctx: AnalysisContext, config: Config) {
  const { heldOutFeatures, dim, dataset, outDir, run } = ctx;
  const labels = dataset.heldOut.labels;
  const { between, within } = scatterSpectra(heldOutFeatures, dim, labels);
  const name = configFileName(run.config);
  await writeCsv(
    `${outDir}/variance_spectra/spectra_${name}.csv`,
    Array.from(
      between,
      (b, i) => ({ index: i + 1, between: b, within: within[i] }),
    ),
    ["index", "between", "within"],
  );
  // The identities with the most images, ties to the lower label.
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const chosen = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(
    0,
    config.scatterIdentities,
  )
    .map(([l]) => l);
  const pts = pcaProjection2d(heldOutFeatures, dim, {
    labels,
    identities: chosen,
  });
  await writeCsv(
    `${outDir}/variance_spectra/scatter_${name}.csv`,
    pts.map((p) => ({
      x: p.pc1,
      y: p.pc2,
      identity: dataset.heldOut.identities[p.label],
    })),
    ["x", "y", "identity"],
  );
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  const columns = {
    between_energy: Number(sum(between).toPrecision(6)),
    within_energy: Number(sum(within).toPrecision(6)),
    between_top1: Number(between[0].toPrecision(6)),
    within_top1: Number(within[0].toPrecision(6)),
    within_between_ratio: Number((sum(within) / sum(between)).toPrecision(6)),
  };
  return new Map(ctx.scorers.map((s) => [s.name, columns]));
}

/** The experiment. */
export const experiment: ExperimentDef<Config> = {
  name: "variance_spectra",
  defaults: () => ({ scatterIdentities: 6 }),
  runs: (config) => lambdaRuns([0, config.bestLambda, Infinity]),
  analyse,
};

if (import.meta.main) {
  await mainGuard(experiment.name, async () => {
    const r = await runExperiment(experiment, Deno.args);
    await writeExperimentFigures(r.outDir, experiment.name);
  });
}

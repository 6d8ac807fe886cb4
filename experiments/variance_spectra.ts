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
 * Our last numbers: results/TABLES.md, results/figures/fig4_spectra.svg,
 * results/figures/fig5_scatter_*.svg.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../lib/base/io.ts";
import { pcaProjection2d, scatterSpectra } from "../lib/eval/scatter.ts";
import { scatterPlot, spectrumPlot } from "../lib/report/plot.ts";
import type {
  Configuration,
  Experiment,
  Features,
  Figure,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import type { CommonConfig } from "./harness/profiles.ts";
import { configFileName, isScored, writeCsv } from "./harness/result_files.ts";
import {
  lambdaConfigurations,
  mainGuard,
  openRun,
  type Run,
} from "./harness/run.ts";
import {
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  fmt,
  greaterPerModel,
  lambdaLabel,
  lambdaOf,
  notTested,
  prettyConfig,
} from "./report/claims.ts";
import { configFiles, readNumericCsv } from "./report/figures.ts";
import {
  parseNumber,
  readTable,
  type ResultRow,
  type Results,
  value,
} from "./report/results.ts";
import { markdownTable } from "./report/tables.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Identities shown in the 2-D projection (Fig. 5: six). */
  scatterIdentities: number;
}

/** λ = 0, the joint λ and λ = ∞. */
function configurations(config: CommonConfig & Config) {
  return lambdaConfigurations([0, config.bestLambda, Infinity]);
}

/** Trains (or loads) the three models; scores them; writes their spectra and projections. */
export async function main(
  argv: string[],
  shared?: SharedContext,
): Promise<RunOutcome> {
  const run = await openRun(experiment, argv, shared);
  for (const cfg of run.plan(configurations(run.config))) {
    if (await run.isDone(cfg)) continue;
    using model = await run.model(cfg);
    if (await run.skipUnhealthy(cfg, model)) continue; // collapsed or diverged: reported, not scored
    const features = await run.features(model);
    const scored = run.score(features);
    const columns = await writeSpectra(run, cfg, features);
    await run.record(
      cfg,
      scored,
      new Map(scored.scorers.map((s) => [s.name, columns])),
    );
  }
  return await run.finish();
}

/**
 * Spectra (Fig. 4) and 2-D projection (Fig. 5) of one model's held-out
 * features, written beside the results; returns the summary columns of its
 * rows.
 */
async function writeSpectra(
  run: Run<Config>,
  cfg: Configuration,
  features: Features,
): Promise<Record<string, number>> {
  const { heldOut: heldOutFeatures, dim } = features;
  const { labels, identities } = features.data.dataset.heldOut;
  const { between, within } = scatterSpectra(heldOutFeatures, dim, labels);
  const dir = join(run.outDir, experiment.name);
  const name = configFileName(cfg.name);
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  const summary = {
    between_energy: Number(sum(between).toPrecision(6)),
    within_energy: Number(sum(within).toPrecision(6)),
    between_top1: Number(between[0].toPrecision(6)),
    within_top1: Number(within[0].toPrecision(6)),
    within_between_ratio: Number((sum(within) / sum(between)).toPrecision(6)),
  };
  // The figures show the first seed's model; every seed's summary is in its rows.
  if ((cfg.seed ?? run.config.seeds[0]) !== run.config.seeds[0]) return summary;
  await writeCsv(
    `${dir}/spectra_${name}.csv`,
    Array.from(
      between,
      (b, i) => ({ index: i + 1, between: b, within: within[i] }),
    ),
    ["index", "between", "within"],
  );
  // The identities with the most images, ties to the lower label.
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const chosen = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, run.config.scatterIdentities)
    .map(([l]) => l);
  const pts = pcaProjection2d(heldOutFeatures, dim, {
    labels,
    identities: chosen,
  });
  await writeCsv(
    `${dir}/scatter_${name}.csv`,
    pts.map((p) => ({ x: p.pc1, y: p.pc2, identity: identities[p.label] })),
    ["x", "y", "identity"],
  );
  return summary;
}

/** Between- and within-identity energy of one λ's features. */
export interface SpectraSummary {
  lambda: number;
  between: number;
  within: number;
}

/** The energies per λ in this experiment's results, λ ascending. */
export function spectraSummaries(results: Results): SpectraSummary[] {
  const seen = new Map<number, SpectraSummary>();
  for (const r of results.get(experiment.name)?.rows ?? []) {
    const lambda = lambdaOf(r);
    const between = value(r, "between_energy"),
      within = value(r, "within_energy");
    if (isNaN(lambda) || !(between > 0) || isNaN(within) || seen.has(lambda)) {
      continue;
    }
    seen.set(lambda, { lambda, between, within });
  }
  return [...seen.values()].sort((a, b) => a.lambda - b.lambda);
}

/**
 * The per-replicate rows of the λ's model that carry its spectra (the
 * Joint Bayesian rows: the spectra do not depend on the scorer).
 */
export function spectraRows(results: Results, lambda: number): ResultRow[] {
  return (results.get(experiment.name)?.seedRows ?? []).filter((r) =>
    lambdaOf(r) === lambda && r.scorer === "joint_bayesian" &&
    isScored(r.fields.status)
  );
}

/** Intra- over inter-personal energy of a row's model. */
export const RATIO = {
  name: "within/between",
  of: (r: ResultRow): number =>
    value(r, "within_energy") / value(r, "between_energy"),
};
/** The inter-personal share of the energy of a row's model. */
export const SHARE = {
  name: "between/(between+within)",
  of: (r: ResultRow): number => {
    const b = value(r, "between_energy"), w = value(r, "within_energy");
    return b / (b + w);
  },
};

/**
 * The line "joint training (λ = `mid`) has a smaller within/between ratio
 * than λ = `end`", replicate by replicate: identification_only shows it too
 * (judged here).
 */
export function ratioLine(
  results: Results,
  mid: number,
  end: number,
  claim = `joint training (${lambdaLabel(mid)}) has a smaller ` +
    `intra-/inter-personal variance ratio than ${lambdaLabel(end)}`,
): ClaimLine | ClaimVerdict {
  return greaterPerModel(
    claim,
    spectraRows(results, end),
    spectraRows(results, mid),
    RATIO,
    `within/between energy (variance_spectra), ${lambdaLabel(end)} − ${
      lambdaLabel(mid)
    }`,
  );
}

/** Joint training has a smaller within/between ratio than each end: one family. */
function claims(results: Results): ClaimFamily[] {
  if (!results.has(experiment.name)) return [];
  const s = spectraSummaries(results);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim = experiment.paper.claim;
  if (mids.length === 0) {
    return [{
      claim,
      lines: [notTested(
        "joint training has a smaller intra-/inter-personal variance ratio than λ=0 and λ=∞",
        "needs between_energy and within_energy for an intermediate λ",
      )],
    }];
  }
  return [{
    claim,
    lines: mids.flatMap((m) =>
      [0, Infinity].map((end) => ratioLine(results, m.lambda, end))
    ),
  }];
}

/** The energies and top eigenvalues per configuration, as a Markdown table. */
function spectraTable(rows: ResultRow[]): string[] {
  const seen = new Set<string>();
  const body: string[][] = [];
  for (const r of rows) {
    if (seen.has(r.config) || isNaN(value(r, "between_energy"))) continue;
    seen.add(r.config);
    const b = value(r, "between_energy"), w = value(r, "within_energy");
    body.push([
      prettyConfig(r.config),
      fmt(b),
      fmt(w),
      fmt(w / b),
      fmt(value(r, "between_top1")),
      fmt(value(r, "within_top1")),
    ]);
  }
  if (body.length === 0) return [];
  return [markdownTable(
    [
      "config",
      "inter-personal energy (between)",
      "intra-personal energy (within)",
      "within / between",
      "between top-1 eigenvalue",
      "within top-1 eigenvalue",
    ],
    body,
  )];
}

/** Fig. 4 (spectra of every configuration) and one Fig. 5 scatter per configuration. */
async function figures(
  _ex: unknown,
  resultsDir: string,
): Promise<Figure[]> {
  const sub = join(resultsDir, experiment.name);
  const out: Figure[] = [];
  const spectraConfigs = await configFiles(sub, "spectra_");
  if (spectraConfigs.length) {
    out.push({
      file: "fig4_spectra.svg",
      caption: "Fig. 4: eigenvalue spectra",
      draw: async () => {
        const spectra = [];
        for (const c of spectraConfigs) {
          const s = await readNumericCsv(join(sub, `spectra_${c}.csv`), [
            "index",
            "between",
            "within",
          ]);
          spectra.push(
            {
              name: prettyConfig(c),
              kind: "inter-personal (between)",
              values: s.between,
            },
            {
              name: prettyConfig(c),
              kind: "intra-personal (within)",
              values: s.within,
            },
          );
        }
        return spectrumPlot(spectra, {
          title: "Fig. 4: eigenvalues of the variance",
        });
      },
    });
  }
  for (const c of await configFiles(sub, "scatter_")) {
    out.push({
      file: `fig5_scatter_${c}.svg`,
      caption: `Fig. 5: features, ${prettyConfig(c)}`,
      draw: async () => {
        const path = join(sub, `scatter_${c}.csv`);
        const table = await readTable(path, ["x", "y", "identity"]);
        const at = ["x", "y", "identity"].map((h) => table.header.indexOf(h));
        const points = table.records.map(({ line, fields }) => {
          const [x, y] = [
            parseNumber(fields[at[0]]),
            parseNumber(fields[at[1]]),
          ];
          if (x === undefined || y === undefined || isNaN(x) || isNaN(y)) {
            throw new InputError(path, line, "x and y must be numbers");
          }
          return { x, y, group: fields[at[2]] };
        });
        return scatterPlot(points, {
          title: `Fig. 5: features of a few identities, ${prettyConfig(c)}`,
          xLabel: "principal component 1",
          yLabel: "principal component 2",
        });
      },
    });
  }
  return out;
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "variance_spectra",
  paper: {
    title: "Inter- and intra-personal variance",
    source: "Fig. 4, 5",
    claim: "joint training keeps inter-personal variance and shrinks " +
      "intra-personal variance, relative to λ = 0 and λ = ∞",
  },
  defaults: () => ({ scatterIdentities: 6 }),
  configurations,
  main,
  claims,
  // Its variance ratios are identification_only's too: judged here.
  claimPriority: 1,
  figures,
  notes: (ex) => ({ after: spectraTable(ex.rows) }),
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

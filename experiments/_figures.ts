/**
 * The figures of `make tables`, drawn from the result CSVs, ROC tables and
 * (for variance_spectra) spectra and scatter files into `results/figures/`:
 * ROC curves per experiment, Fig. 3 (accuracy vs λ), Fig. 4 (spectra),
 * Fig. 5 (scatter), Fig. 6 (accuracy vs identities), Table 1 (signals).
 *
 * @module
 */

import { join } from "node:path";
import { exists, InputError } from "../lib/base/io.ts";
import {
  barPlot,
  linePlot,
  rocPlot,
  scatterPlot,
  spectrumPlot,
  writeSvg,
} from "../lib/report/plot.ts";
import {
  compareConfigs,
  compareScorers,
  compareValues,
  type ExperimentResults,
  listDir,
  loadExperiment,
  parseNumber,
  readTable,
  type ResultRow,
} from "./_results.ts";
import {
  acc,
  accStd,
  identitiesOf,
  lambdaLabel,
  lambdaOf,
  PAPER,
  prettyConfig,
  scorerName,
  SIGNAL_NAMES,
  signalOf,
} from "./_claims.ts";

/** Reads a numeric CSV with the given columns (e.g. a ROC table). */
async function readNumericCsv(
  path: string,
  columns: string[],
): Promise<Record<string, number[]>> {
  const table = await readTable(path, columns);
  const out: Record<string, number[]> = Object.fromEntries(
    columns.map((c) => [c, []]),
  );
  const at = columns.map((c) => table.header.indexOf(c));
  for (const { line, fields } of table.records) {
    columns.forEach((c, k) => {
      const v = parseNumber(fields[at[k]]);
      if (v === undefined || isNaN(v)) {
        throw new InputError(
          path,
          line,
          `column "${c}": not a number: "${fields[at[k]]}"`,
        );
      }
      out[c].push(v);
    });
  }
  return out;
}

/** Figure files an experiment may have, as `[file, caption]`. */
export function figureNames(
  experiment: string,
  configs: string[],
): [string, string][] {
  const out: [string, string][] = [[`${experiment}_roc.svg`, "ROC curves"]];
  if (experiment === "joint_lambda") {
    out.push(["fig3_accuracy_vs_lambda.svg", "Fig. 3: accuracy vs λ"]);
  }
  if (experiment === "identities") {
    out.push([
      "fig6_accuracy_vs_identities.svg",
      "Fig. 6: accuracy vs identities",
    ]);
  }
  if (experiment === "variance_spectra") {
    out.push(["fig4_spectra.svg", "Fig. 4: eigenvalue spectra"]);
    for (const c of configs) {
      out.push([
        `fig5_scatter_${c}.svg`,
        `Fig. 5: features, ${prettyConfig(c)}`,
      ]);
    }
  }
  if (experiment === "verification_signals") {
    out.push(["table1_signals.svg", "Table 1: verification signals"]);
  }
  return out;
}

/**
 * A config as it appears in file names; the same rule as `configFileName` in
 * lib/experiment.ts (not imported: that module loads TensorFlow.js).
 */
function configFileName(config: string): string {
  return config.replace(/[^A-Za-z0-9=+.,_-]/g, "_");
}

/** Configs that have a file `<prefix><config>.csv` in a folder. */
async function configFiles(dir: string, prefix: string): Promise<string[]> {
  return (await listDir(dir))
    .filter((e) =>
      e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".csv")
    )
    .map((e) => e.name.slice(prefix.length, -4))
    .sort(compareConfigs);
}

function accuracySeries(
  rows: ResultRow[],
  key: (r: ResultRow) => string,
  x: (r: ResultRow) => number,
) {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    if (isNaN(acc(r)) || isNaN(x(r))) continue;
    groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  }
  return [...groups].map(([name, g]) => {
    g.sort((a, b) => x(a) - x(b));
    return {
      name,
      x: g.map(x),
      y: g.map((r) => 100 * acc(r)),
      yErr: g.map((r) => 100 * accStd(r)),
    };
  });
}

export async function drawFigures(
  resultsDir: string,
  ex: ExperimentResults,
): Promise<string[]> {
  const dir = join(resultsDir, "figures");
  const written: string[] = [];
  const put = async (name: string, svg: Promise<string>) => {
    const path = join(dir, name);
    await writeSvg(path, await svg);
    written.push(path);
  };
  const { experiment, rows } = ex;
  const title = PAPER[experiment]?.source ?? experiment;

  const curves = [];
  for (const r of rows) {
    const path = join(
      resultsDir,
      "roc",
      experiment,
      `${configFileName(r.config)}_${r.scorer}.csv`,
    );
    if (!(await exists(path))) continue;
    const roc = await readNumericCsv(path, ["fpr", "tpr"]);
    curves.push({
      name: prettyConfig(r.config),
      panel: scorerName(r.scorer),
      fpr: roc.fpr,
      tpr: roc.tpr,
    });
  }
  if (curves.length) {
    await put(
      `${experiment}_roc.svg`,
      rocPlot(curves, { title: `${title}: ROC (${experiment})`, logFpr: true }),
    );
  }

  const sorted = [...rows].sort((a, b) => compareScorers(a.scorer, b.scorer));
  if (experiment === "joint_lambda") {
    const series = accuracySeries(
      sorted,
      (r) => scorerName(r.scorer),
      lambdaOf,
    );
    if (series.length) {
      await put(
        "fig3_accuracy_vs_lambda.svg",
        linePlot(
          series.map((s) => ({
            ...s,
            x: s.x.map((l) => lambdaLabel(l).slice(2)),
          })),
          {
            title: "Fig. 3: accuracy vs λ (mean ± fold std)",
            xLabel: "λ (weight of the verification signal)",
            yLabel: "LFW-protocol accuracy (%)",
            xScale: "band",
          },
        ),
      );
    }
  }
  if (experiment === "identities") {
    const byLambda = [...sorted].sort((a, b) => lambdaOf(b) - lambdaOf(a));
    const series = accuracySeries(
      byLambda,
      (r) =>
        `${isNaN(lambdaOf(r)) ? "" : lambdaLabel(lambdaOf(r)) + ", "}${
          scorerName(r.scorer)
        }`,
      identitiesOf,
    );
    if (series.length) {
      await put(
        "fig6_accuracy_vs_identities.svg",
        linePlot(series, {
          title: "Fig. 6: accuracy vs training identities (mean ± fold std)",
          xLabel: "identities in the identification signal (log₂)",
          yLabel: "LFW-protocol accuracy (%)",
          xScale: "log",
          logBase: 2,
        }),
      );
    }
  }
  if (experiment === "variance_spectra") {
    const sub = join(resultsDir, experiment);
    const spectra = [];
    for (const c of await configFiles(sub, "spectra_")) {
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
    if (spectra.length) {
      await put(
        "fig4_spectra.svg",
        spectrumPlot(spectra, { title: "Fig. 4: eigenvalues of the variance" }),
      );
    }
    for (const c of await configFiles(sub, "scatter_")) {
      const path = join(sub, `scatter_${c}.csv`);
      const table = await readTable(path, ["x", "y", "identity"]);
      const at = ["x", "y", "identity"].map((h) => table.header.indexOf(h));
      const points = table.records.map(({ line, fields }) => {
        const [x, y] = [parseNumber(fields[at[0]]), parseNumber(fields[at[1]])];
        if (x === undefined || y === undefined || isNaN(x) || isNaN(y)) {
          throw new InputError(path, line, "x and y must be numbers");
        }
        return { x, y, group: fields[at[2]] };
      });
      await put(
        `fig5_scatter_${c}.svg`,
        scatterPlot(points, {
          title: `Fig. 5: features of a few identities, ${prettyConfig(c)}`,
          xLabel: "principal component 1",
          yLabel: "principal component 2",
        }),
      );
    }
  }
  if (experiment === "verification_signals") {
    const bars = sorted
      .filter((r) => !isNaN(acc(r)))
      .sort((a, b) => compareValues(signalOf(a), signalOf(b)))
      .map((r) => ({
        category: SIGNAL_NAMES[signalOf(r)] ?? signalOf(r),
        value: 100 * acc(r),
        err: 100 * accStd(r),
        group: scorerName(r.scorer),
      }));
    if (bars.length) {
      await put(
        "table1_signals.svg",
        barPlot(bars, {
          title: "Table 1: verification signals (mean ± fold std)",
          yLabel: "LFW-protocol accuracy (%)",
        }),
      );
    }
  }
  return written;
}

/**
 * Draws the figures of one experiment from its CSVs, ROC tables and (for
 * variance_spectra) spectra and scatter files into `<resultsDir>/figures/`:
 * `<experiment>_roc.svg`, `fig3_accuracy_vs_lambda.svg`,
 * `fig6_accuracy_vs_identities.svg`, `fig4_spectra.svg`,
 * `fig5_scatter_<config>.svg`, `table1_signals.svg` (each where it applies).
 * Experiment scripts call it at the end of a run.
 *
 * @returns the paths written
 * @example
 * ```ts
 * await writeExperimentFigures("results", "joint_lambda");
 * ```
 */
export async function writeExperimentFigures(
  resultsDir: string,
  experiment: string,
): Promise<string[]> {
  return await drawFigures(
    resultsDir,
    await loadExperiment(resultsDir, experiment),
  );
}

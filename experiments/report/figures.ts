/**
 * Figures from the result files, into `results/figures/`: the ROC curves
 * every experiment gets (`<experiment>_roc.svg`, from its ROC tables), then
 * the experiment's own (`experiment.figures`: Fig. 3, 4, 5, 6, Table 1),
 * with the readers and series builders they share.
 *
 * @module
 */

import { join } from "node:path";
import { exists, InputError } from "../../lib/base/io.ts";
import {
  type Curve,
  curvePlot,
  rocPlot,
  writeSvg,
} from "../../lib/report/plot.ts";
import type { AnyExperiment, Figure } from "../harness/experiment.ts";
import { rocPath, unitStem } from "../harness/result_files.ts";
import { WINDOWS } from "../../lib/train/convergence.ts";
import { acc, accSdReplicates, prettyConfig, scorerName } from "./claims.ts";
import {
  compareConfigs,
  type ExperimentResults,
  listDir,
  loadExperiment,
  parseNumber,
  readTable,
  type ResultRow,
} from "./results.ts";

/**
 * Reads a numeric CSV with the given columns (e.g. a ROC table). With
 * `missing`, empty and NaN cells are allowed (as NaN): a learning curve may
 * not measure every quantity at every step.
 */
export async function readNumericCsv(
  path: string,
  columns: string[],
  options: { missing?: boolean } = {},
): Promise<Record<string, number[]>> {
  const table = await readTable(path, columns);
  const out: Record<string, number[]> = Object.fromEntries(
    columns.map((c) => [c, []]),
  );
  const at = columns.map((c) => table.header.indexOf(c));
  for (const { line, fields } of table.records) {
    columns.forEach((c, k) => {
      const v = parseNumber(fields[at[k]]);
      if (v === undefined || (isNaN(v) && !options.missing)) {
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

/** Configs that have a file `<prefix><config>.csv` in a folder. */
export async function configFiles(
  dir: string,
  prefix: string,
): Promise<string[]> {
  return (await listDir(dir))
    .filter((e) =>
      e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".csv")
    )
    .map((e) => e.name.slice(prefix.length, -4))
    .sort(compareConfigs);
}

/** Accuracy series (in %, ± the sample std across replicates of the mean rows) of rows grouped by `key`, along `x`. */
export function accuracySeries(
  rows: ResultRow[],
  key: (r: ResultRow) => string,
  x: (r: ResultRow) => number,
): { name: string; x: number[]; y: number[]; yErr: number[] }[] {
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
      yErr: g.map((r) => 100 * (accSdReplicates(r) || 0)),
    };
  });
}

/** The ROC curves of every configuration and scorer that has a ROC table. */
async function rocFigure(
  experiment: AnyExperiment,
  ex: ExperimentResults,
  resultsDir: string,
): Promise<Figure | undefined> {
  const curves: Parameters<typeof rocPlot>[0] = [];
  // One seed's ROC per (config, scorer): the first seed's (rows are in seed order).
  const seen = new Set<string>();
  for (const r of ex.seedRows) {
    const key = `${r.config}\u0000${r.scorer}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const path = rocPath(
      resultsDir,
      ex.experiment,
      unitStem(r.config, r.fields.seed),
      r.scorer,
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
  if (curves.length === 0) return undefined;
  return {
    file: `${ex.experiment}_roc.svg`,
    caption: "ROC curves",
    draw: () =>
      rocPlot(curves, {
        title: `${experiment.paper.source}: ROC (${ex.experiment})`,
        logFpr: true,
      }),
  };
}

/** The quantities of a learning curve that its figure shows, one panel each. */
const CURVE_PANELS: [column: string, title: string, scale: number][] = [
  ["val_accuracy_l2", "validation accuracy, L2 (%)", 100],
  ["val_accuracy_cosine", "validation accuracy, cosine (%)", 100],
  ["ident_loss", "identification loss", 1],
  ["verif_loss", "verification loss", 1],
  ["val_dead_fraction", "dead DeepID2 units, validation faces (%)", 100],
];

/** The learning curves of every configuration that has one (`<experiment>/curves/<config>.csv`). */
async function curvesFigure(
  experiment: AnyExperiment,
  ex: ExperimentResults,
  resultsDir: string,
): Promise<Figure | undefined> {
  const dir = join(resultsDir, ex.experiment, "curves");
  const configs = await configFiles(dir, "");
  if (configs.length === 0) return undefined;
  return {
    file: `${ex.experiment}_curves.svg`,
    caption: "learning curves (validation pairs)",
    draw: async () => {
      const curves: Curve[] = [];
      for (const c of configs) {
        const t = await readNumericCsv(
          join(dir, `${c}.csv`),
          ["step", ...CURVE_PANELS.map(([col]) => col)],
          { missing: true },
        );
        const m = c.match(/^(.*)_seed(\d+)$/);
        // The plateau rule's windows, as fractions of where the model ended.
        const end = t.step.at(-1) ?? 0;
        curves.push({
          name: m ? `replicate ${m[2]}` : "—",
          group: prettyConfig(m ? m[1] : c),
          windows: [WINDOWS.early, WINDOWS.last].map((
            [a, b],
          ) => [a * end, b * end]),
          step: t.step,
          values: Object.fromEntries(
            CURVE_PANELS.map((
              [col, title, k],
            ) => [title, t[col].map((v) => k * v)]),
          ),
        });
      }
      return curvePlot(curves, {
        title:
          `${experiment.paper.source}: learning curves (${ex.experiment}), ` +
          "each model to its last step; shaded: the plateau rule's windows " +
          "(65–75 % and 90–100 % of its steps)",
      });
    },
  };
}

/** Every figure of an experiment's results (not drawn yet). */
export async function experimentFigures(
  experiment: AnyExperiment,
  ex: ExperimentResults,
  resultsDir: string,
): Promise<Figure[]> {
  const roc = await rocFigure(experiment, ex, resultsDir);
  const curves = await curvesFigure(experiment, ex, resultsDir);
  return [
    ...(roc ? [roc] : []),
    ...(curves ? [curves] : []),
    ...(await experiment.figures?.(ex, resultsDir) ?? []),
  ];
}

/** Draws figures into `<resultsDir>/figures/`; returns the paths written. */
export async function drawFigures(
  resultsDir: string,
  figures: Figure[],
): Promise<string[]> {
  const written: string[] = [];
  for (const f of figures) {
    const path = join(resultsDir, "figures", f.file);
    await writeSvg(path, await f.draw());
    written.push(path);
  }
  return written;
}

/**
 * Draws the figures of one experiment from its result files; experiment
 * runs call it when they finish.
 *
 * @returns the paths written
 */
export async function drawExperimentFigures(
  experiment: AnyExperiment,
  resultsDir: string,
): Promise<string[]> {
  const ex = await loadExperiment(resultsDir, experiment.name);
  return await drawFigures(
    resultsDir,
    await experimentFigures(experiment, ex, resultsDir),
  );
}

/**
 * Figures as SVG strings: ROC curves, line plots with error bars (paper
 * Fig. 3 accuracy vs lambda, Fig. 6 accuracy vs number of identities),
 * eigenvalue spectra (Fig. 4), 2-D feature scatter (Fig. 5) and grouped bars
 * (Table 1). Every figure is a vega-lite spec compiled to vega and rendered
 * headless (`renderer: "none"`), so no canvas or browser is needed and the
 * same data gives the same bytes.
 *
 * @module
 */

import * as vega from "vega";
import * as vl from "vega-lite";
import { writeTextAtomic } from "../base/io.ts";

/** One ROC curve. */
export interface RocCurveData {
  /** Legend entry, e.g. `lambda=0.05`. */
  name: string;
  /** False positive rates, in curve order. */
  fpr: number[];
  /** True positive rates, same length as `fpr`. */
  tpr: number[];
  /** Optional panel: curves with different panels are drawn side by side. */
  panel?: string;
}

/** Options for {@linkcode rocPlot}. */
export interface RocPlotOptions {
  title?: string;
  /** Log-scale false positive rate axis; fpr = 0 is clamped to the axis floor. */
  logFpr?: boolean;
}

/** One series of a line plot. */
export interface LineSeries {
  name: string;
  /** Positions: numbers, or category labels (strings, or numbers such as Infinity) for a band scale. */
  x: (number | string)[];
  y: number[];
  /** Optional symmetric error (e.g. fold std), drawn as a vertical bar. */
  yErr?: number[];
}

/** Options for {@linkcode linePlot}. */
export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** `band`: x values are ordered categories, in order of first appearance. */
  xScale?: "linear" | "log" | "symlog" | "band";
  /** Base of a log x scale (2 for numbers of identities); 10 by default. */
  logBase?: number;
}

/** One eigenvalue spectrum. */
export interface Spectrum {
  name: string;
  /** Eigenvalues, largest first; values <= 0 cannot be shown on a log axis and are left out. */
  values: number[];
  /** Optional second grouping drawn as the line dash, e.g. `between` / `within`. */
  kind?: string;
}

/** Options for {@linkcode spectrumPlot} and {@linkcode scatterPlot}. */
export interface AxesOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

/** One point of a scatter plot. */
export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour group, e.g. the identity. */
  group: string;
}

/** One bar of a (grouped) bar chart. */
export interface Bar {
  /** Position on the x axis. */
  category: string;
  value: number;
  /** Optional symmetric error bar. */
  err?: number;
  /** Optional colour group; bars of one category are placed side by side. */
  group?: string;
}

/** Options for {@linkcode barPlot}. */
export interface BarPlotOptions extends AxesOptions {
  /** Value axis range; by default the data range (not from zero). */
  yDomain?: [number, number];
}

const WIDTH = 360;
const HEIGHT = 280;

/** Colour scheme that keeps colours distinct for up to 20 series. */
function scheme(count: number): string {
  return count <= 10 ? "tableau10" : "tableau20";
}

function distinct<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/**
 * Renders a vega-lite spec to an SVG string.
 *
 * @example
 * ```ts
 * const svg = await renderVegaLite({
 *   data: { values: [{ a: 1, b: 2 }] },
 *   mark: "point",
 *   encoding: { x: { field: "a", type: "quantitative" } },
 * });
 * ```
 */
export async function renderVegaLite(spec: vl.TopLevelSpec): Promise<string> {
  const full = {
    ...spec,
    config: {
      aria: false,
      font: "DejaVu Sans, Helvetica, Arial, sans-serif",
      legend: { labelLimit: 300 },
      ...spec.config,
    },
  } as vl.TopLevelSpec;
  const compiled = vl.compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Indices of the points to draw: a point is kept when it lies at least
 * `step` (in axis units scaled to [0, 1]) from the last kept one, so a curve
 * of thousands of thresholds keeps its shape where it bends and costs at most
 * ~2/step points. The first and last points are always kept.
 */
function thin(x: number[], y: number[], step: number): number[] {
  const keep = [0];
  for (let i = 1; i < x.length - 1; i++) {
    const k = keep[keep.length - 1];
    if (Math.hypot(x[i] - x[k], y[i] - y[k]) >= step) keep.push(i);
  }
  if (x.length > 1) keep.push(x.length - 1);
  return keep;
}

/**
 * ROC curves (true positive rate against false positive rate), one colour per
 * curve, a dashed chance line, and panels side by side when curves name one.
 *
 * @example
 * ```ts
 * const svg = await rocPlot([{ name: "l2", fpr: [0, 0.1, 1], tpr: [0, 0.8, 1] }], { logFpr: true });
 * ```
 */
export async function rocPlot(
  curves: RocCurveData[],
  options: RocPlotOptions = {},
): Promise<string> {
  const log = options.logFpr ?? false;
  let floor = 1e-3;
  if (log) {
    const positive = curves.flatMap((c) => c.fpr.filter((f) => f > 0));
    const min = positive.length ? Math.min(...positive) : 1e-3;
    floor = 10 ** Math.floor(Math.log10(min));
    if (floor >= min) floor /= 10;
  }
  // One data set for chance lines and curves, so that panels can facet it.
  const values: Record<string, unknown>[] = [];
  for (const c of curves) {
    if (c.fpr.length !== c.tpr.length) {
      throw new RangeError(
        `rocPlot: curve ${c.name}: fpr and tpr lengths differ`,
      );
    }
    const fprs = c.fpr.map((f) => log ? Math.max(f, floor) : f);
    // Position along the x axis as a fraction of its length.
    const u = log
      ? fprs.map((f) => Math.log(f / floor) / Math.log(1 / floor))
      : fprs;
    for (const [order, i] of thin(u, c.tpr, 0.002).entries()) {
      const fpr = fprs[i];
      values.push({
        curve: c.name,
        panel: c.panel ?? "",
        fpr,
        tpr: c.tpr[i],
        order,
        chance: false,
      });
    }
  }
  const panels = distinct(curves.map((c) => c.panel ?? ""));
  for (const panel of panels) {
    const steps = log ? 40 : 1;
    for (let k = 0; k <= steps; k++) {
      const f = log ? floor * (1 / floor) ** (k / steps) : k;
      values.push({ curve: "", panel, fpr: f, tpr: f, order: k, chance: true });
    }
  }
  const names = distinct(curves.map((c) => c.name));
  const x = {
    field: "fpr",
    type: "quantitative",
    scale: log ? { type: "log", domain: [floor, 1] } : { domain: [0, 1] },
    title: log ? "false positive rate (log scale)" : "false positive rate",
    ...(log
      ? {
        axis: {
          // Label the powers of ten only.
          labelExpr: "abs(log(datum.value) / LN10 - " +
            "round(log(datum.value) / LN10)) > 1e-6 ? '' : " +
            "datum.value >= 0.01 ? format(datum.value, '~g') : " +
            "format(datum.value, '.0e')",
        },
      }
      : {}),
  };
  const y = {
    field: "tpr",
    type: "quantitative",
    scale: { domain: [0, 1] },
    title: "true positive rate",
  };
  const order = { field: "order", type: "quantitative" };
  const layer = [
    {
      transform: [{ filter: "datum.chance" }],
      mark: { type: "line", strokeDash: [4, 4], color: "#999", strokeWidth: 1 },
      encoding: { x, y, order, detail: { field: "panel" } },
    },
    {
      transform: [{ filter: "!datum.chance" }],
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        order,
        color: {
          field: "curve",
          type: "nominal",
          sort: names,
          scale: { scheme: scheme(names.length) },
          title: null,
        },
      },
    },
  ];
  const spec = panels.length > 1
    ? {
      title: options.title,
      data: { values },
      facet: {
        column: { field: "panel", type: "nominal", sort: panels, title: null },
      },
      spec: { width: HEIGHT, height: HEIGHT, layer },
    }
    : {
      title: options.title,
      data: { values },
      width: WIDTH,
      height: HEIGHT,
      layer,
    };
  return await renderVegaLite(spec as vl.TopLevelSpec);
}

/** Label of a category on a band axis (Infinity prints as ∞). */
function categoryLabel(x: number | string): string {
  if (typeof x === "string") return x;
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  return String(x);
}

/**
 * Lines with points and optional error bars, one colour per series. With
 * `xScale: "band"` the x values are ordered categories (e.g. lambda from 0 to
 * ∞), placed in order of first appearance.
 *
 * @example
 * ```ts
 * const svg = await linePlot(
 *   [{ name: "L2", x: [0, 0.05, Infinity], y: [91, 94, 85], yErr: [1, 1, 2] }],
 *   { title: "Fig. 3", xLabel: "lambda", yLabel: "accuracy (%)", xScale: "band" },
 * );
 * ```
 */
export async function linePlot(
  series: LineSeries[],
  options: LinePlotOptions,
): Promise<string> {
  const band = options.xScale === "band";
  const values: Record<string, unknown>[] = [];
  const categories: string[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length || (s.yErr && s.yErr.length !== s.y.length)) {
      throw new RangeError(`linePlot: series ${s.name}: lengths differ`);
    }
    s.x.forEach((xi, i) => {
      let x: number | string;
      if (band) {
        x = categoryLabel(xi);
        if (!categories.includes(x)) categories.push(x);
      } else {
        if (typeof xi !== "number" || !Number.isFinite(xi)) {
          throw new RangeError(
            `linePlot: series ${s.name}: x=${xi} needs xScale "band"`,
          );
        }
        x = xi;
      }
      const err = s.yErr?.[i];
      const hasErr = err !== undefined && Number.isFinite(err);
      values.push({
        series: s.name,
        x,
        y: s.y[i],
        lo: hasErr ? s.y[i] - err : null,
        hi: hasErr ? s.y[i] + err : null,
        order: i,
      });
    });
  }
  const names = distinct(series.map((s) => s.name));
  const xScale = band
    ? { type: "point", domain: categories, padding: 0.5 }
    : options.xScale === "log"
    ? { type: "log", base: options.logBase ?? 10, padding: 12 }
    : options.xScale === "symlog"
    ? { type: "symlog", padding: 12 }
    : { zero: false, padding: 12 };
  const x = {
    field: "x",
    type: band ? "ordinal" : "quantitative",
    scale: xScale,
    title: options.xLabel,
    ...(band ? { sort: categories, axis: { labelAngle: 0 } } : {}),
    ...(options.xScale === "log" && (options.logBase ?? 10) !== 10
      ? { axis: { tickCount: 8, format: "~g" } }
      : {}),
  };
  const color = {
    field: "series",
    type: "nominal",
    sort: names,
    scale: { scheme: scheme(names.length) },
    title: null,
  };
  const y = {
    field: "y",
    type: "quantitative",
    scale: { zero: false },
    title: options.yLabel,
  };
  return await renderVegaLite({
    title: options.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      {
        transform: [{ filter: "isValid(datum.lo)" }],
        mark: { type: "rule", strokeWidth: 1 },
        encoding: {
          x,
          y: { field: "lo", type: "quantitative", scale: { zero: false } },
          y2: { field: "hi" },
          color,
        },
      },
      {
        mark: { type: "line", point: true, strokeWidth: 1.5 },
        encoding: {
          x,
          y,
          color,
          order: { field: "order", type: "quantitative" },
        },
      },
    ],
  } as vl.TopLevelSpec);
}

/**
 * Eigenvalue spectra on a log value axis, largest eigenvalue first: one colour
 * per `name`, one dash per `kind` (e.g. inter- vs intra-personal).
 *
 * @example
 * ```ts
 * const svg = await spectrumPlot([{ name: "lambda=0", kind: "between", values: [4, 2, 1] }]);
 * ```
 */
export async function spectrumPlot(
  spectra: Spectrum[],
  options: AxesOptions = {},
): Promise<string> {
  const values: Record<string, unknown>[] = [];
  for (const s of spectra) {
    s.values.forEach((v, i) => {
      if (v > 0 && Number.isFinite(v)) {
        values.push({
          name: s.name,
          kind: s.kind ?? "",
          index: i + 1,
          value: v,
        });
      }
    });
  }
  const names = distinct(spectra.map((s) => s.name));
  const kinds = distinct(spectra.map((s) => s.kind ?? ""));
  const encoding: Record<string, unknown> = {
    x: {
      field: "index",
      type: "quantitative",
      scale: { zero: false },
      title: options.xLabel ?? "eigenvalue index",
    },
    y: {
      field: "value",
      type: "quantitative",
      scale: { type: "log" },
      title: options.yLabel ?? "eigenvalue (log scale)",
    },
    color: {
      field: "name",
      type: "nominal",
      sort: names,
      scale: { scheme: scheme(names.length) },
      title: null,
    },
    detail: { field: "kind" },
  };
  if (kinds.length > 1) {
    encoding.strokeDash = {
      field: "kind",
      type: "nominal",
      sort: kinds,
      title: null,
    };
  }
  return await renderVegaLite({
    title: options.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding,
  } as vl.TopLevelSpec);
}

/**
 * 2-D scatter of points coloured by group (e.g. features of a few identities
 * projected on their first two principal components).
 *
 * @example
 * ```ts
 * const svg = await scatterPlot([{ x: 0, y: 1, group: "id 3" }], { title: "Fig. 5" });
 * ```
 */
export async function scatterPlot(
  points: ScatterPoint[],
  options: AxesOptions = {},
): Promise<string> {
  const groups = distinct(points.map((p) => p.group));
  return await renderVegaLite({
    title: options.title,
    width: HEIGHT,
    height: HEIGHT,
    data: { values: points },
    mark: { type: "point", filled: true, size: 30, opacity: 0.8 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        scale: { zero: false },
        title: options.xLabel ?? "x",
      },
      y: {
        field: "y",
        type: "quantitative",
        scale: { zero: false },
        title: options.yLabel ?? "y",
      },
      color: {
        field: "group",
        type: "nominal",
        sort: groups,
        scale: { scheme: scheme(groups.length) },
        title: null,
      },
    },
  } as vl.TopLevelSpec);
}

/**
 * Bars with optional error bars; bars of different `group`s sit side by side
 * within a category, in colour.
 *
 * @example
 * ```ts
 * const svg = await barPlot([{ category: "L2", value: 94.1, err: 0.8, group: "l2" }], { yLabel: "accuracy (%)" });
 * ```
 */
export async function barPlot(
  bars: Bar[],
  options: BarPlotOptions = {},
): Promise<string> {
  const categories = distinct(bars.map((b) => b.category));
  const groups = distinct(bars.map((b) => b.group ?? ""));
  const values = bars.map((b) => {
    const hasErr = b.err !== undefined && Number.isFinite(b.err);
    return {
      category: b.category,
      group: b.group ?? "",
      value: b.value,
      lo: hasErr ? b.value - b.err! : null,
      hi: hasErr ? b.value + b.err! : null,
    };
  });
  let domain = options.yDomain;
  if (!domain) {
    const lo = Math.min(...values.map((v) => v.lo ?? v.value));
    const hi = Math.max(...values.map((v) => v.hi ?? v.value));
    const pad = Math.max((hi - lo) * 0.15, 1e-6);
    domain = [lo - pad, hi + pad];
  }
  const x = {
    field: "category",
    type: "nominal",
    sort: categories,
    title: options.xLabel ?? null,
    axis: { labelAngle: 0 },
  };
  const y = {
    field: "value",
    type: "quantitative",
    scale: { domain, zero: false, clamp: true },
    title: options.yLabel ?? null,
  };
  const grouped = groups.length > 1;
  const color = {
    field: "group",
    type: "nominal",
    sort: groups,
    scale: { scheme: scheme(groups.length) },
    title: null,
    ...(grouped ? {} : { legend: null }),
  };
  const offset = grouped ? { xOffset: { field: "group", sort: groups } } : {};
  return await renderVegaLite({
    title: options.title,
    width: Math.max(WIDTH, categories.length * groups.length * 18),
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: "bar", clip: true },
        encoding: { x, y, color, ...offset },
      },
      {
        transform: [{ filter: "isValid(datum.lo)" }],
        mark: { type: "rule", color: "#333", clip: true },
        encoding: {
          x,
          y: {
            field: "lo",
            type: "quantitative",
            scale: { domain, zero: false, clamp: true },
          },
          y2: { field: "hi" },
          ...offset,
        },
      },
    ],
  } as vl.TopLevelSpec);
}

/** One model's learning curve: values of several quantities against the training step. */
export interface Curve {
  /** The model within its group, e.g. `seed 2`: one line each. */
  name: string;
  /** The row of small multiples it is drawn in, e.g. `λ=0.05` (default: one row). */
  group?: string;
  step: number[];
  /** Quantity name (one panel each, e.g. `validation accuracy (%)`) → values per step; NaN = not measured. */
  values: Record<string, number[]>;
  /** Step ranges (from, to] shaded behind the lines, e.g. a rule's windows. */
  windows?: [number, number][];
}

/**
 * Learning curves as small multiples: one row per group (a configuration),
 * one panel per quantity (each with its own y scale), one line per model
 * (its replicates), against the training step, each to its last step, with
 * each model's `windows` shaded.
 *
 * @example
 * ```ts
 * const svg = await curvePlot([{ name: "seed 1", group: "λ=0", step: [50, 100],
 *   values: { "loss": [3, 2], "validation accuracy (%)": [70, 75] },
 *   windows: [[65, 75], [90, 100]] }], { title: "curves" });
 * ```
 */
export async function curvePlot(
  curves: Curve[],
  options: { title: string },
): Promise<string> {
  const values: Record<string, unknown>[] = [];
  const panels: string[] = [];
  const groups = distinct(curves.map((c) => c.group ?? ""));
  for (const c of curves) {
    for (const [panel, ys] of Object.entries(c.values)) {
      if (ys.length !== c.step.length) {
        throw new RangeError(`curvePlot: ${c.name} ${panel}: lengths differ`);
      }
      if (!panels.includes(panel)) panels.push(panel);
      ys.forEach((y, i) => {
        if (Number.isFinite(y)) {
          values.push({
            kind: "line",
            group: c.group ?? "",
            model: c.name,
            panel,
            step: c.step[i],
            y,
          });
        }
      });
    }
  }
  // The windows go into every panel of their group.
  for (const c of curves) {
    for (const [from, to] of c.windows ?? []) {
      for (const panel of panels) {
        values.push({
          kind: "window",
          group: c.group ?? "",
          model: c.name,
          panel,
          from,
          to,
        });
      }
    }
  }
  const names = distinct(curves.map((c) => c.name));
  return await renderVegaLite({
    title: options.title,
    data: { values },
    facet: {
      row: {
        field: "group",
        type: "nominal",
        sort: groups,
        title: null,
        header: { labelAngle: 0, labelAlign: "left" },
      },
      column: { field: "panel", type: "nominal", sort: panels, title: null },
    },
    spec: {
      width: 200,
      height: 120,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'window'" }],
          mark: { type: "rect", opacity: 0.08, color: "#444" },
          encoding: {
            x: { field: "from", type: "quantitative" },
            x2: { field: "to" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'line'" }],
          mark: { type: "line", point: { size: 8 }, strokeWidth: 1.2 },
          encoding: {
            x: { field: "step", type: "quantitative", title: "training step" },
            y: {
              field: "y",
              type: "quantitative",
              scale: { zero: false },
              title: null,
            },
            color: {
              field: "model",
              type: "nominal",
              sort: names,
              scale: { scheme: scheme(names.length) },
              title: null,
            },
          },
        },
      ],
    },
    resolve: { scale: { y: "independent", x: "independent" } },
  } as vl.TopLevelSpec);
}

/** Writes an SVG string to `path` atomically (temp file, then rename). */
export async function writeSvg(path: string, svg: string): Promise<void> {
  await writeTextAtomic(path, svg.endsWith("\n") ? svg : `${svg}\n`);
}

/**
 * What the experiments' claim checks share: the verdict type, the row
 * accessors (λ, identities, signal, accuracy), grouping by scorer, and the
 * formatting of numbers for people (%, signed points, λ labels, configs).
 * Each experiment script judges its own claims with these
 * (`experiment.claims`); nothing here knows any one experiment.
 *
 * @module
 */

import {
  compareScorers,
  configParts,
  parseNumber,
  type ResultRow,
  value,
} from "./results.ts";

/** The verdict on one of the paper's claims in this run. */
export interface ClaimVerdict {
  /** The claim in words, e.g. `accuracy peaks at an intermediate λ (L2)`. */
  claim: string;
  /** true: held; false: did not hold; null: not tested (data missing). */
  held: boolean | null;
  /** The numbers behind the verdict. */
  detail: string;
}

const SCORER_NAMES: Record<string, string> = {
  l2: "L2",
  cosine: "cosine",
  joint_bayesian: "Joint Bayesian",
};
/** Verification signals' names for people, in Table 1 order. */
export const SIGNAL_NAMES: Record<string, string> = {
  l2: "L2",
  "l2+": "L2+",
  "l2-": "L2−",
  l1: "L1",
  cosine: "cosine",
  none: "none",
};

/** A scorer's name for people: `joint_bayesian` → `Joint Bayesian`. */
export function scorerName(s: string): string {
  return SCORER_NAMES[s] ?? s;
}

function configPart(row: ResultRow, key: string): string | undefined {
  return configParts(row.config).find(([k]) => k === key)?.[1];
}

/** λ of a row: its `lambda` column, else the config's `lambda=`; NaN if neither. */
export function lambdaOf(row: ResultRow): number {
  const v = value(row, "lambda");
  if (!isNaN(v)) return v;
  const p = parseNumber(configPart(row, "lambda") ?? "");
  return p === undefined ? NaN : p;
}

/** Training identities of a row: its `identities` column, else the config's `n=`; NaN if neither. */
export function identitiesOf(row: ResultRow): number {
  const v = value(row, "identities");
  if (!isNaN(v)) return v;
  const p = parseNumber(configPart(row, "n") ?? "");
  return p === undefined ? NaN : p;
}

/** Verification signal of a row: its `signal` column, else the config's `signal=`. */
export function signalOf(row: ResultRow): string {
  return row.fields.signal || configPart(row, "signal") || row.config;
}

/** `λ=0.05`, `λ=∞`. */
export function lambdaLabel(lambda: number): string {
  return `λ=${lambda === Infinity ? "∞" : String(lambda)}`;
}

/** A config for people: `lambda=inf` → `λ=∞`. */
export function prettyConfig(config: string): string {
  return configParts(config).map(([k, v]) => {
    if (k === "lambda") {
      const l = parseNumber(v);
      return l !== undefined && !isNaN(l) ? lambdaLabel(l) : `λ=${v}`;
    }
    if (k === "signal") return `signal=${SIGNAL_NAMES[v] ?? v}`;
    return v === "" ? k : `${k}=${v}`;
  }).join(", ");
}

/** A fraction as % with two decimals. */
export function pct(x: number): string {
  return isNaN(x) ? "—" : (100 * x).toFixed(2);
}

/** A difference of fractions in percentage points, signed. */
export function points(d: number): string {
  const s = (100 * d).toFixed(2);
  return d >= 0 ? `+${s}` : s.replace("-", "−");
}

/** Accuracy (mean over folds) and its fold std, as fractions. */
export const acc = (r: ResultRow) => value(r, "accuracy_mean");
export const accStd = (r: ResultRow) => value(r, "accuracy_std");

/** Largest fold std among rows, in points, for the text. */
export function foldStd(rows: ResultRow[], column = "accuracy_std"): string {
  const stds = rows.map((r) => value(r, column)).filter((s) => !isNaN(s));
  if (stds.length === 0) return "fold std not reported";
  return `fold std ≤ ${(100 * Math.max(...stds)).toFixed(2)}`;
}

export function maxStd(rows: ResultRow[]): number {
  const stds = rows.map(accStd).filter((s) => !isNaN(s));
  return stds.length ? Math.max(...stds) : NaN;
}

/** Rows with an accuracy, grouped by scorer in scorer order. */
export function byScorer(
  rows: ResultRow[],
  metric = acc,
): Map<string, ResultRow[]> {
  const out = new Map<string, ResultRow[]>();
  for (
    const r of [...rows].sort((a, b) => compareScorers(a.scorer, b.scorer))
  ) {
    if (isNaN(metric(r))) continue;
    out.set(r.scorer, [...(out.get(r.scorer) ?? []), r]);
  }
  return out;
}

/** The row with the largest metric (the first on a tie). */
export function argmax(rows: ResultRow[], metric = acc): ResultRow {
  return rows.reduce((best, r) => metric(r) > metric(best) ? r : best);
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(x: number[], y: number[]): number {
  const ranks = (v: number[]) => {
    const idx = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const rx = ranks(x), ry = ranks(y);
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(rx), my = mean(ry);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** A claim that could not be judged, and why. */
export function notTested(claim: string, why: string): ClaimVerdict {
  return { claim, held: null, detail: why };
}

/** λ = 0, the best intermediate λ and λ = ∞ among rows of one scorer. */
export function lambdaTriple(rows: ResultRow[], metric = acc) {
  const zero = rows.find((r) => lambdaOf(r) === 0);
  const inf = rows.find((r) => lambdaOf(r) === Infinity);
  const mids = rows.filter((r) => lambdaOf(r) > 0 && isFinite(lambdaOf(r)));
  const best = mids.length ? argmax(mids, metric) : undefined;
  return { zero, inf, best };
}

/** A number with 4 significant digits. */
export function fmt(x: number): string {
  if (isNaN(x)) return "—";
  if (!isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x.toPrecision(4)).toString();
}

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
  equivalenceTests,
  type Estimate,
  holm,
  interval,
  pairedBootstrap,
  pTwoSided,
  seedMean,
} from "../../lib/eval/inference.ts";
import {
  compareScorers,
  configParts,
  parseNumber,
  type ResultRow,
  type Results,
  value,
} from "./results.ts";

/**
 * The answer to one claim: `held` (the interval lies on the claim's side),
 * `contradicted` (it lies on the other side), `inconclusive` (neither), or
 * `not tested` (data missing, too few healthy seeds).
 */
export type Verdict = "held" | "contradicted" | "inconclusive" | "not tested";

/** The verdict on one of the paper's claims in this run. */
export interface ClaimVerdict {
  /** The claim in words, e.g. `λ=0.05 (chosen on validation) beats λ=0 (L2)`. */
  claim: string;
  verdict: Verdict;
  /** The numbers behind the verdict. */
  detail: string;
  /** The effect, in `unit` (accuracy differences in percentage points). */
  effect?: number;
  /** Its 95 % interval (t on seeds − 1 df, SE from the paired bootstrap). */
  ci?: [number, number];
  /** Unadjusted p-value of the test that decided, and Holm's within the experiment. */
  p?: number;
  pHolm?: number;
  /** Seeds the comparison used (those where every arm trained healthy). */
  seeds?: number;
  /** `points`, `points per doubling`, or the statistic's own unit. */
  unit?: string;
}

/**
 * A claim with its estimate, before the Holm step: `greater` claims the
 * effect is > 0; `equivalent` claims |effect| < margin (TOST).
 */
export interface PendingClaim {
  claim: string;
  estimate: Estimate;
  kind: "greater" | "equivalent";
  /** Equivalence margin, in the estimate's units. */
  margin?: number;
  /** Estimate units → reported units (100: fractions → points). */
  scale: number;
  unit: string;
  seeds: number;
  /** What was compared, in words (prefix of the detail). */
  what: string;
}

/** Level of every verdict (Holm-adjusted within an experiment). */
export const ALPHA = 0.05;

/**
 * Judges an experiment's claims together: each claim's p-value (two-sided
 * for `greater`; for `equivalent` the TOST p when the estimate lies inside
 * the margin, else the p of lying outside it) is Holm-adjusted over the
 * experiment's tested claims, and a claim is `held` or `contradicted` only
 * when its adjusted p < {@linkcode ALPHA}. Untested claims pass through.
 */
export function judge(items: (PendingClaim | ClaimVerdict)[]): ClaimVerdict[] {
  const pending = items.filter((x): x is PendingClaim => "estimate" in x);
  const decided = pending.map((c) => {
    if (c.kind === "greater") {
      return {
        p: pTwoSided(c.estimate),
        side: c.estimate.estimate > 0 ? "held" : "contradicted",
      } as const;
    }
    const { pInside, pOutside } = equivalenceTests(c.estimate, c.margin!);
    return pInside <= pOutside
      ? { p: pInside, side: "held" } as const
      : { p: pOutside, side: "contradicted" } as const;
  });
  const adjusted = holm(decided.map((d) => d.p));
  return items.map((x) => {
    if (!("estimate" in x)) return x;
    const k = pending.indexOf(x);
    const { p, side } = decided[k];
    const pHolm = adjusted[k];
    const verdict: Verdict = pHolm < ALPHA ? side : "inconclusive";
    const e = x.estimate;
    const ci = interval(e).map((v) => v * x.scale) as [number, number];
    const effect = e.estimate * x.scale;
    const f = (v: number) => signed(v, 2);
    const margin = x.kind === "equivalent"
      ? `, margin ±${(x.margin! * x.scale).toFixed(1)} ${x.unit}`
      : "";
    return {
      claim: x.claim,
      verdict,
      effect,
      ci,
      p,
      pHolm,
      seeds: x.seeds,
      unit: x.unit,
      detail: `${x.what}: ${f(effect)}${x.unit ? ` ${x.unit}` : ""} [${
        f(ci[0])
      }, ${f(ci[1])}]${margin}; p = ${pFmt(p)}, Holm ${
        pFmt(pHolm)
      }; ${x.seeds} seeds`,
    };
  });
}

/** A signed number with `digits` decimals and a true minus sign. */
export function signed(v: number, digits = 2): string {
  if (!isFinite(v)) return String(v);
  const s = v.toFixed(digits);
  return v >= 0 ? `+${s}` : s.replace("-", "−");
}

function pFmt(p: number): string {
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/** The healthy per-seed rows of one configuration and scorer of an experiment. */
export function arm(
  results: Results,
  experiment: string,
  config: string | undefined,
  scorer: string,
): ResultRow[] {
  if (config === undefined) return [];
  return (results.get(experiment)?.seedRows ?? []).filter((r) =>
    r.config === config && r.scorer === scorer &&
    (r.fields.status || "ok") === "ok"
  );
}

/** A row's per-fold accuracies (`fold_accuracy`), or undefined when absent. */
export function foldAccuracies(row: ResultRow): number[] | undefined {
  const text = row.fields.fold_accuracy;
  if (!text) return undefined;
  const v = text.split(";").map(Number);
  return v.every(Number.isFinite) ? v : undefined;
}

/**
 * Fold accuracies `[arm][seed][fold]` over the seeds every arm has (healthy
 * and with folds), or why there are too few (fewer than 2 such seeds).
 */
export function foldTable(
  arms: ResultRow[][],
): { data: number[][][]; seeds: string[] } | { why: string } {
  const bySeed = arms.map((rows) =>
    new Map(
      rows.flatMap((r) => {
        const f = foldAccuracies(r);
        return f ? [[r.fields.seed, f] as const] : [];
      }),
    )
  );
  const seeds = [...(bySeed[0]?.keys() ?? [])].filter((s) =>
    bySeed.every((m) => m.has(s))
  );
  if (seeds.length < 2) {
    return {
      why:
        `${seeds.length} seed(s) where every arm trained healthy; an interval needs 2 or more`,
    };
  }
  return { data: bySeed.map((m) => seeds.map((s) => m.get(s)!)), seeds };
}

/**
 * A claim on a statistic of the arms' per-seed mean accuracies (a
 * difference, a distance from chance, a slope), estimated over the seeds
 * every arm has and the folds within them ({@linkcode pairedBootstrap}).
 * `greater` (default) claims the statistic is > 0; `equivalent` that it lies
 * within ±margin. Accuracy units become points (× 100).
 */
export function accuracyClaim(
  claim: string,
  arms: ResultRow[][],
  stat: (means: number[]) => number,
  what: string,
  options: {
    kind?: "greater" | "equivalent";
    margin?: number;
    unit?: string;
  } = {},
): PendingClaim | ClaimVerdict {
  const t = foldTable(arms);
  if ("why" in t) return notTested(claim, `${what}: ${t.why}`);
  return {
    claim,
    estimate: pairedBootstrap(t.data, stat),
    kind: options.kind ?? "greater",
    margin: options.margin,
    scale: 100,
    unit: options.unit ?? "points",
    seeds: t.seeds.length,
    what,
  };
}

const difference = (m: number[]) => m[0] - m[1];

/** The claim "arm `a` is more accurate than arm `b`" (per-seed rows of one scorer). */
export function greaterAccuracy(
  claim: string,
  a: ResultRow[],
  b: ResultRow[],
  what: string,
): PendingClaim | ClaimVerdict {
  return accuracyClaim(claim, [a, b], difference, what);
}

/** The claim "arm `a` is more accurate than chance (50 %)". */
export function aboveChance(
  claim: string,
  a: ResultRow[],
  what: string,
): PendingClaim | ClaimVerdict {
  return accuracyClaim(claim, [a], (m) => m[0] - 0.5, what);
}

/** The claim "`a` and `b` are equally accurate within ±margin" (TOST). */
export function equalAccuracy(
  claim: string,
  a: ResultRow[],
  b: ResultRow[],
  margin: number,
  what: string,
): PendingClaim | ClaimVerdict {
  return accuracyClaim(claim, [a, b], difference, what, {
    kind: "equivalent",
    margin,
  });
}

/**
 * A claim on a per-model statistic (a variance ratio, a rank-1 rate): the
 * mean over seeds of `sign · (value(a) − value(b))`, t on the seeds.
 */
export function greaterPerSeed(
  claim: string,
  a: Map<string, number>,
  b: Map<string, number>,
  what: string,
  options: { sign?: 1 | -1; scale?: number; unit?: string } = {},
): PendingClaim | ClaimVerdict {
  const seeds = [...a.keys()].filter((s) =>
    b.has(s) && isFinite(a.get(s)!) && isFinite(b.get(s)!)
  );
  if (seeds.length < 2) {
    return notTested(
      claim,
      `${what}: ${seeds.length} seed(s) with both values; an interval needs 2 or more`,
    );
  }
  const sign = options.sign ?? 1;
  return {
    claim,
    estimate: seedMean(seeds.map((s) => sign * (a.get(s)! - b.get(s)!))),
    kind: "greater",
    scale: options.scale ?? 1,
    unit: options.unit ?? "",
    seeds: seeds.length,
    what,
  };
}

/** A column's value per seed over healthy rows. */
export function perSeed(
  rows: ResultRow[],
  metric: (r: ResultRow) => number,
): Map<string, number> {
  return new Map(rows.map((r) => [r.fields.seed, metric(r)]));
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
  return signed(100 * d);
}

/** Accuracy (mean over folds; in mean rows, over seeds) and its std, as fractions. */
export const acc = (r: ResultRow) => value(r, "accuracy_mean");
export const accStd = (r: ResultRow) => value(r, "accuracy_std");

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
  return { claim, verdict: "not tested", detail: why };
}

/**
 * λ = 0, λ = ∞ and the intermediate λ with the best validation accuracy
 * (`val_accuracy_mean`, mean over seeds; never the test pairs) among
 * aggregate rows of one scorer.
 */
export function lambdaTriple(rows: ResultRow[]) {
  const zero = rows.find((r) => lambdaOf(r) === 0);
  const inf = rows.find((r) => lambdaOf(r) === Infinity);
  const mids = rows.filter((r) =>
    lambdaOf(r) > 0 && isFinite(lambdaOf(r)) &&
    !isNaN(value(r, "val_accuracy_mean"))
  );
  const best = mids.length
    ? argmax(mids, (r) => value(r, "val_accuracy_mean"))
    : undefined;
  return { zero, inf, best };
}

/** The scorers the paper judges its claims with (Table 1, Fig. 3): L2 and Joint Bayesian. */
export const PAPER_SCORERS = ["l2", "joint_bayesian"] as const;

/** A number with 4 significant digits. */
export function fmt(x: number): string {
  if (isNaN(x)) return "—";
  if (!isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x.toPrecision(4)).toString();
}

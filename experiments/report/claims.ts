/**
 * The claims of the paper and how this run answers them: the types an
 * experiment's claim checks build (one {@linkcode ClaimFamily} per paper
 * claim, its lines the scorers and comparisons), the line builders (paired
 * accuracy differences, slopes, per-model statistics, equivalence), the
 * judging of every family of every experiment at once
 * ({@linkcode judgeAll}), the row accessors (λ, identities, signal,
 * accuracy), and the formatting of numbers for people. Each experiment
 * script declares its own families (`experiment.claims`); nothing here knows
 * any one experiment.
 *
 * A line's data are per-replicate statistics: a replicate is one draw of
 * data and initialisation, so a difference of two configurations'
 * fold-averaged accuracies in one replicate is one independent observation
 * of the method's effect, and the line is a paired t over replicates
 * (`lib/eval/inference.ts`). A family's lines share its error rate by
 * Bonferroni: each line's interval is drawn at 1 − α/m (m its family's
 * lines; 1 − 2α/m for equivalence, the TOST interval), and the answer is
 * read off that very interval. A comparison that several experiments make
 * (the same models, scorer and statistic) is judged once, in the family of
 * the experiment that owns it (`claimPriority`), and shown in the others
 * with the same answer.
 *
 * @module
 */

import {
  type Estimate,
  judgeLine,
  minimumDetectableEffect,
  replicateMean,
} from "../../lib/eval/inference.ts";
import {
  compareScorers,
  configParts,
  parseNumber,
  type ResultRow,
  type Results,
  value,
} from "./results.ts";
import { isScored } from "../harness/result_files.ts";

/**
 * The answer to one claim line: `held` (its interval lies on the claim's
 * side), `contradicted` (on the other side), `inconclusive` (neither), or
 * `not tested` (data missing, too few scored replicates).
 */
export type Verdict = "held" | "contradicted" | "inconclusive" | "not tested";

/** Level of every family (Bonferroni within it). */
export const ALPHA = 0.05;
/** Power at which a line's minimum detectable effect is given. */
export const POWER = 0.8;

/**
 * One line of a claim before judging: a statistic per replicate and what it
 * claims about it (`greater`: the statistic is > 0; `equivalent`: it lies
 * within ±margin).
 */
export interface ClaimLine {
  /** The line in words, e.g. `λ=0.05 (best on validation) beats λ=0 (L2 scoring)`. */
  claim: string;
  /** What is compared (statistic, scorer, the models of each arm): lines with the same identity are one comparison. */
  identity: string;
  /** The statistic per replicate (estimate units). */
  values: Map<string, number>;
  kind: "greater" | "equivalent";
  /** Equivalence margin, in the estimate's units, fixed before any run. */
  margin?: number;
  /** Estimate units → reported units (100: fractions → points). */
  scale: number;
  unit: string;
  /** What was compared, in words (prefix of the detail). */
  what: string;
  /** Units whose models were still improving when training ended (`config seedK`). */
  improving: string[];
}

/** One of the paper's claims: its lines, judged together. */
export interface ClaimFamily {
  /** The paper's claim, in words (the family's name). */
  claim: string;
  lines: (ClaimLine | ClaimVerdict)[];
}

/** The verdict on one line of one of the paper's claims in this run. */
export interface ClaimVerdict {
  /** The line, e.g. `λ=0.05 (chosen on validation) beats λ=0 (L2)`. */
  claim: string;
  /** The family (paper claim) it belongs to; set by {@linkcode judgeAll}. */
  family?: string;
  verdict: Verdict;
  /** The numbers behind the verdict. */
  detail: string;
  /** The effect, in `unit` (accuracy differences in percentage points). */
  effect?: number;
  /** The interval the answer is read from, at `level`. */
  ci?: [number, number];
  /** The interval's level: 1 − α/m, or 1 − 2α/m for an equivalence line. */
  level?: number;
  /** Lines in the family that judged it. */
  familySize?: number;
  /** Bonferroni-adjusted p-value (min(1, m·p); TOST's for equivalence). */
  p?: number;
  /** Replicates the line used (those where every arm was scored). */
  replicates?: number;
  /** Sample std across replicates of the statistic, in `unit`. */
  sd?: number;
  /** Smallest effect the line would detect with 80 % power at this run's replicates and spread (equivalence: the margin it could confirm). */
  mde?: number;
  /** Equivalence margin in `unit`. */
  margin?: number;
  /** `points`, `points per doubling`, or the statistic's own unit. */
  unit?: string;
  /** The experiment whose family judged this comparison, when another's. */
  judgedIn?: string;
  /** Units still improving whose models the line used. */
  improving?: string[];
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

/** A level as people read it: `95 %`, `98.3 %`. */
export function levelText(level: number): string {
  return `${Number((100 * level).toFixed(1))} %`;
}

/**
 * Judges one family: each line at the family's Bonferroni level. `owned`
 * lines count towards m; the others are filled in by {@linkcode judgeAll}.
 */
function judgeFamily(lines: ClaimLine[]): ClaimVerdict[] {
  const m = lines.length;
  return lines.map((x) => {
    const values = [...x.values.values()];
    const e: Estimate = replicateMean(values);
    const j = judgeLine(e, {
      m,
      alpha: ALPHA,
      kind: x.kind,
      margin: x.margin,
    });
    const sd = e.se * Math.sqrt(values.length);
    const mde = minimumDetectableEffect({
      sd,
      n: values.length,
      m,
      alpha: ALPHA,
      power: POWER,
      kind: x.kind,
    });
    const k = x.scale;
    const ci = [j.interval[0] * k, j.interval[1] * k] as [number, number];
    const effect = e.estimate * k;
    const f = (v: number) => signed(v, 2);
    const u = x.unit ? ` ${x.unit}` : "";
    const margin = x.kind === "equivalent"
      ? `, margin ±${signed(x.margin! * k, 1).slice(1)}${u}`
      : "";
    const detect = x.kind === "equivalent"
      ? `could confirm a margin of ±${(mde * k).toFixed(2)}${u}`
      : `detects ${(mde * k).toFixed(2)}${u} with ${100 * POWER} % power`;
    const improving = x.improving.length
      ? `; uses models still improving: ${x.improving.join(", ")}`
      : "";
    return {
      claim: x.claim,
      verdict: j.verdict,
      effect,
      ci,
      level: j.level,
      familySize: m,
      p: j.pAdjusted,
      replicates: values.length,
      sd: sd * k,
      mde: mde * k,
      ...(x.kind === "equivalent" ? { margin: x.margin! * k } : {}),
      unit: x.unit,
      ...(x.improving.length ? { improving: x.improving } : {}),
      detail: `${x.what}: ${f(effect)}${u} [${f(ci[0])}, ${f(ci[1])}] (${
        levelText(j.level)
      }, ${m} line${m === 1 ? "" : "s"} in the family)${margin}; p = ${
        pFmt(j.pAdjusted)
      } adjusted; ${values.length} replicates, sd ${
        (sd * k).toFixed(2)
      }${u}; ${detect}${improving}`,
    };
  });
}

/** What {@linkcode judgeAll} needs of an experiment. */
export interface ClaimSource {
  name: string;
  claims: (results: Results) => ClaimFamily[];
  /** Lower owns a comparison that several experiments make (default 10; ties: list order). */
  claimPriority?: number;
}

// Per `results`, per list of experiments (names and priorities): a call
// with other experiments judges other families.
const judged = new WeakMap<
  Results,
  Map<string, Map<string, ClaimVerdict[]>>
>();

/**
 * Judges every family of every experiment together: a comparison (line
 * identity) is judged once, in the family of the experiment with the lowest
 * `claimPriority` that makes it, and copied, with the same answer and
 * `judgedIn`, into the other experiments' families. Each family's m counts
 * the lines it judges itself. Returns each experiment's verdicts, family by
 * family, line by line (memoised per `results`).
 */
export function judgeAll(
  experiments: readonly ClaimSource[],
  results: Results,
): Map<string, ClaimVerdict[]> {
  const key = experiments.map((e) => `${e.name}:${e.claimPriority ?? 10}`)
    .join("|");
  const memo = judged.get(results)?.get(key);
  if (memo) return memo;
  const declared = experiments.map((e, order) => ({
    e,
    order,
    families: e.claims(results),
  }));
  const byPriority = [...declared].sort((a, b) =>
    (a.e.claimPriority ?? 10) - (b.e.claimPriority ?? 10) || a.order - b.order
  );
  const owner = new Map<
    string,
    { experiment: string; verdict: ClaimVerdict }
  >();
  const own = new Map<ClaimLine, ClaimVerdict>();
  for (const { e, families } of byPriority) {
    for (const fam of families) {
      const mine = fam.lines.filter((l): l is ClaimLine =>
        "identity" in l && !owner.has(l.identity)
      );
      const verdicts = judgeFamily(mine);
      mine.forEach((l, k) => {
        const v = { ...verdicts[k], family: fam.claim };
        own.set(l, v);
        owner.set(l.identity, { experiment: e.name, verdict: v });
      });
    }
  }
  const out = new Map<string, ClaimVerdict[]>();
  for (const { e, families } of declared) {
    out.set(
      e.name,
      families.flatMap((fam) =>
        fam.lines.map((l): ClaimVerdict => {
          if (!("identity" in l)) return { ...l, family: fam.claim };
          const mine = own.get(l);
          if (mine) return mine;
          const o = owner.get(l.identity)!;
          return {
            ...o.verdict,
            claim: l.claim,
            family: fam.claim,
            judgedIn: o.experiment,
            detail:
              `${o.verdict.detail}; judged in ${o.experiment} (${o.verdict.family})`,
          };
        })
      ),
    );
  }
  if (!judged.has(results)) judged.set(results, new Map());
  judged.get(results)!.set(key, out);
  return out;
}

/** The scored per-replicate rows of one configuration and scorer of an experiment. */
export function arm(
  results: Results,
  experiment: string,
  config: string | undefined,
  scorer: string,
): ResultRow[] {
  if (config === undefined) return [];
  return (results.get(experiment)?.seedRows ?? []).filter((r) =>
    r.config === config && r.scorer === scorer && isScored(r.fields.status)
  );
}

/** What a row's model is, for a line's identity: its `model` key, else where it came from. */
function modelOf(r: ResultRow): string {
  return r.fields.model ||
    `${r.fields.experiment}:${r.config}:seed${r.fields.seed}`;
}

/** The identity of a line on `arms` (per-replicate rows) and a statistic. */
function identityOf(stat: string, arms: ResultRow[][]): string {
  return `${stat}|${arms[0]?.[0]?.scorer ?? ""}|${
    arms.map((rows) => rows.map(modelOf).sort().join(",")).join(" ; ")
  }`;
}

/** `config seedK` of the rows whose models were still improving. */
function improvingOf(arms: ResultRow[][]): string[] {
  return [
    ...new Set(
      arms.flat().filter((r) => r.fields.status === "still improving")
        .map((r) => `${r.config} seed${r.fields.seed}`),
    ),
  ];
}

/**
 * Per-replicate values of a statistic of the arms (one row per replicate
 * each), over the replicates every arm has; or why there are too few (an
 * interval needs two).
 */
export function replicateTable(
  arms: ResultRow[][],
  metric: (r: ResultRow) => number,
): { values: number[][]; seeds: string[] } | { why: string } {
  const bySeed = arms.map((rows) =>
    new Map(
      rows.filter((r) => Number.isFinite(metric(r))).map((r) =>
        [r.fields.seed, metric(r)] as const
      ),
    )
  );
  const seeds = [...(bySeed[0]?.keys() ?? [])].filter((s) =>
    bySeed.every((m) => m.has(s))
  );
  if (seeds.length < 2) {
    return {
      why:
        `${seeds.length} replicate(s) where every arm was scored; an interval needs 2 or more`,
    };
  }
  return { values: seeds.map((s) => bySeed.map((m) => m.get(s)!)), seeds };
}

/**
 * A line on a statistic of the arms' per-replicate values of `metric`
 * (default: fold-averaged accuracy): a difference, a distance from chance,
 * a slope. `greater` (default) claims the statistic is > 0; `equivalent`
 * that it lies within ±margin. Accuracy units become points (× 100).
 */
export function statisticLine(
  claim: string,
  arms: ResultRow[][],
  stat: { name: string; of: (values: number[]) => number },
  what: string,
  options: {
    kind?: "greater" | "equivalent";
    margin?: number;
    unit?: string;
    scale?: number;
    metric?: (r: ResultRow) => number;
  } = {},
): ClaimLine | ClaimVerdict {
  const t = replicateTable(arms, options.metric ?? acc);
  if ("why" in t) return notTested(claim, `${what}: ${t.why}`);
  // The rows of the replicates the line uses: what it compares, and the
  // models it relies on.
  const seeds = new Set(t.seeds);
  const used = arms.map((rows) => rows.filter((r) => seeds.has(r.fields.seed)));
  return {
    claim,
    identity: identityOf(
      `${options.kind ?? "greater"}${options.margin ?? ""}:${stat.name}`,
      used,
    ),
    values: new Map(t.seeds.map((s, i) => [s, stat.of(t.values[i])])),
    kind: options.kind ?? "greater",
    margin: options.margin,
    scale: options.scale ?? 100,
    unit: options.unit ?? "points",
    what,
    improving: improvingOf(used),
  };
}

const difference = { name: "a−b", of: (m: number[]) => m[0] - m[1] };

/** The line "arm `a` is more accurate than arm `b`" (per-replicate rows of one scorer). */
export function greaterAccuracy(
  claim: string,
  a: ResultRow[],
  b: ResultRow[],
  what: string,
): ClaimLine | ClaimVerdict {
  return statisticLine(claim, [a, b], difference, what);
}

/** The line "arm `a` is more accurate than chance (50 %)". */
export function aboveChance(
  claim: string,
  a: ResultRow[],
  what: string,
): ClaimLine | ClaimVerdict {
  return statisticLine(
    claim,
    [a],
    { name: "a−50%", of: (m) => m[0] - 0.5 },
    what,
  );
}

/** The line "`a` and `b` are equally accurate within ±margin" (TOST). */
export function equalAccuracy(
  claim: string,
  a: ResultRow[],
  b: ResultRow[],
  margin: number,
  what: string,
): ClaimLine | ClaimVerdict {
  return statisticLine(claim, [a, b], difference, what, {
    kind: "equivalent",
    margin,
  });
}

/**
 * A line on a per-model statistic (a variance ratio, a rank-1 rate) of two
 * arms' per-replicate rows: the mean over replicates of
 * `sign · (metric(a) − metric(b))`, t on the replicates.
 */
export function greaterPerModel(
  claim: string,
  a: ResultRow[],
  b: ResultRow[],
  metric: { name: string; of: (r: ResultRow) => number },
  what: string,
  options: { sign?: 1 | -1; scale?: number; unit?: string } = {},
): ClaimLine | ClaimVerdict {
  const sign = options.sign ?? 1;
  return statisticLine(
    claim,
    [a, b],
    { name: `${metric.name}:${sign}`, of: (m) => sign * (m[0] - m[1]) },
    what,
    {
      metric: metric.of,
      scale: options.scale ?? 1,
      unit: options.unit ?? "",
    },
  );
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

/** Accuracy (mean over folds; in mean rows, over replicates) and its std over folds, as fractions. */
export const acc = (r: ResultRow) => value(r, "accuracy_mean");
export const accStd = (r: ResultRow) => value(r, "accuracy_std");
/** In mean rows: the sample std across replicates of the accuracy (fraction). */
export const accSdReplicates = (r: ResultRow) =>
  value(r, "accuracy_sd_replicates");

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

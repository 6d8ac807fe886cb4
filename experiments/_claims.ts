/**
 * The paper's claims, one check per experiment: what the paper says
 * (`PAPER`, from PAPER.md, "The experiments and their claims") and whether it
 * held on this run's numbers (`judgeClaims`), with the numbers behind each
 * verdict. Also the small formatting helpers (λ labels, %, configs for
 * people) that the tables and figures share.
 *
 * Claim checks live here, not in lib/, because they are knowledge of the
 * paper's experiments (DESIGN.md: lib/ knows nothing about any experiment).
 *
 * @module
 */

import {
  compareScorers,
  compareValues,
  configParts,
  parseNumber,
  type ResultRow,
  type Results,
  value,
} from "./_results.ts";

/** The verdict on one of the paper's claims in this run. */
export interface ClaimVerdict {
  /** The claim in words, e.g. `accuracy peaks at an intermediate λ (L2)`. */
  claim: string;
  /** true: held; false: did not hold; null: not tested (data missing). */
  held: boolean | null;
  /** The numbers behind the verdict. */
  detail: string;
}

/** What the paper says about each experiment (PAPER.md, "The experiments and their claims"). */
interface PaperEntry {
  title: string;
  /** Where in the paper. */
  source: string;
  /** The claim, in words. */
  claim: string;
  /** The paper's own numbers, only where PAPER.md marks them [C]. */
  confirmed?: string;
}

export const PAPER: Record<string, PaperEntry> = {
  identification_only: {
    title: "Identification signal only (λ = 0)",
    source: "Fig. 3 (λ = 0)",
    claim: "good features, but intra-personal variance stays large; " +
      "adding the verification signal does better",
  },
  verification_only: {
    title: "Verification signal only (λ = ∞)",
    source: "Fig. 3 (λ = ∞)",
    claim: "clearly worse than joint training: inter-personal variance " +
      "collapses too",
  },
  joint_lambda: {
    title: "Joint identification-verification, λ sweep",
    source: "Fig. 3",
    claim: "accuracy peaks at an intermediate λ (0.05 in the paper) for both " +
      "L2 and Joint Bayesian scoring",
  },
  variance_spectra: {
    title: "Inter- and intra-personal variance",
    source: "Fig. 4, 5",
    claim: "joint training keeps inter-personal variance and shrinks " +
      "intra-personal variance, relative to λ = 0 and λ = ∞",
  },
  identities: {
    title: "Number of identities in the identification signal",
    source: "Fig. 6",
    claim: "more identities in the identification signal → better verification",
  },
  verification_signals: {
    title: "Verification signals",
    source: "Table 1",
    claim: "L2 best; L2+ close to it; the others (L2−, L1, cosine) help less",
  },
  face_identification: {
    title: "Face identification — reconstruction of the Best-Rowden et al. " +
      "2014 protocol (lists not public)",
    source: "Table 3",
    claim: "DeepID2 features are strong for closed-set (rank-1) and open-set " +
      "(DIR at FAR = 1 %) identification",
  },
  final_system: {
    title: "Final system (patches + PCA + Joint Bayesian)",
    source: "Table 2",
    claim: "99.15 % on LFW (real data only)",
    confirmed: "99.15 % LFW accuracy [C]; DeepFace 97.35 %, DeepID 97.45 % [C]",
  },
};

const SCORER_NAMES: Record<string, string> = {
  l2: "L2",
  cosine: "cosine",
  joint_bayesian: "Joint Bayesian",
};
export const SIGNAL_NAMES: Record<string, string> = {
  l2: "L2",
  "l2+": "L2+",
  "l2-": "L2−",
  l1: "L1",
  cosine: "cosine",
  none: "none",
};

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

export function identitiesOf(row: ResultRow): number {
  const v = value(row, "identities");
  if (!isNaN(v)) return v;
  const p = parseNumber(configPart(row, "n") ?? "");
  return p === undefined ? NaN : p;
}

export function signalOf(row: ResultRow): string {
  return row.fields.signal || configPart(row, "signal") || row.config;
}

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
function points(d: number): string {
  const s = (100 * d).toFixed(2);
  return d >= 0 ? `+${s}` : s.replace("-", "−");
}

export const acc = (r: ResultRow) => value(r, "accuracy_mean");
export const accStd = (r: ResultRow) => value(r, "accuracy_std");

/** Largest fold std among rows, in points, for the text. */
function foldStd(rows: ResultRow[], column = "accuracy_std"): string {
  const stds = rows.map((r) => value(r, column)).filter((s) => !isNaN(s));
  if (stds.length === 0) return "fold std not reported";
  return `fold std ≤ ${(100 * Math.max(...stds)).toFixed(2)}`;
}

function maxStd(rows: ResultRow[]): number {
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

function notTested(claim: string, why: string): ClaimVerdict {
  return { claim, held: null, detail: why };
}

/** λ = 0, the best intermediate λ and λ = ∞ among rows of one scorer. */
function lambdaTriple(rows: ResultRow[], metric = acc) {
  const zero = rows.find((r) => lambdaOf(r) === 0);
  const inf = rows.find((r) => lambdaOf(r) === Infinity);
  const mids = rows.filter((r) => lambdaOf(r) > 0 && isFinite(lambdaOf(r)));
  const best = mids.length ? argmax(mids, metric) : undefined;
  return { zero, inf, best };
}

function checkJointLambda(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    // The paper states it for L2 and Joint Bayesian; other scorers are extra.
    const extra = scorer === "l2" || scorer === "joint_bayesian"
      ? ""
      : "; not claimed in the paper";
    const claim = `accuracy peaks at an intermediate λ (${
      scorerName(scorer)
    } scoring${extra})`;
    const { zero, inf, best } = lambdaTriple(group);
    if (!zero || !inf || !best) {
      const missing = [
        !zero && "λ=0",
        !inf && "λ=∞",
        !best && "an intermediate λ",
      ]
        .filter(Boolean).join(", ");
      out.push(notTested(claim, `no row for ${missing}`));
      continue;
    }
    const d0 = acc(best) - acc(zero), dInf = acc(best) - acc(inf);
    out.push({
      claim,
      held: d0 > 0 && dInf > 0,
      detail:
        `best intermediate ${lambdaLabel(lambdaOf(best))} (${
          pct(acc(best))
        } %) ` +
        `vs λ=0 (${pct(acc(zero))} %): ${points(d0)} points, ` +
        `vs λ=∞ (${pct(acc(inf))} %): ${points(dInf)} points ` +
        `(${foldStd([best, zero, inf])}; paper's peak: λ=0.05)`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.joint_lambda.claim, "no accuracy rows")];
}

function checkIdentities(rows: ResultRow[]): ClaimVerdict[] {
  const groups = new Map<string, ResultRow[]>();
  const sorted = [...rows].sort((a, b) =>
    compareValues(String(lambdaOf(b)), String(lambdaOf(a))) ||
    compareScorers(a.scorer, b.scorer)
  );
  for (const r of sorted) {
    if (isNaN(acc(r)) || isNaN(identitiesOf(r))) continue;
    const key = `${isNaN(lambdaOf(r)) ? "" : lambdaLabel(lambdaOf(r)) + ", "}${
      scorerName(r.scorer)
    }`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ClaimVerdict[] = [];
  for (const [key, group] of groups) {
    const claim = `more identities → better verification (${key})`;
    const g = [...group].sort((a, b) => identitiesOf(a) - identitiesOf(b));
    if (new Set(g.map(identitiesOf)).size < 2) {
      out.push(notTested(claim, "fewer than two numbers of identities"));
      continue;
    }
    const first = g[0], last = g[g.length - 1];
    const d = acc(last) - acc(first);
    const rho = spearman(g.map(identitiesOf), g.map(acc));
    let up = 0;
    for (let i = 1; i < g.length; i++) if (acc(g[i]) > acc(g[i - 1])) up++;
    out.push({
      claim,
      held: d > 0 && rho > 0,
      detail: `n=${identitiesOf(first)} → ${identitiesOf(last)}: ` +
        `${pct(acc(first))} % → ${pct(acc(last))} % (${points(d)} points, ` +
        `${foldStd([first, last])}); Spearman ρ = ${
          rho.toFixed(2).replace("-", "−")
        }; ` +
        `${up} of ${g.length - 1} steps up`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.identities.claim, "no accuracy rows")];
}

function checkSignals(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    const s = `${scorerName(scorer)} scoring`;
    const bySignal = new Map(group.map((r) => [signalOf(r), r]));
    const name = (sig: string) => SIGNAL_NAMES[sig] ?? sig;
    const l2 = bySignal.get("l2");
    if (!l2) {
      out.push(
        notTested(`L2 is the best verification signal (${s})`, "no L2 row"),
      );
      continue;
    }
    const others = group.filter((r) => r !== l2);
    if (others.length) {
      const next = argmax(others);
      out.push({
        claim: `L2 is the best verification signal (${s})`,
        held: acc(l2) > acc(next),
        detail: `L2 ${pct(acc(l2))} %; best other: ${name(signalOf(next))} ` +
          `${pct(acc(next))} % (L2 − ${name(signalOf(next))} = ` +
          `${points(acc(l2) - acc(next))} points; ${foldStd([l2, next])})`,
      });
    }
    const plus = bySignal.get("l2+");
    if (plus) {
      const gap = acc(l2) - acc(plus);
      const tol = maxStd([l2, plus]);
      const within = isNaN(tol) ? Math.abs(gap) <= 0.01 : Math.abs(gap) <= tol;
      out.push({
        claim: `L2+ is close to L2, within one fold std (${s})`,
        held: within,
        detail: `L2 ${pct(acc(l2))} %, L2+ ${pct(acc(plus))} % ` +
          `(L2 − L2+ = ${points(gap)} points; ` +
          `${
            isNaN(tol) ? "no fold std: 1-point tolerance" : foldStd([l2, plus])
          })`,
      });
    }
    const rest = ["l2-", "l1", "cosine"].flatMap((sig) =>
      bySignal.get(sig) ?? []
    );
    const none = bySignal.get("none");
    if (rest.length) {
      const vsL2 = rest.map((r) =>
        `${name(signalOf(r))} ${points(acc(r) - acc(l2))}`
      );
      const overNone = none
        ? `; over none (${pct(acc(none))} %): ` +
          [l2, ...rest].map((r) =>
            `${name(signalOf(r))} ${points(acc(r) - acc(none))}`
          )
            .join(", ") +
          " points"
        : "";
      out.push({
        claim: `the other signals help less than L2 (${s})`,
        held: rest.every((r) => acc(r) < acc(l2)),
        detail: `vs L2: ${vsL2.join(", ")} points${overNone} (${
          foldStd([l2, ...rest])
        })`,
      });
    }
    if (none) {
      out.push({
        claim: `the L2 verification signal helps: L2 beats none (${s})`,
        held: acc(l2) > acc(none),
        detail: `L2 ${pct(acc(l2))} % vs none ${pct(acc(none))} %: ` +
          `${points(acc(l2) - acc(none))} points (${foldStd([l2, none])})`,
      });
    }
  }
  return out.length
    ? out
    : [notTested(PAPER.verification_signals.claim, "no accuracy rows")];
}

/** Spectral summaries per λ of the variance_spectra experiment. */
interface SpectraSummary {
  lambda: number;
  between: number;
  within: number;
}

function spectraSummaries(rows: ResultRow[]): SpectraSummary[] {
  const seen = new Map<number, SpectraSummary>();
  for (const r of rows) {
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

const ratio = (s: SpectraSummary) => s.within / s.between;
const share = (s: SpectraSummary) => s.between / (s.between + s.within);

function checkSpectra(rows: ResultRow[]): ClaimVerdict[] {
  const s = spectraSummaries(rows);
  const zero = s.find((x) => x.lambda === 0),
    inf = s.find((x) => x.lambda === Infinity);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim = (m?: SpectraSummary) =>
    `joint training${m ? ` (${lambdaLabel(m.lambda)})` : ""} has a smaller ` +
    "intra-/inter-personal variance ratio than λ=0 and λ=∞";
  if (!zero || !inf || mids.length === 0) {
    return [
      notTested(
        claim(),
        "needs between_energy and within_energy for λ=0, an intermediate λ and λ=∞",
      ),
    ];
  }
  return mids.map((m) => ({
    claim: claim(m),
    held: ratio(m) < ratio(zero) && ratio(m) < ratio(inf),
    detail:
      `within/between energy: ${lambdaLabel(m.lambda)} ${
        ratio(m).toFixed(3)
      }, ` +
      `λ=0 ${ratio(zero).toFixed(3)}, λ=∞ ${ratio(inf).toFixed(3)} ` +
      `(between ${fmt(m.between)} / ${fmt(zero.between)} / ${
        fmt(inf.between)
      }; ` +
      `within ${fmt(m.within)} / ${fmt(zero.within)} / ${fmt(inf.within)})`,
  }));
}

/** A number with 4 significant digits. */
export function fmt(x: number): string {
  if (isNaN(x)) return "—";
  if (!isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x.toPrecision(4)).toString();
}

/** Best intermediate-λ row of joint_lambda for a scorer, if any. */
function jointBest(results: Results, scorer: string): ResultRow | undefined {
  const rows = (results.get("joint_lambda")?.rows ?? []).filter((r) =>
    r.scorer === scorer && !isNaN(acc(r))
  );
  return lambdaTriple(rows).best;
}

function checkIdentificationOnly(
  rows: ResultRow[],
  results: Results,
): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const groups = byScorer(rows);
  if (groups.size) {
    const all = [...groups.values()].map((g) => g[0]);
    out.push({
      claim:
        "good features: well above the 50 % chance level (by > 2 fold std)",
      held: all.every((r) =>
        acc(r) - 0.5 > 2 * (isNaN(accStd(r)) ? 0 : accStd(r))
      ),
      detail: all.map((r) =>
        `${scorerName(r.scorer)} ${pct(acc(r))} ± ${pct(accStd(r))} %`
      )
        .join(", ") + " vs 50 % chance",
    });
  }
  for (const [scorer, group] of groups) {
    const claim = `joint training does better (${scorerName(scorer)} scoring)`;
    const best = jointBest(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    out.push({
      claim,
      held: d > 0,
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=0 ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results.get("variance_spectra")?.rows ?? []);
  const zero = s.find((x) => x.lambda === 0);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "intra-personal variance stays large: higher within/between ratio than joint";
  if (!zero || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=0 and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => ratio(b) < ratio(a) ? b : a);
    out.push({
      claim,
      held: ratio(zero) > ratio(m),
      detail:
        `within/between energy (variance_spectra): λ=0 ${
          ratio(zero).toFixed(3)
        } ` +
        `vs ${lambdaLabel(m.lambda)} ${ratio(m).toFixed(3)}`,
    });
  }
  return out;
}

function checkVerificationOnly(
  rows: ResultRow[],
  results: Results,
): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    const claim =
      `clearly worse than joint training, by more than the fold std (${
        scorerName(scorer)
      } scoring)`;
    const best = jointBest(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    const tol = maxStd([best, group[0]]);
    out.push({
      claim,
      held: d > (isNaN(tol) ? 0 : tol),
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=∞ ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results.get("variance_spectra")?.rows ?? []);
  const inf = s.find((x) => x.lambda === Infinity);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "inter-personal variance collapses too: smaller inter-personal share " +
    "of the variance than joint";
  if (!inf || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=∞ and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => share(b) > share(a) ? b : a);
    out.push({
      claim,
      held: share(inf) < share(m),
      detail: `between / (between + within) energy (variance_spectra): ` +
        `λ=∞ ${share(inf).toFixed(3)} vs ${lambdaLabel(m.lambda)} ${
          share(m).toFixed(3)
        }`,
    });
  }
  return out;
}

function checkFaceIdentification(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const rank1 = (r: ResultRow) => value(r, "rank1_mean");
  const dir = (r: ResultRow) => value(r, "dir_at_far_1e-2_mean");
  for (const [scorer, group] of byScorer(rows, rank1)) {
    const { zero, inf, best } = lambdaTriple(group, rank1);
    const baselines = [zero, inf].filter((r): r is ResultRow =>
      r !== undefined
    );
    const than = baselines.length
      ? baselines.map((b) => lambdaLabel(lambdaOf(b))).join(" and ")
      : "λ=0 / λ=∞";
    const claim = `joint features identify better than ${than} ones (${
      scorerName(scorer)
    } scoring)`;
    if (!best || baselines.length === 0) {
      const r = best ?? group[0];
      out.push(notTested(
        claim,
        `only ${prettyConfig(r.config)}: rank-1 ${pct(rank1(r))} %, ` +
          `DIR at FAR=1 % ${
            pct(dir(r))
          } % (no λ=0 / λ=∞ configuration to compare; ` +
          "the paper's numbers are not confirmed)",
      ));
      continue;
    }
    const parts = baselines.map((b) =>
      `vs ${lambdaLabel(lambdaOf(b))}: rank-1 ${
        points(rank1(best) - rank1(b))
      }, ` +
      `DIR ${points(dir(best) - dir(b))} points`
    );
    out.push({
      claim,
      held: baselines.every((b) =>
        rank1(best) > rank1(b) &&
        (isNaN(dir(best)) || isNaN(dir(b)) || dir(best) > dir(b))
      ),
      detail: `${lambdaLabel(lambdaOf(best))}: rank-1 ${pct(rank1(best))} %, ` +
        `DIR at FAR=1 % ${pct(dir(best))} %; ${parts.join("; ")} ` +
        `(rank-1 ${
          foldStd([best, ...baselines], "rank1_std").replace("fold ", "")
        })`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.face_identification.claim, "no rank-1 rows")];
}

function checkFinalSystem(rows: ResultRow[]): ClaimVerdict[] {
  const paper = 0.9915;
  return [...byScorer(rows)].map(([scorer, group]) => {
    const best = argmax(group);
    const d = acc(best) - paper;
    const tol = isNaN(accStd(best)) ? 0 : accStd(best);
    return {
      claim: `reaches the paper's 99.15 % LFW accuracy (${
        scorerName(scorer)
      } scoring)`,
      held: d >= -tol,
      detail:
        `${prettyConfig(best.config)} ${pct(acc(best))} ± ${
          pct(accStd(best))
        } % ` +
        `vs 99.15 %: ${points(d)} points`,
    };
  });
}

/**
 * Judges the paper's claims for one experiment on this run's numbers. Some
 * claims compare experiments (e.g. verification-only against the best
 * intermediate λ of joint_lambda), hence all results are passed.
 *
 * @example
 * ```ts
 * const results = await loadResults("results");
 * for (const v of judgeClaims("joint_lambda", results)) console.log(v.claim, v.held, v.detail);
 * ```
 */
export function judgeClaims(
  experiment: string,
  results: Results,
): ClaimVerdict[] {
  const rows = results.get(experiment)?.rows;
  if (!rows) return [];
  switch (experiment) {
    case "identification_only":
      return checkIdentificationOnly(rows, results);
    case "verification_only":
      return checkVerificationOnly(rows, results);
    case "joint_lambda":
      return checkJointLambda(rows);
    case "variance_spectra":
      return checkSpectra(rows);
    case "identities":
      return checkIdentities(rows);
    case "verification_signals":
      return checkSignals(rows);
    case "face_identification":
      return checkFaceIdentification(rows);
    case "final_system":
      return checkFinalSystem(rows);
    default:
      return [];
  }
}

/**
 * Statistical inference for the claim lines of `make tables`: the paired t
 * over replicates, its Bonferroni-adjusted intervals and verdicts, and the
 * power and minimum detectable effect of a line.
 *
 * **The data.** A replicate is one draw of data and initialisation: its own
 * training, held-out, validation and test identities, its own test pairs
 * (10 folds, about 3000 pairs) and its own seed. Each configuration c is
 * trained and scored once per replicate r, giving a fold-averaged accuracy
 * `a[c][r]`. A claim line reduces each replicate to one statistic: a
 * difference `a[A][r] − a[B][r]`, a slope of accuracy against log2(n) over
 * configurations, a difference of a per-model statistic. Those per-replicate
 * statistics are independent and identically distributed draws of what the
 * method does on a fresh data set, so their mean, its standard error
 * sd/√n and Student's t on n − 1 degrees of freedom
 * ({@linkcode replicateMean}) are the whole analysis; the folds enter only
 * through the fold average.
 *
 * **Why the data must be redrawn.** A difference of two configurations on
 * one set of test pairs carries a configuration × test-pairs effect (which
 * pairs happen to suit A more than B; sd τ ≈ 1 point per configuration on
 * ~3000 pairs). When every replicate shares the test pairs, that effect is
 * the same in every replicate: it shifts the estimate but never shows in
 * the spread between replicates, so the t interval is about *these* test
 * pairs, not about the method (the estimate's error has variance
 * 2τ² + σ²/n while the interval's se² only estimates σ²/n, σ the sd of the
 * rest of a per-replicate difference).
 On simulated runs shaped like ours (`inference_test.ts`: τ = 1, training noise 1.25,
 * fold noise ≈ 2 points per fold of which 1.5 is the fold's difficulty
 * shared by all configurations; sd of a per-replicate difference 2.34
 * points) the nominal 95 % interval then covers the method's effect
 * μ_A − μ_B in only 88.6 % of runs with 3 replicates, 77.7 % with 5 and
 * 64.5 % with 8 — more replicates make it worse, since the interval shrinks
 * around a fixed offset. With the test pairs redrawn per replicate the
 * effect is part of the replicate-to-replicate spread, and the same interval
 * covers 95.0 % (3 replicates) and 94.6 % (8), and the m = 3 interval at
 * 1 − α/3 = 98.3 % covers 98.3 % and 98.2 % (4000 runs each, SE 0.3 %).
 * (The former design's hierarchical bootstrap over seeds and folds, the
 * audit found, counted the test-pair noise about 2.4× and covered 99.5 % at
 * a nominal 95 %, losing power, while still never sampling the
 * configuration × test-pairs effect.)
 *
 * **Families and Bonferroni.** A family is one claim of the paper; its m
 * lines (scorers × comparisons, 2–4) share α = 0.05. Each `greater` line is
 * read from its two-sided (1 − α/m) interval — `held` iff the lower end is
 * above 0, `contradicted` iff the upper end is below 0 — and each
 * `equivalent` line (within ±margin, margin fixed in advance) from its
 * (1 − 2α/m) interval by two one-sided tests (TOST) — `held` iff the
 * interval lies inside (−margin, +margin), `contradicted` iff it lies
 * entirely beyond one of them ({@linkcode judgeLine}). Bonferroni rather
 * than Holm because then the printed interval *is* the interval the answer
 * is read from: Holm's step-down levels depend on the other lines' p-values,
 * and no single interval per line matches its answer. Each line's error is
 * at most α/m, so the family's chance of any wrong held/contradicted is at
 * most α. With no true effect the simulated runs answered wrongly in
 * 4.5 % (3 replicates) and 5.2 % (8) of runs for one line — 5 % is exact
 * in expectation — and 4.6 % and 4.8 % for a family of three lines sharing
 * an arm (4000 runs each). An equivalence line (margin ±1 point) was
 * contradicted at a true difference of 0 in 2.6 % / 0.4 % of runs and held
 * at a true 2 points in 0.4 % / 0.1 % (3 / 8 replicates).
 *
 * **Power.** With 3 replicates the t has 2 degrees of freedom and a 95 %
 * interval is ±4.30 standard errors wide, so lines detect only large
 * effects. {@linkcode power} and {@linkcode minimumDetectableEffect} give
 * that exactly from the noncentral t ({@linkcode noncentralTCdf}), at the
 * run's measured sd of the per-replicate statistic. On the simulated runs
 * (sd 2.34 points) a 3-point effect is held in 24.9 % of runs with 3
 * replicates, 57.2 % with 5 and 87.7 % with 8, against `power`'s 25.3 %,
 * 58.3 % and 87.4 %. For an sd of 1.5 points the 80 %-power MDE is
 * 4.90 / 2.52 / 1.73 points at 3 / 5 / 8 replicates when the line is alone
 * (m = 1), 6.94 / 3.08 / 2.01 at m = 2 and 9.82 / 3.72 / 2.30 at m = 4: with 3
 * replicates, splitting α costs far more than with 8. An equivalence line's
 * MDE is the margin it could confirm with 80 % power if the true difference
 * were 0: ±3.99 / ±2.40 / ±1.73 points at m = 1 for the same sd, so a
 * margin of 1 point needs many more replicates or a smaller spread.
 *
 * Units: everything is in the statistic's own units (the claims report
 * accuracy fractions scaled to percentage points).
 *
 * @module
 */

/** A statistic's estimate and its standard error, with the degrees of freedom of its t reference. */
export interface Estimate {
  /** The statistic (e.g. the mean over replicates of a difference). */
  estimate: number;
  /** Its standard error (NaN when it cannot be estimated). */
  se: number;
  /** Degrees of freedom of its t reference (replicates − 1). */
  df: number;
}

/**
 * The mean of per-replicate values of a statistic, its standard error
 * sd/√n and df = n − 1: the paired t over replicates.
 *
 * @param values the statistic in each replicate (one independent draw of
 *   data and initialisation each)
 * @returns the estimate; se and df are NaN and 0 for one value
 * @example
 * ```ts
 * const e = replicateMean([0.02, 0.03, 0.01]); // { estimate: 0.02, se: 0.00577…, df: 2 }
 * ```
 */
export function replicateMean(values: number[]): Estimate {
  const n = values.length;
  if (n === 0) throw new Error("replicateMean: no values");
  const m = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1
    ? Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1))
    : NaN;
  return { estimate: m, se: sd / Math.sqrt(n), df: n - 1 };
}

/**
 * Least-squares slope of `y` against `x`.
 *
 * @param x abscissae (e.g. log2 of the number of identities)
 * @param y ordinates, same length
 * @returns the slope (NaN when every x is equal)
 * @example
 * ```ts
 * slope([0, 1, 2], [1, 3, 5]); // 2
 * ```
 */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxy / sxx;
}

// ---------------------------------------------------------------------------
// Distributions

// Regularised incomplete beta I_x(a, b), by its continued fraction
// (Lentz's method; Numerical Recipes §6.4).
function betacf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - (a + b) * x / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return h;
}

function logGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const g = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (z < 0.5) {
    return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  }
  z -= 1;
  let x = g[0];
  for (let i = 1; i < 9; i++) x += g[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t +
    Math.log(x);
}

function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) +
      b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? front * betacf(a, b, x) / a
    : 1 - front * betacf(b, a, 1 - x) / b;
}

/**
 * Student's t cumulative distribution function.
 *
 * @param t the point
 * @param df degrees of freedom (> 0)
 * @returns P(T ≤ t)
 * @example
 * ```ts
 * tCdf(4.302653, 2); // ≈ 0.975
 * ```
 */
export function tCdf(t: number, df: number): number {
  if (!isFinite(t)) return Number.isNaN(t) ? NaN : t > 0 ? 1 : 0;
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, x);
  return t > 0 ? 1 - tail : tail;
}

// A family judges every line at the same level and df, and a simulation
// judges thousands of runs: the quantile is worth remembering.
const quantileCache = new Map<string, number>();

/**
 * Student's t quantile: the q with `tCdf(q, df) = p` (bracketing, then
 * bisection to machine precision; remembered per (p, df)).
 *
 * @param p probability in (0, 1); 0 and 1 give ∓Infinity
 * @param df degrees of freedom (> 0)
 * @returns the quantile
 * @example
 * ```ts
 * tQuantile(0.975, 2); // ≈ 4.302653
 * ```
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0)) return p === 0 ? -Infinity : NaN;
  if (!(p < 1)) return p === 1 ? Infinity : NaN;
  const key = `${p}|${df}`;
  const known = quantileCache.get(key);
  if (known !== undefined) return known;
  let lo = -1, hi = 1;
  while (tCdf(lo, df) > p) lo *= 2;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const q = (lo + hi) / 2;
  if (quantileCache.size > 4096) quantileCache.clear();
  quantileCache.set(key, q);
  return q;
}

// Standard normal CDF, Φ(x) = erfc(−x/√2)/2, by Numerical Recipes' erfcc
// (fractional error < 1.2e-7 everywhere): ample for power and MDE (~1e-4).
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc = t * Math.exp(
    -z * z - 1.26551223 +
      t * (1.00002368 +
          t * (0.37409196 +
              t * (0.09678418 +
                  t * (-0.18628806 +
                      t * (0.27886807 +
                          t * (-1.13520398 +
                              t *
                                (1.48851587 +
                                  t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/**
 * E[g(W)] for W = S/σ = √(χ²_ν / ν), the sample sd of ν + 1 normal
 * draws in units of the true sd: composite Simpson over W's density
 * f(w) = 2 (ν/2)^{ν/2} / Γ(ν/2) · w^{ν−1} e^{−ν w²/2} on its effective
 * range (±12 of its sd about 1), cut at `upper` (where g has a kink, so the
 * integrand stays smooth). `sharpness` is the largest |dg/dw| scale
 * (e.g. |t| in Φ(t w − δ)): the grid resolves it with ≥ 10 nodes.
 */
function chiExpectation(
  df: number,
  g: (w: number) => number,
  sharpness = 1,
  upper = Infinity,
): number {
  const spread = 12 / Math.sqrt(2 * df);
  const lo = Math.max(0, 1 - spread);
  const hi = Math.min(1 + spread + (df < 3 ? 4 : 0), upper);
  if (!(hi > lo)) return 0;
  const logC = Math.log(2) + (df / 2) * Math.log(df / 2) - logGamma(df / 2);
  const density = (w: number) =>
    w === 0
      ? (df === 1 ? Math.exp(logC) : 0)
      : Math.exp(logC + (df - 1) * Math.log(w) - df * w * w / 2);
  let panels = Math.max(
    2000,
    Math.ceil(10 * Math.max(1, sharpness) * (hi - lo)),
  );
  panels = Math.min(panels + (panels % 2), 400000);
  const h = (hi - lo) / panels;
  let sum = 0;
  for (let i = 0; i <= panels; i++) {
    const w = lo + i * h;
    const k = i === 0 || i === panels ? 1 : i % 2 === 1 ? 4 : 2;
    sum += k * g(w) * density(w);
  }
  return sum * h / 3;
}

/**
 * Noncentral t cumulative distribution function: P(T ≤ t) for
 * T = (Z + ncp) / √(χ²_df / df), computed as E[Φ(t·W − ncp)] over the chi
 * distribution of W (numerical integration, accurate to ~1e-6).
 *
 * @param t the point
 * @param df degrees of freedom (≥ 1)
 * @param ncp noncentrality: the true effect over its standard error
 * @returns the probability (NaN for df < 1)
 * @example
 * ```ts
 * noncentralTCdf(1, 2, 1); // ≈ 0.455746 (scipy.stats.nct.cdf(1, 2, 1))
 * ```
 */
export function noncentralTCdf(t: number, df: number, ncp: number): number {
  if (!(df >= 1) || Number.isNaN(t) || Number.isNaN(ncp)) return NaN;
  if (!isFinite(t)) return t > 0 ? 1 : 0;
  return Math.min(
    1,
    Math.max(0, chiExpectation(df, (w) => normalCdf(t * w - ncp), t)),
  );
}

// ---------------------------------------------------------------------------
// Intervals, p-values and verdicts

/**
 * The two-sided (1 − alpha) t interval of an estimate.
 *
 * @param e the estimate
 * @param alpha the interval's miss rate (default 0.05)
 * @returns [low, high]
 * @example
 * ```ts
 * interval({ estimate: 1, se: 0.5, df: 2 }); // [1 − 4.3027·0.5, 1 + 4.3027·0.5]
 * ```
 */
export function interval(e: Estimate, alpha = 0.05): [number, number] {
  const q = tQuantile(1 - alpha / 2, e.df);
  return [e.estimate - q * e.se, e.estimate + q * e.se];
}

/**
 * Two-sided p-value of estimate = `null0` (t on the estimate's df).
 *
 * @param e the estimate
 * @param null0 the null value (default 0)
 * @returns the p-value (0 when se is 0 and the estimate differs)
 * @example
 * ```ts
 * pTwoSided({ estimate: 4.302653, se: 1, df: 2 }); // ≈ 0.05
 * ```
 */
export function pTwoSided(e: Estimate, null0 = 0): number {
  if (e.se === 0) return e.estimate === null0 ? 1 : 0;
  if (!(e.se > 0)) return NaN;
  const t = Math.abs(e.estimate - null0) / e.se;
  return Math.min(1, 2 * (1 - tCdf(t, e.df)));
}

/** The answer to one claim line. */
export type LineVerdict = "held" | "contradicted" | "inconclusive";

/** What a claim line claims of its statistic. */
export type LineKind = "greater" | "equivalent";

/** How a line is judged: its family's size, level and kind. */
export interface LineOptions {
  /** Lines in the family (Bonferroni divides α by it); default 1. */
  m?: number;
  /** The family's error rate; default 0.05. */
  alpha?: number;
  /** `greater`: the statistic is > 0 (default); `equivalent`: within ±margin. */
  kind?: LineKind;
  /** Equivalence margin (> 0), in the estimate's units; fixed before any run. */
  margin?: number;
}

/** The judgement of one line. */
export interface LineJudgement {
  /** held, contradicted or inconclusive, read off `interval`. */
  verdict: LineVerdict;
  /** The interval the verdict is read from, at `level`. */
  interval: [number, number];
  /** 1 − α/m for `greater`, 1 − 2α/m for `equivalent`. */
  level: number;
  /**
   * Bonferroni-adjusted p-value, min(1, m·p): `greater` — the two-sided p of
   * 0, below α exactly when the verdict is not inconclusive; `equivalent` —
   * TOST's p (the larger one-sided p of the two margins), below α exactly
   * when the verdict is held.
   */
  pAdjusted: number;
  /**
   * `equivalent` only: the adjusted one-sided p that the statistic lies
   * beyond the margin on the estimate's side, below α exactly when the
   * verdict is contradicted.
   */
  pBeyond?: number;
}

/**
 * Judges one line of a family of m lines at family level α by Bonferroni,
 * reading the verdict off the interval it prints.
 *
 * `greater`: the two-sided (1 − α/m) t interval; `held` iff its lower end
 * is > 0, `contradicted` iff its upper end is < 0. `equivalent` (TOST): the
 * (1 − 2α/m) interval; `held` iff it lies inside (−margin, +margin),
 * `contradicted` iff it lies entirely above +margin or below −margin.
 * Either way a line errs with probability at most α/m, the family at most α.
 *
 * @param e the line's estimate (from {@linkcode replicateMean})
 * @param options family size `m`, `alpha`, `kind` and `margin`
 * @returns verdict, interval, level and adjusted p-value(s); an estimate
 *   without a finite se is inconclusive with NaN interval and p
 * @example
 * ```ts
 * const j = judgeLine({ estimate: 0.04, se: 0.005, df: 2 }, { m: 2 });
 * // j.level = 0.975, j.interval ≈ [0.04 ∓ 6.205·0.005], j.verdict = "held"
 * ```
 */
export function judgeLine(
  e: Estimate,
  options: LineOptions = {},
): LineJudgement {
  const m = options.m ?? 1;
  const alpha = options.alpha ?? 0.05;
  const kind = options.kind ?? "greater";
  if (!(m >= 1) || !(alpha > 0 && alpha < 1)) {
    throw new Error(`judgeLine: needs m ≥ 1 and 0 < alpha < 1`);
  }
  const a = alpha / m;
  const equivalence = kind === "equivalent";
  const margin = options.margin ?? NaN;
  if (equivalence && !(margin > 0 && isFinite(margin))) {
    throw new Error("judgeLine: an equivalence line needs a margin > 0");
  }
  const level = equivalence ? 1 - 2 * a : 1 - a;
  if (!(e.se >= 0) || !isFinite(e.se) || !isFinite(e.estimate)) {
    return {
      verdict: "inconclusive",
      interval: [NaN, NaN],
      level,
      pAdjusted: NaN,
      ...(equivalence ? { pBeyond: NaN } : {}),
    };
  }
  // Two-sided at 1 − a, or TOST's two one-sided tests at a each (1 − 2a).
  const q = e.se === 0 ? 0 : tQuantile(1 - (equivalence ? a : a / 2), e.df);
  const ci: [number, number] = [e.estimate - q * e.se, e.estimate + q * e.se];
  if (!equivalence) {
    const verdict = ci[0] > 0
      ? "held"
      : ci[1] < 0
      ? "contradicted"
      : "inconclusive";
    return {
      verdict,
      interval: ci,
      level,
      pAdjusted: Math.min(1, m * pTwoSided(e)),
    };
  }
  const verdict = ci[0] > -margin && ci[1] < margin
    ? "held"
    : ci[0] > margin || ci[1] < -margin
    ? "contradicted"
    : "inconclusive";
  // One-sided p of "statistic ≤ x" (small: it is above x) and its mirror.
  const above = (x: number) =>
    e.se === 0
      ? (e.estimate > x ? 0 : 1)
      : 1 - tCdf((e.estimate - x) / e.se, e.df);
  const below = (x: number) =>
    e.se === 0 ? (e.estimate < x ? 0 : 1) : tCdf((e.estimate - x) / e.se, e.df);
  const pTost = Math.max(above(-margin), below(margin));
  const pBeyond = e.estimate >= 0 ? above(margin) : below(-margin);
  return {
    verdict,
    interval: ci,
    level,
    pAdjusted: Math.min(1, m * pTost),
    pBeyond: Math.min(1, m * pBeyond),
  };
}

// ---------------------------------------------------------------------------
// Power and minimum detectable effect

/**
 * Power of a `greater` line: the probability that its two-sided (1 − α/m)
 * interval lies above 0 when the true effect is `effect` and the
 * per-replicate statistic has sd `sd` — exactly, from the noncentral t:
 * 1 − F(q; n − 1, effect·√n/sd), q the t quantile at 1 − α/(2m).
 *
 * @param effect the true effect (statistic units)
 * @param sd the sd of the per-replicate statistic (same units)
 * @param n replicates
 * @param m lines in the family (default 1)
 * @param alpha family level (default 0.05)
 * @returns the power; NaN for n < 2 or a non-finite sd
 * @example
 * ```ts
 * power(3, 2.34, 8); // ≈ 0.874
 * ```
 */
export function power(
  effect: number,
  sd: number,
  n: number,
  m = 1,
  alpha = 0.05,
): number {
  if (!(n >= 2) || !isFinite(sd) || !(sd >= 0) || !isFinite(effect)) {
    return NaN;
  }
  if (sd === 0) return effect > 0 ? 1 : 0;
  const df = n - 1;
  const q = tQuantile(1 - alpha / (2 * m), df);
  return 1 - noncentralTCdf(q, df, effect * Math.sqrt(n) / sd);
}

/**
 * Power of an `equivalent` line (TOST): the probability that its
 * (1 − 2α/m) interval lies inside (−margin, +margin) when the true
 * difference is `difference` — E over the sample sd of
 * [Φ(k − qW − δ) − Φ(−k + qW − δ)]₊, k = margin·√n/sd, δ = difference·√n/sd.
 *
 * @param margin the equivalence margin (statistic units)
 * @param sd the sd of the per-replicate statistic
 * @param n replicates
 * @param m lines in the family (default 1)
 * @param alpha family level (default 0.05)
 * @param difference the true difference (default 0)
 * @returns the probability of `held`; NaN for n < 2 or a non-finite sd
 * @example
 * ```ts
 * equivalencePower(2, 1.5, 8); // P(held) for margin ±2 when the truth is 0
 * ```
 */
export function equivalencePower(
  margin: number,
  sd: number,
  n: number,
  m = 1,
  alpha = 0.05,
  difference = 0,
): number {
  if (!(n >= 2) || !isFinite(sd) || !(sd >= 0) || !isFinite(margin)) {
    return NaN;
  }
  if (sd === 0) return Math.abs(difference) < margin ? 1 : 0;
  if (!(margin > 0)) return 0;
  const df = n - 1;
  const q = tQuantile(1 - alpha / m, df);
  const k = margin * Math.sqrt(n) / sd;
  const d = difference * Math.sqrt(n) / sd;
  return chiExpectation(
    df,
    (w) => Math.max(0, normalCdf(k - q * w - d) - normalCdf(-k + q * w - d)),
    q,
    k / q,
  );
}

/** What {@linkcode minimumDetectableEffect} needs. */
export interface MdeOptions {
  /** The sd of the per-replicate statistic (statistic units). */
  sd: number;
  /** Replicates. */
  n: number;
  /** Lines in the family (default 1). */
  m?: number;
  /** Family level (default 0.05). */
  alpha?: number;
  /** Power to reach (default 0.8). */
  power?: number;
  /** `greater` (default) or `equivalent`. */
  kind?: LineKind;
}

/**
 * The minimum detectable effect of a line: for `greater`, the smallest
 * true effect whose (1 − α/m) interval lies above 0 with probability
 * `power` ({@linkcode power}); for `equivalent`, the smallest margin that
 * TOST would confirm with probability `power` if the true difference were 0
 * ({@linkcode equivalencePower}). Solved by bisection on the exact power.
 *
 * @param options sd, n, m, alpha, power, kind
 * @returns the effect or margin in the sd's units; NaN for n < 2 or a
 *   non-finite sd; 0 when sd is 0
 * @example
 * ```ts
 * minimumDetectableEffect({ sd: 1.5, n: 5 }); // ≈ 2.52 (points, m = 1, 80 %)
 * ```
 */
export function minimumDetectableEffect(options: MdeOptions): number {
  const { sd, n } = options;
  const m = options.m ?? 1;
  const alpha = options.alpha ?? 0.05;
  const target = options.power ?? 0.8;
  const kind = options.kind ?? "greater";
  if (!(n >= 2) || !isFinite(sd) || !(sd >= 0)) return NaN;
  if (!(target > 0 && target < 1)) {
    throw new Error("minimumDetectableEffect: power must lie in (0, 1)");
  }
  if (sd === 0) return 0;
  const p = kind === "greater"
    ? (x: number) => power(x, sd, n, m, alpha)
    : (x: number) => equivalencePower(x, sd, n, m, alpha, 0);
  let lo = 0, hi = sd;
  while (p(hi) < target) {
    lo = hi;
    hi *= 2;
    if (hi > 1e9 * sd) return Infinity;
  }
  for (let i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (p(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

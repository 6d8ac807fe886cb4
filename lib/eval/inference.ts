/**
 * Statistical inference for paired comparisons of trained models: the
 * intervals and p-values behind every verdict of `make tables`.
 *
 * The data of a comparison are accuracies `[config][seed][fold]`: every
 * configuration trained with the same seeds and scored on the same test
 * pairs, split into the same 10 folds. Two sources of noise enter a
 * difference between configurations: the training run (initialisation and
 * pair sampling: the seed) and the finite test set (which pairs, hence
 * which identities: LFW's folds hold disjoint people, so resampling folds
 * resamples identities in clusters). {@linkcode pairedBootstrap} resamples
 * both, seeds first and then folds within each drawn seed, the same fold
 * draw for every configuration (paired).
 *
 * With the few seeds a CPU run affords (3), a percentile interval of that
 * bootstrap is far too narrow: it treats 3 training runs as the population
 * and uses normal quantiles. So the bootstrap gives the standard error, and
 * the interval and p-value use Student's t with seeds − 1 degrees of
 * freedom, the SE scaled by √(S / (S − 1)) (the bootstrap's plug-in
 * variance of a mean of S is (S − 1)/S of the unbiased one).
 * Resampling folds inside the drawn seeds counts the test-set noise a second
 * time (it is already in the seed-to-seed spread), so the SE errs large:
 * on simulated runs shaped like ours (`inference_test.ts`) it is about 1.4×
 * the SE of a plain t on the seeds' differences, the rule answers "held" or
 * "contradicted" with no effect in well under 5 % of runs, and with 3
 * seeds it finds a 5-point effect about 70 % of the time, a 4-point one
 * about half the time. We keep the conservative side.
 *
 * @module
 */
import { Rng } from "../base/rng.ts";

/** A statistic's estimate and its standard error, with the degrees of freedom of its t reference. */
export interface Estimate {
  estimate: number;
  se: number;
  df: number;
}

/**
 * Hierarchical paired bootstrap of a statistic of per-seed configuration
 * means.
 *
 * @param data accuracies `[config][seed][fold]`; every config has the same
 *   seeds, every seed the same number of folds
 * @param stat the statistic of one seed's configuration means (e.g.
 *   `m => m[0] - m[1]`, or a slope over configs); the estimate is its mean
 *   over seeds
 * @param options `replicates` (default 2000), `seed` of the resampling
 * @returns the estimate, its bootstrap SE (scaled as in the module doc) and
 *   df = seeds − 1
 */
export function pairedBootstrap(
  data: number[][][],
  stat: (means: number[]) => number,
  options: { replicates?: number; seed?: number } = {},
): Estimate {
  const C = data.length;
  const S = data[0]?.length ?? 0;
  if (C === 0 || S === 0) throw new Error("pairedBootstrap: no data");
  const F = data[0][0].length;
  for (const c of data) {
    if (c.length !== S || c.some((s) => s.length !== F)) {
      throw new Error(
        "pairedBootstrap: every configuration needs the same seeds and folds",
      );
    }
  }
  const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const perSeed = (s: number, folds: number[]) =>
    stat(data.map((c) => meanOf(folds.map((f) => c[s][f]))));
  const all = Array.from({ length: F }, (_, f) => f);
  const estimate = meanOf(Array.from({ length: S }, (_, s) => perSeed(s, all)));
  const B = options.replicates ?? 2000;
  const rng = Rng.derive(options.seed ?? 1, "paired-bootstrap");
  const draws = new Float64Array(B);
  const folds = new Array<number>(F);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let k = 0; k < S; k++) {
      const s = rng.int(S);
      for (let f = 0; f < F; f++) folds[f] = rng.int(F);
      sum += perSeed(s, folds);
    }
    draws[b] = sum / S;
  }
  const m = draws.reduce((a, b) => a + b, 0) / B;
  const v = draws.reduce((a, b) => a + (b - m) ** 2, 0) / (B - 1);
  const se = S > 1 ? Math.sqrt(v * S / (S - 1)) : NaN;
  return { estimate, se, df: S - 1 };
}

/** The estimate and SE of a mean of per-seed values (no fold dimension), df = n − 1. */
export function seedMean(values: number[]): Estimate {
  const n = values.length;
  const m = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1
    ? Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1))
    : NaN;
  return { estimate: m, se: sd / Math.sqrt(n), df: n - 1 };
}

/** Least-squares slope of `y` against `x`. */
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

/** Student's t cumulative distribution function with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  if (!isFinite(t)) return t > 0 ? 1 : 0;
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, x);
  return t > 0 ? 1 - tail : tail;
}

/** Student's t quantile: the `q` with `tCdf(q, df) = p` (bisection). */
export function tQuantile(p: number, df: number): number {
  let lo = -1e3, hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The two-sided (1 − alpha) t interval of an estimate. */
export function interval(e: Estimate, alpha = 0.05): [number, number] {
  const q = tQuantile(1 - alpha / 2, e.df);
  return [e.estimate - q * e.se, e.estimate + q * e.se];
}

/** Two-sided p-value of estimate = `null0` (default 0). */
export function pTwoSided(e: Estimate, null0 = 0): number {
  if (!(e.se > 0)) return e.estimate === null0 ? 1 : 0;
  const t = Math.abs(e.estimate - null0) / e.se;
  return Math.min(1, 2 * (1 - tCdf(t, e.df)));
}

/**
 * Equivalence within ±margin, by two one-sided tests (TOST): the p-value
 * that the effect lies inside the margin (small = equivalent), and the
 * two-sided p-value that it lies outside on the side of the estimate
 * (small = not equivalent).
 */
export function equivalenceTests(
  e: Estimate,
  margin: number,
): { pInside: number; pOutside: number } {
  if (!(e.se > 0)) {
    const inside = Math.abs(e.estimate) < margin;
    return { pInside: inside ? 0 : 1, pOutside: inside ? 1 : 0 };
  }
  const pLow = 1 - tCdf((e.estimate + margin) / e.se, e.df);
  const pHigh = tCdf((e.estimate - margin) / e.se, e.df);
  const beyond = Math.abs(e.estimate) - margin;
  const pOutside = beyond > 0
    ? Math.min(1, 2 * (1 - tCdf(beyond / e.se, e.df)))
    : 1;
  return { pInside: Math.max(pLow, pHigh), pOutside };
}

/** Holm's step-down adjustment of p-values (same order as given). */
export function holm(ps: number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}

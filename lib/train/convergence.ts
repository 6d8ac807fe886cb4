/**
 * Whether a training reached its validation plateau, read off its learning
 * curve (`lib/PAPER.md`, "Training to the plateau"): a model is a result
 * only when it stopped learning, not while its validation accuracy is still
 * rising or its softmax is still far from fitted.
 *
 * The rule, for a training of T steps checked on the validation pairs every
 * few steps:
 *
 * - **Plateau.** The gain of the mean validation accuracy over the checks in
 *   the last 10 % of the steps, (0.9 T, T], against the checks in the 10 %
 *   that end at 75 % of training, (0.65 T, 0.75 T], is at most `maxGain`, for
 *   L2 and for cosine scoring and for the better of the two per check. Each
 *   window needs at least `minChecks` checks.
 * - **A fitted softmax** (λ < ∞ only). The last identification loss (summed
 *   over a pair, as logged) is at most `maxIdentFraction` of chance, 2 ln n
 *   for n identities (a uniform softmax on both faces of a pair).
 *
 * Why these thresholds: one check on V validation pairs measures accuracy p
 * with a standard error of √(p(1 − p)/V), 1.6–2.0 points at V = 600. With k
 * checks per window and independent errors, the gain between two windows
 * has a standard error of that times √(2/k): 1.3–1.7 points at k = 3 and
 * 1.0–1.3 at k = 5. The checks reuse the same pairs, so their errors are
 * positively correlated and the true standard error is smaller still. A gain
 * threshold of 2 points is then at least 1.2 standard errors: a model that
 * is flat passes with probability ≥ 88 % (one-sided normal bound) and one
 * still gaining 4 points over its last quarter fails with probability ≥ 88 %
 * too. The softmax threshold, 20 % of chance, is far from noise: the loss is
 * a mean over thousands of training faces.
 *
 * A curve that falls after a peak (verification alone overfits its training
 * pairs) has a negative gain: it stopped rising, and is converged by this
 * rule — its end is where it ended, and the curve shows the fall.
 *
 * @module
 */

/** One validation check of a learning curve. */
export interface CurveCheck {
  step: number;
  /** 10-fold accuracy on the validation pairs, L2 and cosine scoring (fractions). */
  l2: number;
  cosine: number;
  /** Mean `Ident(fi) + Ident(fj)` over the steps since the previous check (NaN or 0 when λ = ∞). */
  identLoss: number;
}

/** The thresholds of the rule; see the module doc for their derivation. */
export interface ConvergenceRule {
  /** Largest gain (fraction: 0.02 = 2 points) of the last window over the earlier one; Infinity: not asked. */
  maxGain: number;
  /** Largest last identification loss as a fraction of chance, 2 ln n; Infinity: not asked. */
  maxIdentFraction: number;
  /** Fewest checks each window must hold for the gain to be read. */
  minChecks: number;
}

/** The rule the quick, full and paper profiles apply. */
export const DEFAULT_RULE: ConvergenceRule = {
  maxGain: 0.02,
  maxIdentFraction: 0.2,
  minChecks: 3,
};

/** The windows of the rule, as fractions of the training's steps: (from, to]. */
export const WINDOWS = {
  early: [0.65, 0.75],
  last: [0.9, 1],
} as const;

/** What the rule found. */
export interface Convergence {
  converged: boolean;
  /** Why not, in words ("" when converged). */
  reason: string;
  /** Gains of the last window over the earlier one (fractions; NaN when a window is short). */
  gain: { l2: number; cosine: number; best: number };
  /** The last identification loss over chance (NaN for λ = ∞). */
  identFraction: number;
}

/**
 * Applies the rule to a learning curve.
 *
 * @param checks the curve, in step order
 * @param options `steps`: the training's length T; `numIdentities`: n of
 *   the softmax (0 = none, λ = ∞); `rule`: the thresholds
 * @returns whether the model converged, why not, and the numbers read
 * @example
 * ```ts
 * const flat = [...Array(20)].map((_, i) => ({
 *   step: 50 * (i + 1), l2: 0.8, cosine: 0.8, identLoss: 1,
 * }));
 * convergence(flat, { steps: 1000, numIdentities: 512 }).converged; // true
 * ```
 */
export function convergence(
  checks: CurveCheck[],
  options: { steps: number; numIdentities: number; rule?: ConvergenceRule },
): Convergence {
  const rule = options.rule ?? DEFAULT_RULE;
  const T = options.steps;
  const inWindow = ([from, to]: readonly [number, number]) =>
    checks.filter((c) => c.step > from * T && c.step <= to * T);
  const early = inWindow(WINDOWS.early), last = inWindow(WINDOWS.last);
  const mean = (cs: CurveCheck[], f: (c: CurveCheck) => number) =>
    cs.reduce((s, c) => s + f(c), 0) / cs.length;
  const short = early.length < rule.minChecks || last.length < rule.minChecks;
  const gainOf = (f: (c: CurveCheck) => number) =>
    short ? NaN : mean(last, f) - mean(early, f);
  const gain = {
    l2: gainOf((c) => c.l2),
    cosine: gainOf((c) => c.cosine),
    best: gainOf((c) => Math.max(c.l2, c.cosine)),
  };
  const reasons: string[] = [];
  const pts = (v: number) => `${(100 * v).toFixed(2)} points`;
  if (rule.maxGain === Infinity) {
    // The plateau is not asked for (the smoke profile's 4-step models).
  } else if (short) {
    reasons.push(
      `the learning curve has ${early.length} and ${last.length} checks in ` +
        `its windows (steps ${WINDOWS.early[0] * T}–${WINDOWS.early[1] * T} ` +
        `and ${WINDOWS.last[0] * T}–${T}); the rule needs ${rule.minChecks} ` +
        `in each (check more often: evalEvery)`,
    );
  } else {
    for (const [name, g] of Object.entries(gain)) {
      if (!(g <= rule.maxGain)) {
        reasons.push(
          `validation accuracy (${
            name === "best" ? "better of L2 and cosine" : name
          }) still rose ${pts(g)} over the last quarter of training ` +
            `(allowed ${pts(rule.maxGain)})`,
        );
      }
    }
  }
  let identFraction = NaN;
  if (options.numIdentities > 0 && rule.maxIdentFraction !== Infinity) {
    const chance = 2 * Math.log(options.numIdentities);
    const lastLoss = checks.at(-1)?.identLoss ?? NaN;
    identFraction = lastLoss / chance;
    if (!(identFraction <= rule.maxIdentFraction)) {
      reasons.push(
        `identification loss ${lastLoss.toFixed(3)} is ` +
          `${(100 * identFraction).toFixed(0)} % of chance (2 ln ` +
          `${options.numIdentities} = ${chance.toFixed(2)}; allowed ` +
          `${(100 * rule.maxIdentFraction).toFixed(0)} %)`,
      );
    }
  }
  return {
    converged: reasons.length === 0,
    reason: reasons.join("; "),
    gain,
    identFraction,
  };
}

/**
 * Table 1 of Sun et al., NIPS 2014: the verification signal compared — L2
 * (Eq. 3), L2+ (only same-identity pairs), L2− (only different-identity
 * pairs), L1, cosine, and none (identification only) — each trained jointly
 * with the identification signal at the same λ.
 *
 * Command: `deno run -A experiments/verification_signals.ts [--profile quick] [--signals=l2,l2+,l2-,l1,cosine,none]`
 *
 * Paper's claim: L2 is best; L2+ is close to it; L2−, L1 and cosine help
 * less. The exact forms of L1 and of L2± and the table's numbers are not
 * confirmed [U] (lib/PAPER.md, "Signals"): see lib/train/losses.ts for the
 * forms used.
 *
 * Our last numbers: results/TABLES.md, results/figures/table1_signals.svg.
 *
 * @module
 */
import { barPlot } from "../lib/report/plot.ts";
import { type Signal, SIGNALS } from "../lib/train/losses.ts";
import type {
  Configuration,
  Experiment,
  RunOutcome,
  SharedContext,
} from "./harness/experiment.ts";
import type { CommonConfig } from "./harness/profiles.ts";
import { mainGuard, openRun } from "./harness/run.ts";
import {
  acc,
  accStd,
  argmax,
  byScorer,
  type ClaimVerdict,
  foldStd,
  maxStd,
  notTested,
  pct,
  points,
  scorerName,
  SIGNAL_NAMES,
  signalOf,
} from "./report/claims.ts";
import {
  compareScorers,
  compareValues,
  type Results,
} from "./report/results.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Signals to compare; `none` = identification only (λ = 0). */
  signals: string[];
}

/** One model per signal, each at the joint λ (`none`: λ = 0). */
function configurations(config: CommonConfig & Config): Configuration[] {
  return config.signals.map((s) => {
    if (s !== "none" && !(SIGNALS as readonly string[]).includes(s)) {
      throw new Error(
        `unknown signal "${s}"; valid: ${SIGNALS.join(", ")}, none`,
      );
    }
    return {
      name: `signal=${s}`,
      lambda: s === "none" ? 0 : config.bestLambda,
      signal: (s === "none" ? "l2" : s) as Signal,
      columns: { signal: s },
    };
  });
}

/** Trains (or loads) one model per signal and scores it. */
export async function main(
  argv: string[],
  shared?: SharedContext,
): Promise<RunOutcome> {
  const run = await openRun(experiment, argv, shared);
  for (const cfg of run.plan(configurations(run.config))) {
    if (await run.isDone(cfg)) continue;
    using model = await run.model(cfg);
    if (await run.skipUnhealthy(cfg, model)) continue; // collapsed or diverged: reported, not scored
    const features = await run.features(model);
    await run.record(cfg, run.score(features));
  }
  return await run.finish();
}

/** L2 best; L2+ within one fold std of it; the others below L2; L2 above none — per scorer. */
function claims(results: Results): ClaimVerdict[] {
  const rows = results.get(experiment.name)?.rows;
  if (!rows) return [];
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
    : [notTested(experiment.paper.claim, "no accuracy rows")];
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "verification_signals",
  paper: {
    title: "Verification signals",
    source: "Table 1",
    claim: "L2 best; L2+ close to it; the others (L2−, L1, cosine) help less",
  },
  defaults: () => ({ signals: ["l2", "l2+", "l2-", "l1", "cosine", "none"] }),
  configurations,
  main,
  claims,
  figures: (ex) => {
    const bars = [...ex.rows]
      .sort((a, b) => compareScorers(a.scorer, b.scorer))
      .filter((r) => !isNaN(acc(r)))
      .sort((a, b) => compareValues(signalOf(a), signalOf(b)))
      .map((r) => ({
        category: SIGNAL_NAMES[signalOf(r)] ?? signalOf(r),
        value: 100 * acc(r),
        err: 100 * accStd(r),
        group: scorerName(r.scorer),
      }));
    if (bars.length === 0) return Promise.resolve([]);
    return Promise.resolve([{
      file: "table1_signals.svg",
      caption: "Table 1: verification signals",
      draw: () =>
        barPlot(bars, {
          title: "Table 1: verification signals (mean ± fold std)",
          yLabel: "LFW-protocol accuracy (%)",
        }),
    }]);
  },
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

/**
 * Table 3 of Sun et al., NIPS 2014: face identification on LFW with the
 * DeepID2 features — closed set (rank-1, one gallery image per identity, the
 * other images as probes) and open set (detection-and-identification rate at
 * FAR = 1 %), following Best-Rowden et al. 2014. The official gallery and
 * probe lists are not public: they are rebuilt from seeds and repeated over
 * several seeds, so the result is a reconstruction of that protocol, not the
 * paper's lists. Joint training at the paper's λ and identification only are
 * compared, each with the L2, cosine and Joint Bayesian scorers.
 *
 * Command: `deno run -A experiments/face_identification.ts [--profile quick] [--gallerySeeds=1,2,3,4,5] [--seeds=1,2,3]`
 *
 * Paper's claim: DeepID2 features are strong for identification too (Table
 * 3); the paper's numbers and list sizes are not confirmed [U]
 * (lib/PAPER.md, "Experiments and claims"), so none are printed.
 *
 * Our last numbers: results/TABLES.md.
 *
 * @module
 */
import {
  evaluateIdentification,
  IDENTIFICATION_PROTOCOL,
} from "../lib/eval/identification.ts";
import type {
  Experiment,
  RunOutcome,
  Scored,
  SharedContext,
} from "./harness/experiment.ts";
import type { CommonConfig } from "./harness/profiles.ts";
import { writeCsv } from "./harness/result_files.ts";
import { lambdaConfigurations, mainGuard, openRun } from "./harness/run.ts";
import {
  arm,
  type ClaimFamily,
  type ClaimLine,
  type ClaimVerdict,
  greaterPerModel,
  lambdaLabel,
  lambdaOf,
  notTested,
  PAPER_SCORERS,
  scorerName,
} from "./report/claims.ts";
import { type ResultRow, type Results, value } from "./report/results.ts";

/** Config of this experiment. */
export interface Config extends Record<string, unknown> {
  /** Seeds of the rebuilt gallery/probe lists. */
  gallerySeeds: number[];
  /** Open-set false accept rate. */
  far: number;
}

/** The joint λ and λ = 0. */
function configurations(config: CommonConfig & Config) {
  return lambdaConfigurations([config.bestLambda, 0]);
}

/** Trains (or loads) both models; verification as everywhere, then closed- and open-set identification. */
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
    const scored = run.score(features);
    const labels = features.data.dataset.test.labels;
    await run.record(cfg, scored, identify(scored, labels, run.config));
  }
  const outcome = await run.finish();
  await writeCmc(outcome.rows, `${run.outDir}/${experiment.name}/cmc.csv`);
  return outcome;
}

/** The ranks of the CMC kept: 1 to 20. */
const CMC_RANKS = 20;

/**
 * The closed-set CMC per configuration and scorer, mean over replicates of
 * each replicate's mean over its gallery lists (`cmc` of the per-replicate
 * rows): `config, scorer, rank, identification_rate`.
 */
async function writeCmc(
  rows: Record<string, unknown>[],
  path: string,
): Promise<void> {
  const sums = new Map<
    string,
    { config: string; scorer: string; v: number[][] }
  >();
  for (const r of rows) {
    if (r.seed === "mean" || !r.cmc) continue;
    const key = `${r.config}\u0000${r.scorer}`;
    const g = sums.get(key) ??
      { config: String(r.config), scorer: String(r.scorer), v: [] };
    g.v.push(String(r.cmc).split(";").map(Number));
    sums.set(key, g);
  }
  const out = [...sums.values()].flatMap((g) =>
    Array.from({ length: CMC_RANKS }, (_, k) => ({
      config: g.config,
      scorer: g.scorer,
      rank: k + 1,
      identification_rate: Number(
        (g.v.reduce((s, c) => s + (c[k] ?? NaN), 0) / g.v.length).toFixed(6),
      ),
      replicates: g.v.length,
    }))
  );
  if (out.length) {
    await writeCsv(path, out, [
      "config",
      "scorer",
      "rank",
      "identification_rate",
      "replicates",
    ]);
  }
}

/** Rank-1 and DIR at the FAR, mean ± std over the rebuilt lists, per scorer. */
function identify(scored: Scored, labels: Int32Array, config: Config) {
  const out = new Map<string, Record<string, string | number>>();
  for (const scorer of scored.scorers) {
    const r = evaluateIdentification(
      {
        labels,
        features: scored.features.test,
        dim: scored.features.dim,
        scorer,
      },
      { seeds: config.gallerySeeds, far: config.far },
    );
    out.set(scorer.name, {
      rank1_mean: Number(r.closed_rank1_mean.toFixed(6)),
      rank1_std: Number(r.closed_rank1_std.toFixed(6)),
      "dir_at_far_1e-2_mean": Number(r.open_dir_mean.toFixed(6)),
      "dir_at_far_1e-2_std": Number(r.open_dir_std.toFixed(6)),
      // Ranks 1-20 of the closed-set CMC, mean over the gallery lists.
      cmc: r.closed_cmc_mean.slice(0, CMC_RANKS).map((v) => v.toFixed(6))
        .join(";"),
      protocol: IDENTIFICATION_PROTOCOL,
    });
  }
  return out;
}

/** Joint features identify better than λ = 0 (and λ = ∞) ones, closed and open set, per scorer. */
function claims(results: Results): ClaimFamily[] {
  const ex = results.get(experiment.name);
  if (!ex) return [];
  const out: (ClaimLine | ClaimVerdict)[] = [];
  const rank1 = { name: "rank1", of: (r: ResultRow) => value(r, "rank1_mean") };
  for (const scorer of PAPER_SCORERS) {
    const group = ex.rows.filter((r) => r.scorer === scorer);
    const joint = group.find((r) => lambdaOf(r) > 0 && isFinite(lambdaOf(r)));
    for (const end of [0, Infinity]) {
      const base = group.find((r) => lambdaOf(r) === end);
      if (!base) continue;
      const claim = `joint features identify better than ${
        lambdaLabel(end)
      } ones: rank-1 (${scorerName(scorer)} scoring)`;
      if (!joint) {
        out.push(notTested(claim, "no intermediate-λ configuration"));
        continue;
      }
      out.push(greaterPerModel(
        claim,
        arm(results, experiment.name, joint.config, scorer),
        arm(results, experiment.name, base.config, scorer),
        rank1,
        `rank-1, ${lambdaLabel(lambdaOf(joint))} − ${lambdaLabel(end)}`,
        { scale: 100, unit: "points" },
      ));
    }
  }
  return [{
    claim: experiment.paper.claim,
    lines: out.length
      ? out
      : [notTested(experiment.paper.claim, "no rank-1 rows")],
  }];
}

/** The protocol line of its TABLES.md section (a reconstruction). */
function protocolNote(rows: ResultRow[]): string {
  const protocol = [
    ...new Set(rows.map((r) => r.fields.protocol ?? "").filter((v) => v)),
  ];
  return `**Protocol:** ${
    protocol.length
      ? protocol.join("; ")
      : "reconstruction of the Best-Rowden et al. 2014 protocol " +
        "(lists not public): gallery and probe lists are built from a seed"
  }.`;
}

/** The experiment. */
export const experiment: Experiment<Config> = {
  name: "face_identification",
  paper: {
    title: "Face identification — reconstruction of the Best-Rowden et al. " +
      "2014 protocol (lists not public)",
    source: "Table 3",
    claim: "DeepID2 features are strong for closed-set (rank-1) and open-set " +
      "(DIR at FAR = 1 %) identification",
  },
  defaults: () => ({ gallerySeeds: [1, 2, 3, 4, 5], far: 0.01 }),
  configurations,
  main,
  claims,
  notes: (ex) => ({ before: [protocolNote(ex.rows)] }),
};

if (import.meta.main) await mainGuard(experiment.name, () => main(Deno.args));

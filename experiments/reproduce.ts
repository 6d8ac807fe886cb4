/**
 * `deno task reproduce [--profile P] [--only a,b] [--jobs N] [--shard i/n] [flags of the experiments]`
 *
 * Runs every experiment (or those named by `--only`) in two phases:
 *
 * 1. training: the distinct models of all selected experiments, each once
 *    (a model is cached by the hash of its training config, so λ = 0 in
 *    identification_only, joint_lambda and verification_signals trains once),
 *    spread over `--jobs` worker processes (default: one per CPU core, at most
 *    2 — the wasm backend uses one thread per process); interrupted trainings
 *    resume from their checkpoints;
 * 2. evaluation: each experiment in order, from the cached models, skipping
 *    configurations whose results exist for the same code and config unless
 *    `--force`; then its figures.
 *
 * One overall progress line per phase. `make reproduce` runs this, then
 * `make tables`. `--shard i/n` restricts every experiment to its configurations
 * i, i+n, ... (for a batch scheduler); `make tables` merges the shards.
 *
 * @module
 */
import { exists } from "../lib/base/io.ts";
import {
  type CommonFlags,
  ensureModel,
  type ExperimentDef,
  FLAG_HELP,
  mainGuard,
  type ModelPlan,
  modelPlan,
  openContext,
  parseFlags,
  resolveConfig,
  runExperiment,
  type RunSpec,
} from "./harness/run.ts";
import { Progress } from "../lib/base/progress.ts";
import { disposeModel } from "../lib/nn/model.ts";
import { writeExperimentFigures, writeTables } from "./tables.ts";

/** Experiment scripts in the order reproduce runs them. */
export const EXPERIMENTS = [
  "identification_only",
  "verification_only",
  "joint_lambda",
  "verification_signals",
  "variance_spectra",
  "identities",
  "face_identification",
] as const;

// deno-lint-ignore no-explicit-any
type AnyDef = ExperimentDef<any>;

async function loadDefs(only: string[] | null): Promise<AnyDef[]> {
  const names = only ?? [...EXPERIMENTS];
  for (const n of names) {
    if (!(EXPERIMENTS as readonly string[]).includes(n)) {
      throw new Error(
        `unknown experiment "${n}"; valid: ${EXPERIMENTS.join(", ")}`,
      );
    }
  }
  const defs: AnyDef[] = [];
  for (const n of names) {
    defs.push((await import(`./${n}.ts`)).experiment as AnyDef);
  }
  return defs;
}

function splitArgs(
  argv: string[],
): {
  only: string[] | null;
  jobs: number | null;
  worker: [number, number] | null;
  rest: string[];
} {
  let only: string[] | null = null;
  let jobs: number | null = null;
  let worker: [number, number] | null = null;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(only|jobs|train-worker)(?:=(.*))?$/.exec(argv[i]);
    if (!m) {
      rest.push(argv[i]);
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new Error(`--${m[1]} needs a value`);
    if (m[1] === "only") {
      only = v.split(",").map((s) => s.trim()).filter(Boolean);
    }
    if (m[1] === "jobs") {
      jobs = Number(v);
      if (!Number.isInteger(jobs) || jobs < 1) {
        throw new Error(`--jobs must be a positive integer, got "${v}"`);
      }
    }
    if (m[1] === "train-worker") {
      const w = /^(\d+)\/(\d+)$/.exec(v);
      if (!w) throw new Error(`--train-worker must be i/n`);
      worker = [Number(w[1]), Number(w[2])];
    }
  }
  return { only, jobs, worker, rest };
}

/** Every distinct training of the selected experiments (this shard only), in a fixed order. */
async function planTrainings(
  defs: AnyDef[],
  flags: CommonFlags,
  ctx: Awaited<ReturnType<typeof openContext>>,
): Promise<{ key: string; plan: ModelPlan; def: AnyDef; run: RunSpec }[]> {
  const seen = new Set<string>();
  const out: { key: string; plan: ModelPlan; def: AnyDef; run: RunSpec }[] = [];
  for (const def of defs) {
    const config = resolveConfig(def, flags);
    const runs = def.runs(config, { dataset: ctx.dataset })
      .filter((_: RunSpec, i: number) => i % flags.shard[1] === flags.shard[0]);
    for (const run of runs) {
      const plan = await modelPlan(run, config, ctx);
      if (seen.has(plan.key)) continue;
      seen.add(plan.key);
      out.push({ key: plan.key, plan, def, run });
    }
  }
  return out;
}

async function main() {
  const t0 = performance.now();
  const { only, jobs, worker, rest } = splitArgs(Deno.args);
  if (rest.includes("--help")) {
    console.log(`deno task reproduce [--only a,b] [--jobs N]\n${FLAG_HELP}`);
    return;
  }
  const flags = parseFlags(rest);
  const defs = await loadDefs(only);
  // Data set once for all experiments (generated on first use).
  const ctx = await openContext(flags, resolveConfig(defs[0], flags));
  const trainings = await planTrainings(defs, flags, ctx);
  const modelPath = (key: string) => `${flags.cacheDir}/models/${key}.model`;

  if (worker) {
    // A training worker: its share of the missing models, quietly.
    const [i, n] = worker;
    for (const [k, t] of trainings.entries()) {
      if (k % n !== i || (!flags.force && await exists(modelPath(t.key)))) {
        continue;
      }
      const { net } = await ensureModel(
        t.plan,
        ctx,
        `${t.def.name} ${t.run.config}`,
      );
      disposeModel(net);
    }
    return;
  }

  // Phase 1: training.
  const missing: typeof trainings = [];
  for (const t of trainings) {
    if (flags.force || !await exists(modelPath(t.key))) missing.push(t);
  }
  const nJobs = Math.max(
    1,
    Math.min(
      jobs ?? Math.min(2, navigator.hardwareConcurrency || 1),
      missing.length,
    ),
  );
  console.error(
    `reproduce: ${defs.length} experiments, ${trainings.length} distinct models, ${missing.length} to train, ${nJobs} job(s), backend ${ctx.backend.name}, profile ${flags.profile}`,
  );
  if (missing.length) {
    const progress = new Progress("reproduce: training", missing.length, {
      unit: "models",
      plainEveryMs: 30_000,
    });
    const self = new URL(import.meta.url).pathname;
    const children = Array.from(
      { length: nJobs },
      (_, i) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            self,
            ...rest.filter((a) => a !== "--quiet"),
            "--quiet",
            `--train-worker=${i}/${nJobs}`,
            ...(only ? [`--only=${only.join(",")}`] : []),
          ],
          stdout: "inherit",
          stderr: "inherit",
        }).spawn(),
    );
    // Workers split the missing models by index; --force makes them retrain everything they own.
    // Workers report nothing (--quiet); the finished model files are the progress.
    const poll = setInterval(async () => {
      let d = 0;
      for (const t of missing) if (await exists(modelPath(t.key))) d++;
      progress.update(d);
    }, 5000);
    const statuses = await Promise.all(children.map((c) => c.status));
    clearInterval(poll);
    if (statuses.some((s) => !s.success)) {
      throw new Error(
        "a training worker failed (see its message above); rerun to resume from the checkpoints",
      );
    }
    progress.finish(missing.length);
  }

  // Phase 2: evaluation, experiment by experiment, from the cached models.
  const progress = new Progress("reproduce: experiments", defs.length, {
    unit: "experiments",
    plainEveryMs: 0,
  });
  for (const [k, def] of defs.entries()) {
    const r = await runExperiment(def, rest, {
      context: ctx,
      forceModels: false,
    });
    await writeExperimentFigures(r.outDir, def.name);
    progress.update(
      k + 1,
      `${def.name}: ${r.ran.length} ran, ${r.skipped.length} skipped`,
    );
  }
  if (flags.out !== "results") {
    // Other profiles' folders get their TABLES.md here (make tables covers results/ and the README).
    await writeTables(flags.out, { readme: "", figures: false });
    console.error(`reproduce: wrote ${flags.out}/TABLES.md`);
  }
  console.error(
    `reproduce: done in ${((performance.now() - t0) / 60000).toFixed(1)} min`,
  );
}

if (import.meta.main) {
  await mainGuard("reproduce", main);
}

/**
 * `deno task reproduce [--only a,b] [--jobs N] [flags of the experiments] [--KEY=VALUE ...]`
 *
 * Runs every experiment (or those named by `--only`) in two phases:
 *
 * 1. training: the distinct models of all selected experiments, each once
 *    (a model is cached by the hash of its training config, so λ = 0 in
 *    identification_only, joint_lambda and verification_signals trains once),
 *    spread over `--jobs` worker processes (default: on wasm one per CPU
 *    core, at most 2 — it uses one thread per process; on TensorFlow one,
 *    which uses every core); interrupted trainings resume from their
 *    checkpoints;
 * 2. evaluation: each experiment's own `main`, in order, from the cached
 *    models, skipping configurations whose results exist for the same code
 *    and config unless `--force`; each draws its figures.
 *
 * A config override (`--lambdas=0,inf`) goes to the selected experiments
 * whose config has that key; it is an error only when none has it. One
 * overall progress line per phase. `make reproduce` runs this, then
 * `make tables`. `--shard i/n` restricts every experiment to its
 * configurations i, i+n, ... (for a batch scheduler); `make tables` merges
 * the shards.
 *
 * @module
 */
import { Progress } from "../lib/base/progress.ts";
import { EXPERIMENTS } from "./all.ts";
import type { AnyExperiment, RunContext } from "./harness/experiment.ts";
import {
  parseRunFlags,
  RUN_FLAGS,
  type RunFlags,
  runUsage,
} from "./harness/flags.ts";
import {
  ensureModel,
  isTrained,
  type ModelPlan,
  modelPlan,
  stepsReached,
} from "./harness/models.ts";
import {
  contextFor,
  mainGuard,
  openContext,
  resolveConfig,
  unitName,
  withSeeds,
} from "./harness/run.ts";
import { writeTables } from "./report/tables.ts";

/** reproduce's own flags, beside the experiments' common ones. */
const REPRODUCE_FLAGS = {
  only: {
    type: "string",
    arg: "a,b",
    help: "run only these experiments (default: all)",
  },
  jobs: {
    type: "integer",
    help:
      "training worker processes (default: wasm one per core, at most 2; tensorflow 1)",
  },
  "train-worker": {
    type: "string",
    arg: "i/n",
    help: "(internal) be training worker i of n",
  },
} as const;

const COMMAND = "deno task reproduce";

function selectExperiments(only: string | undefined): AnyExperiment[] {
  if (only === undefined) return [...EXPERIMENTS];
  const names = only.split(",").map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    const e = EXPERIMENTS.find((x) => x.name === n);
    if (!e) {
      throw new Error(
        `unknown experiment "${n}"; valid: ${
          EXPERIMENTS.map((x) => x.name).join(", ")
        }`,
      );
    }
    return e;
  });
}

/** The config keys an experiment knows (the common ones and its own). */
function configKeys(e: AnyExperiment, flags: RunFlags): Set<string> {
  return new Set(Object.keys(resolveConfig(e, { ...flags, overrides: {} })));
}

/**
 * Each experiment's flags, with only the overrides its config knows. An
 * override that none of them knows is an error.
 */
export function flagsPerExperiment(
  experiments: AnyExperiment[],
  flags: RunFlags,
): Map<AnyExperiment, RunFlags> {
  const keys = new Map(experiments.map((e) => [e, configKeys(e, flags)]));
  for (const k of Object.keys(flags.overrides)) {
    if (![...keys.values()].some((ks) => ks.has(k))) {
      const valid = [...new Set([...keys.values()].flatMap((ks) => [...ks]))];
      throw new Error(
        `unknown config key "${k}" (none of the selected experiments has it); valid keys: ${
          valid.join(", ")
        }`,
      );
    }
  }
  return new Map(experiments.map((e) => [e, {
    ...flags,
    overrides: Object.fromEntries(
      Object.entries(flags.overrides).filter(([k]) => keys.get(e)!.has(k)),
    ),
  }]));
}

/** `argv` without the overrides this experiment's config does not know, and without reproduce's own flags. */
function argvFor(argv: string[], flags: RunFlags): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(argv[i]);
    const name = m?.[1] ?? "";
    if (name in REPRODUCE_FLAGS) {
      if (m?.[2] === undefined) i++; // its value was the next argument
      continue;
    }
    if (m && m[2] !== undefined && !(name in RUN_FLAGS) && name !== "help") {
      if (!(name in flags.overrides)) continue;
    }
    out.push(argv[i]);
  }
  return out;
}

/** A distinct training of the selected experiments. */
interface Training {
  plan: ModelPlan;
  label: string;
  /** Its context: the shared one, or its patch's (the final system). */
  ctx: () => Promise<RunContext>;
}

/** Every distinct training of the selected experiments (this shard only), in a fixed order. */
async function planTrainings(
  perExperiment: Map<AnyExperiment, RunFlags>,
  ctx: RunContext,
): Promise<Training[]> {
  const seen = new Set<string>();
  const out: Training[] = [];
  for (const [e, flags] of perExperiment) {
    const config = resolveConfig(e, flags);
    const [i, n] = flags.shard;
    // The same units, in the same order, as the experiment's own run.plan.
    const mine = withSeeds(e.configurations(config, ctx.dataset), config.seeds)
      .filter((_, k) => k % n === i);
    for (const cfg of mine) {
      if (cfg.combines) continue; // no model of its own
      const plan = await modelPlan(
        cfg,
        config,
        await contextFor(ctx, cfg, config),
      );
      if (seen.has(plan.key)) continue;
      seen.add(plan.key);
      out.push({
        plan,
        label: `${e.name} ${unitName(cfg)}`,
        ctx: () => contextFor(ctx, cfg, config),
      });
    }
  }
  return out;
}

/** Trains the missing models in `jobs` worker processes, with one progress line. */
async function trainInWorkers(
  missing: Training[],
  jobs: number,
  argv: string[],
  flags: RunFlags,
): Promise<void> {
  // Progress in training steps over all workers (each model's learning
  // curve names the last step it reached), so the rate and ETA move from
  // the first minute.
  const total = missing.reduce((s, t) => s + t.plan.train.steps, 0);
  const progress = new Progress("reproduce: training", total, {
    unit: "steps",
    plainEveryMs: 30_000,
  });
  const self = new URL(import.meta.url).pathname;
  const children = Array.from(
    { length: jobs },
    (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          self,
          ...argv.filter((a) => a !== "--quiet"),
          "--quiet",
          `--train-worker=${i}/${jobs}`,
        ],
        stdout: "inherit",
        stderr: "inherit",
      }).spawn(),
  );
  // Workers split the missing models by index; --force makes them retrain everything they own.
  // Workers report nothing (--quiet); the models' curves are the progress.
  const poll = setInterval(async () => {
    let done = 0, models = 0;
    for (const t of missing) {
      const finished = await isTrained(flags.cacheDir, t.plan.key);
      models += finished ? 1 : 0;
      done += finished
        ? t.plan.train.steps
        : await stepsReached(flags.cacheDir, t.plan.key);
    }
    progress.update(done, `${models}/${missing.length} models`);
  }, 5000);
  const statuses = await Promise.all(children.map((c) => c.status));
  clearInterval(poll);
  if (statuses.some((s) => !s.success)) {
    throw new Error(
      "a training worker failed (see its message above); rerun to resume from the checkpoints",
    );
  }
  progress.finish(total);
}

async function main() {
  const t0 = performance.now();
  const argv = Deno.args;
  const flags = parseRunFlags(argv, COMMAND, REPRODUCE_FLAGS);
  if (flags.help) {
    console.log(runUsage(COMMAND, REPRODUCE_FLAGS));
    return;
  }
  const experiments = selectExperiments(flags.extra.only);
  const perExperiment = flagsPerExperiment(experiments, flags);
  // Data set once for all experiments (generated on first use).
  const ctx = await openContext(
    flags,
    resolveConfig(experiments[0], perExperiment.get(experiments[0])!),
  );
  const trainings = await planTrainings(perExperiment, ctx);
  const trained = (t: Training) => isTrained(flags.cacheDir, t.plan.key);

  const worker = flags.extra["train-worker"];
  if (worker !== undefined) {
    // A training worker: its share of the missing models, quietly.
    const w = /^(\d+)\/(\d+)$/.exec(worker);
    if (!w) throw new Error(`--train-worker must be i/n, got "${worker}"`);
    const [i, n] = [Number(w[1]), Number(w[2])];
    for (const [k, t] of trainings.entries()) {
      if (k % n !== i || (!flags.force && await trained(t))) continue;
      using _model = await ensureModel(t.plan, await t.ctx(), t.label);
    }
    return;
  }

  // Phase 1: training.
  if (flags.extra.jobs !== undefined && flags.extra.jobs < 1) {
    throw new Error(
      `--jobs must be a positive integer, got ${flags.extra.jobs}`,
    );
  }
  const missing: Training[] = [];
  for (const t of trainings) {
    if (flags.force || !await trained(t)) missing.push(t);
  }
  // wasm runs one thread per process: one worker per core (at most 2).
  // TensorFlow already uses every core in one process: one worker.
  const cores = navigator.hardwareConcurrency || 1;
  const perBackend = ctx.backend.name === "wasm" ? Math.min(2, cores) : 1;
  const jobs = Math.max(
    1,
    Math.min(flags.extra.jobs ?? perBackend, missing.length),
  );
  console.error(
    `reproduce: ${experiments.length} experiments, ${trainings.length} distinct models, ${missing.length} to train, ${jobs} job(s), backend ${ctx.backend.name}, profile ${flags.profile}`,
  );
  if (missing.length) await trainInWorkers(missing, jobs, argv, flags);

  // Phase 2: evaluation, experiment by experiment, from the cached models.
  const progress = new Progress("reproduce: experiments", experiments.length, {
    unit: "experiments",
    plainEveryMs: 0,
  });
  for (const [k, e] of experiments.entries()) {
    const r = await e.main(argvFor(argv, perExperiment.get(e)!), {
      context: ctx,
      forceModels: false,
    });
    progress.update(
      k + 1,
      `${e.name}: ${r.ran.length} ran, ${r.skipped.length} skipped`,
    );
  }
  if (flags.out !== "results") {
    // Other profiles' folders get their TABLES.md here (make tables covers results/ and the README).
    await writeTables(EXPERIMENTS, flags.out, { readme: "", figures: false });
    console.error(`reproduce: wrote ${flags.out}/TABLES.md`);
  }
  console.error(
    `reproduce: done in ${((performance.now() - t0) / 60000).toFixed(1)} min`,
  );
}

if (import.meta.main) await mainGuard("reproduce", main);

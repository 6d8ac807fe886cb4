/**
 * `deno task reproduce [--only a,b] [--jobs N] [flags of the experiments] [--KEY=VALUE ...]`
 *
 * Runs every experiment (or those named by `--only`) in three phases:
 *
 * 1. data: every replicate's data (on synthetic data each replicate's own
 *    face set, generated on first use) in every crop the trainings need
 *    (the whole face, the final system's patches), cached once;
 * 2. training: the distinct models of all selected experiments, each once
 *    (a model is cached by the hash of its training config and data draw,
 *    so λ = 0 of replicate 1 in identification_only, joint_lambda and
 *    verification_signals trains once), spread over `--jobs` worker
 *    processes (default: on wasm one per CPU core, at most 2 — it uses one
 *    thread per process; on TensorFlow one, which uses every core);
 *    interrupted trainings resume from their checkpoints;
 * 3. evaluation: each experiment's own `main`, in order, from the cached
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
 * For planning and batch schedulers:
 *
 * - `--plan` prints the distinct trainings (index, label, model key, steps,
 *   whether trained) and the expected training time on this host, measured
 *   with a few steps of the network; `--json` as one JSON object. Nothing
 *   is trained or evaluated.
 * - `--units LIST` trains only the trainings with these plan indices
 *   (`0-3,7`), then exits (a Slurm array task).
 * - `--data-only` runs phase 1 and exits (the data job before an array).
 * - `--no-train` runs phase 3 only: units whose models are missing are
 *   listed and left out, never trained.
 * - `--status` lists every plan unit as done, running (its lock's live
 *   holder: pid, host, Slurm job), failed (collapsed, diverged, or
 *   interrupted: a stale lock or a checkpoint with no live holder,
 *   resumable) or missing, with counts (`--json`: one object); it exits 3
 *   while any unit is running, interrupted or missing.
 *
 * Processes sharing a cache (Slurm array tasks: `deno task slurm`,
 * docs/cluster.md) take a lock per replicate's data and per model
 * (`lib/base/lock.ts`, `<cache>/locks/`): a second process that wants the
 * same thing waits for it, then reads it.
 *
 * @module
 */
import { Progress } from "../lib/base/progress.ts";
import { tf } from "../lib/engine/tf.ts";
import { createDeepID2, disposeModel } from "../lib/nn/model.ts";
import type { CropOptions } from "../datasets/types.ts";
import { DEFAULT_TRAIN, lastStep, train } from "../lib/train/train.ts";
import { EXPERIMENTS } from "./all.ts";
import type {
  AnyExperiment,
  RunContext,
  UnitContext,
} from "./harness/experiment.ts";
import {
  parseRunFlags,
  RUN_FLAGS,
  type RunFlags,
  runUsage,
} from "./harness/flags.ts";
import {
  cropFor,
  ensureModel,
  isTrained,
  modelLockName,
  modelPath,
  type ModelPlan,
  modelPlan,
  type StatusFile,
  statusPath,
  stepsReached,
} from "./harness/models.ts";
import { checkLockDir, inspectLock, lockDir } from "../lib/base/lock.ts";
import { exists } from "../lib/base/io.ts";
import {
  dataShape,
  mainGuard,
  openContext,
  resolveConfig,
  unitContext,
  unitName,
  withSeeds,
} from "./harness/run.ts";
import { writeTables } from "./report/tables.ts";

/** reproduce's own flags, beside the experiments' common ones. */
export const REPRODUCE_FLAGS = {
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
  plan: {
    type: "boolean",
    default: false,
    help:
      "print the distinct trainings and the expected time on this host, then exit",
  },
  json: {
    type: "boolean",
    default: false,
    help: "with --plan or --status: one JSON object",
  },
  units: {
    type: "string",
    arg: "LIST",
    help:
      "train only the trainings with these --plan indices (0-3,7), then exit",
  },
  "data-only": {
    type: "boolean",
    default: false,
    help: "prepare every replicate's data and crops, then exit",
  },
  "no-train": {
    type: "boolean",
    default: false,
    help: "evaluate only: list the units whose models are missing, train none",
  },
  status: {
    type: "boolean",
    default: false,
    help:
      "list each plan unit as done, running, failed or missing (exit 3 unless all finished), then exit",
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
      const spec = REPRODUCE_FLAGS[name as keyof typeof REPRODUCE_FLAGS];
      // Its value was the next argument (booleans take none).
      if (m?.[2] === undefined && spec.type !== "boolean") i++;
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
export interface Training {
  plan: ModelPlan;
  /** `joint_lambda lambda=0.05_seed2`: the first unit that asked for it. */
  label: string;
  /** Its data: its replicate's, in its crop. */
  ctx: () => Promise<UnitContext>;
}

/**
 * Every distinct training of the selected experiments (this shard only),
 * in a fixed order: experiment by experiment, replicate by replicate.
 */
export async function planTrainings(
  perExperiment: Map<AnyExperiment, RunFlags>,
  ctx: RunContext,
): Promise<Training[]> {
  const seen = new Set<string>();
  const out: Training[] = [];
  for (const [e, flags] of perExperiment) {
    const config = resolveConfig(e, flags);
    const [i, n] = flags.shard;
    // The same units, in the same order, as the experiment's own run.plan.
    const shape = await dataShape(ctx, config);
    const mine = withSeeds(e.configurations(config, shape), config.seeds)
      .filter((_, k) => k % n === i);
    for (const cfg of mine) {
      if (cfg.combines) continue; // no model of its own
      const unit = await unitContext(ctx, cfg, config);
      const plan = await modelPlan(cfg, config, unit.data, unit.backend.name);
      if (seen.has(plan.key)) continue;
      seen.add(plan.key);
      out.push({
        plan,
        label: `${e.name} ${unitName(cfg)}`,
        ctx: () => unitContext(ctx, cfg, config),
      });
    }
  }
  return out;
}

/**
 * Phase 1: every replicate's data in every crop the selected experiments'
 * trainings need, generated or cropped once into the cache.
 */
async function prepareData(
  perExperiment: Map<AnyExperiment, RunFlags>,
  ctx: RunContext,
): Promise<number> {
  // Per replicate, its whole-face crop and every other crop it needs.
  const wanted = new Map<
    number,
    { whole: CropOptions; crops: Map<string, CropOptions> }
  >();
  for (const [e, flags] of perExperiment) {
    const config = resolveConfig(e, flags);
    const shape = await dataShape(ctx, config);
    for (const seed of config.seeds) {
      const w = wanted.get(seed) ??
        { whole: cropFor({}, config), crops: new Map() };
      for (const cfg of e.configurations(config, shape)) {
        const crop = cropFor(cfg, config);
        w.crops.set(JSON.stringify(crop), crop);
      }
      wanted.set(seed, w);
    }
  }
  let count = 0;
  for (
    const [seed, { whole, crops }] of [...wanted].sort((a, b) => a[0] - b[0])
  ) {
    // The whole face first, the patches' caches built in the same pass.
    const others = [...crops.values()].filter((c) =>
      JSON.stringify(c) !== JSON.stringify(whole)
    );
    await ctx.data(seed, whole, others);
    for (const crop of others) await ctx.data(seed, crop);
    count += 1 + others.length;
  }
  return count;
}

/** Parses `0-3,7` into plan indices, each below `count`. */
export function parseUnits(text: string, count: number): number[] {
  const out = new Set<number>();
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) {
      throw new Error(`--units: "${part}" is not an index or a range a-b`);
    }
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`--units: empty range "${part}"`);
    for (let k = a; k <= b; k++) {
      if (k >= count) {
        throw new Error(
          `--units: index ${k} is past the plan's ${count} trainings (0-${
            count - 1
          }; see --plan)`,
        );
      }
      out.add(k);
    }
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Training steps per second of the network on this host and backend, from
 * a few timed steps of a fresh network of the plan's first model (batch and
 * softmax size of the plan), after a warm-up; validation checks add to it.
 */
async function measuredStepsPerSecond(
  plan: ModelPlan,
  ctx: RunContext,
): Promise<number> {
  const [h, w, c] = plan.model.inputShape;
  const n = Math.max(2, plan.model.numIdentities);
  const net = createDeepID2(plan.model, 1, { paths: ctx.backend.paths });
  const per = h * w * c, count = 8 * n;
  const images = new Uint8Array(count * per).map((_, i) => (i * 37) % 251);
  const labels = Int32Array.from({ length: count }, (_, i) => i % n);
  const data = { images, shape: [h, w, c] as [number, number, number], labels };
  const cfg = {
    ...DEFAULT_TRAIN,
    ...plan.train,
    checkpointEvery: 0,
    seed: 1,
  };
  try {
    await train(net, data, { ...cfg, steps: 3 }, { progressLabel: null });
    const t0 = performance.now();
    const steps = 12;
    await train(net, data, { ...cfg, steps }, { progressLabel: null });
    return steps / ((performance.now() - t0) / 1000);
  } finally {
    disposeModel(net);
  }
}

function minutes(s: number): string {
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

/** `--plan`: the trainings, which are done, and the expected time. */
async function printPlan(
  ctx: RunContext,
  trainings: Training[],
  flags: RunFlags & { extra: { json: boolean } },
  experiments: AnyExperiment[],
): Promise<void> {
  const rows = [];
  for (const [k, t] of trainings.entries()) {
    rows.push({
      evalEvery: t.plan.evalEvery,
      index: k,
      label: t.label,
      model: t.plan.key,
      replicate: t.plan.seed,
      steps: t.plan.train.steps,
      max_steps: lastStep(t.plan.train),
      batch: 2 * t.plan.train.pairsPerBatch,
      trained: await isTrained(flags.cacheDir, t.plan.key),
    });
  }
  const missing = rows.filter((r) => !r.trained);
  const rate = trainings.length
    ? await measuredStepsPerSecond(trainings[0].plan, ctx)
    : NaN;
  // A validation check every evalEvery steps costs about as much as a few
  // training steps (one forward pass over the validation faces).
  const steps = missing.reduce((s, r) => s + r.steps, 0);
  const checks = missing.reduce((s, r) => s + r.steps / r.evalEvery, 0);
  const seconds = (steps + 3 * checks) / rate;
  // Every model still improving at `steps` may go on up to `maxSteps`.
  const most = missing.reduce((s, r) => s + r.max_steps, 0);
  const mostSeconds = most * (1 + 3 / (trainings[0]?.plan.evalEvery ?? 1)) /
    rate;
  const summary = {
    profile: flags.profile,
    backend: tf.getBackend(),
    experiments: experiments.map((e) => e.name),
    trainings: rows.length,
    to_train: missing.length,
    steps_to_train: steps,
    steps_per_second: Number(rate.toFixed(2)),
    expected_training_s: Math.round(seconds),
    max_steps_to_train: most,
    at_most_training_s: Math.round(mostSeconds),
    cpu: cpuModel(),
  };
  if (flags.extra.json) {
    console.log(JSON.stringify({ ...summary, units: rows }));
    return;
  }
  for (const r of rows) {
    console.log(
      `${String(r.index).padStart(4)}  ${
        r.trained ? "done   " : "missing"
      }  ${r.model}  ${r.steps} steps × ${r.batch}  ${r.label}`,
    );
  }
  console.log(
    `reproduce --plan: ${rows.length} distinct trainings of ${experiments.length} experiments (profile ${flags.profile}), ${missing.length} to train: ${steps} steps; this host (${summary.cpu}, backend ${summary.backend}) runs ${
      rate.toFixed(1)
    } steps/s, so about ${
      minutes(seconds)
    } of training (validation checks included; data preparation and evaluation not)${
      most > steps
        ? `, and at most ${
          minutes(mostSeconds)
        } if every model still improving went on to maxSteps (${most} steps)`
        : ""
    }`,
  );
}

/** One plan unit as `--status` sees it. */
export interface UnitStatus {
  index: number;
  label: string;
  model: string;
  /** failed = collapsed, diverged or interrupted. */
  state: "done" | "running" | "failed" | "missing";
  /** ok, still improving, collapsed, diverged, interrupted; running: the holder. */
  detail: string;
  /** The last step of its learning curve (0: none yet). */
  step: number;
  steps: number;
}

/** `--status`: each unit's state in the cache (module doc); whether all finished. */
async function printStatus(
  trainings: Training[],
  flags: RunFlags & { extra: { json: boolean } },
): Promise<boolean> {
  const cache = flags.cacheDir;
  const units: UnitStatus[] = [];
  for (const [index, t] of trainings.entries()) {
    const key = t.plan.key;
    const head = {
      index,
      label: t.label,
      model: key,
      step: await stepsReached(cache, key),
      steps: t.plan.train.steps,
    };
    const statusFile = statusPath(cache, key);
    if (await exists(statusFile)) {
      const s = JSON.parse(await Deno.readTextFile(statusFile)) as StatusFile;
      const bad = s.status === "collapsed" || s.status === "diverged";
      units.push({
        ...head,
        state: bad ? "failed" : "done",
        detail: s.reason ? `${s.status}: ${s.reason}` : s.status,
      });
      continue;
    }
    const lock = await inspectLock(cache, modelLockName(key));
    const ckpt = await exists(
      modelPath(cache, key).replace(/\.model$/, ".ckpt"),
    );
    const at = `learning curve at step ${head.step}/${head.steps}`;
    if (lock.state === "held") {
      units.push({
        ...head,
        state: "running",
        detail: `${lock.holder}; ${at}`,
      });
    } else if (lock.state === "stale" || ckpt) {
      units.push({
        ...head,
        state: "failed",
        detail: `interrupted, resumable (${
          ckpt ? `checkpoint; ${at}` : "no checkpoint yet: restarts"
        }${lock.state === "stale" ? `; ${lock.why}` : ""})`,
      });
    } else {
      units.push({ ...head, state: "missing", detail: "" });
    }
  }
  const count = (f: (u: UnitStatus) => boolean) => units.filter(f).length;
  const failedAs = (w: string) =>
    count((u) => u.state === "failed" && u.detail.startsWith(w));
  const counts = {
    done: count((u) => u.state === "done"),
    running: count((u) => u.state === "running"),
    failed: count((u) => u.state === "failed"),
    missing: count((u) => u.state === "missing"),
    collapsed: failedAs("collapsed"),
    diverged: failedAs("diverged"),
    interrupted: failedAs("interrupted"),
  };
  const finished = counts.running + counts.missing + counts.interrupted === 0;
  if (flags.extra.json) {
    console.log(JSON.stringify({
      profile: flags.profile,
      cache,
      units: units.length,
      ...counts,
      finished,
      list: units,
    }));
    return finished;
  }
  for (const u of units) {
    console.log(
      `${String(u.index).padStart(4)}  ${
        u.state.padEnd(7)
      }  ${u.model}  ${u.label}${u.detail ? `  — ${u.detail}` : ""}`,
    );
  }
  const why = [
    counts.collapsed && `${counts.collapsed} collapsed`,
    counts.diverged && `${counts.diverged} diverged`,
    counts.interrupted && `${counts.interrupted} interrupted, resumable`,
  ].filter(Boolean).join(", ");
  console.log(
    `reproduce --status: ${units.length} units (profile ${flags.profile}, cache ${cache}): ${counts.done} done, ${counts.running} running, ${counts.failed} failed${
      why ? ` (${why})` : ""
    }, ${counts.missing} missing`,
  );
  return finished;
}

function cpuModel(): string {
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    return /model name\s*:\s*(.*)/.exec(text)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
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
  // A model still improving at `steps` goes on (up to `maxSteps`): the
  // total grows by the steps it took beyond.
  let grown = total;
  const poll = setInterval(async () => {
    let done = 0, models = 0, extra = 0;
    for (const t of missing) {
      const finished = await isTrained(flags.cacheDir, t.plan.key);
      const reached = await stepsReached(flags.cacheDir, t.plan.key);
      models += finished ? 1 : 0;
      done += finished ? Math.max(reached, t.plan.train.steps) : reached;
      extra += Math.max(0, reached - t.plan.train.steps);
    }
    if (total + extra !== grown) progress.setTotal(grown = total + extra);
    progress.update(done, `${models}/${missing.length} models`);
  }, 5000);
  const statuses = await Promise.all(children.map((c) => c.status));
  clearInterval(poll);
  if (statuses.some((s) => !s.success)) {
    throw new Error(
      "a training worker failed (see its message above); rerun to resume from the checkpoints",
    );
  }
  progress.finish(grown);
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
  // [lock] Locks need exclusive create and rename in the cache: said now.
  await checkLockDir(lockDir(flags.cacheDir));
  const ctx = await openContext(
    flags,
    resolveConfig(experiments[0], perExperiment.get(experiments[0])!),
  );

  // Phase 1: data (generated and cropped on first use).
  const tData = performance.now();
  const crops = await prepareData(perExperiment, ctx);
  if (flags.extra["data-only"]) {
    console.error(
      `reproduce: ${crops} replicate crops ready in ${flags.cacheDir} (${
        ((performance.now() - tData) / 1000).toFixed(0)
      } s)`,
    );
    return;
  }
  const trainings = await planTrainings(perExperiment, ctx);
  const trained = (t: Training) => isTrained(flags.cacheDir, t.plan.key);
  if (flags.extra.plan) {
    await printPlan(ctx, trainings, flags, experiments);
    return;
  }
  if (flags.extra.status) {
    // Exit 3 while units are running, interrupted or missing (a job's check).
    if (!await printStatus(trainings, flags)) Deno.exit(3);
    return;
  }

  const worker = flags.extra["train-worker"];
  if (worker !== undefined || flags.extra.units !== undefined) {
    // A training worker, or a batch task: its share of the missing models.
    let mine: number[];
    if (worker !== undefined) {
      const w = /^(\d+)\/(\d+)$/.exec(worker);
      if (!w) throw new Error(`--train-worker must be i/n, got "${worker}"`);
      const [i, n] = [Number(w[1]), Number(w[2])];
      mine = trainings.map((_, k) => k).filter((k) => k % n === i);
    } else {
      mine = parseUnits(flags.extra.units!, trainings.length);
    }
    for (const k of mine) {
      const t = trainings[k];
      if (!flags.force && await trained(t)) continue;
      using _model = await ensureModel(t.plan, await t.ctx(), t.label);
    }
    return;
  }

  // Phase 2: training.
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
  const noTrain = flags.extra["no-train"];
  console.error(
    `reproduce: ${experiments.length} experiments, ${trainings.length} distinct models, ${missing.length} ${
      noTrain ? "missing (--no-train: not trained)" : "to train"
    }, ${jobs} job(s), backend ${ctx.backend.name}, profile ${flags.profile}`,
  );
  if (missing.length && !noTrain) {
    await trainInWorkers(missing, jobs, argv, flags);
  }

  // Phase 3: evaluation, experiment by experiment, from the cached models.
  const progress = new Progress("reproduce: experiments", experiments.length, {
    unit: "experiments",
    plainEveryMs: 0,
  });
  for (const [k, e] of experiments.entries()) {
    const r = await e.main(argvFor(argv, perExperiment.get(e)!), {
      context: ctx,
      forceModels: false,
      trainMissing: !noTrain,
    });
    progress.update(
      k + 1,
      `${e.name}: ${r.ran.length} ran, ${r.skipped.length} skipped${
        r.missing.length ? `, ${r.missing.length} missing` : ""
      }`,
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

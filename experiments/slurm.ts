/**
 * `deno task slurm [flags of reproduce] [--KEY=VALUE ...] [slurm flags] [-- SBATCH OPTIONS]`
 *
 * Turns a run of `deno task reproduce` into three Slurm jobs (docs/cluster.md):
 *
 * 1. `data.sh`: `reproduce --data-only` (every replicate's data and crops
 *    into the cache); on success it writes the marker
 *    `<cache>/slurm/<name>-<hash>.data-ok`;
 * 2. `train.sh`: a job array, `--dependency=afterok:<data>`; task t trains
 *    the plan's units tK .. tK+K-1 (`reproduce --units a-b`, K =
 *    `--units-per-task`), after checking the data marker (no marker: it
 *    fails at once, naming the data job). Only the tasks with units still
 *    to train are in the array; `--array-parallel N` runs at most N at once;
 * 3. `eval.sh`: `--dependency=afterany:<array>`; `reproduce --no-train`
 *    (the results of every unit that has its models), `deno task tables`,
 *    then `reproduce --status`: it exits non-zero, after writing what it
 *    could, when units are missing, naming them.
 *
 * The plan (how many units) comes from `deno task reproduce ... --plan
 * --json` run here with the same flags (it prepares the data into the
 * cache, as every plan does: the units depend on it), or from
 * `--plan-json FILE`, such a plan saved before (e.g. on a GPU node when this
 * host has no GPU); which units are done is read from the cache either way.
 *
 * The scripts, and a `submit.sh` that submits them in order, go to `--dir`
 * (default `<out>/slurm/`), logs to `<dir>/logs/`. By default they are
 * printed with the sbatch commands; `--submit` submits them (`sbatch
 * --parsable`) and prints the job ids. Every option after `--` goes to
 * sbatch for all three jobs, as `#SBATCH` lines (`-- --account=lab
 * --mem=32G`). Tasks set their threads (`DEEPID2_KERNEL_THREADS`,
 * `DEEPID2_WASM_THREADS`, `TF_NUM_INTRAOP_THREADS`, `OMP_NUM_THREADS`) to
 * the CPUs Slurm gave them, unless set already.
 *
 * Resuming a half-finished array: `sbatch <dir>/train.sh` again (units done
 * are skipped; interrupted ones resume from their checkpoints; a unit
 * whose lock a live task holds is waited for, not trained twice), then
 * `sbatch <dir>/eval.sh`; `deno task reproduce ... --status` says where
 * each unit stands.
 *
 * @module
 */
import { resolve } from "node:path";
import { exists } from "../lib/base/io.ts";
import { parseRunFlags, type RunFlags, runUsage } from "./harness/flags.ts";
import { statusPath } from "./harness/models.ts";
import { mainGuard } from "./harness/run.ts";

/** slurm's own flags, beside reproduce's. */
export const SLURM_FLAGS = {
  only: {
    type: "string",
    arg: "a,b",
    help: "run only these experiments (default: all)",
  },
  partition: { type: "string", help: "sbatch --partition of every job" },
  gres: {
    type: "string",
    arg: "SPEC",
    help: "sbatch --gres of every job (gpu:1 for --backend tensorflow-gpu)",
  },
  time: {
    type: "string",
    arg: "D-HH:MM:SS",
    help: "sbatch --time of each training task",
  },
  "data-time": {
    type: "string",
    arg: "D-HH:MM:SS",
    help: "sbatch --time of the data job (default --time)",
  },
  "eval-time": {
    type: "string",
    arg: "D-HH:MM:SS",
    help: "sbatch --time of the evaluation job (default --time)",
  },
  "cpus-per-task": {
    type: "integer",
    help: "sbatch --cpus-per-task of every job (also the threads a task runs)",
  },
  "array-parallel": {
    type: "integer",
    arg: "N",
    help: "at most N training tasks at once (the array's %N)",
  },
  "units-per-task": {
    type: "integer",
    default: 1,
    arg: "K",
    help: "plan units (trainings) per array task",
  },
  "job-name": {
    type: "string",
    arg: "NAME",
    help: "job name prefix (default deepid2-<profile>)",
  },
  dir: {
    type: "string",
    arg: "DIR",
    help: "where the scripts go (default <out>/slurm/)",
  },
  "plan-json": {
    type: "string",
    arg: "FILE",
    help:
      "the plan from `reproduce ... --plan --json > FILE` (default: run it now)",
  },
  submit: {
    type: "boolean",
    default: false,
    help: "submit the jobs in order and print their ids",
  },
} as const;

const COMMAND = "deno task slurm";
const REPO = resolve(new URL("..", import.meta.url).pathname);

/** What the scripts are made from. */
export interface SlurmSetup {
  flags: RunFlags;
  /** reproduce's arguments for every job (absolute paths). */
  reproduceArgs: string[];
  /** `<dir>`, absolute. */
  dir: string;
  name: string;
  /** The data job's success marker. */
  marker: string;
  partition?: string;
  gres?: string;
  time?: string;
  dataTime?: string;
  evalTime?: string;
  cpusPerTask?: number;
  arrayParallel?: number;
  unitsPerTask: number;
  planJson?: string;
  submit: boolean;
  /** Options after `--`, for sbatch. */
  sbatch: string[];
  /** The deno binary the jobs run. */
  deno: string;
  repo: string;
}

/** The plan as `reproduce --plan --json` prints it (the fields used here). */
export interface PlanJson {
  profile: string;
  trainings: number;
  units: { index: number; model: string; label: string; steps: number }[];
}

/** Parses slurm's command line: reproduce's flags, slurm's, overrides, and the sbatch options after `--`. */
export async function parseSlurmArgs(argv: string[]): Promise<SlurmSetup> {
  const cut = argv.indexOf("--");
  const own = cut < 0 ? argv : argv.slice(0, cut);
  const sbatch = cut < 0 ? [] : argv.slice(cut + 1);
  const flags = parseRunFlags(own, COMMAND, SLURM_FLAGS);
  if (flags.help) {
    console.log(
      runUsage(COMMAND, SLURM_FLAGS) +
        "\n  -- OPTIONS   every later option goes to sbatch, for all three jobs",
    );
    Deno.exit(0);
  }
  const x = flags.extra;
  if (flags.shard[1] !== 1) {
    throw new Error(
      "--shard: the array splits the work itself (--units-per-task); give no shard",
    );
  }
  if (flags.force) {
    throw new Error(
      "--force does not fit a resubmittable array (every resubmission would retrain): use a fresh --cache, or delete the models to retrain from <cache>/models/",
    );
  }
  if (x["units-per-task"] < 1) {
    throw new Error(
      `--units-per-task must be at least 1, got ${x["units-per-task"]}`,
    );
  }
  if (x["array-parallel"] !== undefined && x["array-parallel"] < 1) {
    throw new Error(
      `--array-parallel must be at least 1, got ${x["array-parallel"]}`,
    );
  }
  const abs = (p: string) => resolve(Deno.cwd(), p);
  const cache = abs(flags.cacheDir);
  const out = abs(flags.out);
  const data = flags.data === "synth" ? "synth" : abs(flags.data);
  const reproduceArgs = [
    "--profile",
    flags.profile,
    "--backend",
    flags.backend,
    "--data",
    data,
    "--cache",
    cache,
    "--out",
    out,
    ...(x.only !== undefined ? ["--only", x.only] : []),
    ...(flags.resume ? [] : ["--resume=false"]),
    ...(flags.quiet ? ["--quiet"] : []),
    ...(flags.skipMissing ? ["--skip-missing"] : []),
    ...(flags.skipBadImages ? ["--skip-bad-images"] : []),
    ...Object.entries(flags.overrides).map(([k, v]) => `--${k}=${v}`),
  ];
  const name = x["job-name"] ?? `deepid2-${flags.profile}`;
  if (!/^[A-Za-z0-9_.+-]+$/.test(name)) {
    throw new Error(`--job-name: letters, digits and _.+- only, got "${name}"`);
  }
  const runKey = await shortHash(reproduceArgs.join("\0"));
  return {
    flags: { ...flags, cacheDir: cache, out },
    reproduceArgs,
    dir: abs(x.dir ?? `${out}/slurm`),
    name,
    marker: `${cache}/slurm/${name}-${runKey}.data-ok`,
    partition: x.partition,
    gres: x.gres,
    time: x.time,
    dataTime: x["data-time"] ?? x.time,
    evalTime: x["eval-time"] ?? x.time,
    cpusPerTask: x["cpus-per-task"],
    arrayParallel: x["array-parallel"],
    unitsPerTask: x["units-per-task"],
    planJson: x["plan-json"] === undefined ? undefined : abs(x["plan-json"]),
    submit: x.submit,
    sbatch,
    deno: Deno.execPath(),
    repo: REPO,
  };
}

async function shortHash(text: string): Promise<string> {
  const buf = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(buf).slice(0, 4),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A word for bash: as is when safe, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)
    ? s
    : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Index lists as Slurm writes them: `0-3,5,7-9`. */
export function compressRanges(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The array tasks: task t trains units tK .. min(tK+K-1, n-1). */
export function taskUnits(
  t: number,
  k: number,
  n: number,
): [number, number] {
  return [t * k, Math.min(t * k + k - 1, n - 1)];
}

/** The tasks (of ceil(n/K)) that have a unit still to train. */
export function tasksToRun(
  missing: number[],
  k: number,
): number[] {
  return [...new Set(missing.map((u) => Math.floor(u / k)))].sort((a, b) =>
    a - b
  );
}

/** sbatch's `--array` value: the tasks, and `%N`. */
export function arraySpec(tasks: number[], parallel?: number): string {
  return compressRanges(tasks) + (parallel ? `%${parallel}` : "");
}

/** `#SBATCH` lines of options given after `--` (an option and the words after it on one line). */
function passThroughLines(opts: string[]): string[] {
  const lines: string[][] = [];
  for (const o of opts) {
    if (o.startsWith("-") || lines.length === 0) lines.push([o]);
    else lines[lines.length - 1].push(o);
  }
  return lines.map((l) => `#SBATCH ${l.map(shellQuote).join(" ")}`);
}

/** The three job scripts and submit.sh. */
export interface Scripts {
  data: string;
  train: string | null;
  eval: string;
  submit: string;
}

/** Builds the scripts for a plan of `n` units of which `missing` are to train. */
export function buildScripts(
  s: SlurmSetup,
  n: number,
  missing: number[],
): Scripts {
  const q = shellQuote;
  const args = s.reproduceArgs.map(q).join(" ");
  const reproduce = `"$DENO" run -A experiments/reproduce.ts ${args}`;
  const logs = `${s.dir}/logs`;
  const header = (
    job: string,
    time: string | undefined,
    extra: string[] = [],
    output = `${logs}/%x-%j.out`,
  ) =>
    [
      "#!/bin/bash",
      `#SBATCH --job-name=${s.name}-${job}`,
      `#SBATCH --output=${q(output)}`,
      ...extra,
      ...(s.partition ? [`#SBATCH --partition=${q(s.partition)}`] : []),
      ...(s.gres ? [`#SBATCH --gres=${q(s.gres)}`] : []),
      ...(time ? [`#SBATCH --time=${q(time)}`] : []),
      ...(s.cpusPerTask ? [`#SBATCH --cpus-per-task=${s.cpusPerTask}`] : []),
      ...passThroughLines(s.sbatch),
    ].join("\n");
  const prelude = [
    `cd ${q(s.repo)}`,
    `DENO=${q(s.deno)}`,
    "# A task's threads: the CPUs Slurm gave it (a setting made before wins).",
    'if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then',
    "  n=$SLURM_CPUS_PER_TASK",
    '  export DEEPID2_KERNEL_THREADS="${DEEPID2_KERNEL_THREADS:-$n}"',
    '  export DEEPID2_WASM_THREADS="${DEEPID2_WASM_THREADS:-$(( n < 8 ? n : 8 ))}"',
    '  export TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-$n}"',
    '  export TF_NUM_INTEROP_THREADS="${TF_NUM_INTEROP_THREADS:-1}"',
    '  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$n}"',
    "fi",
    'echo "${SLURM_JOB_NAME:-deepid2}: job ${SLURM_JOB_ID:-?} on $(hostname), $(date -Is)"',
  ].join("\n");
  const marker = q(s.marker);
  const data = [
    header("data", s.dataTime),
    `# deepid2: the data of \`deno task reproduce ${args}\``,
    "# (every replicate's data and crops), then the marker the training tasks check.",
    "set -euo pipefail",
    prelude,
    `rm -f ${marker}`,
    `${reproduce} --data-only`,
    `mkdir -p ${q(s.marker.slice(0, s.marker.lastIndexOf("/")))}`,
    `printf '{"job": "%s", "host": "%s", "date": "%s"}\\n' "\${SLURM_JOB_ID:-}" "$(hostname)" "$(date -Is)" > ${marker}.tmp`,
    `mv ${marker}.tmp ${marker}`,
    "",
  ].join("\n");
  const k = s.unitsPerTask;
  const tasks = tasksToRun(missing, k);
  const total = Math.ceil(n / k);
  const train = tasks.length === 0 ? null : [
    header(
      "train",
      s.time,
      [`#SBATCH --array=${arraySpec(tasks, s.arrayParallel)}`],
      `${logs}/%x-%A_%a.out`,
    ),
    `# deepid2: the trainings of \`deno task reproduce ${args}\`:`,
    `# ${n} plan units, ${k} per task (task t: units ${k}t .. ${k}t+${
      k - 1
    }), ${total} tasks;`,
    `# the array lists the ${tasks.length} with units to train when it was written.`,
    "# Resubmit it to finish a half-done array (`sbatch --array=3 train.sh`: one task):",
    "# units done are skipped, interrupted ones resume from their checkpoints.",
    "set -euo pipefail",
    prelude,
    `if [ ! -f ${marker} ]; then`,
    `  echo "${s.name}-train \${SLURM_ARRAY_JOB_ID:-}_\${SLURM_ARRAY_TASK_ID:-}: the data job (${s.name}-data, ${
      q(s.dir)
    }/data.sh; its log: ${
      q(logs)
    }/${s.name}-data-<job id>.out) has not finished successfully: ${marker} is missing. Submit ${
      q(s.dir)
    }/data.sh (or ${q(s.dir)}/submit.sh) first." >&2`,
    "  exit 1",
    "fi",
    'task="${SLURM_ARRAY_TASK_ID:?a Slurm array job: sbatch --array=... train.sh}"',
    `first=$(( task * ${k} ))`,
    `last=$(( first + ${k - 1} ))`,
    `if [ "$last" -gt ${n - 1} ]; then last=${n - 1}; fi`,
    `if [ "$first" -gt ${
      n - 1
    } ]; then echo "task $task: past the plan's ${n} units" >&2; exit 1; fi`,
    'echo "units $first-$last"',
    `exec ${reproduce} --units "$first-$last"`,
    "",
  ].join("\n");
  const status = `${reproduce} --status`;
  const evalScript = [
    header("eval", s.evalTime),
    `# deepid2: the evaluation of \`deno task reproduce ${args}\`:`,
    "# results of every unit whose models exist, the tables, then which units are missing",
    "# (non-zero exit when any are, after writing what it could).",
    "set -uo pipefail",
    prelude,
    "rc=0",
    `${reproduce} --no-train || rc=$?`,
    `"$DENO" run -A experiments/tables.ts --results ${
      q(s.flags.out)
    } --readme '' || rc=$?`,
    `if ! ${status}; then`,
    `  echo "${s.name}-eval: units above are not finished (missing, interrupted or running): their rows are not in ${
      q(s.flags.out)
    }. Resubmit ${
      q(s.dir)
    }/train.sh (units done are skipped, interrupted ones resume), then ${
      q(s.dir)
    }/eval.sh." >&2`,
    '  if [ "$rc" -eq 0 ]; then rc=3; fi',
    "fi",
    'exit "$rc"',
    "",
  ].join("\n");
  const submit = [
    "#!/bin/bash",
    "# Submits the run in order: data, the training array after it, the evaluation after the array.",
    "set -euo pipefail",
    `rm -f ${marker}`,
    `data=$(sbatch --parsable ${q(s.dir)}/data.sh); data=\${data%%;*}`,
    ...(train
      ? [
        `train=$(sbatch --parsable --dependency=afterok:$data ${
          q(s.dir)
        }/train.sh); train=\${train%%;*}`,
        `eval=$(sbatch --parsable --dependency=afterany:$train ${
          q(s.dir)
        }/eval.sh); eval=\${eval%%;*}`,
        'echo "data job $data, training array $train, evaluation job $eval"',
      ]
      : [
        `eval=$(sbatch --parsable --dependency=afterok:$data ${
          q(s.dir)
        }/eval.sh); eval=\${eval%%;*}`,
        'echo "data job $data, evaluation job $eval (no training left)"',
      ]),
    "",
  ].join("\n");
  return { data, train, eval: evalScript, submit };
}

/** The plan: from `--plan-json`, or from `reproduce --plan --json` run now. */
async function readPlan(s: SlurmSetup): Promise<PlanJson> {
  let text: string;
  if (s.planJson) {
    text = await Deno.readTextFile(s.planJson);
  } else {
    console.error(
      `slurm: the plan: deno task reproduce ${
        s.reproduceArgs.join(" ")
      } --plan --json`,
    );
    const o = await new Deno.Command(s.deno, {
      args: [
        "run",
        "-A",
        `${s.repo}/experiments/reproduce.ts`,
        ...s.reproduceArgs,
        "--plan",
        "--json",
      ],
      cwd: s.repo,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!o.success) {
      throw new Error(
        "reproduce --plan failed (its message is above); fix that, or give --plan-json FILE from `deno task reproduce ... --plan --json > FILE` run where it works",
      );
    }
    text = new TextDecoder().decode(o.stdout);
  }
  const line = text.split("\n").reverse().find((l) => l.startsWith("{"));
  let plan: PlanJson;
  try {
    plan = JSON.parse(line ?? "") as PlanJson;
  } catch {
    throw new Error(
      `${
        s.planJson ?? "reproduce --plan --json"
      }: no plan JSON (a line with {"trainings": ..., "units": [...]})`,
    );
  }
  if (!Array.isArray(plan.units) || plan.units.length !== plan.trainings) {
    throw new Error(
      `${
        s.planJson ?? "reproduce --plan --json"
      }: not a plan (units and trainings disagree)`,
    );
  }
  if (plan.profile !== s.flags.profile) {
    throw new Error(
      `${s.planJson}: a plan of profile ${plan.profile}, not ${s.flags.profile}`,
    );
  }
  return plan;
}

/** The first executable `name` on PATH, or null. */
export function findOnPath(name: string): string | null {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!d) continue;
    try {
      const st = Deno.statSync(`${d}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111)) return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why `--submit` cannot run without sbatch, and what to do instead. */
export const NO_SBATCH =
  "sbatch is not on PATH: --submit needs Slurm's client commands. Install Slurm " +
  "(Debian/Ubuntu: apt-get install slurm-wlm munge; `make slurm-test` sets up " +
  "a one-node cluster on this machine), or submit the scripts written without " +
  "--submit on a host that has sbatch, or run without a scheduler: " +
  "`deno task reproduce --units a-b` (plan indices, see --plan) or " +
  "`--shard i/n` on each machine, sharing one --cache";

/** Submits a script with sbatch --parsable; its job id. */
async function sbatch(args: string[]): Promise<string> {
  const o = await new Deno.Command("sbatch", {
    args: ["--parsable", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(o.stdout).trim();
  if (!o.success) {
    throw new Error(
      `sbatch ${args.join(" ")} failed: ${
        new TextDecoder().decode(o.stderr).trim() || `exit ${o.code}`
      }`,
    );
  }
  const id = out.split("\n").at(-1)!.split(";")[0].trim();
  if (!/^\d+$/.test(id)) {
    throw new Error(`sbatch ${args.join(" ")}: no job id in "${out}"`);
  }
  return id;
}

async function main() {
  const s = await parseSlurmArgs(Deno.args);
  if (s.submit && !findOnPath("sbatch")) throw new Error(NO_SBATCH);
  const plan = await readPlan(s);
  const n = plan.units.length;
  if (n === 0) throw new Error("the plan has no trainings");
  // Done = its status file in this run's cache (not what the plan's cache said).
  const missing: number[] = [];
  for (const u of plan.units) {
    if (!await exists(statusPath(s.flags.cacheDir, u.model))) {
      missing.push(u.index);
    }
  }
  const scripts = buildScripts(s, n, missing);
  await Deno.mkdir(`${s.dir}/logs`, { recursive: true });
  const files: [string, string | null][] = [
    ["data.sh", scripts.data],
    ["train.sh", scripts.train],
    ["eval.sh", scripts.eval],
    ["submit.sh", scripts.submit],
  ];
  for (const [f, text] of files) {
    if (text === null) {
      await Deno.remove(`${s.dir}/${f}`).catch(() => {});
      continue;
    }
    await Deno.writeTextFile(`${s.dir}/${f}`, text, { mode: 0o755 });
    await Deno.chmod(`${s.dir}/${f}`, 0o755);
  }
  const k = s.unitsPerTask;
  const tasks = tasksToRun(missing, k);
  const summary =
    `slurm: ${n} plan units (profile ${s.flags.profile}), ${missing.length} to train: ` +
    (tasks.length
      ? `${tasks.length} array tasks of ${k} unit(s)${
        s.arrayParallel ? `, at most ${s.arrayParallel} at once` : ""
      }`
      : "no training job");
  const status = `deno task reproduce ${
    s.reproduceArgs.map(shellQuote).join(" ")
  } --status`;
  if (!s.submit) {
    for (const [f, text] of files) {
      if (text === null) continue;
      console.log(`==> ${s.dir}/${f} <==\n${text}`);
    }
    console.log(summary);
    console.log(
      `slurm: wrote ${s.dir}/{${
        files.filter(([, t]) => t !== null).map(([f]) => f).join(",")
      }}; submit with\n  bash ${s.dir}/submit.sh\nor by hand:\n  data=$(sbatch --parsable ${s.dir}/data.sh)\n` +
        (scripts.train
          ? `  train=$(sbatch --parsable --dependency=afterok:$data ${s.dir}/train.sh)\n  sbatch --parsable --dependency=afterany:$train ${s.dir}/eval.sh`
          : `  sbatch --parsable --dependency=afterok:$data ${s.dir}/eval.sh`) +
        `\nprogress: ${status}`,
    );
    return;
  }
  // A marker of an earlier data job must not let this run's tasks start after a failed one.
  await Deno.remove(s.marker).catch(() => {});
  const data = await sbatch([`${s.dir}/data.sh`]);
  let train: string | undefined;
  if (scripts.train) {
    train = await sbatch([
      `--dependency=afterok:${data}`,
      `${s.dir}/train.sh`,
    ]);
  }
  const evalJob = await sbatch([
    `--dependency=${train ? `afterany:${train}` : `afterok:${data}`}`,
    `${s.dir}/eval.sh`,
  ]);
  console.error(summary);
  console.log(
    `slurm: submitted data job ${data}, ${
      train ? `training array ${train}, ` : ""
    }evaluation job ${evalJob}; logs in ${s.dir}/logs/`,
  );
  console.log(
    JSON.stringify({ data, train: train ?? null, eval: evalJob, dir: s.dir }),
  );
  console.error(`slurm: progress: ${status}`);
}

if (import.meta.main) await mainGuard("slurm", main);

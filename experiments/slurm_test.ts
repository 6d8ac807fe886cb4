/**
 * `deno task slurm` without a Slurm: the scripts it writes (dependencies,
 * array ranges, throttle, pass-through), `--submit` against a fake sbatch
 * that records its arguments, the error without sbatch; and `reproduce
 * --status` on a small smoke cache. `make slurm-test` runs the real thing.
 */
import assertStrict from "node:assert/strict";
import { lockPath } from "../lib/base/lock.ts";
import {
  arraySpec,
  buildScripts,
  compressRanges,
  parseSlurmArgs,
  shellQuote,
  tasksToRun,
  taskUnits,
} from "./slurm.ts";

const SLURM = new URL("./slurm.ts", import.meta.url).pathname;
const REPRODUCE = new URL("./reproduce.ts", import.meta.url).pathname;
const tmp = await Deno.makeTempDir({ prefix: "deepid2-slurm-" });

/** A plan as `reproduce --plan --json` prints it, of `n` units. */
function fakePlan(n: number): string {
  const units = Array.from({ length: n }, (_, index) => ({
    index,
    label: `joint_lambda lambda=${index}_seed1`,
    model: `model${String(index).padStart(2, "0")}`,
    steps: 4,
    trained: false,
  }));
  return JSON.stringify({ profile: "smoke", trainings: n, units }) + "\n";
}

async function run(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: o.code, stdout: dec(o.stdout), stderr: dec(o.stderr) };
}

Deno.test("slurm: ranges, tasks and quoting", () => {
  assertStrict.equal(compressRanges([0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
  assertStrict.equal(compressRanges([4]), "4");
  assertStrict.deepEqual(taskUnits(0, 5, 24), [0, 4]);
  assertStrict.deepEqual(taskUnits(4, 5, 24), [20, 23]);
  // Units 0, 1 (task 0), 7 (task 3), 8 (task 4), 23 (task 11).
  assertStrict.deepEqual(tasksToRun([0, 1, 7, 8, 23], 2), [0, 3, 4, 11]);
  assertStrict.equal(arraySpec([0, 3, 4, 11], 2), "0,3-4,11%2");
  assertStrict.equal(arraySpec([0, 1, 2]), "0-2");
  assertStrict.equal(shellQuote("/a/b-c"), "/a/b-c");
  assertStrict.equal(shellQuote("a b"), "'a b'");
  assertStrict.equal(shellQuote("it's"), `'it'\\''s'`);
});

Deno.test("slurm: the scripts: data, then the array (afterok), then the evaluation (afterany); flags and pass-through as #SBATCH lines", async () => {
  const s = await parseSlurmArgs([
    "--profile",
    "smoke",
    "--backend",
    "wasm",
    "--cache",
    `${tmp}/c`,
    "--out",
    `${tmp}/o`,
    "--only",
    "joint_lambda",
    "--partition",
    "gpu",
    "--gres",
    "gpu:1",
    "--time",
    "02:00:00",
    "--eval-time",
    "00:30:00",
    "--cpus-per-task=4",
    "--array-parallel",
    "3",
    "--units-per-task",
    "5",
    "--steps=20",
    "--",
    "--account=lab",
    "-q",
    "high",
  ]);
  assertStrict.equal(s.dir, `${tmp}/o/slurm`);
  assertStrict.match(
    s.marker,
    new RegExp(`^${tmp}/c/slurm/deepid2-smoke-[0-9a-f]{8}\\.data-ok$`),
  );
  const sc = buildScripts(s, 24, Array.from({ length: 24 }, (_, i) => i));
  const train = sc.train!;
  // Five units a task: tasks 0-4, at most 3 at once; the last task stops at unit 23.
  assertStrict.match(train, /^#SBATCH --array=0-4%3$/m);
  assertStrict.match(train, /^first=\$\(\( task \* 5 \)\)$/m);
  assertStrict.match(train, /^if \[ "\$last" -gt 23 \]; then last=23; fi$/m);
  assertStrict.match(train, /--units "\$first-\$last"$/m);
  assertStrict.match(
    train,
    /^#SBATCH --output=.*\/o\/slurm\/logs\/%x-%A_%a\.out$/m,
  );
  for (const text of [sc.data, train, sc.eval]) {
    assertStrict.match(text, /^#SBATCH --partition=gpu$/m);
    assertStrict.match(text, /^#SBATCH --gres=gpu:1$/m);
    assertStrict.match(text, /^#SBATCH --cpus-per-task=4$/m);
    assertStrict.match(text, /^#SBATCH --account=lab$/m);
    assertStrict.match(text, /^#SBATCH -q high$/m);
    assertStrict.match(
      text,
      /experiments\/reproduce\.ts --profile smoke --backend wasm --data synth --cache \S+\/c --out \S+\/o --only joint_lambda --steps=20/,
    );
  }
  assertStrict.match(sc.data, /^#SBATCH --time=02:00:00$/m);
  assertStrict.match(sc.eval, /^#SBATCH --time=00:30:00$/m);
  assertStrict.match(sc.data, / --data-only$/m);
  assertStrict.ok(sc.data.includes(`mv ${s.marker}.tmp ${s.marker}`));
  // The array task checks the data job's marker first.
  assertStrict.ok(train.includes(`if [ ! -f ${s.marker} ]; then`));
  assertStrict.match(sc.eval, / --no-train \|\| rc=\$\?$/m);
  assertStrict.match(
    sc.eval,
    /experiments\/tables\.ts --results \S+\/o --readme ''/,
  );
  assertStrict.match(sc.eval, / --status; then$/m);
  assertStrict.match(sc.submit, /--dependency=afterok:\$data \S+\/train\.sh/);
  assertStrict.match(sc.submit, /--dependency=afterany:\$train \S+\/eval\.sh/);
  // Only tasks with units to train; none: no array, the evaluation after the data.
  assertStrict.match(
    buildScripts(s, 24, [3, 22]).train!,
    /^#SBATCH --array=0,4%3$/m,
  );
  const none = buildScripts(s, 24, []);
  assertStrict.equal(none.train, null);
  assertStrict.match(none.submit, /--dependency=afterok:\$data \S+\/eval\.sh/);
  // Every script is valid bash.
  for (const [name, text] of Object.entries(sc)) {
    await Deno.writeTextFile(`${tmp}/${name}.sh`, text!);
    const o = await new Deno.Command("bash", {
      args: ["-n", `${tmp}/${name}.sh`],
    })
      .output();
    assertStrict.ok(o.success, name);
  }
  await assertStrict.rejects(
    () => parseSlurmArgs(["--profile", "smoke", "--shard", "0/2"]),
    /--shard: the array splits the work itself/,
  );
  await assertStrict.rejects(
    () => parseSlurmArgs(["--profile", "smoke", "--force"]),
    /--force does not fit/,
  );
});

Deno.test("slurm: --submit submits in order with the parsed job ids (a fake sbatch); the array task fails fast without the data job's marker", async () => {
  const bin = `${tmp}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  const calls = `${tmp}/sbatch-calls`;
  // Records each call's arguments, prints ids 100, 101, ...; the first in the "id;cluster" form.
  await Deno.writeTextFile(
    `${bin}/sbatch`,
    `#!/bin/bash
n=$(( $(cat ${calls} 2>/dev/null | wc -l) + 100 ))
echo "$*" >> ${calls}
if [ $n -eq 100 ]; then echo "$n;cluster"; else echo "$n"; fi
`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(`${tmp}/plan.json`, fakePlan(7));
  // Unit 2 is trained already: task 1 (units 2-3) still has unit 3.
  await Deno.mkdir(`${tmp}/c2/models`, { recursive: true });
  await Deno.writeTextFile(`${tmp}/c2/models/model02.status.json`, "{}");
  await Deno.writeTextFile(`${tmp}/c2/models/model04.status.json`, "{}");
  await Deno.writeTextFile(`${tmp}/c2/models/model05.status.json`, "{}");
  const args = [
    "--profile",
    "smoke",
    "--backend",
    "wasm",
    "--cache",
    `${tmp}/c2`,
    "--out",
    `${tmp}/o2`,
    "--dir",
    `${tmp}/jobs`,
    "--plan-json",
    `${tmp}/plan.json`,
    "--units-per-task=2",
    "--submit",
  ];
  const r = await run(SLURM, args, { PATH: `${bin}:${Deno.env.get("PATH")}` });
  assertStrict.equal(r.code, 0, r.stderr);
  const lines = (await Deno.readTextFile(calls)).trim().split("\n");
  assertStrict.deepEqual(lines, [
    `--parsable ${tmp}/jobs/data.sh`,
    `--parsable --dependency=afterok:100 ${tmp}/jobs/train.sh`,
    `--parsable --dependency=afterany:101 ${tmp}/jobs/eval.sh`,
  ]);
  assertStrict.match(
    r.stdout,
    /submitted data job 100, training array 101, evaluation job 102/,
  );
  assertStrict.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), {
    data: "100",
    train: "101",
    eval: "102",
    dir: `${tmp}/jobs`,
  });
  // Tasks 0 (units 0-1), 1 (unit 3), 3 (unit 6); task 2 (units 4-5) is done.
  const train = await Deno.readTextFile(`${tmp}/jobs/train.sh`);
  assertStrict.match(train, /^#SBATCH --array=0-1,3$/m);
  assertStrict.match(
    r.stderr,
    /7 plan units \(profile smoke\), 4 to train: 3 array tasks of 2 unit\(s\)/,
  );

  // Outside a finished data job the task stops at once, naming it.
  const o = await new Deno.Command("bash", {
    args: [`${tmp}/jobs/train.sh`],
    env: { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_JOB_ID: "101" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertStrict.equal(o.code, 1);
  assertStrict.match(
    new TextDecoder().decode(o.stderr),
    /deepid2-smoke-train 101_0: the data job \(deepid2-smoke-data, \S+\/data\.sh; its log: .*\) has not finished successfully: \S+\.data-ok is missing/,
  );

  // Without --submit: the scripts and the commands, printed.
  const p = await run(SLURM, args.filter((a) => a !== "--submit"), {
    PATH: "/nonexistent",
  });
  assertStrict.equal(p.code, 0, p.stderr);
  assertStrict.match(p.stdout, /==> \S+\/jobs\/train\.sh <==\n#!\/bin\/bash/);
  assertStrict.match(
    p.stdout,
    /train=\$\(sbatch --parsable --dependency=afterok:\$data \S+\/train\.sh\)/,
  );
});

Deno.test("slurm: --submit without sbatch says how to install Slurm or run without it", async () => {
  const r = await run(SLURM, [
    "--profile",
    "smoke",
    "--plan-json",
    `${tmp}/none.json`,
    "--submit",
  ], { PATH: "/nonexistent" });
  assertStrict.equal(r.code, 1);
  assertStrict.match(r.stderr, /sbatch is not on PATH/);
  assertStrict.match(r.stderr, /apt-get install slurm-wlm munge/);
  assertStrict.match(r.stderr, /--units a-b.*--shard i\/n/);
});

Deno.test({
  name:
    "reproduce --status: done, running (a live lock), interrupted (a dead holder), diverged; exit 3 until all finished",
  async fn() {
    const cache = `${tmp}/status-cache`;
    const common = [
      "--profile",
      "smoke",
      "--backend",
      "wasm",
      "--quiet",
      "--cache",
      cache,
      "--out",
      `${tmp}/status-out`,
      "--only",
      "identification_only",
    ];
    const trained = await run(REPRODUCE, [...common, "--units", "0"]);
    assertStrict.equal(trained.code, 0, trained.stderr);
    const plan = JSON.parse(
      (await run(REPRODUCE, [...common, "--plan", "--json"])).stdout,
    );
    const key = plan.units[1].model as string;
    // Unit 1 held by this (live) process.
    await Deno.mkdir(`${cache}/locks`, { recursive: true });
    const info = (pid: number) =>
      JSON.stringify({
        pid,
        host: Deno.hostname(),
        slurm_job_id: "41_3",
        started: "2025-01-01T00:00:00.000Z",
        heartbeat: "2025-01-01T00:00:00.000Z",
        label: "test",
        pid_start: null,
        token: "t",
      });
    await Deno.writeTextFile(lockPath(cache, `model-${key}`), info(Deno.pid));
    const live = await run(REPRODUCE, [...common, "--status"]);
    assertStrict.equal(live.code, 3, live.stderr);
    assertStrict.match(
      live.stdout,
      /^ {3}0 {2}done {5}\S+ {2}identification_only lambda=0_seed1 {2}— ok$/m,
    );
    assertStrict.match(
      live.stdout,
      new RegExp(
        `^   1  running  ${key}  identification_only lambda=0_seed2  — pid ${Deno.pid} on host \\S+ \\(Slurm job 41_3\\)`,
        "m",
      ),
    );
    assertStrict.match(
      live.stdout,
      /2 units \(profile smoke, cache \S+\): 1 done, 1 running, 0 failed, 0 missing$/m,
    );
    // Its holder gone, with a checkpoint: interrupted, resumable.
    const p = new Deno.Command("true").spawn();
    await p.status;
    await Deno.writeTextFile(lockPath(cache, `model-${key}`), info(p.pid));
    await Deno.writeTextFile(`${cache}/models/${key}.ckpt`, "");
    const stale = await run(REPRODUCE, [...common, "--status", "--json"]);
    assertStrict.equal(stale.code, 3);
    const js = JSON.parse(stale.stdout);
    assertStrict.equal(js.failed, 1);
    assertStrict.equal(js.interrupted, 1);
    assertStrict.equal(js.finished, false);
    assertStrict.match(
      js.list[1].detail,
      new RegExp(
        `^interrupted, resumable \\(checkpoint; learning curve at step 0/4; pid ${p.pid} on this host is gone\\)$`,
      ),
    );
    // Diverged: failed, but finished (a result of its own: no accuracy).
    await Deno.writeTextFile(
      `${cache}/models/${key}.status.json`,
      JSON.stringify({
        status: "diverged",
        reason: "loss NaN at step 3",
        step: 3,
      }),
    );
    const done = await run(REPRODUCE, [...common, "--status"]);
    assertStrict.equal(done.code, 0, done.stderr);
    assertStrict.match(
      done.stdout,
      /failed {3}\S+ {2}identification_only lambda=0_seed2 {2}— diverged: loss NaN at step 3$/m,
    );
    assertStrict.match(
      done.stdout,
      /1 done, 0 running, 1 failed \(1 diverged\), 0 missing$/m,
    );
  },
});

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(tmp, { recursive: true });
  } catch {
    // already gone
  }
});

/**
 * Acceptance tests: every experiment in the smoke profile, on the tiny
 * synthetic set, in-process; then reproduce, shards and resumption as a
 * user runs them.
 */
import assertStrict from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { exists } from "../lib/base/io.ts";
import { EXPERIMENTS } from "./all.ts";
import { parseRunFlags } from "./harness/flags.ts";
import { MEAN_SEED, RESULT_COLUMNS } from "./harness/result_files.ts";
import { CURVE_COLUMNS, modelPlan } from "./harness/models.ts";
import { PROFILE_DEFAULTS } from "./harness/profiles.ts";
import {
  dataShape,
  openContext,
  resolveConfig,
  unitContext,
} from "./harness/run.ts";
import { experiment as jointLambda } from "./joint_lambda.ts";
import { flagsPerExperiment } from "./reproduce.ts";
import { experiment as verificationSignals } from "./verification_signals.ts";

const tmp = await Deno.makeTempDir({ prefix: "deepid2-exp-" });
const cache = `${tmp}/cache`;
const common = [
  "--profile",
  "smoke",
  "--backend",
  "wasm",
  "--quiet",
  "--cache",
  cache,
];

async function readCsv(path: string): Promise<Record<string, string>[]> {
  return parse(await Deno.readTextFile(path), { columns: true }) as Record<
    string,
    string
  >[];
}

/** Per-seed rows and the mean-over-seeds rows of a results CSV. */
function splitRows(rows: Record<string, string>[]) {
  return {
    seedRows: rows.filter((r) => r.seed !== MEAN_SEED),
    meanRows: rows.filter((r) => r.seed === MEAN_SEED),
  };
}

const SMOKE_SEEDS = PROFILE_DEFAULTS.smoke.seeds.map(String);

for (const def of EXPERIMENTS) {
  const name = def.name;
  Deno.test(`${name} (smoke): complete, well-formed results; a rerun skips them`, async () => {
    const out = `${tmp}/results`;
    const r = await def.main([...common, "--out", out]);
    assertStrict.ok(r.ran.length > 0, "ran something");
    const rows = await readCsv(`${out}/${name}.csv`);
    const { seedRows, meanRows } = splitRows(rows);
    const configs = [...new Set(seedRows.map((x) => x.config))];
    // One unit per (configuration, seed): what ran, by name.
    assertStrict.deepEqual(
      [...r.ran].sort(),
      configs.flatMap((c) => SMOKE_SEEDS.map((s) => `${c}_seed${s}`)).sort(),
    );
    assertStrict.equal(
      seedRows.length,
      r.ran.length * 3,
      "one row per (config, scorer, seed)",
    );
    assertStrict.equal(
      meanRows.length,
      configs.length * 3,
      "one mean row per (config, scorer)",
    );
    assertStrict.deepEqual(
      rows.slice(seedRows.length).map((x) => x.seed),
      meanRows.map(() => MEAN_SEED),
      "the mean rows come after the per-seed rows",
    );
    for (const col of [...RESULT_COLUMNS, "fold_accuracy", "seeds_ok"]) {
      assertStrict.ok(col in rows[0], `column ${col}`);
    }
    for (const row of rows) {
      assertStrict.equal(row.experiment, name);
      assertStrict.ok(["l2", "cosine", "joint_bayesian"].includes(row.scorer));
      const acc = Number(row.accuracy_mean);
      assertStrict.ok(acc >= 0 && acc <= 1, `accuracy ${acc}`);
      assertStrict.ok(Number(row.auc) >= 0 && Number(row.auc) <= 1);
      assertStrict.equal(row.profile, "smoke");
      assertStrict.equal(row.backend, "wasm");
    }
    for (const row of seedRows) {
      assertStrict.ok(SMOKE_SEEDS.includes(row.seed), `seed ${row.seed}`);
      const roc = await readCsv(
        `${out}/roc/${name}/${row.config}_seed${row.seed}_${row.scorer}.csv`,
      );
      assertStrict.deepEqual(Object.keys(roc[0]), ["fpr", "tpr", "threshold"]);
      // The fold accuracies: those of the unit's key file, averaging to the row's.
      const folds = row.fold_accuracy.split(";").map(Number);
      const unit = JSON.parse(
        await Deno.readTextFile(
          `${out}/${name}/${row.config}_seed${row.seed}.json`,
        ),
      );
      assertStrict.deepEqual(
        folds,
        unit.folds[row.scorer].map((f: { accuracy: number }) => f.accuracy),
      );
      assertStrict.ok(folds.length >= 2, "fold accuracies");
      // Each replicate is its own draw of data: its unit names it.
      assertStrict.equal(unit.replicate, Number(row.seed));
      assertStrict.equal(unit.data_draw.synth_seed, Number(row.seed));
      assertStrict.match(unit.data_draw.data_key, /^[0-9a-f]{16}$/);
      assertStrict.equal(row.model, unit.model);
      const mean = folds.reduce((a, b) => a + b, 0) / folds.length;
      assertStrict.ok(
        Math.abs(mean - Number(row.accuracy_mean)) < 1e-5,
        `mean of the folds ${mean} vs ${row.accuracy_mean}`,
      );
    }
    // Each mean row: the mean over the replicates, their spread across
    // replicates in columns of its own; accuracy_std keeps its meaning
    // (the spread over folds), averaged.
    for (const m of meanRows) {
      const seeds = seedRows.filter((x) =>
        x.config === m.config && x.scorer === m.scorer
      );
      assertStrict.deepEqual(seeds.map((x) => x.seed), SMOKE_SEEDS);
      assertStrict.equal(
        m.seeds_ok,
        `${SMOKE_SEEDS.length}/${SMOKE_SEEDS.length}`,
      );
      assertStrict.equal(m.fold_accuracy, "");
      const accs = seeds.map((x) => Number(x.accuracy_mean));
      const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
      const sd = Math.sqrt(
        accs.reduce((a, b) => a + (b - mean) ** 2, 0) / (accs.length - 1),
      );
      assertStrict.ok(Math.abs(Number(m.accuracy_mean) - mean) < 1e-6);
      assertStrict.ok(Math.abs(Number(m.accuracy_sd_replicates) - sd) < 1e-6);
      const foldStd = seeds.reduce((a, x) => a + Number(x.accuracy_std), 0) /
        seeds.length;
      assertStrict.ok(Math.abs(Number(m.accuracy_std) - foldStd) < 1e-6);
    }
    const meta = JSON.parse(
      await Deno.readTextFile(`${out}/${name}.meta.json`),
    );
    for (
      const k of [
        "git_commit",
        "deno",
        "tfjs",
        "backend",
        "profile",
        "seeds",
        "data_draws",
        "config",
        "wall_s",
      ]
    ) {
      assertStrict.ok(k in meta, `meta.json has ${k}`);
    }
    assertStrict.deepEqual(meta.seeds, PROFILE_DEFAULTS.smoke.seeds);
    if (name === "variance_spectra") {
      // The figures' files come from the first seed's model, one per configuration.
      for (const c of configs) {
        assertStrict.ok(
          await exists(`${out}/variance_spectra/spectra_${c}.csv`),
        );
        assertStrict.ok(
          await exists(`${out}/variance_spectra/scatter_${c}.csv`),
        );
      }
      const spectra = [...Deno.readDirSync(`${out}/variance_spectra`)]
        .filter((e) => e.name.startsWith("spectra_"));
      assertStrict.equal(spectra.length, configs.length);
      assertStrict.ok("within_between_ratio" in rows[0]);
      for (const row of seedRows) {
        assertStrict.ok(Number(row.within_between_ratio) > 0);
      }
    }
    if (name === "face_identification") {
      assertStrict.ok(Number(rows[0].rank1_mean) >= 0);
    }
    if (name === "final_system") {
      // Per seed: the selection on validation pairs, and the patch sets it chose.
      for (const seed of SMOKE_SEEDS) {
        const steps = await readCsv(
          `${out}/final_system/selection_seed${seed}.csv`,
        );
        assertStrict.deepEqual(steps[0].pass, "forward");
        assertStrict.equal(steps[0].n_patches, "1");
        const jb = (config: string) =>
          seedRows.find((x) =>
            x.config === config && x.seed === seed &&
            x.scorer === "joint_bayesian"
          )!;
        assertStrict.equal(jb("best_single").patches, steps[0].patch);
        assertStrict.equal(jb("selected").flips, "no");
        assertStrict.equal(jb("selected+flips").flips, "concat");
        assertStrict.equal(
          jb("selected+flips").patches,
          jb("selected").patches,
          "flips are compared on the same patches",
        );
        assertStrict.equal(jb("all").patches, "face+eyes");
        // The selected set's validation accuracy is the selection's own score.
        const last = steps.at(-1)!;
        const best = Math.max(...steps.map((x) => Number(x.val_accuracy)));
        assertStrict.ok(
          Math.abs(Number(jb("selected").val_accuracy_mean) - best) < 1e-5,
          `selected ${
            jb("selected").val_accuracy_mean
          } vs best step ${best} (last ${last.set})`,
        );
      }
    }
    // Every model's learning curve (validation pairs) comes with its results;
    // the final system's patch sets have no model of their own.
    for (
      const config of configs.filter((c) =>
        name !== "final_system" || c.startsWith("patch=")
      )
    ) {
      for (const seed of SMOKE_SEEDS) {
        const curve = await readCsv(
          `${out}/${name}/curves/${config}_seed${seed}.csv`,
        );
        assertStrict.ok(curve.length >= 1, `${config}: a learning curve`);
        assertStrict.deepEqual(Object.keys(curve[0]), [...CURVE_COLUMNS]);
        assertStrict.equal(Number(curve.at(-1)!.step), 4);
      }
    }
    for (const row of rows) {
      assertStrict.equal(row.status, "ok");
      const v = Number(row.val_accuracy_mean);
      assertStrict.ok(v >= 0 && v <= 1, `validation accuracy ${v}`);
    }
    const again = await def.main([...common, "--out", out]);
    assertStrict.equal(
      again.ran.length,
      0,
      "nothing reruns for the same code and config",
    );
  });
}

Deno.test("final_system: a wrong flipMerge, selectMax or patch name is an error naming it", async () => {
  const { experiment } = await import("./final_system.ts");
  for (
    const [flag, message] of [
      ["--flipMerge=mean", /flipMerge must be "concat" or "sum", got "mean"/],
      ["--selectMax=-1", /selectMax must be an integer >= 0/],
      ["--patches=face,ear", /unknown patch "ear"; the bank/],
    ] as const
  ) {
    await assertStrict.rejects(
      () => experiment.main([...common, "--out", `${tmp}/bad`, flag]),
      message,
    );
  }
});

Deno.test("experiment flags: unknown flags and config keys are errors", async () => {
  const def = jointLambda;
  await assertStrict.rejects(
    () => def.main([...common, "--bogus"]),
    /unknown flag --bogus/,
  );
  await assertStrict.rejects(
    () => def.main([...common, "--stepz=3"]),
    /unknown config key "stepz"/,
  );
  await assertStrict.rejects(
    () => def.main([...common, "--steps=many"]),
    /"steps" takes a number/,
  );
  await assertStrict.rejects(
    () => def.main([...common, "--profile", "huge"]),
    /unknown profile "huge"/,
  );
  await assertStrict.rejects(
    () =>
      def.main([
        "--profile",
        "paper",
        "--quiet",
        "--backend",
        "wasm",
      ]),
    /the paper profile needs real data/,
  );
});

Deno.test("a diverged configuration is reported as such, the sweep goes on, and a rerun does not train it again", async () => {
  const out = `${tmp}/diverged`;
  // λ = 1e6 without the 1/max(1, λ) scaling: a huge step, NaN within 4 steps.
  const argv = [
    ...common,
    "--out",
    out,
    "--lambdas=0,1000000",
    "--lambdaScaling=none",
    "--learningRate=10",
  ];
  const r = await jointLambda.main(argv);
  assertStrict.deepEqual(r.ran.sort(), [
    "lambda=0_seed1",
    "lambda=0_seed2",
    "lambda=1000000_seed1",
    "lambda=1000000_seed2",
  ]);
  const rows = await readCsv(`${out}/joint_lambda.csv`);
  const { seedRows, meanRows } = splitRows(
    rows.filter((x) => x.config === "lambda=1000000"),
  );
  assertStrict.equal(seedRows.length, 6, "3 scorers x 2 seeds");
  for (const row of seedRows) {
    assertStrict.equal(row.status, "diverged");
    assertStrict.equal(row.accuracy_mean, "", "never scored");
    assertStrict.match(row.status_reason, /diverged at step \d/);
  }
  // No healthy seed: the mean rows say so, with each seed's reason.
  assertStrict.equal(meanRows.length, 3);
  for (const row of meanRows) {
    assertStrict.equal(row.status, "diverged");
    assertStrict.equal(row.seeds_ok, "0/2");
    assertStrict.equal(row.accuracy_mean, "");
    assertStrict.match(
      row.status_reason,
      /^seed 1 \(diverged\): .*diverged at step \d+.*; seed 2 \(diverged\): .*diverged at step \d/,
    );
  }
  const again = await jointLambda.main(argv);
  assertStrict.equal(again.ran.length, 0, "every unit remembered");
});

Deno.test("a corrupt checkpoint: the error names the file and how to recover", async () => {
  const out = `${tmp}/corrupt`;
  const c = `${tmp}/cacheCorrupt`;
  await Deno.mkdir(`${c}/models`, { recursive: true });
  await Deno.symlink(`${cache}/synth`, `${c}/synth`).catch(() => {});
  const argv = [...common, "--cache", c, "--out", out, "--lambdas=0.05"];
  const flags = parseRunFlags(argv);
  const config = resolveConfig(jointLambda, flags);
  const ctx = await openContext(flags, config);
  const [cfg] = jointLambda.configurations(
    config,
    await dataShape(ctx, config),
  );
  // The first unit the run trains: the configuration with the first seed.
  const unit = { ...cfg, seed: config.seeds[0] };
  const { data } = await unitContext(ctx, unit, config);
  const { key } = await modelPlan(unit, config, data, ctx.backend.name);
  const ckpt = `${c}/models/${key}.ckpt`;
  await Deno.writeTextFile(ckpt, "DEEPID2 truncated");
  await assertStrict.rejects(
    () => jointLambda.main(argv),
    (e: Error) =>
      e.message.includes(ckpt) && /delete/.test(e.message) &&
      /--force/.test(e.message),
  );
});

Deno.test("reproduce: an override goes to the experiments that know it; one that none knows is an error", () => {
  const flags = parseRunFlags(["--lambdas=0,inf", "--steps=3"]);
  const per = flagsPerExperiment([jointLambda, verificationSignals], flags);
  assertStrict.deepEqual(per.get(jointLambda)!.overrides, {
    lambdas: "0,inf",
    steps: "3",
  });
  assertStrict.deepEqual(per.get(verificationSignals)!.overrides, {
    steps: "3",
  });
  assertStrict.throws(
    () => flagsPerExperiment([verificationSignals], flags),
    /unknown config key "lambdas" \(none of the selected experiments has it\)/,
  );
});

/** Runs `reproduce.ts` in a child process on the smoke data into `out`; its stderr. */
async function reproduce(out: string, ...args: string[]): Promise<string> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./reproduce.ts", import.meta.url).pathname,
      ...common,
      "--out",
      out,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(o.stderr);
  assertStrict.ok(o.success, text);
  return text;
}

Deno.test({
  name:
    "reproduce: two jobs train the distinct models once; shards merge; a rerun skips everything",
  // Runs after the in-process tests so the smoke data is cached.
  async fn() {
    const out = `${tmp}/repro`;
    const run = (...args: string[]) => reproduce(out, ...args);
    // Shard 0/2 then 1/2 of two experiments; the merged CSV has every configuration.
    await run(
      "--only",
      "joint_lambda,identification_only",
      "--shard",
      "0/2",
      "--jobs",
      "2",
    );
    const half = await readCsv(`${out}/joint_lambda.csv`);
    await run(
      "--only",
      "joint_lambda,identification_only",
      "--shard",
      "1/2",
      "--jobs",
      "2",
    );
    const all = await readCsv(`${out}/joint_lambda.csv`);
    assertStrict.ok(half.length < all.length);
    assertStrict.equal(new Set(all.map((r) => r.config)).size, 3);
    // 3 configurations x 2 seeds x 3 scorers, then 3 x 3 means over the seeds.
    const { seedRows, meanRows } = splitRows(all);
    assertStrict.equal(seedRows.length, 18);
    assertStrict.equal(meanRows.length, 9);
    assertStrict.ok(meanRows.every((r) => r.seeds_ok === "2/2"));
    const text = await run("--only", "joint_lambda,identification_only");
    assertStrict.match(text, /0 to train/);
    assertStrict.match(text, /joint_lambda: 0 ran, 6 skipped/);
  },
});

Deno.test({
  name:
    "reproduce: the final system's patch networks train in the training phase, each in its own crop",
  async fn() {
    const out = `${tmp}/repro_final`;
    const text = await reproduce(out, "--only", "final_system");
    // 2 patches x 2 seeds; the whole face's network is the joint model's.
    assertStrict.match(text, /4 distinct models/);
    assertStrict.match(text, /final_system: 14 ran, 0 skipped/);
    const rows = await readCsv(`${out}/final_system.csv`);
    const eyes = rows.find((r) => r.config === "patch=eyes")!;
    const face = rows.find((r) => r.config === "patch=face")!;
    const unit = (c: string) =>
      JSON.parse(
        Deno.readTextFileSync(`${out}/final_system/${c}_seed1.json`),
      ).model;
    assertStrict.notEqual(unit(eyes.config), unit(face.config));
    assertStrict.equal(
      unit(face.config),
      JSON.parse(
        Deno.readTextFileSync(
          `${tmp}/results/joint_lambda/lambda=0.05_seed1.json`,
        ),
      ).model,
      "the whole-face patch is joint_lambda's λ=0.05 model",
    );
  },
});

Deno.test("paper profile: its configuration loads and a smoke-sized version runs on real-format data (--data DIR)", async () => {
  const data = `${tmp}/realformat`;
  const { generateSynth } = await import("../datasets/synthfaces.ts");
  const { SYNTH_PROFILES } = await import("../datasets/mod.ts");
  await generateSynth(data, {
    ...SYNTH_PROFILES.smoke,
    identities: 20,
    heldOutIdentities: 6,
  }, { quiet: true });
  const def = jointLambda;
  const out = `${tmp}/paper`;
  const r = await def.main([
    "--profile",
    "paper",
    "--data",
    data,
    "--backend",
    "wasm",
    "--quiet",
    "--cache",
    cache,
    "--out",
    out,
    // The paper's settings, shrunk to this data: 8192 -> 14 identities, 100k -> 2 steps.
    "--trainIdentities=14",
    "--heldOutIdentities=6",
    "--steps=2",
    "--pairsPerBatch=4",
    "--jbPcaDim=8",
    "--evalBatch=32",
    "--lambdas=0.05",
    "--seeds=1",
  ]);
  assertStrict.deepEqual(r.ran, ["lambda=0.05_seed1"]);
  const meta = JSON.parse(
    await Deno.readTextFile(`${out}/joint_lambda.meta.json`),
  );
  assertStrict.equal(meta.profile, "paper");
  assertStrict.equal(meta.config.jbPcaDim, 8);
  assertStrict.equal(meta.config.pairsPerBatch, 4);
  assertStrict.deepEqual(meta.seeds, [1]);
  // The unshrunk paper config as it loads.
  assertStrict.equal(PROFILE_DEFAULTS.paper.trainIdentities, 8192);
  assertStrict.equal(PROFILE_DEFAULTS.paper.heldOutIdentities, 1985);
  assertStrict.equal(PROFILE_DEFAULTS.paper.jbPcaDim, 180);
  assertStrict.deepEqual(PROFILE_DEFAULTS.paper.seeds, [1, 2, 3]);
  await assertStrict.rejects(
    () =>
      def.main([
        "--profile",
        "paper",
        "--data",
        `${tmp}/nowhere`,
        "--quiet",
        "--backend",
        "wasm",
      ]),
    /nowhere/,
  );
});

Deno.test("reproduce: killed mid-training, the next run resumes and gives the same numbers as an uninterrupted run", async () => {
  const script = new URL("./reproduce.ts", import.meta.url).pathname;
  const args = (out: string, c: string) => [
    "run",
    "-A",
    script,
    "--profile",
    "smoke",
    "--backend",
    "wasm",
    "--quiet",
    "--cache",
    c,
    "--out",
    out,
    "--only",
    "identification_only",
    "--steps=60",
    "--checkpointEvery=5",
    "--jobs",
    "1",
  ];
  // The smoke data is shared; models and results are per run.
  const cacheA = `${tmp}/cacheA`;
  const cacheB = `${tmp}/cacheB`;
  for (const c of [cacheA, cacheB]) {
    await Deno.mkdir(`${c}`, { recursive: true });
    await Deno.symlink(`${cache}/synth`, `${c}/synth`);
  }
  const clean = await new Deno.Command(Deno.execPath(), {
    args: args(`${tmp}/outA`, cacheA),
    stderr: "piped",
  })
    .output();
  assertStrict.ok(clean.success, new TextDecoder().decode(clean.stderr));
  const child = new Deno.Command(Deno.execPath(), {
    args: args(`${tmp}/outB`, cacheB),
    stderr: "null",
  }).spawn();
  // Wait for a checkpoint, then kill the whole run.
  const models = `${cacheB}/models`;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const names = await exists(models)
      ? [...Deno.readDirSync(models)].map((e) => e.name)
      : [];
    if (names.some((n) => n.endsWith(".ckpt"))) break;
  }
  child.kill("SIGKILL");
  await child.status;
  // Workers are separate processes: end them too.
  await new Deno.Command("pkill", { args: ["-9", "-f", `--cache ${cacheB}`] })
    .output();
  assertStrict.ok(
    !await exists(`${tmp}/outB/identification_only.csv`),
    "killed before any result",
  );
  const ckpts = [...Deno.readDirSync(models)].filter((e) =>
    e.name.endsWith(".ckpt")
  );
  assertStrict.equal(ckpts.length, 1, "a checkpoint to resume from");
  const resumed = await new Deno.Command(Deno.execPath(), {
    args: args(`${tmp}/outB`, cacheB),
    stderr: "null",
  })
    .output();
  assertStrict.ok(resumed.success);
  const a = await readCsv(`${tmp}/outA/identification_only.csv`);
  const b = await readCsv(`${tmp}/outB/identification_only.csv`);
  assertStrict.deepEqual(b, a, "resumed run gives the same numbers");
});

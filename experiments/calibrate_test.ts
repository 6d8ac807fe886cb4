import assertStrict from "node:assert/strict";
import {
  type CalibrationRow,
  chooseSetting,
  main,
  scoreOf,
} from "./calibrate.ts";

type Row = Omit<CalibrationRow, "chosen">;

function row(
  lr: number,
  lambda: string,
  acc: number,
  options: { status?: string; steps?: number } = {},
): Row {
  return {
    stage: 2,
    weight_init_gain: 1,
    learning_rate: lr,
    final_lr_ratio: 0.1,
    steps: 1000,
    probe: `lambda=${lambda},signal=l2`,
    lambda,
    signal: "l2",
    seed: 1,
    status: options.status ?? "ok",
    steps_trained: options.steps ?? 1000,
    val_accuracy_l2: acc,
    val_accuracy_cosine: acc,
    val_dead_fraction: 0.5,
    ident_fraction: 0.1,
    status_reason: "",
  };
}

const lr = (r: Row) => r.learning_rate;

Deno.test("chooseSetting: unhealthy probes veto first, then probes still improving", () => {
  const rows = [
    row(0.02, "0", 0.70),
    row(0.02, "0.05", 0.72),
    // Higher accuracy, but its λ = 0.05 probe collapsed: vetoed.
    row(0.1, "0", 0.80),
    row(0.1, "0.05", 0.50, { status: "collapsed" }),
    // Higher accuracy, but one probe still improving: vetoed too.
    row(0.05, "0", 0.78),
    row(0.05, "0.05", 0.79, { status: "still improving" }),
  ];
  assertStrict.equal(chooseSetting(rows, lr, 0.005)?.setting, 0.02);
  assertStrict.equal(
    chooseSetting(rows.filter((r) => r.learning_rate !== 0.02), lr, 0.005)
      ?.setting,
    0.05,
    "still improving beats collapsed",
  );
  assertStrict.equal(
    chooseSetting([row(0.1, "0", 0.8, { status: "diverged" })], lr, 0.005),
    undefined,
  );
});

Deno.test("chooseSetting: within the accuracy tolerance the fewest steps win; beyond it accuracy does", () => {
  const rows = [
    row(0.1, "0", 0.80, { steps: 2000 }),
    row(0.1, "0.5", 0.80, { steps: 4000 }),
    // 0.4 points less accurate, a third fewer steps: chosen at 0.5 points.
    row(0.2, "0", 0.796, { steps: 1500 }),
    row(0.2, "0.5", 0.796, { steps: 2500 }),
  ];
  assertStrict.equal(chooseSetting(rows, lr, 0.005)?.setting, 0.2);
  assertStrict.equal(chooseSetting(rows, lr, 0.003)?.setting, 0.1);
  assertStrict.deepEqual(scoreOf(rows.slice(0, 2)), {
    unhealthy: 0,
    improving: 0,
    accuracy: 0.8,
    cost: 6000,
  });
});

Deno.test("calibrate (smoke profile): stages in order, every probe on every replicate, an edge choice widens its grid, a probe that diverged before its first check is a row", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "deepid2-calibrate-" });
  try {
    const rows = await main([
      "--profile",
      "smoke",
      "--backend",
      "wasm",
      "--quiet",
      "--cache",
      `${tmp}/cache`,
      "--out",
      tmp,
      "--weightInitGains=1",
      // 1e6 diverges at once: no learning curve, a "diverged" row; 0.05 is
      // then on the grid's lower edge, so 0.025 is tried too.
      "--learningRates=0.05,1000000",
      "--edgeExtensions=1",
      "--finalLrRatios=0.1",
      "--stepCounts=4",
      "--probeLambdas=0.05",
      "--probeSignals=l1",
    ]);
    const unit = (r: CalibrationRow) =>
      `${r.stage} ${r.learning_rate} ${r.probe} ${r.seed} ${r.status}`;
    const stage3 = rows.filter((r) => r.stage === 3).map(unit);
    for (const seed of [1, 2]) {
      for (const probe of ["signal=l2", "signal=l1"]) {
        assertStrict.ok(
          stage3.includes(`3 1000000 lambda=0.05,${probe} ${seed} diverged`),
        );
        assertStrict.ok(
          stage3.includes(`3 0.05 lambda=0.05,${probe} ${seed} ok`),
        );
      }
    }
    const diverged = rows.filter((r) => r.status === "diverged");
    assertStrict.ok(diverged.every((r) => Number.isNaN(r.val_accuracy_l2)));
    const meta = JSON.parse(
      await Deno.readTextFile(`${tmp}/calibration.meta.json`),
    );
    assertStrict.ok(
      meta.log.some((l: string) =>
        /learningRate: 0.05 is on the grid's edge; adding 0.025/.test(l)
      ),
      meta.log.join("\n"),
    );
    assertStrict.ok(rows.some((r) => r.learning_rate === 0.025));
    const chosen = rows.filter((r) => r.chosen);
    assertStrict.equal(chosen.length, 4, "every probe of every replicate");
    assertStrict.ok(chosen.every((r) => r.status === "ok"));
    assertStrict.equal(meta.chosen.learningRate, chosen[0].learning_rate);
    assertStrict.match(meta.rule, /fewest training steps/);
    const csv = await Deno.readTextFile(`${tmp}/calibration.csv`);
    assertStrict.equal(csv.trim().split("\n").length, rows.length + 1);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

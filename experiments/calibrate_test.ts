import assertStrict from "node:assert/strict";
import { type CalibrationRow, chooseSetting, main } from "./calibrate.ts";

function row(
  lr: number,
  lambda: string,
  acc: number,
  status = "ok",
): Omit<CalibrationRow, "chosen"> {
  return {
    stage: 1,
    weight_init_gain: 1,
    learning_rate: lr,
    deepid2_bias_init: 0,
    probe: `lambda=${lambda},signal=l2`,
    lambda,
    signal: "l2",
    seed: 1,
    status,
    steps: 100,
    val_accuracy_l2: acc,
    val_accuracy_cosine: acc,
    val_dead_fraction: 0.5,
    best_val_accuracy_l2: acc,
    best_step: 100,
  };
}

Deno.test("chooseSetting: fewest collapsed or diverged probes, then the best mean validation accuracy", () => {
  const lr = (r: Omit<CalibrationRow, "chosen">) => r.learning_rate;
  const rows = [
    row(0.02, "0", 0.70),
    row(0.02, "0.05", 0.72),
    // Higher accuracy, but its λ = 0.05 probe collapsed: vetoed.
    row(0.1, "0", 0.80),
    row(0.1, "0.05", 0.50, "collapsed"),
    row(0.05, "0", 0.74),
    row(0.05, "0.05", 0.76),
  ];
  assertStrict.deepEqual(chooseSetting(rows, lr), {
    setting: 0.05,
    healthy: true,
  });
  assertStrict.deepEqual(
    chooseSetting(rows.filter((r) => r.learning_rate !== 0.05), lr),
    { setting: 0.02, healthy: true },
  );
  // No healthy setting: the one with fewer unhealthy probes, said so.
  assertStrict.deepEqual(
    chooseSetting([
      row(0.1, "0", 0.9, "diverged"),
      row(0.1, "0.05", 0.9, "collapsed"),
      row(0.2, "0", 0.6, "collapsed"),
      row(0.2, "0.05", 0.7),
    ], lr),
    { setting: 0.2, healthy: false },
  );
  assertStrict.equal(
    chooseSetting([row(0.1, "0", 0.8, "diverged")], lr),
    undefined,
  );
});

Deno.test("calibrate (smoke profile): stages in order, every probe on every seed, a probe that diverged before its first check is a row, the chosen setting marked", async () => {
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
      // 1e6 diverges at once: no learning curve, a "diverged" row.
      "--learningRates=0.05,1000000",
      "--biasInits=0",
      "--probeLambdas=0.05",
      "--probeSignals=l1",
    ]);
    const unit = (r: CalibrationRow) =>
      `${r.stage} ${r.learning_rate} ${r.probe} ${r.seed} ${r.status}`;
    // Stage 1 (gain) trains the start setting (the smoke profile's rate,
    // 0.01); stage 2 the two rates; stage 3 has one value: nothing new.
    assertStrict.deepEqual(rows.map(unit), [
      "1 0.01 lambda=0.05,signal=l2 1 ok",
      "1 0.01 lambda=0.05,signal=l2 2 ok",
      "1 0.01 lambda=0.05,signal=l1 1 ok",
      "1 0.01 lambda=0.05,signal=l1 2 ok",
      "2 0.05 lambda=0.05,signal=l2 1 ok",
      "2 0.05 lambda=0.05,signal=l2 2 ok",
      "2 0.05 lambda=0.05,signal=l1 1 ok",
      "2 0.05 lambda=0.05,signal=l1 2 ok",
      "2 1000000 lambda=0.05,signal=l2 1 diverged",
      "2 1000000 lambda=0.05,signal=l2 2 diverged",
      "2 1000000 lambda=0.05,signal=l1 1 diverged",
      "2 1000000 lambda=0.05,signal=l1 2 diverged",
    ]);
    const diverged = rows.filter((r) => r.status === "diverged");
    assertStrict.ok(diverged.every((r) => Number.isNaN(r.val_accuracy_l2)));
    // Stage 2's candidates are its grid, 0.05 and 1e6: 1e6 diverged.
    const chosen = rows.filter((r) => r.chosen);
    assertStrict.deepEqual(
      chosen.map((r) => [r.learning_rate, r.status]),
      Array(4).fill([0.05, "ok"]),
    );
    const meta = JSON.parse(
      await Deno.readTextFile(`${tmp}/calibration.meta.json`),
    );
    assertStrict.equal(meta.chosen.learningRate, chosen[0].learning_rate);
    assertStrict.equal(meta.chosen.everyProbeHealthy, true);
    const csv = await Deno.readTextFile(`${tmp}/calibration.csv`);
    assertStrict.equal(csv.trim().split("\n").length, rows.length + 1);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

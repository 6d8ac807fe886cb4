import assertStrict from "node:assert/strict";
import { type CalibrationRow, chooseSetting } from "./calibrate.ts";

function row(
  lr: number,
  lambda: string,
  acc: number,
  status = "ok",
): Omit<CalibrationRow, "chosen"> {
  return {
    stage: 1,
    learning_rate: lr,
    deepid2_bias_init: 0,
    probe: `lambda=${lambda},signal=l2`,
    lambda,
    signal: "l2",
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

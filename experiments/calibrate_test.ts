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

Deno.test("chooseSetting: best mean validation accuracy among settings with no collapsed or diverged probe", () => {
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
  assertStrict.equal(chooseSetting(rows, lr), 0.05);
  assertStrict.equal(
    chooseSetting(rows.filter((r) => r.learning_rate !== 0.05), lr),
    0.02,
  );
  assertStrict.equal(
    chooseSetting([row(0.1, "0", 0.8, "diverged")], lr),
    undefined,
  );
});

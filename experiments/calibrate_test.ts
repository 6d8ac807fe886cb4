import assertStrict from "node:assert/strict";
import { type CalibrationRow, chooseLearningRate } from "./calibrate.ts";

function row(
  lr: number,
  lambda: string,
  acc: number,
  status = "ok",
): Omit<CalibrationRow, "chosen"> {
  return {
    learning_rate: lr,
    probe: `lambda=${lambda}`,
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

Deno.test("chooseLearningRate: best mean validation accuracy among rates with no collapsed probe at λ ≤ 1", () => {
  const rows = [
    row(0.02, "0", 0.70),
    row(0.02, "0.05", 0.72),
    row(0.02, "inf", 0.55),
    // Higher accuracy, but its λ = 0.05 probe collapsed: vetoed.
    row(0.1, "0", 0.80),
    row(0.1, "0.05", 0.50, "collapsed"),
    row(0.1, "inf", 0.60),
    // A collapsed λ = ∞ probe does not veto (verification alone may fail).
    row(0.05, "0", 0.74),
    row(0.05, "0.05", 0.76),
    row(0.05, "inf", 0.50, "diverged"),
  ];
  assertStrict.equal(chooseLearningRate(rows), 0.05);
  assertStrict.equal(
    chooseLearningRate(rows.filter((r) => r.learning_rate !== 0.05)),
    0.02,
  );
  assertStrict.equal(
    chooseLearningRate([row(0.1, "0", 0.8, "diverged")]),
    undefined,
  );
});

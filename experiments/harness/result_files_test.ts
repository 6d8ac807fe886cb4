import assert from "node:assert/strict";
import { aggregateRows, MEAN_SEED } from "./result_files.ts";

/** A per-seed row as the runs write it (numbers, not strings, like `run.record`). */
function seedRow(
  config: string,
  seed: number,
  accuracy: number | "",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    experiment: "joint_lambda",
    config,
    scorer: "l2",
    accuracy_mean: accuracy,
    accuracy_std: 0.05, // the seed's std over its folds
    accuracy_se: 0.003,
    auc: 0.95,
    n_pairs: 600,
    seed,
    backend: "wasm",
    profile: "quick",
    status: "ok",
    status_reason: "",
    fold_accuracy: `${accuracy};${accuracy}`,
    lambda: "0.05",
    ...extra,
  };
}

const sd = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

const close = (text: string, want: number, what: string) =>
  assert.ok(
    Math.abs(Number(text) - want) < 1e-6,
    `${what}: ${text} vs ${want}`,
  );

Deno.test("aggregateRows: the mean over seeds, the std across seeds, constant columns copied", () => {
  const rows = [
    seedRow("lambda=0.05", 1, 0.9, { auc: 0.95, val_accuracy_mean: 0.89 }),
    seedRow("lambda=0.05", 2, 0.92, { auc: 0.96, val_accuracy_mean: 0.9 }),
    seedRow("lambda=0.05", 3, 0.94, { auc: 0.97, val_accuracy_mean: 0.91 }),
  ];
  const [agg, ...rest] = aggregateRows(rows);
  assert.equal(rest.length, 0, "one row per (config, scorer)");
  assert.equal(agg.seed, MEAN_SEED);
  close(agg.accuracy_mean, 0.92, "mean");
  // Across seeds (0.02), not the seeds' std over folds (0.05).
  close(agg.accuracy_std, sd([0.9, 0.92, 0.94]), "std across seeds");
  close(agg.accuracy_se, sd([0.9, 0.92, 0.94]) / Math.sqrt(3), "se");
  close(agg.auc, 0.96, "a numeric column: its mean");
  close(agg.val_accuracy_mean, 0.9, "validation accuracy: its mean");
  // Columns equal in every seed are copied, as text.
  assert.equal(agg.n_pairs, "600");
  assert.equal(agg.lambda, "0.05");
  assert.equal(agg.backend, "wasm");
  assert.equal(agg.experiment, "joint_lambda");
  assert.equal(agg.fold_accuracy, "", "no folds in a mean row");
  assert.equal(agg.seeds_ok, "3/3");
  assert.equal(agg.status, "ok");
  assert.equal(agg.status_reason, "");
});

Deno.test("aggregateRows: the std is across seeds, not over folds", () => {
  // Identical accuracies in every seed, each with a large fold std.
  const rows = [1, 2].map((s) => seedRow("lambda=0", s, 0.9));
  const [agg] = aggregateRows(rows);
  assert.equal(agg.accuracy_mean, "0.9");
  assert.equal(agg.accuracy_std, "0");
  assert.equal(agg.accuracy_se, "0");
});

Deno.test("aggregateRows: only healthy seeds are averaged; partial, collapsed and one-seed groups", () => {
  const collapsed = {
    status: "collapsed",
    status_reason: "100 % of the DeepID2 units are zero",
    fold_accuracy: "",
    val_accuracy_mean: 0.5,
  };
  const rows = [
    // Seed 2 collapsed: the mean is over seeds 1 and 3 only.
    seedRow("lambda=0", 1, 0.8, { val_accuracy_mean: 0.79 }),
    seedRow("lambda=0", 2, "", collapsed),
    seedRow("lambda=0", 3, 0.84, { val_accuracy_mean: 0.83 }),
    // Every seed collapsed.
    seedRow("lambda=inf", 1, "", collapsed),
    seedRow("lambda=inf", 2, "", {
      ...collapsed,
      status_reason: "validation accuracy 50.1 %",
    }),
    // One seed only.
    seedRow("lambda=5", 1, 0.88),
  ];
  const out = aggregateRows(rows);
  assert.deepEqual(out.map((r) => r.config), [
    "lambda=0",
    "lambda=inf",
    "lambda=5",
  ]);
  const [partial, dead, one] = out;
  close(partial.accuracy_mean, 0.82, "mean of the healthy seeds");
  close(partial.accuracy_std, sd([0.8, 0.84]), "std of the healthy seeds");
  close(partial.val_accuracy_mean, 0.81, "the collapsed seed's 0.5 left out");
  assert.equal(partial.seeds_ok, "2/3");
  assert.equal(partial.status, "partial");
  assert.equal(
    partial.status_reason,
    "seed 2: 100 % of the DeepID2 units are zero",
  );
  assert.equal(dead.status, "collapsed", "none healthy: the first seed's");
  assert.equal(dead.seeds_ok, "0/2");
  assert.equal(dead.accuracy_mean, "", "never scored");
  assert.equal(
    dead.status_reason,
    "seed 1: 100 % of the DeepID2 units are zero; " +
      "seed 2: validation accuracy 50.1 %",
  );
  assert.equal(one.accuracy_mean, "0.88");
  assert.equal(one.accuracy_std, "", "one seed: no spread");
  assert.equal(one.accuracy_se, "");
  assert.equal(one.seeds_ok, "1/1");
  assert.equal(one.status, "ok");
});

Deno.test("aggregateRows: grouped by (config, scorer) in first-seen order; stored mean rows ignored", () => {
  const jb = (r: Record<string, unknown>) => ({
    ...r,
    scorer: "joint_bayesian",
  });
  const rows = [
    seedRow("lambda=0", 1, 0.9),
    jb(seedRow("lambda=0", 1, 0.95)),
    seedRow("lambda=0", 2, 0.92),
    jb(seedRow("lambda=0", 2, 0.97)),
    // A stored mean (e.g. the merged CSV read back): not a seed.
    { ...seedRow("lambda=0", 0, 0.1), seed: MEAN_SEED },
  ];
  const out = aggregateRows(rows);
  assert.deepEqual(
    out.map((r) => `${r.config} ${r.scorer} ${r.accuracy_mean} ${r.seeds_ok}`),
    ["lambda=0 l2 0.91 2/2", "lambda=0 joint_bayesian 0.96 2/2"],
  );
  // Its own output, fed back with the seeds, gives the same means.
  assert.deepEqual(aggregateRows([...rows, ...out]), out);
  assert.deepEqual(aggregateRows([]), []);
});

Deno.test("aggregateRows: text columns that differ between seeds are left empty", () => {
  const rows = [
    seedRow("lambda=0", 1, 0.9, { protocol: "lists from seed 1" }),
    seedRow("lambda=0", 2, 0.9, { protocol: "lists from seed 2" }),
  ];
  const [agg] = aggregateRows(rows);
  assert.equal(agg.fold_accuracy, "");
  assert.equal(agg.seed, MEAN_SEED);
  assert.equal(agg.protocol, "");
});

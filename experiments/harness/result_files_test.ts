import assert from "node:assert/strict";
import { aggregateRows, isScored, MEAN_SEED } from "./result_files.ts";

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
    model: `key-${config}-${seed}`,
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

Deno.test("aggregateRows: the mean over replicates; accuracy_std the mean fold std; the spread across replicates in columns of its own", () => {
  const rows = [
    seedRow("lambda=0.05", 1, 0.9, {
      auc: 0.95,
      val_accuracy_mean: 0.89,
      accuracy_std: 0.04,
      accuracy_se: 0.002,
    }),
    seedRow("lambda=0.05", 2, 0.92, {
      auc: 0.96,
      val_accuracy_mean: 0.9,
      accuracy_std: 0.05,
      accuracy_se: 0.003,
    }),
    seedRow("lambda=0.05", 3, 0.94, {
      auc: 0.97,
      val_accuracy_mean: 0.91,
      accuracy_std: 0.07,
      accuracy_se: 0.004,
    }),
  ];
  const [agg, ...rest] = aggregateRows(rows);
  assert.equal(rest.length, 0, "one row per (config, scorer)");
  assert.equal(agg.seed, MEAN_SEED);
  close(agg.accuracy_mean, 0.92, "mean");
  // accuracy_std and accuracy_se keep their meaning (over the folds):
  // (0.04 + 0.05 + 0.07) / 3 and (0.002 + 0.003 + 0.004) / 3.
  assert.equal(agg.accuracy_std, "0.053333");
  assert.equal(agg.accuracy_se, "0.003");
  // Across replicates: sd of 0.90, 0.92, 0.94 is 0.02, its se 0.02/√3.
  assert.equal(agg.accuracy_sd_replicates, "0.02");
  close(agg.accuracy_sd_replicates, sd([0.9, 0.92, 0.94]), "sd across");
  assert.equal(agg.accuracy_se_replicates, "0.011547");
  close(agg.auc, 0.96, "a numeric column: its mean");
  close(agg.val_accuracy_mean, 0.9, "validation accuracy: its mean");
  assert.equal(
    agg.val_accuracy_sd_replicates,
    undefined,
    "no val_accuracy_std: no spread columns",
  );
  // Columns equal in every replicate are copied, as text.
  assert.equal(agg.n_pairs, "600");
  assert.equal(agg.lambda, "0.05");
  assert.equal(agg.backend, "wasm");
  assert.equal(agg.experiment, "joint_lambda");
  assert.equal(agg.fold_accuracy, "", "no folds in a mean row");
  assert.equal(agg.model, "", "no one model in a mean row");
  assert.equal(agg.seeds_ok, "3/3");
  assert.equal(agg.status, "ok");
  assert.equal(agg.status_reason, "");
});

Deno.test("aggregateRows: equal accuracies in every replicate: no spread across them, the fold spread kept", () => {
  // Identical accuracies in every replicate, each with a fold std of 0.05.
  const rows = [1, 2].map((s) => seedRow("lambda=0", s, 0.9));
  const [agg] = aggregateRows(rows);
  assert.equal(agg.accuracy_mean, "0.9");
  assert.equal(agg.accuracy_std, "0.05");
  assert.equal(agg.accuracy_se, "0.003");
  assert.equal(agg.accuracy_sd_replicates, "0");
  assert.equal(agg.accuracy_se_replicates, "0");
});

Deno.test("aggregateRows: every <x>_mean with an <x>_std gets its spread across replicates (rank-1, DIR)", () => {
  const rows = [0.6, 0.64].map((r1, k) =>
    seedRow("lambda=0", k + 1, 0.9, {
      rank1_mean: r1,
      rank1_std: 0.02 + 0.01 * k,
      "dir_at_far_1e-2_mean": 0.3,
      "dir_at_far_1e-2_std": 0.01,
    })
  );
  const [agg] = aggregateRows(rows);
  close(agg.rank1_mean, 0.62, "rank-1 mean");
  assert.equal(agg.rank1_std, "0.025", "mean of the gallery-list stds");
  close(agg.rank1_sd_replicates, sd([0.6, 0.64]), "rank-1 sd across");
  close(agg.rank1_se_replicates, sd([0.6, 0.64]) / Math.SQRT2, "rank-1 se");
  assert.equal(agg["dir_at_far_1e-2_sd_replicates"], "0");
});

Deno.test("aggregateRows: only scored replicates are averaged; partial, collapsed and one-replicate groups", () => {
  const collapsed = {
    status: "collapsed",
    status_reason: "100 % of the DeepID2 units are zero",
    fold_accuracy: "",
    val_accuracy_mean: 0.5,
  };
  const rows = [
    // Replicate 2 collapsed: the mean is over replicates 1 and 3 only.
    seedRow("lambda=0", 1, 0.8, { val_accuracy_mean: 0.79 }),
    seedRow("lambda=0", 2, "", collapsed),
    seedRow("lambda=0", 3, 0.84, { val_accuracy_mean: 0.83 }),
    // Every replicate collapsed or diverged.
    seedRow("lambda=inf", 1, "", collapsed),
    seedRow("lambda=inf", 2, "", {
      ...collapsed,
      status: "diverged",
      status_reason: "the loss is not finite at step 40",
    }),
    // One replicate only.
    seedRow("lambda=5", 1, 0.88),
  ];
  const out = aggregateRows(rows);
  assert.deepEqual(out.map((r) => r.config), [
    "lambda=0",
    "lambda=inf",
    "lambda=5",
  ]);
  const [partial, dead, one] = out;
  close(partial.accuracy_mean, 0.82, "mean of the scored replicates");
  assert.equal(partial.accuracy_std, "0.05");
  close(
    partial.accuracy_sd_replicates,
    sd([0.8, 0.84]),
    "sd of the scored replicates",
  );
  close(
    partial.val_accuracy_mean,
    0.81,
    "the collapsed replicate's 0.5 left out",
  );
  assert.equal(partial.seeds_ok, "2/3");
  assert.equal(partial.status, "partial");
  assert.equal(
    partial.status_reason,
    "seed 2 (collapsed): 100 % of the DeepID2 units are zero",
  );
  assert.equal(dead.status, "collapsed", "none scored: the first replicate's");
  assert.equal(dead.seeds_ok, "0/2");
  assert.equal(dead.accuracy_mean, "", "never scored");
  assert.equal(dead.accuracy_sd_replicates, undefined);
  assert.equal(
    dead.status_reason,
    "seed 1 (collapsed): 100 % of the DeepID2 units are zero; " +
      "seed 2 (diverged): the loss is not finite at step 40",
  );
  assert.equal(one.accuracy_mean, "0.88");
  assert.equal(one.accuracy_std, "0.05", "its own fold std");
  assert.equal(one.accuracy_sd_replicates, "", "one replicate: no spread");
  assert.equal(one.accuracy_se_replicates, "");
  assert.equal(one.seeds_ok, "1/1");
  assert.equal(one.status, "ok");
});

Deno.test("aggregateRows: a replicate still improving is scored and averaged, and flagged with its reason", () => {
  const reason = "validation accuracy (l2) still rose 0.90 points over the " +
    "last quarter of training (allowed 0.50 points); identification loss " +
    "2.950 is 43 % of chance";
  const improving = { status: "still improving", status_reason: reason };
  const [agg] = aggregateRows([
    seedRow("lambda=0", 1, 0.8),
    seedRow("lambda=0", 2, 0.82, improving),
    seedRow("lambda=0", 3, 0.84),
  ]);
  close(agg.accuracy_mean, 0.82, "all three");
  assert.equal(agg.seeds_ok, "3/3");
  assert.equal(agg.status, "still improving");
  assert.equal(agg.status_reason, `seed 2 (still improving): ${reason}`);
  // With one not scored as well: partial, both reasons.
  const [partial] = aggregateRows([
    seedRow("lambda=0", 1, 0.8, improving),
    seedRow("lambda=0", 2, "", {
      status: "collapsed",
      status_reason: "validation accuracy 50.1 %",
    }),
    seedRow("lambda=0", 3, 0.84),
  ]);
  close(partial.accuracy_mean, 0.82, "replicates 1 and 3");
  assert.equal(partial.seeds_ok, "2/3");
  assert.equal(partial.status, "partial");
  assert.equal(
    partial.status_reason,
    `seed 1 (still improving): ${reason}; ` +
      "seed 2 (collapsed): validation accuracy 50.1 %",
  );
});

Deno.test("isScored: ok (or no status) and still improving are scored; collapsed and diverged are not", () => {
  assert.equal(isScored("ok"), true);
  assert.equal(isScored(""), true);
  assert.equal(isScored(undefined), true);
  assert.equal(isScored("still improving"), true);
  assert.equal(isScored("collapsed"), false);
  assert.equal(isScored("diverged"), false);
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
    // A stored mean (e.g. the merged CSV read back): not a replicate.
    { ...seedRow("lambda=0", 0, 0.1), seed: MEAN_SEED },
  ];
  const out = aggregateRows(rows);
  assert.deepEqual(
    out.map((r) => `${r.config} ${r.scorer} ${r.accuracy_mean} ${r.seeds_ok}`),
    ["lambda=0 l2 0.91 2/2", "lambda=0 joint_bayesian 0.96 2/2"],
  );
  // Its own output, fed back with the replicates, gives the same means.
  assert.deepEqual(aggregateRows([...rows, ...out]), out);
  assert.deepEqual(aggregateRows([]), []);
});

Deno.test("aggregateRows: text columns that differ between replicates are left empty", () => {
  const rows = [
    seedRow("lambda=0", 1, 0.9, { protocol: "lists from seed 1" }),
    seedRow("lambda=0", 2, 0.9, { protocol: "lists from seed 2" }),
  ];
  const [agg] = aggregateRows(rows);
  assert.equal(agg.fold_accuracy, "");
  assert.equal(agg.seed, MEAN_SEED);
  assert.equal(agg.protocol, "");
  assert.equal(agg.model, "");
});

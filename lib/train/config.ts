/**
 * The training configuration of the paper's Algorithm 1 (`lib/PAPER.md`,
 * "Algorithm 1"), its defaults, the learning-rate schedule and the shape of
 * the data and of the training log. Steps, learning rate, momentum, decay,
 * pair ratio and margin period are not given by the paper [U]: they are
 * config values with documented defaults (`lib/PAPER.md`, "What the paper
 * leaves open, and our defaults"). `lib/train/train.ts` re-exports all of it.
 *
 * @module
 */
import type { LambdaScaling, Signal } from "./losses.ts";

/** Training hyper-parameters; [U] = not given by the paper. */
export interface TrainConfig {
  /**
   * SGD steps: the schedule's length (the rate reaches its final value here)
   * and the training's, unless `maxSteps` lets it go on. [U]
   */
  steps: number;
  /**
   * Up to this many steps when the trainer's caller asks to go on
   * (`TrainOptions.extend`: the harness does while a model is still
   * improving on its validation pairs), in chunks of
   * {@linkcode extensionChunk}, at the schedule's final rate; 0 = `steps`.
   * [U]
   */
  maxSteps: number;
  /** Pairs per step; each pair is two images, so 32 pairs = batch 64. [U] */
  pairsPerBatch: number;
  /** Fraction of same-identity pairs in a batch. [U] */
  positiveFraction: number;
  /** Weight of the verification signal; 0 = identification only, Infinity = verification only. */
  lambda: number;
  /**
   * `bounded`: the total loss is divided by max(1, λ), so the step size is
   * comparable along the whole λ axis and λ → ∞ meets verification only;
   * `none`: the paper's sum as written (`lossWeights`, `lib/train/losses.ts`). [U]
   */
  lambdaScaling: LambdaScaling;
  /** Verification signal (Table 1). */
  signal: Signal;
  /** Initial learning rate. [U] */
  learningRate: number;
  /** Learning-rate schedule: `exp` decays to `learningRate * finalLrRatio`; `step` divides by 10 at 50 % and 75 %; `constant`. [U] */
  lrSchedule: "exp" | "step" | "constant";
  /** Final / initial learning rate for `exp`. [U] */
  finalLrRatio: number;
  /** Linear learning-rate warm-up over the first N steps, from 0 to the scheduled rate (steps; 0 = none). [U] */
  warmupSteps: number;
  /** SGD momentum. [U] */
  momentum: number;
  /** L2 weight decay on weights (not biases). [U] */
  weightDecay: number;
  /** Initial margin m. [U] */
  margin: number;
  /** Re-set m every K steps... [S; K U] */
  marginEvery: number;
  /** ...from the last W training pairs. [U] */
  marginWindow: number;
  /** Checkpoint every N steps (0 = only at the end). */
  checkpointEvery: number;
  /** Seed of initialisation and pair sampling. */
  seed: number;
}

/** Defaults used by the experiments unless a profile overrides them. */
export const DEFAULT_TRAIN: TrainConfig = {
  steps: 1000,
  maxSteps: 0,
  pairsPerBatch: 32,
  positiveFraction: 0.5,
  lambda: 0.05,
  // Bounded: λ ≤ 1 is unchanged, and λ > 1 no longer raises the step size.
  lambdaScaling: "bounded",
  signal: "l2",
  learningRate: 0.01,
  lrSchedule: "exp",
  finalLrRatio: 0.1,
  warmupSteps: 0,
  momentum: 0.9,
  weightDecay: 5e-4,
  margin: 1,
  marginEvery: 20,
  marginWindow: 2048,
  checkpointEvery: 200,
  seed: 1,
};

/** Labelled face crops to train on. */
export interface TrainData {
  images: Uint8Array;
  shape: [number, number, number];
  labels: Int32Array;
}

/**
 * Learning rate of the step after `step` steps (0-based) of `config.steps`:
 * the schedule, times `(step + 1) / warmupSteps` during the warm-up (the
 * first step at 1/N of the rate, step N at the full rate).
 */
export function learningRateAt(step: number, config: TrainConfig): number {
  const lr = scheduledRate(step, config);
  const n = config.warmupSteps;
  // No multiply outside the warm-up: the rate is the schedule's, bit for bit.
  return n > 0 && step < n - 1 ? lr * ((step + 1) / n) : lr;
}

function scheduledRate(step: number, config: TrainConfig): number {
  // Past `steps` (an extension) the rate stays at its final value.
  const t = Math.min(1, step / Math.max(1, config.steps));
  switch (config.lrSchedule) {
    case "constant":
      return config.learningRate;
    case "step":
      return config.learningRate * (t < 0.5 ? 1 : t < 0.75 ? 0.1 : 0.01);
    case "exp":
      return config.learningRate * Math.pow(config.finalLrRatio, t);
  }
}

/**
 * Checks the config values a typo or an older caller could leave wrong,
 * with an error naming the key (the trainer calls it before step 1).
 */
export function checkTrainConfig(config: TrainConfig): void {
  const { lambdaScaling, warmupSteps, maxSteps, steps } = config;
  if (!Number.isInteger(maxSteps) || (maxSteps !== 0 && maxSteps < steps)) {
    throw new Error(
      `maxSteps must be 0 (no extension) or an integer >= steps (${steps}), got ${
        String(maxSteps)
      }`,
    );
  }
  if (lambdaScaling !== "bounded" && lambdaScaling !== "none") {
    throw new Error(
      `lambdaScaling must be "bounded" or "none", got ${String(lambdaScaling)}`,
    );
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new Error(
      `warmupSteps must be an integer >= 0, got ${String(warmupSteps)}`,
    );
  }
}

/** The last step a training may reach: `maxSteps`, or `steps` when it is 0. */
export function lastStep(
  config: Pick<TrainConfig, "steps" | "maxSteps">,
): number {
  return Math.max(config.steps, config.maxSteps || 0);
}

/**
 * How many steps an extension adds: a quarter of `steps`, rounded up to a
 * multiple of `every` (the validation period, so each extension ends on a
 * check), so that a training past `steps` is looked at a few times only.
 */
export function extensionChunk(steps: number, every: number): number {
  const e = Math.max(1, every);
  return Math.max(e, Math.ceil(steps / 4 / e) * e);
}

/** One line of the training log, after step `step` (1-based). */
export interface TrainLogEntry {
  step: number;
  identLoss: number;
  verifLoss: number;
  margin: number;
  lr: number;
}

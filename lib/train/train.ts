/**
 * Joint identification-verification training: the paper's Algorithm 1
 * (`lib/PAPER.md`, "Algorithm 1"), as one short loop.
 *
 * Each step draws a batch of pairs with a set fraction of same-identity
 * pairs (`lib/train/pairs.ts`), runs the step chosen once for the network
 * and config (`lib/train/step.ts`: loss, gradient, SGD with momentum and
 * weight decay), re-sets the margin m every `marginEvery` steps from the
 * last `marginWindow` pairs (`lib/train/run_state.ts`), logs, and
 * checkpoints every `checkpointEvery` steps; the learning rate decreases by
 * a schedule (`lib/train/config.ts`). Deterministic for a given seed,
 * backend, formulation (`net.paths`) and config; resumable from its
 * checkpoint with identical results.
 *
 * @module
 */
import {
  learningRateAt,
  type TrainConfig,
  type TrainData,
  type TrainLogEntry,
} from "./config.ts";
import type { DeepID2 } from "../nn/model.ts";
import { makeStep, type StepValues, TrainerVars } from "./step.ts";
import { newRun, resume, type RunState, snapshot } from "./run_state.ts";
import { PairSampler } from "./pairs.ts";
import { Progress } from "../base/progress.ts";
import { usesMargin } from "./losses.ts";

export {
  DEFAULT_TRAIN,
  learningRateAt,
  type TrainConfig,
  type TrainData,
  type TrainLogEntry,
} from "./config.ts";

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** Checkpoint file; with `resume`, training continues from it when present. */
  checkpointPath?: string;
  resume?: boolean;
  /** Called after every `evalEvery`-th step, with the weights of that step. */
  onEval?: (step: number, net: DeepID2) => Promise<void> | void;
  evalEvery?: number;
  /** Label of the progress line; `null` = no progress output. */
  progressLabel?: string | null;
  /** Stop after this many steps in this call (to test interruption). */
  stopAfter?: number;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  step: number;
  margin: number;
  log: TrainLogEntry[];
  /** Training throughput of this call, images/s. */
  imagesPerSecond: number;
  /** Cosine-signal parameters, if any. */
  cosine?: { w: number; b: number };
}

/**
 * Trains `net` on `data` (Algorithm 1) with the formulation it carries
 * (`net.paths`).
 *
 * @example
 * ```ts
 * const net = createDeepID2(defaultModelConfig(10), 1, { paths: info.paths });
 * await train(net, data, { ...DEFAULT_TRAIN, steps: 10 });
 * ```
 */
export async function train(
  net: DeepID2,
  data: TrainData,
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  checkSetup(net, data, config);
  const sampler = new PairSampler(data.labels, config.seed);
  // Velocities and cosine w, b: freed whatever happens (a bad checkpoint, a
  // diverged run).
  using vars = new TrainerVars(net, config);
  const ck = options.checkpointPath;
  const run = options.resume && ck
    ? await resume(ck, vars, sampler, config)
    : newRun(config);
  const save = () => snapshot(ck!, run, vars, sampler, config, net.config);
  const last = Math.min(
    config.steps,
    run.step + (options.stopAfter ?? Infinity),
  );
  const P = config.pairsPerBatch;
  const resetsMargin = usesMargin(config.signal) && config.lambda !== 0;
  // After the resume: with resource variables, the weights move in here.
  const stepper = makeStep(net, data, vars, config);
  const meter = new Meter(options.progressLabel, run.step, last, config);
  try {
    while (run.step < last) {
      const pairs = sampler.batch(P, config.positiveFraction);
      const lr = learningRateAt(run.step, config);
      const v = await stepper.step(pairs, lr, run.margin);
      if (!Number.isFinite(v.identLoss) || !Number.isFinite(v.verifLoss)) {
        throw new Error(
          `training diverged at step ${run.step + 1} ` +
            `(loss ${v.identLoss}, ${v.verifLoss}); lower the learning rate`,
        );
      }
      run.window.push(v.dist, pairs.same);
      run.step++;
      if (resetsMargin && run.step % config.marginEvery === 0) {
        run.margin = run.window.margin();
      }
      const { identLoss, verifLoss } = v;
      run.log.push({
        step: run.step,
        identLoss,
        verifLoss,
        margin: run.margin,
        lr,
      });
      meter.update(run, v, lr);
      if (ck && due(run, config.checkpointEvery) && run.step < config.steps) {
        stepper.sync();
        await save();
      }
      if (options.onEval && due(run, options.evalEvery)) {
        stepper.sync();
        await options.onEval(run.step, net);
      }
    }
  } finally {
    // Also on divergence: the network keeps the weights of the last step.
    stepper.sync();
    stepper.dispose();
  }
  meter.finish(run.step);
  if (ck) await save();
  const { step, margin, log } = run;
  const result: TrainResult = {
    step,
    margin,
    log,
    imagesPerSecond: meter.imagesPerSecond(step),
  };
  if (vars.cosine) {
    const [w, b] = [vars.cosine.w, vars.cosine.b];
    result.cosine = { w: (await w.data())[0], b: (await b.data())[0] };
  }
  return result;
}

/** Whether a period of `every` steps (0 or none = never) ends at the run's step. */
function due(run: RunState, every: number | undefined): boolean {
  return every !== undefined && every > 0 && run.step % every === 0;
}

/** Clear errors for a network, λ and data that do not fit together. */
function checkSetup(net: DeepID2, data: TrainData, config: TrainConfig): void {
  const { lambda } = config;
  const softmax = net.params.has("softmax/w");
  if (lambda === Infinity && softmax) {
    throw new Error(
      "lambda = Infinity trains without a softmax: build the net with numIdentities = 0",
    );
  }
  if (lambda !== Infinity && !softmax) {
    throw new Error(`lambda = ${lambda} needs a softmax: numIdentities > 0`);
  }
  const [h, w, c] = net.config.inputShape;
  if (data.shape[0] !== h || data.shape[1] !== w || data.shape[2] !== c) {
    throw new Error(
      `training crops are ${
        data.shape.join("x")
      }, the network expects ${h}x${w}x${c}`,
    );
  }
}

/** The progress line and the throughput of one `train` call. */
class Meter {
  readonly #progress: Progress | null;
  readonly #first: number;
  readonly #images: number;
  readonly #total: number;
  readonly #t0 = performance.now();

  /** Steps `first` .. `last` of `config.steps`, each of `2 * pairsPerBatch` images. */
  constructor(
    label: string | null | undefined,
    first: number,
    last: number,
    config: TrainConfig,
  ) {
    this.#first = first;
    this.#images = 2 * config.pairsPerBatch;
    this.#total = config.steps;
    this.#progress = label === null
      ? null
      : new Progress(label ?? "train", last - first, { unit: "steps" });
  }

  /** Images per second since the meter started, at step `step`. */
  imagesPerSecond(step: number): number {
    const secs = (performance.now() - this.#t0) / 1000;
    return (step - this.#first) * this.#images / Math.max(secs, 1e-9);
  }

  update(run: RunState, v: StepValues, lr: number): void {
    this.#progress?.update(
      run.step - this.#first,
      `step ${run.step}/${this.#total} ident ${v.identLoss.toFixed(3)} ` +
        `verif ${v.verifLoss.toFixed(4)} m ${run.margin.toFixed(3)} ` +
        `lr ${lr.toExponential(2)} ` +
        `${this.imagesPerSecond(run.step).toFixed(0)} img/s`,
    );
  }

  finish(step: number): void {
    this.#progress?.finish(step - this.#first);
  }
}

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
 * a schedule after an optional linear warm-up (`lib/train/config.ts`). Deterministic for a given seed,
 * backend, formulation (`net.paths`) and config; resumable from its
 * checkpoint with identical results.
 *
 * @module
 */
import {
  checkTrainConfig,
  extensionChunk,
  lastStep,
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
  checkTrainConfig,
  DEFAULT_TRAIN,
  extensionChunk,
  lastStep,
  learningRateAt,
  type TrainConfig,
  type TrainData,
  type TrainLogEntry,
} from "./config.ts";

/**
 * The training signals since the previous {@linkcode TrainOptions.onEval}
 * call (or the start of this `train` call), for learning curves.
 */
export interface EvalStats {
  /** Mean over those steps of `Ident(fi) + Ident(fj)` (unweighted batch means, as logged); 0 when λ = Infinity. */
  identLoss: number;
  /** Mean over those steps of `Verif(fi, fj)` (unweighted batch mean); 0 when λ = 0. */
  verifLoss: number;
  /** How many steps the means are over. */
  steps: number;
  /** The margin m in force after this step (the value the next step uses). */
  margin: number;
  /** The learning rate this step ran at. */
  lr: number;
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** Checkpoint file; with `resume`, training continues from it when present. */
  checkpointPath?: string;
  resume?: boolean;
  /**
   * Called after every `evalEvery`-th step, with the weights of that step
   * and the losses since the previous call. A string it returns (short,
   * e.g. "val 81.2 %") is shown on the progress line from then on.
   */
  onEval?: (
    step: number,
    net: DeepID2,
    stats: EvalStats,
  ) => Promise<string | void> | string | void;
  evalEvery?: number;
  /** Label of the progress line; `null` = no progress output. */
  progressLabel?: string | null;
  /** Where progress lines go (stderr by default). */
  progressWrite?: (text: string) => void;
  /** Stop after this many steps in this call (to test interruption). */
  stopAfter?: number;
  /**
   * Asked when the run reaches `config.steps`, and again at the end of each
   * extension while below `config.maxSteps` (after that step's `onEval`):
   * true trains another {@linkcode extensionChunk} steps at the schedule's
   * final rate. Without it, or with `maxSteps` 0, training ends at `steps`.
   */
  extend?: (step: number, net: DeepID2) => Promise<boolean> | boolean;
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
 * A step gave a non-finite loss. Training is deterministic (seed, backend,
 * formulation and config fix every number), so resuming from the last
 * checkpoint reaches the same step and diverges again: the config has to
 * change. The network keeps the weights of the step that diverged.
 */
export class TrainingDiverged extends Error {
  override name = "TrainingDiverged";

  constructor(
    /** The step (1-based) whose loss was not finite. */
    readonly step: number,
    /** Its `Ident(fi) + Ident(fj)`. */
    readonly identLoss: number,
    /** Its `Verif(fi, fj)`. */
    readonly verifLoss: number,
  ) {
    super(
      `training diverged at step ${step} (identification loss ${identLoss}, ` +
        `verification loss ${verifLoss}); training is deterministic, so ` +
        `resuming from the checkpoint would diverge again at the same step: ` +
        `lower the learning rate, or raise warm-up (warmupSteps)`,
    );
  }
}

/**
 * Trains `net` on `data` (Algorithm 1) with the formulation it carries
 * (`net.paths`). A non-finite loss throws {@linkcode TrainingDiverged}; a
 * corrupt checkpoint to resume from throws an error that names the file and
 * says to delete it.
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
  // The training ends at `steps`, or past it in chunks while `extend` asks
  // (at most `maxSteps`); a resumed run past `steps` continues its chunk.
  const max = lastStep(config);
  const chunk = extensionChunk(config.steps, options.evalEvery ?? 1);
  let target = config.steps;
  while (target < Math.min(max, run.step)) target += chunk;
  target = Math.min(max, target);
  const stopAt = run.step + (options.stopAfter ?? Infinity);
  const last = () => Math.min(target, stopAt);
  const P = config.pairsPerBatch;
  const resetsMargin = usesMargin(config.signal) && config.lambda !== 0;
  // After the resume: with resource variables, the weights move in here.
  const stepper = makeStep(net, data, vars, config);
  const meter = new Meter(options, run.step, last(), config);
  // Loss sums since the previous onEval call.
  const since = { ident: 0, verif: 0, steps: 0 };
  try {
    while (true) {
      if (run.step >= last()) {
        if (run.step >= stopAt || target >= max || !options.extend) break;
        stepper.sync(); // the caller looks at the weights of this step
        if (!await options.extend(run.step, net)) break;
        target = Math.min(max, target + chunk);
        meter.extend(target);
      }
      const pairs = sampler.batch(P, config.positiveFraction);
      const lr = learningRateAt(run.step, config);
      const v = await stepper.step(pairs, lr, run.margin);
      if (!Number.isFinite(v.identLoss) || !Number.isFinite(v.verifLoss)) {
        throw new TrainingDiverged(run.step + 1, v.identLoss, v.verifLoss);
      }
      run.window.push(v.dist, pairs.same);
      run.step++;
      if (resetsMargin && run.step % config.marginEvery === 0) {
        run.margin = run.window.margin();
      }
      const { identLoss, verifLoss } = v;
      since.ident += identLoss;
      since.verif += verifLoss;
      since.steps++;
      run.log.push({
        step: run.step,
        identLoss,
        verifLoss,
        margin: run.margin,
        lr,
      });
      if (ck && due(run, config.checkpointEvery) && run.step < max) {
        stepper.sync();
        await save();
      }
      if (options.onEval && due(run, options.evalEvery)) {
        stepper.sync();
        const note = await options.onEval(run.step, net, {
          identLoss: since.ident / since.steps,
          verifLoss: since.verif / since.steps,
          steps: since.steps,
          margin: run.margin,
          lr,
        });
        since.ident = since.verif = since.steps = 0;
        if (typeof note === "string") meter.note = note;
      }
      // After the evaluation, so that the line shows what it returned.
      meter.update(run, v, lr);
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
  checkTrainConfig(config);
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
  #total: number;
  readonly #t0 = performance.now();
  /** What the last evaluation returned, shown at the end of the line. */
  note = "";

  /** Steps `first` .. `last` of `config.steps`, each of `2 * pairsPerBatch` images. */
  constructor(
    options: TrainOptions,
    first: number,
    last: number,
    config: TrainConfig,
  ) {
    this.#first = first;
    this.#images = 2 * config.pairsPerBatch;
    this.#total = config.steps;
    const label = options.progressLabel;
    this.#progress = label === null ? null : new Progress(
      label ?? "train",
      last - first,
      { unit: "steps", write: options.progressWrite },
    );
  }

  /** The training goes on to step `last` (an extension). */
  extend(last: number): void {
    this.#total = last;
    this.#progress?.setTotal(last - this.#first);
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
        `${this.imagesPerSecond(run.step).toFixed(0)} img/s` +
        (this.note ? ` ${this.note}` : ""),
    );
  }

  finish(step: number): void {
    this.#progress?.finish(step - this.#first);
  }
}

/**
 * Joint identification-verification training: Algorithm 1 of Sun et al.
 * (2014), PAPER.md "Algorithm 1".
 *
 * Each step draws a batch of pairs with a set fraction of same-identity
 * pairs (random pairs from a shuffled set would be almost all negatives);
 * both images go through the same network; the loss is
 *
 *   Ident(fi) + Ident(fj) + λ · Verif(fi, fj)
 *
 * (batch means), so the softmax parameters get only the identification
 * gradient, the verification parameters (cosine w, b) get λ·∂Verif and the
 * network gets both. λ = 0 trains on identification only; λ = Infinity on
 * verification only, with no softmax in the graph. SGD with momentum and
 * weight decay (on TensorFlow in place, on resource variables:
 * lib/native_sgd.ts), learning rate decreasing by a schedule. The margin m is
 * re-set every `marginEvery` steps from the last `marginWindow` pairs.
 *
 * Steps, learning rate, momentum, decay, pair ratio and margin period are not
 * given by the paper [U]: they are config values with documented defaults.
 *
 * @module
 */
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { fastPaths } from "../engine/fast_paths.ts";
import { jointLoss, type JointLossValues } from "./joint_loss.ts";
import { exists } from "../base/io.ts";
import {
  bestThreshold,
  identificationLoss,
  pairDistance,
  type Signal,
  usesMargin,
  verificationLoss,
} from "./losses.ts";
import {
  type DeepID2,
  features,
  logits,
  normaliseImages,
  type Params,
} from "../nn/model.ts";
import { momentumStep, ResourceSgd } from "../engine/native_sgd.ts";
import { Progress } from "../base/progress.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

/** Training hyper-parameters; [U] = not given by the paper. */
export interface TrainConfig {
  /** SGD steps. [U] */
  steps: number;
  /** Pairs per step; each pair is two images, so 32 pairs = batch 64. [U] */
  pairsPerBatch: number;
  /** Fraction of same-identity pairs in a batch. [U] */
  positiveFraction: number;
  /** Weight of the verification signal; 0 = identification only, Infinity = verification only. */
  lambda: number;
  /** Verification signal (Table 1). */
  signal: Signal;
  /** Initial learning rate. [U] */
  learningRate: number;
  /** Learning-rate schedule: `exp` decays to `learningRate * finalLrRatio`; `step` divides by 10 at 50 % and 75 %; `constant`. [U] */
  lrSchedule: "exp" | "step" | "constant";
  /** Final / initial learning rate for `exp`. [U] */
  finalLrRatio: number;
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
  pairsPerBatch: 32,
  positiveFraction: 0.5,
  lambda: 0.05,
  signal: "l2",
  learningRate: 0.01,
  lrSchedule: "exp",
  finalLrRatio: 0.1,
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
 * Draws batches of pairs with a fixed fraction of same-identity pairs.
 * Its whole state is one RNG word, saved in checkpoints.
 */
export class PairSampler {
  readonly #labels: Int32Array;
  readonly #byIdentity: number[][];
  readonly #multi: number[];
  readonly rng: Rng;

  /** @param labels identity of each image */
  constructor(labels: Int32Array, seed: number) {
    this.#labels = labels;
    const n = labels.reduce((m, l) => Math.max(m, l), -1) + 1;
    this.#byIdentity = Array.from({ length: n }, () => []);
    labels.forEach((l, i) => this.#byIdentity[l].push(i));
    // Images whose identity has another image: anchors of positive pairs.
    this.#multi = [];
    labels.forEach((l, i) => {
      if (this.#byIdentity[l].length > 1) this.#multi.push(i);
    });
    if (this.#byIdentity.filter((a) => a.length > 0).length < 2) {
      throw new Error("pair sampling needs at least two identities");
    }
    this.rng = Rng.derive(seed, "pairs");
  }

  /**
   * One batch: image indices `a`, `b` and `same` (1/0) of `count` pairs, the
   * first `round(count * positiveFraction)` of them same-identity.
   */
  batch(count: number, positiveFraction: number): {
    a: Int32Array;
    b: Int32Array;
    same: Float32Array;
  } {
    const a = new Int32Array(count);
    const b = new Int32Array(count);
    const same = new Float32Array(count);
    const positives = this.#multi.length
      ? Math.round(count * positiveFraction)
      : 0;
    const n = this.#labels.length;
    for (let k = 0; k < count; k++) {
      if (k < positives) {
        const i = this.#multi[this.rng.int(this.#multi.length)];
        const group = this.#byIdentity[this.#labels[i]];
        let j = group[this.rng.int(group.length - 1)];
        if (j === i) j = group[group.length - 1];
        a[k] = i;
        b[k] = j;
        same[k] = 1;
      } else {
        const i = this.rng.int(n);
        let j = this.rng.int(n);
        while (this.#labels[j] === this.#labels[i]) j = this.rng.int(n);
        a[k] = i;
        b[k] = j;
      }
    }
    return { a, b, same };
  }
}

/** Learning rate at `step` of `config.steps`. */
export function learningRateAt(step: number, config: TrainConfig): number {
  const t = step / Math.max(1, config.steps);
  switch (config.lrSchedule) {
    case "constant":
      return config.learningRate;
    case "step":
      return config.learningRate * (t < 0.5 ? 1 : t < 0.75 ? 0.1 : 0.01);
    case "exp":
      return config.learningRate * Math.pow(config.finalLrRatio, t);
  }
}

/** One line of the training log. */
export interface TrainLogEntry {
  step: number;
  identLoss: number;
  verifLoss: number;
  margin: number;
  lr: number;
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** Checkpoint file; with `resume`, training continues from it when present. */
  checkpointPath?: string;
  resume?: boolean;
  /** Called every `evalEvery` steps and at the end. */
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

interface TrainerVars {
  velocity: Map<string, tf.Variable>;
  cosW?: tf.Variable;
  cosB?: tf.Variable;
}

/**
 * Trains `net` on `data` (Algorithm 1). Deterministic for a given seed,
 * backend and config; resumable from its checkpoint with identical results.
 *
 * @example
 * ```ts
 * const net = createDeepID2(defaultModelConfig(10), 1);
 * await train(net, data, { ...DEFAULT_TRAIN, steps: 10 });
 * ```
 */
export async function train(
  net: DeepID2,
  data: TrainData,
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const { lambda, signal } = config;
  const identOnly = lambda === 0;
  const verifOnly = lambda === Infinity;
  if (verifOnly && net.params.has("softmax/w")) {
    throw new Error(
      "lambda = Infinity trains without a softmax: build the net with numIdentities = 0",
    );
  }
  if (!verifOnly && !net.params.has("softmax/w")) {
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
  const sampler = new PairSampler(data.labels, config.seed);
  const vars: TrainerVars = { velocity: new Map() };
  // The trainer's own variables go whatever happens (a bad checkpoint, a
  // diverged run).
  try {
    for (const [name, p] of net.params) {
      vars.velocity.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
    const useCos = signal === "cosine" && !identOnly;
    if (useCos) {
      vars.cosW = tf.tidy(() => tf.variable(tf.scalar(5), true));
      vars.cosB = tf.tidy(() => tf.variable(tf.scalar(-2.5), true));
      vars.velocity.set(
        "cosine/w",
        tf.tidy(() => tf.variable(tf.scalar(0), false)),
      );
      vars.velocity.set(
        "cosine/b",
        tf.tidy(() => tf.variable(tf.scalar(0), false)),
      );
    }
    let step = 0;
    let margin = config.margin;
    let window: { d: number[]; same: number[] } = { d: [], same: [] };
    const log: TrainLogEntry[] = [];
    // Everything SGD updates, by checkpoint name.
    const trainable = new Map(net.params);
    if (vars.cosW) trainable.set("cosine/w", vars.cosW);
    if (vars.cosB) trainable.set("cosine/b", vars.cosB);

    if (
      options.resume && options.checkpointPath &&
      await exists(options.checkpointPath)
    ) {
      const ck = await loadCheckpoint(options.checkpointPath);
      for (const [name, v] of trainable) {
        const t = ck.tensors.get(name);
        const vt = ck.tensors.get(`${name}/v`);
        if (!t || !vt || t.values.length !== v.size) {
          throw new Error(
            `${options.checkpointPath}: checkpoint does not match this network (${name})`,
          );
        }
        tf.tidy(() => v.assign(tf.tensor(t.values, v.shape)));
        tf.tidy(() =>
          vars.velocity.get(name)!.assign(tf.tensor(vt.values, v.shape))
        );
      }
      const st = ck.state as {
        step: number;
        margin: number;
        rng: number;
        window: typeof window;
        log: TrainLogEntry[];
      };
      step = st.step;
      margin = st.margin;
      sampler.rng.state = st.rng;
      window = st.window;
      log.push(...st.log);
    }

    // On TensorFlow the parameters live in resource variables while training
    // (lib/native_sgd.ts); `sync` copies them back into the tfjs variables.
    const decayed = (name: string) =>
      name.includes("/w") && !name.startsWith("cosine") &&
      config.weightDecay !== 0;
    const sgd = fastPaths.nativeSgd
      ? ResourceSgd.create(trainable, vars.velocity, decayed)
      : null;
    const sync = () => sgd?.copyTo(trainable, vars.velocity);

    const save = async () => {
      if (!options.checkpointPath) return;
      sync();
      const tensors = new Map<
        string,
        { shape: number[]; values: Float32Array }
      >();
      for (const [name, v] of trainable) {
        tensors.set(name, {
          shape: v.shape,
          values: await v.data() as Float32Array,
        });
        const vel = vars.velocity.get(name)!;
        tensors.set(`${name}/v`, {
          shape: vel.shape,
          values: await vel.data() as Float32Array,
        });
      }
      await saveCheckpoint(options.checkpointPath, {
        tensors,
        state: {
          step,
          margin,
          rng: sampler.rng.state,
          window,
          log,
          config: { ...config, lambda: String(lambda) },
          model: net.config,
        },
      });
    };

    const total = config.steps;
    const lastStop = options.stopAfter !== undefined
      ? Math.min(total, step + options.stopAfter)
      : total;
    const progress = options.progressLabel === null
      ? null
      : new Progress(options.progressLabel ?? "train", lastStop - step, {
        unit: "steps",
      });
    const startStep = step;
    const t0 = performance.now();
    const P = config.pairsPerBatch;

    try {
      while (step < lastStop) {
        const { a, b, same } = sampler.batch(P, config.positiveFraction);
        const idx = new Int32Array(2 * P);
        idx.set(a, 0);
        idx.set(b, P);
        const lr = learningRateAt(step, config);
        const labelsNow = Int32Array.from(idx, (i) => data.labels[i]);
        // The loss on the host (lib/joint_loss.ts) hands its values over here.
        const onHost: { values?: JointLossValues } = {};
        // Gradients for the resource-variable update, by parameter name.
        let sgdGrads: Map<string, tf.Tensor> | null = null;
        const read = tf.tidy(() => {
          const x = normaliseImages(data.images, data.shape, idx);
          // The parameters this step reads: the resource variables' current
          // values, or the tfjs variables themselves.
          const now: Map<string, tf.Tensor> = sgd ? sgd.values() : trainable;
          const netNow = sgd ? { ...net, params: now as Params } : net;
          let identL: tf.Scalar | undefined;
          let verifL: tf.Scalar | undefined;
          let dist: tf.Tensor1D | undefined;
          const lossFn = () => {
            const f = features(netNow, x); // [2P, D]
            const cosine = useCos
              ? { w: now.get("cosine/w")!, b: now.get("cosine/b")! }
              : undefined;
            if (fastPaths.hostLoss) {
              return jointLoss(
                f,
                verifOnly ? null : logits(netNow, f),
                { labels: labelsNow, same, lambda, signal, margin },
                cosine,
                (v) => onHost.values = v,
              );
            }
            const fi = tf.slice(f, [0, 0], [P, -1]) as tf.Tensor2D;
            const fj = tf.slice(f, [P, 0], [P, -1]) as tf.Tensor2D;
            let loss: tf.Scalar = tf.scalar(0);
            if (!verifOnly) {
              // Ident(fi) + Ident(fj): twice the mean over the 2P images.
              identL = tf.keep(
                tf.mul(
                  2,
                  identificationLoss(
                    logits(netNow, f),
                    tf.tensor1d(labelsNow, "int32"),
                  ),
                ),
              );
              loss = tf.add(loss, identL);
            }
            if (!identOnly) {
              verifL = tf.keep(
                verificationLoss(fi, fj, tf.tensor1d(same), {
                  signal,
                  margin,
                  cosine,
                }),
              );
              loss = tf.add(loss, verifOnly ? verifL : tf.mul(lambda, verifL));
            }
            dist = tf.keep(pairDistance(fi, fj, signal));
            return loss;
          };
          const names = [...now.keys()];
          const { value, grads } = tf.engine().gradients(
            lossFn,
            names.map((n) => now.get(n)!),
            undefined,
            true,
          );
          tf.dispose(value);
          if (sgd) {
            // Updated after this tidy, which disposes the reads first.
            sgdGrads = new Map();
            names.forEach((n, i) => {
              if (grads[i]) sgdGrads!.set(n, tf.keep(grads[i]));
            });
          } else {
            // SGD with momentum: v = mu v - lr (g + wd p); p += v. Decay on
            // weights only.
            const hp = {
              lr: tf.scalar(lr),
              momentum: tf.scalar(config.momentum),
              weightDecay: tf.scalar(config.weightDecay),
            };
            names.forEach((name, i) => {
              if (!grads[i]) return;
              const p = trainable.get(name)!;
              const v = vars.velocity.get(name)!;
              const [p1, v1] = momentumStep(p, v, grads[i], hp, decayed(name));
              v.assign(v1);
              p.assign(p1);
            });
          }
          // On the host path the values are in `onHost` already.
          return dist
            ? [identL ?? tf.scalar(0), verifL ?? tf.scalar(0), dist]
            : [];
        });
        if (sgd && sgdGrads) {
          sgd.step(sgdGrads, {
            lr,
            momentum: config.momentum,
            weightDecay: config.weightDecay,
          });
          tf.dispose([...(sgdGrads as Map<string, tf.Tensor>).values()]);
        }
        let il: number, vl: number, dv: ArrayLike<number>;
        if (onHost.values) {
          ({ identLoss: il, verifLoss: vl, dist: dv } = onHost.values);
        } else {
          [il, vl] = [(await read[0].data())[0], (await read[1].data())[0]];
          dv = await read[2].data();
          tf.dispose(read);
        }
        if (!Number.isFinite(il) || !Number.isFinite(vl)) {
          throw new Error(
            `training diverged at step ${
              step + 1
            } (loss ${il}, ${vl}); lower the learning rate`,
          );
        }
        for (let k = 0; k < P; k++) {
          window.d.push(dv[k]);
          window.same.push(same[k]);
        }
        if (window.d.length > config.marginWindow) {
          const cut = window.d.length - config.marginWindow;
          window.d.splice(0, cut);
          window.same.splice(0, cut);
        }
        step++;
        if (
          usesMargin(signal) && !identOnly && step % config.marginEvery === 0
        ) {
          margin = bestThreshold(window.d, window.same).threshold;
        }
        log.push({ step, identLoss: il, verifLoss: vl, margin, lr });
        progress?.update(
          step - startStep,
          `step ${step}/${total} ident ${il.toFixed(3)} verif ${
            vl.toFixed(4)
          } m ${margin.toFixed(3)} lr ${lr.toExponential(2)} ${
            ((step - startStep) * 2 * P / ((performance.now() - t0) / 1000))
              .toFixed(0)
          } img/s`,
        );
        if (
          config.checkpointEvery > 0 && step % config.checkpointEvery === 0 &&
          step < total
        ) await save();
        if (
          options.onEval && options.evalEvery && step % options.evalEvery === 0
        ) {
          sync();
          await options.onEval(step, net);
        }
      }
    } finally {
      sync();
      sgd?.dispose();
    }
    progress?.finish(step - startStep);
    await save();
    const secs = (performance.now() - t0) / 1000;
    const result: TrainResult = {
      step,
      margin,
      log,
      imagesPerSecond: (step - startStep) * 2 * P / Math.max(secs, 1e-9),
    };
    if (useCos) {
      result.cosine = {
        w: (await vars.cosW!.data())[0],
        b: (await vars.cosB!.data())[0],
      };
    }
    return result;
  } finally {
    for (const v of vars.velocity.values()) v.dispose();
    vars.cosW?.dispose();
    vars.cosB?.dispose();
  }
}

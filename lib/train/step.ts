/**
 * One SGD step of Algorithm 1 (`lib/PAPER.md`, "Algorithm 1"): both images
 * of each pair through the same network, the joint loss
 * `Ident(fi) + Ident(fj) + λ · Verif(fi, fj)` (batch means), its gradient and
 * the update. The softmax parameters get only the identification gradient,
 * the cosine signal's `w`, `b` get λ·∂Verif, the network gets both; λ = 0
 * trains on identification only, λ = Infinity on verification only, with no
 * softmax in the graph. With `lambdaScaling: "bounded"` and λ > 1 the whole
 * total, and so every one of those gradients, is divided by λ
 * (`lossWeights` in `lib/train/losses.ts`; `lib/PAPER.md`, "Signals").
 *
 * Two choices, each made once by {@linkcode makeStep} from the network's
 * paths (`lib/engine/fast_paths.ts`), the same arithmetic either way:
 *
 * - the loss: tfjs ops differentiated by tfjs (`lib/train/losses.ts`), or
 *   with `hostLoss` computed with its gradient on the host in one op
 *   (`lib/train/joint_loss.ts`: ~150 tiny kernels fewer per step);
 * - the update: momentum SGD on tfjs tensors, assigned to the variables, or
 *   with `nativeSgd` on TensorFlow resource variables in place
 *   (`lib/engine/native_sgd.ts`).
 *
 * @module
 */
import type { TrainConfig, TrainData } from "./config.ts";
import { jointLoss, type JointLossValues } from "./joint_loss.ts";
import {
  type CosineParams,
  identificationLoss,
  lossWeights,
  pairDistance,
  verificationLoss,
} from "./losses.ts";
import {
  type DeepID2,
  features,
  logits,
  normaliseImages,
  type Params,
} from "../nn/model.ts";
import type { PairBatch } from "./pairs.ts";
import { momentumStep, ResourceSgd } from "../engine/native_sgd.ts";
import { tf } from "../engine/tf.ts";

/**
 * What SGD updates besides the network's own parameters: the velocity of
 * every trainable and the cosine signal's `w`, `b`. Disposable (`using`).
 */
export class TrainerVars {
  /** Everything SGD updates, by checkpoint name: the network's parameters, then `cosine/w`, `cosine/b`. */
  readonly trainable: Map<string, tf.Variable>;
  /** The momentum of each trainable, same names and shapes (zeros at first). */
  readonly velocity = new Map<string, tf.Variable>();
  /** `w`, `b` of `σ(w·cos + b)`: the cosine signal with λ > 0 only (5, -2.5 at first). */
  readonly cosine?: { w: tf.Variable; b: tf.Variable };
  readonly #weightDecay: number;

  constructor(net: DeepID2, config: TrainConfig) {
    this.#weightDecay = config.weightDecay;
    this.trainable = new Map(net.params);
    try {
      for (const [name, p] of net.params) {
        this.velocity.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
        );
      }
      if (config.signal === "cosine" && config.lambda !== 0) {
        this.cosine = {
          w: tf.tidy(() => tf.variable(tf.scalar(5), true)),
          b: tf.tidy(() => tf.variable(tf.scalar(-2.5), true)),
        };
        for (const name of ["cosine/w", "cosine/b"]) {
          this.velocity.set(
            name,
            tf.tidy(() => tf.variable(tf.scalar(0), false)),
          );
        }
        this.trainable.set("cosine/w", this.cosine.w);
        this.trainable.set("cosine/b", this.cosine.b);
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Whether SGD decays `name`: the network's weights, not biases or cosine. */
  decayed(name: string): boolean {
    return name.includes("/w") && !name.startsWith("cosine") &&
      this.#weightDecay !== 0;
  }

  /** Frees the velocities and the cosine parameters (not the network's). */
  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.cosine?.w.dispose();
    this.cosine?.b.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** One step's host values, for the log and the margin window. */
export interface StepValues {
  /** `Ident(fi) + Ident(fj)` (batch means, before `lossWeights`); 0 when λ = Infinity. */
  identLoss: number;
  /** `Verif(fi, fj)` (batch mean, before `lossWeights`); 0 when λ = 0. */
  verifLoss: number;
  /** `[P]` pair distances (cosine similarity for `cosine`). */
  dist: ArrayLike<number>;
}

/** A step chosen for one network and config. */
export interface TrainStep {
  /**
   * One SGD step on `pairs` at learning rate `lr` with margin `margin`; the
   * parameters are updated when it returns.
   */
  step(pairs: PairBatch, lr: number, margin: number): Promise<StepValues>;
  /** Writes parameters and velocities back into the tfjs variables (where they live elsewhere while training). */
  sync(): void;
  /** Frees what the step holds (after a last {@linkcode TrainStep.sync}). */
  dispose(): void;
}

/** The labels of a batch's 2P images (the `fi` of each pair first) and its `[P]` same/different. */
interface LossBatch {
  labels: Int32Array;
  same: Float32Array;
}

/**
 * A loss formulation, called inside the gradient tape: the total to
 * differentiate, and how to read the logged values once the step is done.
 */
type Loss = (
  net: DeepID2,
  f: tf.Tensor2D,
  batch: LossBatch,
  margin: number,
  cosine: CosineParams | undefined,
) => { total: tf.Scalar; values: () => Promise<StepValues> };

/** The loss of `lib/train/losses.ts` in tfjs ops, differentiated by tfjs. */
function tfjsLoss(config: TrainConfig): Loss {
  const { lambda, signal, pairsPerBatch: P } = config;
  // Multiplications by a weight of exactly 1 are left out: λ ≤ 1 (and
  // `none`) run the same ops as before the weights existed.
  const w = lossWeights(lambda, config.lambdaScaling);
  return (net, f, batch, margin, cosine) => {
    const fi = tf.slice(f, [0, 0], [P, -1]) as tf.Tensor2D;
    const fj = tf.slice(f, [P, 0], [P, -1]) as tf.Tensor2D;
    let total: tf.Scalar = tf.scalar(0);
    // Kept out of the step's tidy until read.
    let ident: tf.Scalar | undefined;
    let verif: tf.Scalar | undefined;
    if (lambda !== Infinity) {
      // Ident(fi) + Ident(fj): twice the mean over the 2P images.
      ident = tf.keep(
        tf.mul(
          2,
          identificationLoss(
            logits(net, f),
            tf.tensor1d(batch.labels, "int32"),
          ),
        ),
      );
      total = tf.add(total, w.ident === 1 ? ident : tf.mul(w.ident, ident));
    }
    if (lambda !== 0) {
      verif = tf.keep(
        verificationLoss(fi, fj, tf.tensor1d(batch.same), {
          signal,
          margin,
          cosine,
        }),
      );
      total = tf.add(total, w.verif === 1 ? verif : tf.mul(w.verif, verif));
    }
    const dist = tf.keep(pairDistance(fi, fj, signal));
    const values = async () => {
      try {
        return {
          identLoss: ident ? (await ident.data())[0] : 0,
          verifLoss: verif ? (await verif.data())[0] : 0,
          dist: await dist.data(),
        };
      } finally {
        tf.dispose([ident, verif, dist].filter((t) => t !== undefined));
      }
    };
    return { total, values };
  };
}

/** The same loss with its gradient computed on the host (`lib/train/joint_loss.ts`). */
function hostLoss(config: TrainConfig): Loss {
  const { lambda, lambdaScaling, signal } = config;
  return (net, f, batch, margin, cosine) => {
    let got: JointLossValues | undefined;
    const total = jointLoss(
      f,
      lambda === Infinity ? null : logits(net, f),
      {
        labels: batch.labels,
        same: batch.same,
        lambda,
        lambdaScaling,
        signal,
        margin,
      },
      cosine,
      (v) => got = v,
    );
    return { total, values: () => Promise.resolve(got!) };
  };
}

/** How SGD moves the trainables. */
interface Update {
  /** The parameters the next forward pass reads, by name (tensors to dispose, or the variables). */
  params(): Map<string, tf.Tensor>;
  /** One update with gradients by name at learning rate `lr`. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void;
  sync(): void;
  dispose(): void;
}

/** `v = mu v - lr (g + wd p); p += v` on tfjs tensors, assigned to the variables. */
function tfjsMomentum(vars: TrainerVars, config: TrainConfig): Update {
  return {
    params: () => vars.trainable,
    apply: (grads, lr) =>
      tf.tidy(() => {
        const hp = {
          lr: tf.scalar(lr),
          momentum: tf.scalar(config.momentum),
          weightDecay: tf.scalar(config.weightDecay),
        };
        for (const [name, g] of grads) {
          const p = vars.trainable.get(name)!;
          const v = vars.velocity.get(name)!;
          const [p1, v1] = momentumStep(p, v, g, hp, vars.decayed(name));
          v.assign(v1);
          p.assign(p1);
        }
      }),
    sync: () => {},
    dispose: () => {},
  };
}

/**
 * The same update in place on TensorFlow resource variables, which hold the
 * parameters and velocities from here until {@linkcode Update.dispose};
 * `sync` copies them back into the tfjs variables.
 */
function resourceVariables(
  vars: TrainerVars,
  config: TrainConfig,
  fused: boolean,
): Update {
  const sgd = ResourceSgd.create(
    vars.trainable,
    vars.velocity,
    (name) => vars.decayed(name),
    { fused },
  );
  return {
    params: () => sgd.values(),
    apply: (grads, lr) =>
      sgd.step(grads, {
        lr,
        momentum: config.momentum,
        weightDecay: config.weightDecay,
      }),
    sync: () => sgd.copyTo(vars.trainable, vars.velocity),
    dispose: () => sgd.dispose(),
  };
}

/**
 * The step for `net` (its `paths` choose the loss and the update) on `data`.
 * With resource variables, the parameters are copied into them here: load a
 * checkpoint into `vars` and the network first.
 */
export function makeStep(
  net: DeepID2,
  data: TrainData,
  vars: TrainerVars,
  config: TrainConfig,
): TrainStep {
  const loss = net.paths.hostLoss ? hostLoss(config) : tfjsLoss(config);
  const update = net.paths.nativeSgd
    ? resourceVariables(vars, config, net.paths.ownSgd)
    : tfjsMomentum(vars, config);
  const P = config.pairsPerBatch;
  return {
    async step(pairs, lr, margin) {
      // Rows 0..P-1 are the fi of the pairs, rows P..2P-1 their fj.
      const images = new Int32Array(2 * P);
      images.set(pairs.a, 0);
      images.set(pairs.b, P);
      const batch = {
        labels: Int32Array.from(images, (i) => data.labels[i]),
        same: pairs.same,
      };
      let values!: () => Promise<StepValues>;
      const grads = new Map<string, tf.Tensor>();
      tf.tidy(() => {
        // [2P, H, W, C], pixels mapped to [-1, 1].
        const x = normaliseImages(data.images, data.shape, images);
        // Disposed by this tidy, before the update writes the variables.
        const now = update.params();
        const netNow: DeepID2 = { ...net, params: now as Params };
        const cosine = vars.cosine
          ? { w: now.get("cosine/w")!, b: now.get("cosine/b")! }
          : undefined;
        const names = [...now.keys()];
        const { value, grads: g } = tf.engine().gradients(
          () => {
            const f = features(netNow, x); // [2P, D]
            const out = loss(netNow, f, batch, margin, cosine);
            values = out.values;
            return out.total;
          },
          names.map((n) => now.get(n)!),
          undefined,
          true,
        );
        tf.dispose(value);
        names.forEach((n, i) => {
          if (g[i]) grads.set(n, tf.keep(g[i]));
        });
      });
      try {
        // Read first, so that no loss tensor is left if the update throws.
        const logged = await values();
        update.apply(grads, lr);
        return logged;
      } finally {
        tf.dispose([...grads.values()]);
      }
    },
    sync: () => update.sync(),
    dispose: () => update.dispose(),
  };
}

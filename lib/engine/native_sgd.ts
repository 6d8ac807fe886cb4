/**
 * SGD with momentum and weight decay on TensorFlow resource variables,
 * updated in place (the `tensorflow` backend, with the `nativeSgd` path of
 * `lib/engine/fast_paths.ts`): by one kernel of our own for every parameter
 * at once where the `ownSgd` path says so (`DeepID2Sgd`,
 * `lib/engine/native/sgd.c`: the tfjs formula below, operation for
 * operation in float32, so the same bits as the other backends' update, in
 * one dispatch and one pass), else by TensorFlow's training ops:
 *
 * tfjs tensors are immutable, so the SGD update of `train`
 * (`lib/train/train.ts`) `v = mu v - lr (g + wd p); p += v` is six
 * elementwise ops per parameter, each writing a new buffer: 6.6 ms per step
 * for the 1.2 M parameters, on these two cores. Here, for the duration of one
 * `train` call, the parameters and their velocities live in resource
 * variables, and each parameter takes one or two in-place passes:
 *
 * - decay: `ResourceApplyGradientDescent(v, lr wd / mu, p)`: `v -= (lr wd / mu) p`;
 * - `ResourceApplyKerasMomentum(p, v, lr, g, mu)`: `v = mu v - lr g; p += v`;
 *
 * together `v = mu v - lr wd p - lr g; p += v`, the same update in exact
 * arithmetic (the rounding differs from the tfjs formula by an ulp or two;
 * {@linkcode probeResourceSgd} checks it at start-up). With `mu = 0` the
 * decay goes into the gradient instead. 3 ms of a 52 ms training step at
 * batch 64, against 6.6 ms.
 *
 * A variable read ({@linkcode ResourceSgd.values}) shares the variable's
 * buffer; the caller disposes every read before {@linkcode ResourceSgd.step}
 * (TensorFlow would otherwise copy the variable before writing, which is
 * still correct, only slower).
 *
 * @module
 */
import { boolAttr, floatAttr, type NodeBackend } from "./native_ops.ts";
import { tf } from "./tf.ts";

/** Hyper-parameters of one update. */
export interface SgdStep {
  lr: number;
  momentum: number;
  weightDecay: number;
}

interface Slot {
  /** Resource handles (tfjs represents them as string tensors). */
  p: tf.Tensor;
  v: tf.Tensor;
  decay: boolean;
}

/**
 * The same update on tfjs tensors, out of place (what `train` runs on the
 * other backends, and the reference {@linkcode probeResourceSgd} checks
 * against): `v' = mu v - lr (g + wd p)` (decay only where `decay`),
 * `p' = p + v'`.
 *
 * @returns `[p', v']`
 */
export function momentumStep(
  p: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  hp: {
    lr: tf.Scalar | number;
    momentum: tf.Scalar | number;
    weightDecay: tf.Scalar | number;
  },
  decay: boolean,
): [tf.Tensor, tf.Tensor] {
  const gd = decay ? tf.add(g, tf.mul(hp.weightDecay, p)) : g;
  const v1 = tf.sub(tf.mul(hp.momentum, v), tf.mul(hp.lr, gd));
  return [tf.add(p, v1), v1];
}

let counter = 0;

/** `x` in a buffer of its own (TensorFlow's `DeepCopy`; Identity shares). */
function deepCopy(b: NodeBackend, x: tf.Tensor): tf.Tensor {
  return b.executeSingleOutput("DeepCopy", [floatAttr(b)], [x]);
}

/**
 * Parameters and velocities in TensorFlow resource variables.
 *
 * @example
 * ```ts
 * const sgd = ResourceSgd.create(params, velocity, (n) => n.endsWith("/w"));
 * const now = sgd.values(); // read, use in a tidy, dispose
 * sgd.step(grads, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
 * sgd.copyTo(params, velocity);
 * sgd.dispose();
 * ```
 */
export class ResourceSgd {
  private constructor(
    private readonly b: NodeBackend,
    private readonly slots: Map<string, Slot>,
    private readonly fused: boolean,
  ) {}

  /**
   * Copies `params` and `velocity` (same names, same shapes) into new
   * resource variables; `decay(name)` says which parameters are decayed;
   * `fused`: update with `DeepID2Sgd` (needs `lib/engine/native/sgd.c`'s
   * library loaded), else with TensorFlow's ops.
   */
  static create(
    params: Map<string, tf.Tensor>,
    velocity: Map<string, tf.Tensor>,
    decay: (name: string) => boolean,
    options: { fused?: boolean } = {},
  ): ResourceSgd {
    if (tf.getBackend() !== "tensorflow") {
      throw new Error("ResourceSgd needs the tensorflow backend");
    }
    const b = tf.backend() as unknown as NodeBackend;
    const { TF_ATTR_SHAPE, TF_ATTR_STRING } = b.binding;
    const id = ++counter;
    const slots = new Map<string, Slot>();
    const handle = (name: string, shape: number[], init: tf.Tensor) => {
      const h = b.executeSingleOutput("VarHandleOp", [
        floatAttr(b, "dtype"),
        { name: "shape", type: TF_ATTR_SHAPE, value: shape },
        // Named, so every variable is its own: unique per process.
        {
          name: "shared_name",
          type: TF_ATTR_STRING,
          value: `deepid2_sgd_${id}/${name}`,
        },
        { name: "container", type: TF_ATTR_STRING, value: "" },
      ], []);
      // From a buffer of its own (DeepCopy): AssignVariableOp would share
      // the tfjs tensor's, and the first in-place update would then copy
      // it (see `ResourceSgd.copyTo`).
      const own = deepCopy(b, init);
      try {
        b.executeMultipleOutputs(
          "AssignVariableOp",
          [floatAttr(b, "dtype")],
          [h, own],
          0,
        );
      } finally {
        own.dispose();
      }
      return h;
    };
    for (const [name, p] of params) {
      const v = velocity.get(name);
      if (!v || v.size !== p.size) {
        throw new Error(
          `ResourceSgd: no velocity of the right size for ${name}`,
        );
      }
      slots.set(name, {
        p: tf.keep(handle(name, p.shape, p)),
        v: tf.keep(handle(`${name}/v`, p.shape, v)),
        decay: decay(name),
      });
    }
    return new ResourceSgd(b, slots, options.fused === true);
  }

  /** The current parameters (tensors sharing the variables' buffers). */
  values(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, s] of this.slots) out.set(name, this.read(s.p));
    return out;
  }

  private read(h: tf.Tensor): tf.Tensor {
    return this.b.executeSingleOutput("ReadVariableOp", [
      floatAttr(this.b, "dtype"),
    ], [h]);
  }

  /**
   * One update with the gradients `grads` (by parameter name; a parameter
   * without one is left as it is, velocity included).
   */
  step(grads: Map<string, tf.Tensor>, hp: SgdStep): void {
    if (this.fused) {
      this.fusedStep(grads, hp);
      return;
    }
    const T = [floatAttr(this.b), boolAttr(this.b, "use_locking", false)];
    const mu = hp.momentum;
    const lr = tf.scalar(hp.lr);
    const muT = tf.scalar(mu);
    const folded = tf.scalar(hp.lr * hp.weightDecay / mu);
    const wd = tf.scalar(hp.weightDecay);
    try {
      for (const [name, s] of this.slots) {
        let g = grads.get(name);
        if (!g) continue;
        let owned: tf.Tensor | null = null;
        if (s.decay && hp.weightDecay !== 0) {
          const p = this.read(s.p);
          if (mu !== 0) {
            this.b.executeMultipleOutputs(
              "ResourceApplyGradientDescent",
              T,
              [s.v, folded, p],
              0,
            );
          } else {
            owned = tf.tidy(() => tf.add(g!, tf.mul(wd, p)));
            g = owned;
          }
          p.dispose();
        }
        this.b.executeMultipleOutputs(
          "ResourceApplyKerasMomentum",
          [...T, boolAttr(this.b, "use_nesterov", false)],
          [s.p, s.v, lr, g, muT],
          0,
        );
        owned?.dispose();
      }
    } finally {
      tf.dispose([lr, muT, folded, wd]);
    }
  }

  /** {@linkcode ResourceSgd.step} by `DeepID2Sgd`: one op for every parameter. */
  private fusedStep(grads: Map<string, tf.Tensor>, hp: SgdStep): void {
    const names = [...this.slots.keys()].filter((n) => grads.has(n));
    if (names.length === 0) return;
    const slots = names.map((n) => this.slots.get(n)!);
    const { TF_ATTR_INT, TF_ATTR_BOOL } = this.b.binding;
    const h = tf.tensor1d([hp.lr, hp.momentum, hp.weightDecay]);
    try {
      this.b.binding.executeOp(
        "DeepID2Sgd",
        [
          { name: "N", type: TF_ATTR_INT, value: names.length },
          {
            name: "decay",
            type: TF_ATTR_BOOL,
            value: slots.map((s) => s.decay && hp.weightDecay !== 0),
          },
        ],
        this.b.getInputTensorIds([
          ...slots.map((s) => s.p),
          ...slots.map((s) => s.v),
          ...names.map((n) => grads.get(n)!),
          h,
        ]),
        0,
      );
    } finally {
      h.dispose();
    }
  }

  /**
   * Writes the parameters and velocities back into tfjs variables, as
   * copies: a tfjs variable sharing a resource variable's buffer would make
   * every later update copy the buffer first (TensorFlow's copy-on-write),
   * and `DeepID2Sgd`'s copies through TensorFlow's C API are never
   * freed (its `PrepareToUpdateVariable` leaks a reference to each), so they
   * would recur at every step, 9 MB each. `lib/engine/native_test.ts`
   * checks that training makes none.
   */
  copyTo(
    params: Map<string, tf.Variable>,
    velocity: Map<string, tf.Variable>,
  ): void {
    tf.tidy(() => {
      for (const [name, s] of this.slots) {
        params.get(name)?.assign(deepCopy(this.b, this.read(s.p)));
        velocity.get(name)?.assign(deepCopy(this.b, this.read(s.v)));
      }
    });
  }

  /** Destroys the variables. */
  dispose(): void {
    for (const s of this.slots.values()) {
      for (const h of [s.p, s.v]) {
        this.b.executeMultipleOutputs(
          "DestroyResourceOp",
          [boolAttr(this.b, "ignore_lookup_error", true)],
          [h],
          0,
        );
        h.dispose();
      }
    }
    this.slots.clear();
  }
}

/**
 * Runs two updates of a decayed and an undecayed parameter (momentum 0.9
 * and 0) both ways and checks that the resource variables follow the tfjs
 * formula, within 1e-6 (relative) for TensorFlow's ops or bit for bit for
 * `fused` (`DeepID2Sgd`); false when the ops are missing.
 */
export async function probeResourceSgd(fused = false): Promise<boolean> {
  if (tf.getBackend() !== "tensorflow") return false;
  const values = (n: number, k: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k) * 0.5);
  for (const momentum of [0.9, 0]) {
    const hp = { lr: 0.05, momentum, weightDecay: 0.01 };
    const names = ["a/w", "a/b"];
    const params = new Map(
      names.map((n, k) => [n, tf.variable(tf.tensor(values(37, k), [37]))]),
    );
    const velocity = new Map(
      names.map((n, k) => [n, tf.variable(tf.tensor(values(37, k + 5), [37]))]),
    );
    const grads = new Map(
      names.map((n, k) => [n, tf.tensor(values(37, k + 9), [37])]),
    );
    let ok = false;
    let sgd: ResourceSgd | null = null;
    try {
      sgd = ResourceSgd.create(params, velocity, (n) => n.endsWith("/w"), {
        fused,
      });
      for (let i = 0; i < 2; i++) sgd.step(grads, hp);
      const got = tf.tidy(() => [...sgd!.values().values()].map(tf.clone));
      // The tfjs update of the other backends.
      const want = tf.tidy(() =>
        names.map((n) => {
          let [p, v]: tf.Tensor[] = [params.get(n)!, velocity.get(n)!];
          for (let i = 0; i < 2; i++) {
            [p, v] = momentumStep(p, v, grads.get(n)!, hp, n.endsWith("/w"));
          }
          return p;
        })
      );
      ok = true;
      for (let i = 0; i < names.length; i++) {
        const [x, y] = [await got[i].data(), await want[i].data()];
        ok &&= x.every((v, j) =>
          fused
            ? Object.is(v, y[j])
            : Math.abs(v - y[j]) <= 1e-6 * Math.max(1, Math.abs(y[j]))
        );
      }
      tf.dispose([...got, ...want]);
    } catch {
      ok = false;
    } finally {
      sgd?.dispose();
      tf.dispose([...params.values(), ...velocity.values(), ...grads.values()]);
    }
    if (!ok) return false;
  }
  return true;
}

/**
 * Where a training run stands between steps, and its checkpoints: the step
 * counter, the margin m with the window of recent pair distances it is re-set
 * from (`lib/PAPER.md`, "Signals": "the margin rule"), the log, the pair
 * sampler's RNG word and the trainables with their velocities. A run resumed
 * from its checkpoint continues with identical numbers.
 *
 * File layout: `lib/nn/checkpoint.ts`; tensors `<name>` and `<name>/v` for
 * every trainable, state `{ step, margin, rng, window, log, config, model }`.
 *
 * @module
 */
import { bestThreshold } from "./losses.ts";
import { exists } from "../base/io.ts";
import { loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import type { ModelConfig } from "../nn/model.ts";
import type { PairSampler } from "./pairs.ts";
import type { TrainConfig, TrainLogEntry } from "./config.ts";
import type { TrainerVars } from "./step.ts";
import { tf } from "../engine/tf.ts";

/**
 * The distances and same/different labels of the most recent training
 * pairs, at most `size` of them; the margin is re-set to the threshold with
 * the fewest verification errors on them.
 */
export class MarginWindow {
  readonly d: number[];
  readonly same: number[];

  constructor(
    readonly size: number,
    from: { d: number[]; same: number[] } = { d: [], same: [] },
  ) {
    this.d = from.d;
    this.same = from.same;
  }

  /** Adds one batch's `[P]` distances and labels, dropping the oldest beyond `size`. */
  push(dist: ArrayLike<number>, same: ArrayLike<number>): void {
    for (let k = 0; k < same.length; k++) {
      this.d.push(dist[k]);
      this.same.push(same[k]);
    }
    if (this.d.length > this.size) {
      const cut = this.d.length - this.size;
      this.d.splice(0, cut);
      this.same.splice(0, cut);
    }
  }

  /** The new margin: the best distance threshold over the window. */
  margin(): number {
    return bestThreshold(this.d, this.same).threshold;
  }

  /** As saved in checkpoints: `{ d, same }`. */
  toJSON(): { d: number[]; same: number[] } {
    return { d: this.d, same: this.same };
  }
}

/** The run's host state (the tensors are in {@linkcode TrainerVars}). */
export interface RunState {
  /** Steps done. */
  step: number;
  /** The margin m in force. */
  margin: number;
  window: MarginWindow;
  log: TrainLogEntry[];
}

/** A run at step 0 with the initial margin. */
export function newRun(config: TrainConfig): RunState {
  return {
    step: 0,
    margin: config.margin,
    window: new MarginWindow(config.marginWindow),
    log: [],
  };
}

/**
 * Loads the checkpoint at `path` into the trainables, velocities and sampler
 * and returns its run state; a new run when there is no file yet. A corrupt
 * file (truncated, foreign, a state that is not a run's) or a checkpoint of
 * another network is an error naming the file, what is wrong and how to
 * recover: delete the file, and the training starts over.
 */
export async function resume(
  path: string,
  vars: TrainerVars,
  sampler: PairSampler,
  config: TrainConfig,
): Promise<RunState> {
  if (!await exists(path)) return newRun(config);
  const recover = `delete ${path} to start this training over`;
  let ck;
  try {
    ck = await loadCheckpoint(path);
  } catch (e) {
    // The message already names the file and the defect.
    throw new Error(`${(e as Error).message}; ${recover}`, { cause: e });
  }
  const st = (ck.state ?? {}) as {
    step: number;
    margin: number;
    rng: number;
    window: { d: number[]; same: number[] };
    log: TrainLogEntry[];
  };
  const w = st.window;
  if (
    !Number.isInteger(st.step) || typeof st.margin !== "number" ||
    typeof st.rng !== "number" || !Array.isArray(st.log) ||
    !w || !Array.isArray(w.d) || !Array.isArray(w.same)
  ) {
    throw new Error(
      `${path}: not a training checkpoint (no step, margin, sampler state, ` +
        `margin window or log); ${recover}`,
    );
  }
  // Every tensor is checked before any is loaded: a bad file leaves the
  // network as it was.
  for (const [name, v] of vars.trainable) {
    const t = ck.tensors.get(name);
    const vt = ck.tensors.get(`${name}/v`);
    if (
      !t || !vt || t.values.length !== v.size || vt.values.length !== v.size
    ) {
      throw new Error(
        `${path}: checkpoint does not match this network (${name}); ${recover}`,
      );
    }
  }
  for (const [name, v] of vars.trainable) {
    const t = ck.tensors.get(name)!;
    const vt = ck.tensors.get(`${name}/v`)!;
    tf.tidy(() => v.assign(tf.tensor(t.values, v.shape)));
    tf.tidy(() =>
      vars.velocity.get(name)!.assign(tf.tensor(vt.values, v.shape))
    );
  }
  sampler.rng.state = st.rng;
  return {
    step: st.step,
    margin: st.margin,
    window: new MarginWindow(config.marginWindow, st.window),
    log: [...st.log],
  };
}

/**
 * Writes the run to `path` atomically: the trainables and velocities as they
 * are in the tfjs variables (sync first), the run state, the config (λ as a
 * string: JSON has no Infinity) and the network's config.
 */
export async function snapshot(
  path: string,
  run: RunState,
  vars: TrainerVars,
  sampler: PairSampler,
  config: TrainConfig,
  model: ModelConfig,
): Promise<void> {
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, v] of vars.trainable) {
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
  await saveCheckpoint(path, {
    tensors,
    state: {
      step: run.step,
      margin: run.margin,
      rng: sampler.rng.state,
      window: run.window,
      log: run.log,
      config: { ...config, lambda: String(config.lambda) },
      model,
    },
  });
}

/**
 * Pair sampling for Algorithm 1 (`lib/PAPER.md`, "Algorithm 1"): pairs taken
 * at random from a shuffled set would be nearly all different-identity
 * pairs, so each batch has a set share of same-identity pairs.
 *
 * @module
 */
import { Rng } from "../base/rng.ts";

/** One batch of pairs: image indices `a[k]`, `b[k]`, and `same[k]` (1/0). */
export interface PairBatch {
  a: Int32Array;
  b: Int32Array;
  same: Float32Array;
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
  batch(count: number, positiveFraction: number): PairBatch {
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

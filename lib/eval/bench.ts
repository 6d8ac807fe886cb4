/**
 * Timings of the evaluation library on synthetic data of the paper's sizes
 * (lib/PAPER.md, "LFW protocol and file formats" and "Joint Bayesian"): L2
 * scoring plus the 10-fold protocol for 6,000 pairs of 160-d features, and
 * fitting Joint Bayesian on 20,000 features of 180 dims (PCA 180). Called by
 * the project bench (experiments/bench.ts).
 *
 * @module
 */

import { fitJointBayesian } from "./joint_bayesian.ts";
import { Rng } from "../base/rng.ts";
import { l2Scorer, scorePairs } from "./scorers.ts";
import { evaluateVerification, verificationRows } from "./verification.ts";

/** Sizes of {@linkcode benchEvaluation}; the defaults are the paper's. */
export interface EvalBenchOptions {
  /** Verification pairs (10 folds); 6000. */
  pairs?: number;
  /** Feature dimension of the pairs; 160. */
  pairDim?: number;
  /** Joint Bayesian training features; 20000. */
  jbImages?: number;
  /** Their dimension (and the PCA dimension); 180. */
  jbDim?: number;
  seed?: number;
}

/** Identities with 5..35 images each, x = mu + eps with unequal variances. */
function identityFeatures(rng: Rng, n: number, dim: number) {
  const features = new Float32Array(n * dim); // [N, D]
  const labels = new Int32Array(n);
  const muStd = Array.from({ length: dim }, (_, a) => 2 / (1 + a / 30));
  const epsStd = Array.from({ length: dim }, () => 0.5 + rng.next());
  let id = 0;
  for (let i = 0; i < n; id++) {
    const mu = muStd.map((s) => s * rng.normal());
    const m = Math.min(5 + rng.int(31), n - i);
    for (let j = 0; j < m; j++, i++) {
      labels[i] = id;
      for (let a = 0; a < dim; a++) {
        features[i * dim + a] = mu[a] + epsStd[a] * rng.normal();
      }
    }
  }
  return { features, labels };
}

/**
 * Times the evaluation library.
 *
 * @param options sizes (the paper's by default) and seed
 * @returns wall-clock milliseconds of scoring + protocol and of the
 *   Joint Bayesian fit (EM to tolerance 1e-6 or 500 iterations)
 * @example
 * ```ts
 * const t = await benchEvaluation();
 * console.log(t.protocol_6000_pairs_ms, t.joint_bayesian_20000x180_ms);
 * ```
 */
export function benchEvaluation(
  options: EvalBenchOptions = {},
): Promise<{
  protocol_6000_pairs_ms: number;
  joint_bayesian_20000x180_ms: number;
}> {
  const rng = new Rng(options.seed ?? 1);
  const numPairs = options.pairs ?? 6000, pairDim = options.pairDim ?? 160;
  const images = Math.ceil(numPairs * 7701 / 6000); // LFW pairs use 7,701 images
  const test = identityFeatures(rng, images, pairDim);
  const byId = new Map<number, number[]>();
  test.labels.forEach((l, i) => byId.set(l, [...(byId.get(l) ?? []), i]));
  const groups = [...byId.values()];
  const pairs = Array.from({ length: numPairs }, (_, k) => {
    const same = k % 2 === 0;
    const g = groups[rng.int(groups.length)];
    const a = g[rng.int(g.length)];
    const b = same ? g[rng.int(g.length)] : rng.int(images);
    return { fold: Math.floor(k * 10 / numPairs), same, a, b };
  });
  const protocol = () => {
    const scores = scorePairs(test.features, pairDim, pairs, l2Scorer);
    return evaluateVerification(verificationRows(pairs, scores));
  };
  protocol(); // warm-up
  let t0 = performance.now();
  protocol();
  const protocolMs = performance.now() - t0;

  const jbDim = options.jbDim ?? 180;
  const train = identityFeatures(rng, options.jbImages ?? 20000, jbDim);
  t0 = performance.now();
  fitJointBayesian(train.features, jbDim, train.labels, { pcaDim: jbDim });
  const jbMs = performance.now() - t0;
  return Promise.resolve({
    protocol_6000_pairs_ms: Math.round(protocolMs),
    joint_bayesian_20000x180_ms: Math.round(jbMs),
  });
}

if (import.meta.main) console.log(JSON.stringify(await benchEvaluation()));

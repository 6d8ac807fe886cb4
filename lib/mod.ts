/**
 * deepid2 as a library: the DeepID2 network with its locally shared layers
 * (Sun et al., NIPS 2014, Sec. 2), the identification and verification
 * signals and Algorithm 1 (Sec. 3), and the evaluation the paper uses — the
 * LFW 10-fold protocol, ROC, Joint Bayesian, closed- and open-set
 * identification, scatter spectra. It knows nothing of any data set loader
 * or experiment: give it face crops and labels ({@linkcode FaceSet}) and
 * pairs ({@linkcode Pair}). The facts it relies on, with their confidence,
 * are in `lib/PAPER.md`.
 *
 * @example
 * ```ts
 * import {
 *   createDeepID2, defaultModelConfig, DEFAULT_TRAIN, extractFeatures,
 *   initBackend, standardScorers, train, verifyPairs,
 * } from "./lib/mod.ts";
 * const backend = await initBackend("auto");
 * const net = createDeepID2(defaultModelConfig(trainSet.identities.length), 1, { paths: backend.paths });
 * await train(net, trainSet, { ...DEFAULT_TRAIN, lambda: 0.05, steps: 1000 });
 * const f = await extractFeatures(net, testSet.images, testSet.shape);
 * ```
 *
 * @module
 */

// Data shapes
export type { Dataset, FaceSet, Pair } from "./faces.ts";

// Engine: the backend, chosen once
export {
  type BackendInfo,
  type BackendName,
  BACKENDS,
  initBackend,
} from "./engine/backend.ts";
export type { FastPaths } from "./engine/fast_paths.ts";
export { tf } from "./engine/tf.ts";

// Network
export {
  createDeepID2,
  type DeepID2,
  DEFAULT_INIT,
  defaultModelConfig,
  disposeModel,
  extractFeatures,
  loadModel,
  type ModelConfig,
  modelShapes,
  saveModel,
} from "./nn/model.ts";

// Training: signals and Algorithm 1
export {
  bestThreshold,
  identificationLoss,
  lossWeights,
  type Signal,
  SIGNALS,
  verificationLoss,
} from "./train/losses.ts";
export {
  DEFAULT_TRAIN,
  type EvalStats,
  train,
  type TrainConfig,
  TrainingDiverged,
  type TrainOptions,
  type TrainResult,
} from "./train/train.ts";

// Evaluation
export { deadFeatureFraction } from "./eval/features.ts";
export {
  evaluateIdentification,
  IDENTIFICATION_PROTOCOL,
} from "./eval/identification.ts";
export {
  type Estimate,
  interval,
  judgeLine,
  minimumDetectableEffect,
  power,
  pTwoSided,
  replicateMean,
} from "./eval/inference.ts";
export { fitJointBayesian, JointBayesianModel } from "./eval/joint_bayesian.ts";
export { auc, eer, rocCurve, tarAtFar } from "./eval/roc.ts";
export { pcaProjection2d, scatterSpectra } from "./eval/scatter.ts";
export {
  cosineScorer,
  l2Scorer,
  scorePairs,
  type Scorer,
  standardScorers,
} from "./eval/scorers.ts";
export {
  evaluateVerification,
  type VerificationResult,
  verifyPairs,
} from "./eval/verification.ts";

// Support
export { Rng } from "./base/rng.ts";
export { writeSvg } from "./report/plot.ts";

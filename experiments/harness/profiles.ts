/**
 * Run profiles: how much data and training each
 * experiment gets. Every value here is a default of the experiment config
 * and can be overridden with `--key=value`.
 *
 * - `smoke`: tiny synthetic data, a few steps; seconds; used by the tests.
 * - `quick`: the embedded synthetic faces, enough training to show the
 *   paper's trends; all experiments within 45 minutes on 2 CPU cores (37
 *   measured on the native backend, the final system's patch networks
 *   included).
 * - `paper`: the paper's settings on real CelebA + LFW (`--data DIR`), for a
 *   GPU machine with the tensorflow-gpu backend.
 *
 * @module
 */
import { DEFAULT_INIT, type ModelConfig } from "../../lib/nn/model.ts";
import { DEFAULT_TRAIN, type TrainConfig } from "../../lib/train/train.ts";

/** A profile name. */
export type ProfileName = "smoke" | "quick" | "paper";
/** Valid profile names. */
export const PROFILES: readonly ProfileName[] = ["smoke", "quick", "paper"];

/** Settings shared by every experiment; each is a config key. */
export interface CommonConfig
  extends
    Omit<TrainConfig, "lambda" | "signal" | "seed">,
    Pick<ModelConfig, "weightInitGain" | "deepid2BiasInit"> {
  /** Crop height, width, channels (1 = gray). 55 x 47 x 3 in the paper. */
  cropHeight: number;
  cropWidth: number;
  channels: number;
  /** ConvNet-training identities taken from CelebA (paper 8192); 0 = all but the held-out ones. */
  trainIdentities: number;
  /** Held-out identities for Joint Bayesian (paper 1985). */
  heldOutIdentities: number;
  /** PCA dimension before Joint Bayesian (paper 180). */
  jbPcaDim: number;
  /** Batch size of feature extraction. */
  evalBatch: number;
  /** The λ of "joint training" wherever one λ is needed (paper's best: 0.05). */
  bestLambda: number;
  /** Check each model on the validation pairs every N training steps (its learning curve). */
  evalEvery: number;
  /**
   * A model whose DeepID2 units are zero on every validation face in at
   * least this fraction is collapsed: reported as such, never scored.
   */
  collapsedAt: number;
  /**
   * A model whose final validation accuracy (the better of L2 and cosine)
   * stays below this did not learn to verify: collapsed, never scored. The
   * quick and paper values are chance plus three standard errors at their
   * validation pair counts (0.5 + 3·√(0.25/n)).
   */
  collapsedBelow: number;
  /**
   * Seeds of every configuration (initialisation and pair sampling; the data
   * split and the test pairs stay those of `--seed`): each configuration is
   * trained once per seed, the same seeds for all, and the claims compare
   * configurations seed by seed on the same test pairs.
   */
  seeds: number[];
}

// The trainer's and the initialisation's defaults without the per-run keys
// (λ, signal and seed come from each configuration).
const { lambda: _lambda, signal: _signal, seed: _seed, ...TRAIN } =
  DEFAULT_TRAIN;
const BASE_TRAIN = { ...TRAIN, ...DEFAULT_INIT };

/** Defaults of the common config per profile. */
export const PROFILE_DEFAULTS: Record<ProfileName, CommonConfig> = {
  smoke: {
    ...BASE_TRAIN,
    steps: 4,
    pairsPerBatch: 4,
    marginEvery: 2,
    checkpointEvery: 2,
    cropHeight: 55,
    cropWidth: 47,
    channels: 3,
    trainIdentities: 0,
    heldOutIdentities: 0,
    jbPcaDim: 16,
    evalBatch: 64,
    bestLambda: 0.05,
    evalEvery: 2,
    // The smoke profile's models train 4 steps: health checks off.
    collapsedAt: 1.01,
    collapsedBelow: 0,
    seeds: [1, 2],
  },
  quick: {
    ...BASE_TRAIN,
    // The weight initialisation's gain, the learning rate and the DeepID2
    // bias start are chosen on validation pairs by experiments/calibrate.ts
    // (results/calibration.csv: the grid, the probes on every seed, the
    // rule). The steps are what the 45-minute budget of the
    // quick profile affords for all its models times three seeds on the
    // native backend (500; 700 before the seeds); the learning curves
    // (results/<experiment>/curves/) show whether a model was still
    // improving.
    steps: 500,
    weightInitGain: 0.5,
    learningRate: 0.1,
    deepid2BiasInit: 0.1,
    cropHeight: 55,
    cropWidth: 47,
    channels: 3,
    trainIdentities: 0,
    heldOutIdentities: 0,
    jbPcaDim: 120,
    evalBatch: 256,
    bestLambda: 0.05,
    evalEvery: 50,
    // Collapsed: 90 % or more of the DeepID2 units dead on the validation
    // faces (16 or fewer of 160 alive), or validation accuracy within three
    // standard errors of chance (600 validation pairs: 0.5 + 3·0.0204).
    collapsedAt: 0.9,
    collapsedBelow: 0.56,
    seeds: [1, 2, 3],
  },
  paper: {
    ...BASE_TRAIN,
    steps: 100_000,
    pairsPerBatch: 64,
    checkpointEvery: 2000,
    cropHeight: 55,
    cropWidth: 47,
    channels: 3,
    trainIdentities: 8192,
    heldOutIdentities: 1985,
    jbPcaDim: 180,
    evalBatch: 512,
    bestLambda: 0.05,
    evalEvery: 2000,
    // As the quick profile; LFW View 1's 1000 development test pairs:
    // 0.5 + 3·0.0158.
    collapsedAt: 0.9,
    collapsedBelow: 0.55,
    seeds: [1, 2, 3],
  },
};

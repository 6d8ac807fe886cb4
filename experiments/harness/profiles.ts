/**
 * Run profiles: how much data and training each
 * experiment gets. Every value here is a default of the experiment config
 * and can be overridden with `--key=value`.
 *
 * - `smoke`: tiny synthetic data, a few steps; seconds; used by the tests.
 * - `quick`: the embedded synthetic faces, three replicates (each its own
 *   face set), every experiment and claim, every model trained to its
 *   validation plateau (docs/training.md has the measured time of
 *   `make reproduce` and the target it is held to).
 * - `full`: the same faces and training, every grid of the paper (λ, the
 *   identity counts from 32) and eight replicates: hours on 2 cores.
 * - `paper`: the paper's settings on real CelebA + LFW (`--data DIR`), for a
 *   GPU machine with the tensorflow-gpu backend.
 *
 * @module
 */
import { DEFAULT_INIT, type ModelConfig } from "../../lib/nn/model.ts";
import { DEFAULT_TRAIN, type TrainConfig } from "../../lib/train/train.ts";
import { DEFAULT_RULE } from "../../lib/train/convergence.ts";

/** A profile name. */
export type ProfileName = "smoke" | "quick" | "full" | "paper";
/** Valid profile names. */
export const PROFILES: readonly ProfileName[] = [
  "smoke",
  "quick",
  "full",
  "paper",
];

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
   * A trained model is at its validation plateau when its validation
   * accuracy gained at most this much (fraction: 0.02 = 2 points) over the
   * last quarter of training (`lib/train/convergence.ts`), for L2, cosine and
   * the better of the two; otherwise it is `still improving`.
   */
  plateauGain: number;
  /** ... and its last identification loss is at most this fraction of chance (2 ln n), for λ < ∞. */
  identLossFraction: number;
  /** Fewest validation checks in each window of the plateau rule. */
  plateauChecks: number;
  /**
   * The replicates: each seed draws its own data (synthetic: its own face
   * set, generated with that seed; real data: its own split of the training
   * identities, on the one LFW) and seeds its models' initialisation and
   * pair sampling. Every configuration is trained once per replicate, and
   * the claims compare configurations replicate by replicate.
   */
  seeds: number[];
}

// The trainer's and the initialisation's defaults without the per-run keys
// (λ, signal and seed come from each configuration).
const { lambda: _lambda, signal: _signal, seed: _seed, ...TRAIN } =
  DEFAULT_TRAIN;
const BASE_TRAIN = { ...TRAIN, ...DEFAULT_INIT };

// The plateau rule of `lib/train/convergence.ts` (2 points over the last
// quarter, identification loss at most 20 % of chance, three checks per
// window); the smoke profile's 4-step models are not held to it.
const PLATEAU = {
  plateauGain: DEFAULT_RULE.maxGain,
  identLossFraction: DEFAULT_RULE.maxIdentFraction,
  plateauChecks: DEFAULT_RULE.minChecks,
};

// The quick profile's training, chosen on validation pairs only by
// experiments/calibrate.ts (its rule and probes: docs/training.md,
// "Calibration"; results/calibration.csv). The gain (0.5 over 0.25 and 1)
// and the final-rate ratio (0.1 over 0.01 and 0.2) are its choices; the
// rate and the steps are held where docs/training.md says why.
const QUICK_TRAIN = {
  steps: 2000,
  // A model still improving at `steps` goes on in quarters of `steps`, at
  // the final rate, up to this many (lib/PAPER.md, "Training to the plateau").
  maxSteps: 6000,
  weightInitGain: 0.5,
  warmupSteps: 100,
  learningRate: 0.1,
  lrSchedule: "exp" as const,
  finalLrRatio: 0.1,
  deepid2BiasInit: 0.1,
};

/** The quick profile: the embedded synthetic faces, three replicates. */
const QUICK: CommonConfig = {
  ...BASE_TRAIN,
  ...QUICK_TRAIN,
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
  ...PLATEAU,
  seeds: [1, 2, 3],
};

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
    // The smoke profile's models train 4 steps: health and plateau checks off.
    collapsedAt: 1.01,
    collapsedBelow: 0,
    plateauGain: Infinity,
    identLossFraction: Infinity,
    plateauChecks: 0,
    seeds: [1, 2],
  },
  quick: QUICK,
  // The quick profile's data and training, every grid of the paper and
  // eight replicates: hours on 2 cores, minutes as a Slurm array.
  full: { ...QUICK, seeds: [1, 2, 3, 4, 5, 6, 7, 8] },
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
    // 20 checks in each window of the plateau rule (10,000 steps).
    evalEvery: 500,
    // As the quick profile; LFW View 1's 1000 development test pairs:
    // 0.5 + 3·0.0158.
    collapsedAt: 0.9,
    collapsedBelow: 0.55,
    ...PLATEAU,
    seeds: [1, 2, 3],
  },
};

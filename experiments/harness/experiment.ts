/**
 * What an experiment script exports, and the values its run passes around
 * (`run.ts` has the verbs). Each script in `experiments/` owns one
 * figure or table of the paper: its configurations, its run loop (`main`),
 * the paper's claim and its verdict checks, its figures. `reproduce.ts` and
 * `make tables` loop over these and know no experiment by name.
 *
 * @module
 */
import type { Dataset } from "../../lib/faces.ts";
import type { CropOptions } from "../../datasets/types.ts";
import type { ClaimFamily } from "../report/claims.ts";
import type { ExperimentResults, Results } from "../report/results.ts";
import type { CommonConfig, ProfileName } from "./profiles.ts";
import type { BackendInfo } from "../../lib/engine/backend.ts";
import type { Scorer } from "../../lib/eval/scorers.ts";
import type { VerificationResult } from "../../lib/eval/verification.ts";
import type { Signal } from "../../lib/train/losses.ts";
import type { ModelConfig } from "../../lib/nn/model.ts";
import type { TrainConfig } from "../../lib/train/train.ts";
import type { RunFlags } from "./flags.ts";

/** What the paper says about an experiment (lib/PAPER.md, "Experiments and claims"). */
export interface PaperClaim {
  title: string;
  /** Where in the paper, e.g. `Fig. 3`. */
  source: string;
  /** The claim, in words. */
  claim: string;
  /** The paper's own numbers, only where lib/PAPER.md marks them [C]. */
  confirmed?: string;
}

/** One figure of an experiment: drawn only when `make tables` asks for figures. */
export interface Figure {
  /** File name in `results/figures/`. */
  file: string;
  caption: string;
  /** The SVG. */
  draw: () => Promise<string>;
}

/** An experiment script's export. `C` is its own config (beyond {@linkcode CommonConfig}). */
export interface Experiment<C extends Record<string, unknown>> {
  /** File-name stem, e.g. `joint_lambda`. */
  name: string;
  paper: PaperClaim;
  /** Its config defaults per profile (merged over the common config). */
  defaults: (profile: ProfileName) => C;
  /** The configurations to run, each one trained model per replicate. */
  configurations: (
    config: CommonConfig & C,
    shape: DataShape,
  ) => Configuration[];
  /** Runs it: `deno run -A experiments/NAME.ts ARGS`; reproduce passes its shared context. */
  main: (argv: string[], shared?: SharedContext) => Promise<RunOutcome>;
  /**
   * The paper's claim as a family of lines built from the results (all
   * experiments', for comparisons with another experiment's models); `make
   * tables` judges every experiment's families together
   * (`report/claims.ts`, `judgeAll`).
   */
  claims: (results: Results) => ClaimFamily[];
  /**
   * Lower owns a comparison several experiments make (joint_lambda's λ
   * comparisons, variance_spectra's ratios): it is judged in that
   * experiment's family and shown, with the same answer, in the others'
   * (default 10).
   */
  claimPriority?: number;
  /** Its figures beyond the ROC curves every experiment gets. */
  figures?: (ex: ExperimentResults, resultsDir: string) => Promise<Figure[]>;
  /** Extra Markdown blocks of its TABLES.md section, before and after the results table. */
  notes?: (ex: ExperimentResults) => { before?: string[]; after?: string[] };
}

// deno-lint-ignore no-explicit-any
export type AnyExperiment = Experiment<any>;

/** One configuration of an experiment: one trained model, scored three ways. */
export interface Configuration {
  /** Name used in file names and tables, e.g. `lambda=0.05`. */
  name: string;
  /** Weight of the verification signal (0 = identification only, Infinity = verification only). */
  lambda: number;
  /** Verification signal. */
  signal: Signal;
  /**
   * The replicate (one of the config's `seeds`; set by `run.plan`): the seed
   * of its data draw (synthetic: its own face set; real data: its own
   * identity split) and of the model's initialisation and pair sampling.
   */
  seed?: number;
  /** Use only this many training identities (Fig. 6); all by default. */
  identities?: number;
  /**
   * The patch of the bank (`datasets/patches.ts`) this configuration's
   * network sees (the final system); the profile's whole-face crop when
   * absent.
   */
  patch?: string;
  /**
   * The configurations (same seed) whose features this one concatenates
   * (the final system's patch sets): it has no model of its own, and its
   * results are keyed by theirs.
   */
  combines?: string[];
  /** Training and initialisation settings of this configuration alone (calibration's grid). */
  train?: Partial<
    & Omit<TrainConfig, "lambda" | "signal" | "seed">
    & Pick<ModelConfig, "weightInitGain" | "deepid2BiasInit">
  >;
  /** Extra columns of this configuration's rows (e.g. `lambda`, `signal`). */
  columns: Record<string, string | number>;
}

/**
 * One replicate's data in one crop: its own draw of training, held-out,
 * validation and test identities and pairs (on synthetic data a face set of
 * its own, generated with the replicate's seed; on real data one LFW, with
 * the training identities split by the replicate's seed).
 */
export interface ReplicateData {
  /** The replicate's seed. */
  seed: number;
  dataset: Dataset;
  /** Hash of the draw's provenance (part of every model key). */
  dataKey: string;
  /** The draw in words, as unit files name it: its source, seeds and key. */
  dataDraw: Record<string, unknown>;
}

/** What the configurations of an experiment may depend on: the same in every replicate. */
export interface DataShape {
  /** Identities that train the ConvNet (Fig. 6 halves them). */
  trainIdentities: number;
}

/** The backend, and every replicate's data on demand, opened once per process. */
export interface RunContext {
  flags: RunFlags;
  backend: BackendInfo;
  /**
   * The data of replicate `seed` in `crop` (the profile's whole face, or a
   * patch of the bank): loaded, or generated, on first use; the last few are
   * kept in memory. `alsoCrops`: the caches of these crops are built in the
   * same pass when this one is built (each image decoded once).
   */
  data: (
    seed: number,
    crop: CropOptions,
    alsoCrops?: readonly CropOptions[],
  ) => Promise<ReplicateData>;
}

/** What one unit (configuration × replicate) trains and is scored in. */
export interface UnitContext {
  flags: RunFlags;
  backend: BackendInfo;
  data: ReplicateData;
}

/** What `reproduce` hands each experiment: its context, and whether evaluation may train. */
export interface SharedContext {
  context: RunContext;
  /** Retrain models with `--force` (default); reproduce trains first, then evaluates with false. */
  forceModels?: boolean;
  /**
   * Train a unit's model when it is missing (default); false
   * (`reproduce --no-train`): such a unit is listed as missing and skipped.
   */
  trainMissing?: boolean;
}

/** DeepID2 features of one replicate's test, held-out and validation faces, `[N, dim]` row-major. */
export interface Features {
  /** The replicate's data the features are of (its pairs and labels score them). */
  data: ReplicateData;
  test: Float32Array;
  heldOut: Float32Array;
  validation: Float32Array;
  dim: number;
  /** Fraction of DeepID2 units that are zero on every test face. */
  deadFraction: number;
}

/** The scorers (Joint Bayesian fitted on held-out identities) and each one's LFW-protocol result. */
export interface Scored {
  features: Features;
  scorers: Scorer[];
  /** On the test pairs. */
  verification: Map<string, VerificationResult>;
  /** On the validation pairs (what choices may look at). */
  validation: Map<string, VerificationResult>;
}

/** What a finished run did. */
export interface RunOutcome {
  rows: Record<string, unknown>[];
  ran: string[];
  skipped: string[];
  /** Units left out because their models are not trained (`reproduce --no-train`). */
  missing: string[];
  csv: string;
  outDir: string;
}

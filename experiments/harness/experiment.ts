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
import type { ClaimVerdict } from "../report/claims.ts";
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
  /** The configurations to run, each one trained model. */
  configurations: (
    config: CommonConfig & C,
    dataset: Dataset,
  ) => Configuration[];
  /** Runs it: `deno run -A experiments/NAME.ts ARGS`; reproduce passes its shared context. */
  main: (argv: string[], shared?: SharedContext) => Promise<RunOutcome>;
  /** The paper's claims judged on the results (all experiments', for cross-references). */
  claims: (results: Results) => ClaimVerdict[];
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
  /** The model seed (one of the config's `seeds`; set by `run.plan`); `--seed` when absent. */
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

/** The backend and the data set, opened once per process. */
export interface RunContext {
  flags: RunFlags;
  backend: BackendInfo;
  dataset: Dataset;
  /** Hash of the data set's provenance (part of every model key). */
  dataKey: string;
}

/** What `reproduce` hands each experiment: its context, and whether evaluation may train. */
export interface SharedContext {
  context: RunContext;
  /** Retrain models with `--force` (default); reproduce trains first, then evaluates with false. */
  forceModels?: boolean;
}

/** DeepID2 features of the test, held-out and validation faces, `[N, dim]` row-major. */
export interface Features {
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
  csv: string;
  outDir: string;
}

/**
 * The experiment scripts, in the paper's order: the one list that
 * `reproduce` runs and `make tables` reports.
 *
 * @module
 */
import type { AnyExperiment } from "./harness/experiment.ts";
import { experiment as faceIdentification } from "./face_identification.ts";
import { experiment as identificationOnly } from "./identification_only.ts";
import { experiment as identities } from "./identities.ts";
import { experiment as finalSystem } from "./final_system.ts";
import { experiment as jointLambda } from "./joint_lambda.ts";
import { experiment as varianceSpectra } from "./variance_spectra.ts";
import { experiment as verificationOnly } from "./verification_only.ts";
import { experiment as verificationSignals } from "./verification_signals.ts";

/** Every experiment, in paper order (Fig. 3 ends, Fig. 3, 4-5, 6, Table 1, Table 2, Table 3). */
export const EXPERIMENTS: readonly AnyExperiment[] = [
  identificationOnly,
  verificationOnly,
  jointLambda,
  varianceSpectra,
  identities,
  verificationSignals,
  finalSystem,
  faceIdentification,
];

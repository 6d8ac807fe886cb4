/**
 * `deno task verify`: are two face images the same person, by a trained
 * network? The faces are aligned and cropped as `deno task features` does
 * (the fixed LFW box, or `--landmarks`), scored with one of the scorers the
 * experiments report, and compared with the threshold chosen for that
 * scorer on the model's validation pairs (its scoring file,
 * `lib/eval/scoring_file.ts`: "same" iff score >= threshold).
 *
 *   deno task verify --model M A.jpg B.jpg [--scorer l2|cosine|joint_bayesian]
 *       [--landmarks FILE] [--json] [--profile P] [--results DIR] [--cache DIR]
 *       [--backend B]
 *
 * Prints the score, the threshold (and its accuracy on the validation
 * pairs) and the decision; `--json` prints one JSON line instead. Exit
 * status 0 whatever the decision; 1 on bad input (a model name that
 * matches nothing, a model without a scoring file, an image that does not
 * decode), 2 on a bad command line.
 *
 * @module
 */
import {
  type FlagTable,
  parseToolCommandLine,
  usage,
} from "../lib/base/cli.ts";
import { initBackend } from "../lib/engine/backend.ts";
import { decidePair, type ScorerName } from "../lib/eval/scoring_file.ts";
import { STANDARD_SCORERS } from "../lib/eval/scorers.ts";
import {
  cropImages,
  describeAlignment,
  describeCrop,
  featuresOf,
  landmarksFor,
  lookupOf,
  openModel,
  readLandmarkFile,
} from "./features.ts";
import { MODEL_LOOKUP_FLAGS, resultsFolder } from "./harness/model_names.ts";

/** The flags of `deno task verify` (the two images are positional). */
export const VERIFY_FLAGS = {
  model: {
    type: "string",
    arg: "M",
    help: "EXPERIMENT:CONFIG:seedK, a model key, or a .model file",
  },
  scorer: {
    type: "string",
    default: "joint_bayesian",
    arg: STANDARD_SCORERS.join("|"),
    help: "how the pair is scored",
  },
  landmarks: {
    type: "string",
    arg: "FILE",
    help:
      "5 landmarks per image (as deno task features): similarity alignment instead of the fixed LFW box",
  },
  json: { type: "boolean", default: false, help: "print one JSON line" },
  ...MODEL_LOOKUP_FLAGS,
  backend: {
    type: "string",
    default: "auto",
    arg: "auto|tensorflow-gpu|tensorflow|wasm|cpu",
    help: "compute backend",
  },
} as const satisfies FlagTable;

const COMMAND = "deno task verify --model M A.jpg B.jpg [flags]";

/** What `deno task verify --help` prints. */
export const VERIFY_USAGE: string = usage(COMMAND, VERIFY_FLAGS) +
  "\n  A.jpg B.jpg  the two face images";

/** Splits argv into flags (with their values) and positional arguments. */
export function splitPositional(
  args: string[],
  table: FlagTable,
): { flags: string[]; positional: string[] } {
  const flags: string[] = [], positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    flags.push(a);
    const name = a.replace(/^--?/, "");
    const spec = table[name];
    if (
      spec && spec.type !== "boolean" && !a.includes("=") && i + 1 < args.length
    ) {
      flags.push(args[++i]);
    }
  }
  return { flags, positional };
}

/** Runs `deno task verify`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const { flags, positional } = splitPositional(args, VERIFY_FLAGS);
  const values = parseToolCommandLine(
    flags,
    VERIFY_FLAGS,
    { command: COMMAND, usage: VERIFY_USAGE },
    (v) => {
      if (!v.model) throw new Error("--model M is required");
      if (positional.length !== 2) {
        throw new Error(`expected two images, got ${positional.length}`);
      }
      if (!(STANDARD_SCORERS as readonly string[]).includes(v.scorer)) {
        throw new Error(
          `--scorer must be ${STANDARD_SCORERS.join(", ")}, not "${v.scorer}"`,
        );
      }
      resultsFolder(v.profile);
    },
  );
  if (typeof values === "number") return values;
  try {
    const table = values.landmarks
      ? await readLandmarkFile(values.landmarks)
      : undefined;
    const points = positional.map((
      p,
    ) => (table ? landmarksFor(table, p) : null));
    const backend = await initBackend(values.backend, { quiet: true });
    using model = await openModel(values.model!, lookupOf(values), backend);
    if (!model.scoring) {
      throw new Error(
        `model ${model.ref.key} has no scoring file ${model.ref.scoringPath}: it holds the validation thresholds and is written when an experiment scores the model (rerun that experiment; with --force if its results exist)`,
      );
    }
    const crops = await cropImages(positional, points, model.crop);
    const { features, dim } = await featuresOf(
      model.net,
      crops,
      model.net.config.inputShape,
    );
    const scorer = values.scorer as ScorerName;
    const d = decidePair(
      model.scoring,
      scorer,
      features.subarray(0, dim),
      features.subarray(dim, 2 * dim),
    );
    const decision = d.same ? "same" : "different";
    if (values.json) {
      console.log(JSON.stringify({
        model: model.ref.key,
        name: model.ref.name,
        a: positional[0],
        b: positional[1],
        scorer,
        score: d.score,
        threshold: d.threshold,
        validation_accuracy: d.validationAccuracy,
        validation_pairs: model.scoring.validation.pairs,
        same: d.same,
        decision,
        alignment: table ? "landmarks" : "fixed_lfw_box",
        crop: model.crop,
        backend: backend.name,
      }));
    } else {
      const v = model.scoring.validation;
      console.log(
        [
          `model      ${model.ref.key} (${model.ref.name})`,
          `images     ${positional[0]}  ${positional[1]}`,
          `alignment  ${describeAlignment(table)}`,
          `crop       ${describeCrop(model.crop)}`,
          `scorer     ${scorer}`,
          `score      ${d.score.toPrecision(6)}`,
          `threshold  ${
            d.threshold.toPrecision(6)
          } (chosen on ${v.pairs} validation pairs, accuracy ${
            (100 * d.validationAccuracy).toFixed(2)
          } %)`,
          `decision   ${decision} (score ${d.same ? ">=" : "<"} threshold)`,
        ].join("\n"),
      );
    }
    return 0;
  } catch (e) {
    console.error(`verify: error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

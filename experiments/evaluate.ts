/**
 * `deno task evaluate`: the LFW verification protocol (accuracy by
 * cross-validation over the pairs.txt folds, as the paper reports on LFW) on
 * any model's scores or features. Reproduces no table by itself; every
 * verification number in results/ comes from the same
 * lib/eval/verification.ts.
 *
 *   deno task evaluate --scores FILE.csv [--roc OUT.csv]
 *     FILE.csv: header and columns fold,label,score (label 1 = same identity,
 *     0 = different; higher score = more similar; other columns ignored).
 *   deno task evaluate --features FEATURES.csv --pairs pairs.txt
 *       [--scorer l2|cosine|joint_bayesian] [--model M | --scoring FILE]
 *       [--profile P] [--results DIR] [--cache DIR] [--roc OUT.csv]
 *     FEATURES.csv: header path,f0,f1,... and one row per image, the path
 *     relative to the LFW folder (Name/Name_0001.jpg, any image extension;
 *     what `deno task features` writes); pairs.txt: LFW View 2 (or View 1)
 *     pairs; joint_bayesian needs the PCA + Joint Bayesian model that scored
 *     the network: `--model M` names the network (EXPERIMENT:CONFIG:seedK,
 *     a model key or a .model file: experiments/harness/model_names.ts) and
 *     its scoring file beside it is read (lib/eval/scoring_file.ts);
 *     `--scoring FILE` reads that file directly; `--model JB.json` (a file
 *     saved by JointBayesianModel.toJSON, lib/eval/joint_bayesian.ts) as
 *     before.
 *
 * Prints one JSON line: accuracy_mean, accuracy_std (population, as
 * facenet), accuracy_se (std / sqrt(folds)), auc, eer, tar_at_far_1e-3 and
 * tar_at_far_1e-2 (threshold set on the training folds, facenet's VAL),
 * n_pairs, then pooled_tar_at_far_1e-3 / 1e-2 (read off the pooled ROC) and
 * num_folds. `--roc` writes the pooled ROC as fpr,tpr,threshold. Malformed
 * input is reported as `FILE:LINE: message` with exit status 1; a bad
 * command line as a message naming the flag, then the usage, with status 2.
 *
 * @module
 */
import {
  type FlagTable,
  type FlagValues,
  parseCommandLine,
  parseToolCommandLine,
  usage,
} from "../lib/base/cli.ts";
import { stringify } from "csv-stringify/sync";
import { readPairs } from "../datasets/lfw.ts";
import { InputError, writeTextAtomic } from "../lib/base/io.ts";
import { parseScoringFile } from "../lib/eval/scoring_file.ts";
import {
  MODEL_LOOKUP_FLAGS,
  resolveModel,
  resultsFolder,
} from "./harness/model_names.ts";
import { csvRecords, readText } from "./report/csv.ts";
import { JointBayesianModel } from "../lib/eval/joint_bayesian.ts";
import {
  jointBayesianScorer,
  scorePairs,
  type Scorer,
  scorerByName,
} from "../lib/eval/scorers.ts";
import {
  evaluateVerification,
  type VerificationResult,
  type VerificationRow,
} from "../lib/eval/verification.ts";

/** The names `--scorer` accepts. */
export const SCORERS = ["l2", "cosine", "joint_bayesian"] as const;

/** The flags of `deno task evaluate`: types, defaults and help lines. */
export const EVALUATE_FLAGS = {
  scores: {
    type: "string",
    arg: "FILE.csv",
    help: "a fold,label,score CSV (instead of --features)",
  },
  features: {
    type: "string",
    arg: "FEATURES.csv",
    help: "a path,f0,f1,... CSV, one row per LFW image (needs --pairs)",
  },
  pairs: {
    type: "string",
    arg: "pairs.txt",
    help: "LFW pairs (View 2 or View 1), with --features",
  },
  scorer: {
    type: "string",
    arg: SCORERS.join("|"),
    default: "l2",
    help: "how --features pairs are scored",
  },
  model: {
    type: "string",
    arg: "M|JB.json",
    help:
      "for --scorer joint_bayesian: a network (EXPERIMENT:CONFIG:seedK, model key, .model file) whose scoring file holds its PCA + Joint Bayesian, or a Joint Bayesian JSON",
  },
  scoring: {
    type: "string",
    arg: "FILE",
    help:
      "for --scorer joint_bayesian: a network's scoring file (<cache>/models/<key>.scoring.json)",
  },
  ...MODEL_LOOKUP_FLAGS,
  roc: {
    type: "string",
    arg: "OUT.csv",
    help: "write the pooled ROC (fpr,tpr,threshold) here",
  },
} as const satisfies FlagTable;

const COMMAND = "deno task evaluate (--scores FILE.csv | " +
  "--features FEATURES.csv --pairs pairs.txt) [flags]";

/** What `deno task evaluate --help` prints. */
export const EVALUATE_USAGE: string = usage(COMMAND, EVALUATE_FLAGS);

/** Command-line settings ("" where a file flag is absent). */
export interface EvaluateConfig {
  scores: string;
  features: string;
  pairs: string;
  scorer: typeof SCORERS[number];
  model: string;
  scoring: string;
  roc: string;
  /** Where `--model` names are looked up. */
  profile: string;
  results: string;
  cache: string;
}

/** A protocol row with the input line it came from. */
export interface SourcedRow extends VerificationRow {
  line: number;
}

/**
 * Reads a scores file: header, then `fold,label,score` in any column order.
 *
 * @param path the CSV file
 * @returns protocol rows with their line numbers
 */
export async function readScoresCsv(path: string): Promise<SourcedRow[]> {
  const records = csvRecords(
    path,
    await readText(path, "a fold,label,score CSV"),
    { trim: true },
  );
  if (records.length === 0) {
    throw new InputError(
      path,
      1,
      "empty file, expected a header fold,label,score",
    );
  }
  const header = records[0].fields.map((h) => h.toLowerCase());
  const col = (name: string) => {
    const k = header.indexOf(name);
    if (k < 0) {
      throw new InputError(
        path,
        records[0].line,
        `missing column "${name}" (header: ${records[0].fields.join(",")})`,
      );
    }
    return k;
  };
  const [fi, li, si] = [col("fold"), col("label"), col("score")];
  const rows = records.slice(1).map(({ line, fields }) => {
    const get = (k: number, name: string) => {
      if (k >= fields.length || fields[k] === "") {
        throw new InputError(path, line, `missing value for "${name}"`);
      }
      return fields[k];
    };
    const fold = get(fi, "fold"),
      label = get(li, "label"),
      score = get(si, "score");
    if (!/^-?\d+$/.test(fold)) {
      throw new InputError(path, line, `fold "${fold}" is not an integer`);
    }
    if (label !== "0" && label !== "1") {
      throw new InputError(path, line, `label "${label}" is not 0 or 1`);
    }
    const value = Number(score);
    if (!Number.isFinite(value)) {
      throw new InputError(
        path,
        line,
        `score "${score}" is not a finite number`,
      );
    }
    return {
      fold: Number(fold),
      label: label === "1" ? 1 : 0,
      score: value,
      line,
    } as SourcedRow;
  });
  if (rows.length === 0) {
    throw new InputError(
      path,
      records[0].line,
      "no score rows after the header",
    );
  }
  return rows;
}

/**
 * Checks what the protocol needs (2+ folds, both labels in every fold) and
 * names the file and line when it is missing.
 */
export function checkFolds(path: string, rows: readonly SourcedRow[]): void {
  const folds = new Map<number, { line: number; pos: number; n: number }>();
  for (const r of rows) {
    const f = folds.get(r.fold) ?? { line: r.line, pos: 0, n: 0 };
    f.pos += r.label;
    f.n++;
    folds.set(r.fold, f);
  }
  if (folds.size < 2) {
    throw new InputError(
      path,
      rows[0]?.line ?? 0,
      `only ${folds.size} fold (${
        [...folds.keys()].join(", ")
      }); the protocol needs at least 2`,
    );
  }
  for (const [fold, f] of folds) {
    if (f.pos === 0 || f.pos === f.n) {
      throw new InputError(
        path,
        f.line,
        `fold ${fold} has only ${
          f.pos === 0 ? "different (0)" : "same (1)"
        } pairs; every fold needs both`,
      );
    }
  }
}

/** A features file: one row per image path. */
export interface FeatureTable {
  paths: string[];
  /** 1-based line of each row in the file. */
  lines: number[];
  /** [N, D] row-major. */
  features: Float64Array;
  dim: number;
}

/**
 * Reads a features file: header `path,f0,f1,...`, one row per image.
 *
 * @param path the CSV file
 * @returns paths, features [N, D] and D
 */
export async function readFeaturesCsv(path: string): Promise<FeatureTable> {
  const records = csvRecords(
    path,
    await readText(path, "a path,f0,f1,... CSV"),
    { trim: true },
  );
  if (records.length === 0) {
    throw new InputError(
      path,
      1,
      "empty file, expected a header path,f0,f1,...",
    );
  }
  const header = records[0].fields;
  if (header[0]?.toLowerCase() !== "path") {
    throw new InputError(
      path,
      records[0].line,
      `missing column "path" first (header: ${
        header.slice(0, 4).join(",")
      }...)`,
    );
  }
  const dim = header.length - 1;
  if (dim < 1) {
    throw new InputError(
      path,
      records[0].line,
      "no feature columns after path",
    );
  }
  const body = records.slice(1);
  const features = new Float64Array(body.length * dim); // [N, D]
  const paths = body.map(({ line, fields }, i) => {
    if (fields.length !== dim + 1) {
      throw new InputError(
        path,
        line,
        `expected ${
          dim + 1
        } fields (path and ${dim} features), got ${fields.length}`,
      );
    }
    for (let k = 0; k < dim; k++) {
      const v = Number(fields[k + 1]);
      if (fields[k + 1] === "" || !Number.isFinite(v)) {
        throw new InputError(
          path,
          line,
          `feature ${header[k + 1]} "${fields[k + 1]}" is not a finite number`,
        );
      }
      features[i * dim + k] = v;
    }
    return fields[0];
  });
  return { paths, lines: body.map((r) => r.line), features, dim };
}

/** `Name/Name_0001` from any path ending in `Name/Name_0001.<ext>`. */
function imageKey(path: string): string {
  const parts = path.replaceAll("\\", "/").split("/");
  const file = parts.at(-1)!.replace(/\.[A-Za-z0-9]+$/, "");
  return parts.length > 1 ? `${parts.at(-2)}/${file}` : file;
}

/**
 * Scores LFW pairs from a features table.
 *
 * @param config which files and scorer
 * @returns protocol rows with their pairs.txt line numbers
 */
export async function scoreLfwPairs(
  config: EvaluateConfig,
): Promise<SourcedRow[]> {
  const table = await readFeaturesCsv(config.features);
  const entries = await readPairs(config.pairs);
  if (entries.length === 0) throw new InputError(config.pairs, 0, "no pairs");
  const row = new Map<string, number>();
  table.paths.forEach((p, i) => {
    const key = imageKey(p);
    if (row.has(key)) {
      const first = table.lines[row.get(key)!];
      throw new InputError(
        config.features,
        table.lines[i],
        `image ${key} appears twice (also on line ${first})`,
      );
    }
    row.set(key, i);
  });
  const find = (name: string, n: number, line: number) => {
    const key = `${name}/${name}_${String(n).padStart(4, "0")}`;
    const i = row.get(key);
    if (i === undefined) {
      throw new InputError(
        config.pairs,
        line,
        `no row for ${key}.* in ${config.features}`,
      );
    }
    return i;
  };
  const pairs = entries.map((e) => ({
    fold: e.fold,
    same: e.same,
    a: find(e.name1, e.n1, e.line),
    b: find(e.name2, e.n2, e.line),
  }));
  const scores = scorePairs(
    table.features,
    table.dim,
    pairs,
    await scorerFor(config, table.dim),
  );
  return entries.map((e, k) => ({
    fold: e.fold,
    label: e.same ? 1 : 0,
    score: scores[k],
    line: e.line,
  }));
}

/**
 * The Joint Bayesian model `--scoring` or `--model` names, with the file it
 * came from: a scoring file, a network's (its scoring file beside it), or a
 * Joint Bayesian JSON.
 */
export async function jointBayesianFor(
  config: Pick<
    EvaluateConfig,
    "model" | "scoring" | "profile" | "results" | "cache"
  >,
): Promise<{ model: JointBayesianModel; file: string }> {
  let file = config.scoring;
  if (!file) {
    const m = config.model;
    const isJson = m.endsWith(".json") &&
      await Deno.stat(m).then((s) => s.isFile, () => false);
    if (isJson) file = m;
    else {
      let ref;
      try {
        ref = await resolveModel(m, config);
      } catch (e) {
        throw new InputError(m, 0, (e as Error).message);
      }
      file = ref.scoringPath;
      try {
        await Deno.stat(file);
      } catch {
        throw new InputError(
          file,
          0,
          `model ${ref.key} has no scoring file (it is written when an experiment scores the model; rerun that experiment, with --force if its results exist)`,
        );
      }
    }
  }
  const text = await readText(
    file,
    "a scoring file or a Joint Bayesian model JSON",
  );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, 0, `not JSON: ${(e as Error).message}`);
  }
  if ((json as { format?: unknown })?.format === "deepid2-scoring") {
    const scoring = parseScoringFile(text, file);
    if (!scoring.jointBayesian) {
      throw new InputError(
        file,
        0,
        `model ${scoring.model} has no Joint Bayesian model (its held-out features had no variance); use --scorer l2 or cosine`,
      );
    }
    return { model: JointBayesianModel.fromJSON(scoring.jointBayesian), file };
  }
  try {
    return { model: JointBayesianModel.fromJSON(json), file };
  } catch (e) {
    throw new InputError(file, 0, (e as Error).message);
  }
}

async function scorerFor(config: EvaluateConfig, dim: number): Promise<Scorer> {
  if (config.scorer !== "joint_bayesian") return scorerByName(config.scorer);
  const { model, file } = await jointBayesianFor(config);
  if (model.inputDim !== dim) {
    throw new InputError(
      file,
      0,
      `model expects ${model.inputDim}-d features, ${config.features} has ${dim}${
        dim === 2 * model.inputDim
          ? " (features with --flip: the network's Joint Bayesian model takes one face's)"
          : ""
      }`,
    );
  }
  return jointBayesianScorer(model);
}

/** The JSON line the command prints. */
export function summary(result: VerificationResult): Record<string, number> {
  return {
    accuracy_mean: result.accuracy_mean,
    accuracy_std: result.accuracy_std,
    accuracy_se: result.accuracy_se,
    auc: result.auc,
    eer: result.eer,
    "tar_at_far_1e-3": result["tar_at_far_1e-3"],
    "tar_at_far_1e-2": result["tar_at_far_1e-2"],
    n_pairs: result.n_pairs,
    "pooled_tar_at_far_1e-3": result["pooled_tar_at_far_1e-3"],
    "pooled_tar_at_far_1e-2": result["pooled_tar_at_far_1e-2"],
    num_folds: result.num_folds,
  };
}

/** Parses argv into a config; throws on unknown flags or bad values. */
export function parseConfig(args: string[]): EvaluateConfig {
  return toConfig(
    parseCommandLine(args, EVALUATE_FLAGS, { command: COMMAND }).values,
  );
}

/** Checks parsed flags and makes them a config. */
function toConfig(values: FlagValues<typeof EVALUATE_FLAGS>): EvaluateConfig {
  const scorer = values.scorer as EvaluateConfig["scorer"];
  if (!SCORERS.includes(scorer)) {
    throw new Error(
      `--scorer must be ${SCORERS.slice(0, -1).join(", ")} or ${
        SCORERS.at(-1)
      }, not "${scorer}"`,
    );
  }
  const config: EvaluateConfig = {
    scores: values.scores ?? "",
    features: values.features ?? "",
    pairs: values.pairs ?? "",
    scorer,
    model: values.model ?? "",
    scoring: values.scoring ?? "",
    roc: values.roc ?? "",
    profile: values.profile,
    results: values.results ?? resultsFolder(values.profile),
    cache: values.cache,
  };
  if (Boolean(config.scores) === Boolean(config.features)) {
    throw new Error("give either --scores or --features (with --pairs)");
  }
  if (config.features && !config.pairs) {
    throw new Error("--features needs --pairs");
  }
  if (config.model && config.scoring) {
    throw new Error("give --model or --scoring, not both");
  }
  if (
    config.scorer === "joint_bayesian" && !config.model && !config.scoring
  ) {
    throw new Error(
      "--scorer joint_bayesian needs --model M (a network, or JB.json) or --scoring FILE",
    );
  }
  return config;
}

/** Runs the command; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  let config!: EvaluateConfig;
  const parsed = parseToolCommandLine(
    args,
    EVALUATE_FLAGS,
    { command: COMMAND, usage: EVALUATE_USAGE },
    (v) => {
      config = toConfig(v);
    },
  );
  if (typeof parsed === "number") return parsed;
  try {
    const source = config.scores || config.pairs;
    const rows = config.scores
      ? await readScoresCsv(config.scores)
      : await scoreLfwPairs(config);
    checkFolds(source, rows);
    const result = evaluateVerification(rows);
    if (config.roc) {
      await writeTextAtomic(
        config.roc,
        stringify(result.roc, {
          header: true,
          columns: ["fpr", "tpr", "threshold"],
        }),
      );
    }
    console.log(JSON.stringify(summary(result)));
    return 0;
  } catch (e) {
    if (e instanceof InputError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

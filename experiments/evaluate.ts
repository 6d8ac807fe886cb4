/**
 * `deno task evaluate`: the LFW verification protocol (PAPER.md "LFW
 * protocol") on any model's scores or features. Reproduces no table by
 * itself; every verification number in results/ comes from the same
 * lib/verification.ts.
 *
 *   deno task evaluate --scores FILE.csv [--roc OUT.csv]
 *     FILE.csv: header and columns fold,label,score (label 1 = same identity,
 *     0 = different; higher score = more similar; other columns ignored).
 *   deno task evaluate --features FEATURES.csv --pairs pairs.txt
 *       [--scorer l2|cosine|joint_bayesian] [--model JB.json] [--roc OUT.csv]
 *     FEATURES.csv: header path,f0,f1,... and one row per image, the path
 *     relative to the LFW folder (Name/Name_0001.jpg, any image extension);
 *     pairs.txt: LFW View 2 (or View 1) pairs; joint_bayesian needs a model
 *     saved by lib/joint_bayesian.ts (JointBayesianModel.toJSON).
 *
 * Prints one JSON line: accuracy_mean, accuracy_std (population, as
 * facenet), accuracy_se (std / sqrt(folds)), auc, eer, tar_at_far_1e-3 and
 * tar_at_far_1e-2 (threshold set on the training folds, facenet's VAL),
 * n_pairs, then pooled_tar_at_far_1e-3 / 1e-2 (read off the pooled ROC) and
 * num_folds. `--roc` writes the pooled ROC as fpr,tpr,threshold. Malformed
 * input is reported as `FILE:LINE: message` with exit status 1.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stringify } from "csv-stringify/sync";
import { readPairs } from "../datasets/lfw.ts";
import { InputError, writeTextAtomic } from "../lib/base/io.ts";
import { csvRecords, readText } from "./_csv.ts";
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

/** Command-line settings, with their defaults. */
export interface EvaluateConfig {
  scores: string;
  features: string;
  pairs: string;
  scorer: "l2" | "cosine" | "joint_bayesian";
  model: string;
  roc: string;
}

const DEFAULTS: EvaluateConfig = {
  scores: "",
  features: "",
  pairs: "",
  scorer: "l2",
  model: "",
  roc: "",
};

const USAGE = `usage:
  deno task evaluate --scores FILE.csv [--roc OUT.csv]
  deno task evaluate --features FEATURES.csv --pairs pairs.txt [--scorer l2|cosine|joint_bayesian] [--model JB.json] [--roc OUT.csv]`;

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

async function scorerFor(config: EvaluateConfig, dim: number): Promise<Scorer> {
  if (config.scorer !== "joint_bayesian") return scorerByName(config.scorer);
  let model: JointBayesianModel;
  try {
    model = JointBayesianModel.fromJSON(
      JSON.parse(await readText(config.model, "a Joint Bayesian model JSON")),
    );
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(config.model, 0, (e as Error).message);
  }
  if (model.inputDim !== dim) {
    throw new InputError(
      config.model,
      0,
      `model expects ${model.inputDim}-d features, ${config.features} has ${dim}`,
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
  const { values } = parseArgs({
    args,
    strict: true,
    options: Object.fromEntries(
      Object.keys(DEFAULTS).map((k) => [k, { type: "string" as const }]),
    ),
  });
  const config = { ...DEFAULTS, ...values } as EvaluateConfig;
  if (!["l2", "cosine", "joint_bayesian"].includes(config.scorer)) {
    throw new Error(
      `--scorer must be l2, cosine or joint_bayesian, not "${config.scorer}"`,
    );
  }
  if (Boolean(config.scores) === Boolean(config.features)) {
    throw new Error("give either --scores or --features (with --pairs)");
  }
  if (config.features && !config.pairs) {
    throw new Error("--features needs --pairs");
  }
  if (config.scorer === "joint_bayesian" && !config.model) {
    throw new Error("--scorer joint_bayesian needs --model JB.json");
  }
  return config;
}

/** Runs the command; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  let config: EvaluateConfig;
  try {
    config = parseConfig(args);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
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

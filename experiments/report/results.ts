/**
 * Reading and merging result CSVs for `make tables`: `results/<experiment>.csv`
 * and the shard files `results/<experiment>/<config>.csv` written by
 * `--shard i/n` runs, merged by (config, scorer, seed) with the newest row
 * winning, the mean over seeds recomputed,
 * checked column by column (errors as `FILE:LINE: message`), plus the
 * `command` of each run's `.meta.json`.
 *
 * @module
 */

import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { exists, InputError, writeTextAtomic } from "../../lib/base/io.ts";
import { csvRecords, readText } from "./csv.ts";
import {
  aggregateRows,
  COLUMN_KINDS,
  type ColumnKind,
  MEAN_SEED,
} from "../harness/result_files.ts";

/** One row of `results/<experiment>.csv`: one (config, scorer, seed), or the mean over seeds. */
export interface ResultRow {
  config: string;
  scorer: string;
  /** Every column of the row, as written. */
  fields: Record<string, string>;
  /** The file and 1-based line the row came from. */
  file: string;
  line: number;
}

/** The merged results of one experiment. */
export interface ExperimentResults {
  experiment: string;
  /** Columns in output order (union over the files read). */
  columns: string[];
  /** One row per (config, scorer): the mean over seeds (seed `mean`), in config then scorer order. */
  rows: ResultRow[];
  /** One row per (config, scorer, seed), in config, scorer, seed order: what the claims' intervals use. */
  seedRows: ResultRow[];
  /** The CSV files read: `results/<experiment>.csv` and shards. */
  files: string[];
  /** How many of `files` are shards. */
  shards: number;
  /** Commands that made the numbers, from the `.meta.json` files. */
  commands: string[];
}

/** All experiments found under a results folder, by name. */
export type Results = Map<string, ExperimentResults>;

const columnsOfKind = (...kinds: ColumnKind[]) =>
  Object.entries(COLUMN_KINDS).filter(([, k]) => kinds.includes(k)).map((
    [c],
  ) => c);

/** Columns every results CSV has. */
const KEY_COLUMNS = columnsOfKind("key");
/** Columns that hold numbers; empty means "not measured". */
const NUMERIC_COLUMNS = new Set(columnsOfKind("number", "fraction"));
/** Numeric columns that are rates, stored as fractions in [0, 1]. */
const FRACTION_COLUMNS = new Set(columnsOfKind("fraction"));

/** Parses a number cell: "" and "nan" are NaN, "inf" / "Infinity" are ∞; anything else that is not a number is `undefined`. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === "" || t === "nan") return NaN;
  if (/^\+?inf(inity)?$/.test(t)) return Infinity;
  if (/^-inf(inity)?$/.test(t)) return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** The number in a column of a row (NaN when empty or absent). */
export function value(row: ResultRow, column: string): number {
  const v = parseNumber(row.fields[column] ?? "");
  return v === undefined ? NaN : v;
}

/** A parsed CSV with a header: column names and records. */
interface Table {
  path: string;
  header: string[];
  records: { line: number; fields: string[] }[];
}

export async function readTable(
  path: string,
  required: string[],
): Promise<Table> {
  const records = csvRecords(path, await readText(path));
  if (records.length === 0) {
    throw new InputError(
      path,
      1,
      `empty file: expected a header with ${required.join(",")}`,
    );
  }
  const header = records[0].fields.map((h) => h.trim());
  for (const name of required) {
    if (!header.includes(name)) {
      throw new InputError(
        path,
        records[0].line,
        `missing column "${name}" (header: ${header.join(",")})`,
      );
    }
  }
  const rest = records.slice(1);
  for (const r of rest) {
    if (r.fields.length !== header.length) {
      throw new InputError(
        path,
        r.line,
        `expected ${header.length} fields as in the header, found ${r.fields.length}`,
      );
    }
  }
  return { path, header, records: rest };
}

/**
 * Reads and checks one results CSV (`results/<experiment>.csv` or a shard).
 *
 * @param path the CSV file
 * @param options `experiment`: the name every row's `experiment` must have
 * @returns its rows, in file order, and its header
 * @throws InputError `FILE:LINE: message` on malformed input
 */
export async function readResultsCsv(
  path: string,
  options: { experiment?: string } = {},
): Promise<{ header: string[]; rows: ResultRow[] }> {
  const table = await readTable(path, KEY_COLUMNS);
  const { header } = table;
  if (!header.includes("accuracy_mean") && !header.includes("rank1_mean")) {
    throw new InputError(
      path,
      1,
      `missing column "accuracy_mean" (header: ${header.join(",")})`,
    );
  }
  const rows = table.records.map(({ line, fields }) => {
    const rec: Record<string, string> = {};
    header.forEach((h, k) => rec[h] = fields[k].trim());
    for (const key of KEY_COLUMNS) {
      if (rec[key] === "") {
        throw new InputError(path, line, `empty value for "${key}"`);
      }
    }
    if (options.experiment && rec.experiment !== options.experiment) {
      throw new InputError(
        path,
        line,
        `experiment "${rec.experiment}" does not match the file's experiment "${options.experiment}"`,
      );
    }
    for (const h of header) {
      if (!NUMERIC_COLUMNS.has(h)) continue;
      const v = parseNumber(rec[h]);
      if (v === undefined) {
        throw new InputError(
          path,
          line,
          `column "${h}": not a number: "${rec[h]}"`,
        );
      }
      if (h === "lambda" && v < 0) {
        throw new InputError(
          path,
          line,
          `column "lambda": negative: ${rec[h]}`,
        );
      }
      if (FRACTION_COLUMNS.has(h) && (v < 0 || v > 1)) {
        throw new InputError(
          path,
          line,
          `column "${h}": ${
            rec[h]
          } is not a fraction in [0, 1] (rates are stored as fractions, not %)`,
        );
      }
    }
    return {
      config: rec.config,
      scorer: rec.scorer,
      fields: rec,
      file: path,
      line,
    };
  });
  return { header, rows };
}

/** Whether a CSV's header names the key columns (a results shard, not a spectrum). */
async function isResultsCsv(path: string): Promise<boolean> {
  const text = await readText(path);
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0];
  const names = first.split(",").map((s) => s.trim().replace(/^"|"$/g, ""));
  return KEY_COLUMNS.every((k) => names.includes(k));
}

export async function listDir(path: string): Promise<Deno.DirEntry[]> {
  if (!(await exists(path))) return [];
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(path)) out.push(e);
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Folders under results/ that are never an experiment's shards. */
// roc/ and figures/ hold per-file outputs; smoke/ and paper/ are other profiles' results folders.
const NOT_EXPERIMENTS = new Set(["roc", "figures", "smoke", "paper"]);

async function shardFiles(
  resultsDir: string,
  experiment: string,
): Promise<string[]> {
  const dir = join(resultsDir, experiment);
  const out: string[] = [];
  for (const e of await listDir(dir)) {
    const path = join(dir, e.name);
    if (e.isFile && e.name.endsWith(".csv") && await isResultsCsv(path)) {
      out.push(path);
    }
  }
  return out;
}

/**
 * Names of the experiments with results under `resultsDir`: those named in
 * `order` first, in that order, then the others alphabetically.
 *
 * @example
 * ```ts
 * await listExperiments("results", ["identification_only"]); // ["identification_only", "joint_lambda", ...]
 * ```
 */
export async function listExperiments(
  resultsDir: string,
  order: readonly string[] = [],
): Promise<string[]> {
  if (!(await exists(resultsDir))) {
    throw new InputError(resultsDir, 0, "results folder not found");
  }
  const names = new Set<string>();
  for (const e of await listDir(resultsDir)) {
    // Other tables (e.g. calibration.csv) live beside them: only results CSVs count.
    if (
      e.isFile && e.name.endsWith(".csv") &&
      await isResultsCsv(join(resultsDir, e.name))
    ) names.add(e.name.slice(0, -4));
    if (
      e.isDirectory && !NOT_EXPERIMENTS.has(e.name) &&
      (await shardFiles(resultsDir, e.name)).length > 0
    ) names.add(e.name);
  }
  const rank = (n: string) => {
    const k = order.indexOf(n);
    return k < 0 ? order.length : k;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/** Parts of a config such as `n=32,lambda=0.05`. */
export function configParts(config: string): [string, string][] {
  return config.split(",").map((p) => {
    const k = p.indexOf("=");
    return k < 0 ? [p, ""] : [p.slice(0, k), p.slice(k + 1)];
  });
}

/** Table 1 order of the verification signals. */
const SIGNAL_ORDER = ["l2", "l2+", "l2-", "l1", "cosine", "none"];
const SCORER_ORDER = ["l2", "cosine", "joint_bayesian"];

export function compareValues(a: string, b: string): number {
  const x = parseNumber(a), y = parseNumber(b);
  if (x !== undefined && y !== undefined && !isNaN(x) && !isNaN(y)) {
    return x - y;
  }
  const i = SIGNAL_ORDER.indexOf(a), j = SIGNAL_ORDER.indexOf(b);
  if (i >= 0 && j >= 0) return i - j;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders configs part by part, numbers numerically (∞ last), signals in Table 1 order. */
export function compareConfigs(a: string, b: string): number {
  const pa = configParts(a), pb = configParts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i][0] !== pb[i][0]) return pa[i][0] < pb[i][0] ? -1 : 1;
    const c = compareValues(pa[i][1], pb[i][1]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

export function compareScorers(a: string, b: string): number {
  const rank = (s: string) => {
    const k = SCORER_ORDER.indexOf(s);
    return k < 0 ? SCORER_ORDER.length : k;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function compareRows(a: ResultRow, b: ResultRow): number {
  return compareConfigs(a.config, b.config) ||
    compareScorers(a.scorer, b.scorer);
}

/** `command` of a run's `.meta.json` (a string, or an argv array). */
async function readCommand(path: string): Promise<string | undefined> {
  if (!(await exists(path))) return undefined;
  const text = await readText(path);
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = msg.match(/line (\d+)/) ?? undefined;
    const pos = msg.match(/position (\d+)/);
    const line = m
      ? Number(m[1])
      : pos
      ? text.slice(0, Number(pos[1])).split("\n").length
      : 0;
    throw new InputError(path, line, `not valid JSON: ${msg}`);
  }
  const command = (meta as { command?: unknown })?.command;
  if (typeof command === "string") return command;
  if (Array.isArray(command) && command.every((c) => typeof c === "string")) {
    return command.map((c) => /^[\w./=:,+@%-]+$/.test(c) ? c : `'${c}'`).join(
      " ",
    );
  }
  return undefined;
}

/**
 * Reads one experiment: `results/<experiment>.csv` and its shards
 * `results/<experiment>/<config>.csv`, merged by (config, scorer) with the
 * newest file winning (modification time; on a tie the shard, then the later
 * line). With `writeMerged`, a merge of shards is written back to
 * `results/<experiment>.csv` (atomically, only when it changed).
 *
 * @example
 * ```ts
 * const r = await loadExperiment("results", "joint_lambda");
 * r.rows.map((row) => `${row.config} ${row.scorer}`);
 * ```
 */
export async function loadExperiment(
  resultsDir: string,
  experiment: string,
  options: { writeMerged?: boolean } = {},
): Promise<ExperimentResults> {
  const top = join(resultsDir, `${experiment}.csv`);
  const shards = await shardFiles(resultsDir, experiment);
  const files = [...(await exists(top) ? [top] : []), ...shards];
  if (files.length === 0) {
    throw new InputError(top, 0, `no results for experiment "${experiment}"`);
  }
  const columns: string[] = [];
  const newest = new Map<string, { row: ResultRow; mtime: number }>();
  for (const file of files) {
    const { header, rows } = await readResultsCsv(file, { experiment });
    for (const h of header) if (!columns.includes(h)) columns.push(h);
    const mtime = (await Deno.stat(file)).mtime?.getTime() ?? 0;
    for (const row of rows) {
      // The stored means are recomputed below from the seeds' rows.
      if (row.fields.seed === MEAN_SEED) continue;
      const key = `${row.config}\u0000${row.scorer}\u0000${row.fields.seed}`;
      const seen = newest.get(key);
      if (!seen || mtime >= seen.mtime) newest.set(key, { row, mtime });
    }
  }
  const seedRows = [...newest.values()].map((v) => v.row).sort((a, b) =>
    compareRows(a, b) || compareValues(a.fields.seed, b.fields.seed)
  );
  const rows = aggregateRows(seedRows.map((r) => r.fields)).map((fields) => ({
    config: fields.config,
    scorer: fields.scorer,
    fields,
    file: top,
    line: 0,
  })).sort(compareRows);
  const commands: string[] = [];
  const metas = [
    join(resultsDir, `${experiment}.meta.json`),
    ...shards.map((s) => s.replace(/\.csv$/, ".meta.json")),
  ];
  for (const meta of metas) {
    const c = await readCommand(meta);
    if (c && !commands.includes(c)) commands.push(c);
  }
  if (shards.length > 0 && options.writeMerged) {
    // The columns the mean rows add (the spread across replicates, ...).
    for (const r of rows) {
      for (const c of Object.keys(r.fields)) {
        if (!columns.includes(c)) columns.push(c);
      }
    }
    const text = stringify(
      [...seedRows, ...rows].map((r) => columns.map((c) => r.fields[c] ?? "")),
      { header: true, columns },
    );
    const old = await exists(top) ? await Deno.readTextFile(top) : "";
    if (old !== text) await writeTextAtomic(top, text);
  }
  return {
    experiment,
    columns,
    rows,
    seedRows,
    files,
    shards: shards.length,
    commands,
  };
}

/**
 * Loads every experiment under `resultsDir` (see {@linkcode loadExperiment}).
 *
 * @param options `writeMerged`: write merged shard results back; `order`:
 *   experiment names in the order wanted (others follow alphabetically)
 */
export async function loadResults(
  resultsDir: string,
  options: { writeMerged?: boolean; order?: readonly string[] } = {},
): Promise<Results> {
  const out: Results = new Map();
  for (const name of await listExperiments(resultsDir, options.order)) {
    out.set(name, await loadExperiment(resultsDir, name, options));
  }
  return out;
}

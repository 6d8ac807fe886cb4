/**
 * `make tables` / `deno task tables`: reads only the CSVs under `results/`
 * and writes `results/TABLES.md`, the figures in `results/figures/`, and the
 * results block of README.md (between `<!-- results:start -->` and
 * `<!-- results:end -->`).
 *
 *   deno task tables [--results DIR] [--readme FILE] [--no-figures]
 *
 * For each experiment found (`results/<experiment>.csv`, or shard files
 * `results/<experiment>/<config>.csv` written by `--shard i/n` runs, merged
 * here with the newest row winning per (config, scorer)) it writes a table
 * of our numbers (accuracy mean ± fold std in %, AUC, EER, TAR at FAR =
 * 1e-3), the paper's claim beside it (numbers only where PAPER.md marks
 * them [C]; everything else is a trend, stated in words), the command that
 * made the numbers (`command` in `results/<experiment>.meta.json`), and one
 * line per claim saying whether it held in this run, with the numbers.
 *
 * Claim checks live here, not in lib/, because they are knowledge of the
 * paper's experiments (DESIGN.md: lib/ knows nothing about any experiment).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, join, relative } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { exists, InputError, writeTextAtomic } from "../lib/io.ts";
import {
  barPlot,
  linePlot,
  rocPlot,
  scatterPlot,
  spectrumPlot,
  writeSvg,
} from "../lib/plot.ts";

// ---------------------------------------------------------------- CSV input

/** One row of `results/<experiment>.csv`: one (config, scorer). */
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
  /** One row per (config, scorer), in config then scorer order. */
  rows: ResultRow[];
  /** The CSV files read: `results/<experiment>.csv` and shards. */
  files: string[];
  /** How many of `files` are shards. */
  shards: number;
  /** Commands that made the numbers, from the `.meta.json` files. */
  commands: string[];
}

/** All experiments found under a results folder, by name. */
export type Results = Map<string, ExperimentResults>;

/** Columns every results CSV has (DESIGN.md, "Contracts"). */
const KEY_COLUMNS = ["experiment", "config", "scorer"];

/** Columns that hold numbers; empty means "not measured". */
const NUMERIC_COLUMNS = new Set([
  "accuracy_mean",
  "accuracy_std",
  "accuracy_se",
  "auc",
  "eer",
  "tar_at_far_1e-3",
  "tar_at_far_1e-2",
  "n_pairs",
  "seed",
  "lambda",
  "identities",
  "between_energy",
  "within_energy",
  "between_top1",
  "within_top1",
  "within_between_ratio",
  "rank1_mean",
  "rank1_std",
  "dir_at_far_1e-2_mean",
  "dir_at_far_1e-2_std",
]);

/** Numeric columns that are rates, stored as fractions in [0, 1]. */
const FRACTION_COLUMNS = new Set([
  "accuracy_mean",
  "accuracy_std",
  "accuracy_se",
  "auc",
  "eer",
  "tar_at_far_1e-3",
  "tar_at_far_1e-2",
  "rank1_mean",
  "rank1_std",
  "dir_at_far_1e-2_mean",
  "dir_at_far_1e-2_std",
]);

/** Parses a number cell: "" and "nan" are NaN, "inf" / "Infinity" are ∞; anything else that is not a number is `undefined`. */
function parseNumber(text: string): number | undefined {
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

/** CSV records with the line each ends on; errors as `FILE:LINE: ...`. */
function parseCsv(
  path: string,
  text: string,
): { line: number; fields: string[] }[] {
  try {
    const records = parse(text, {
      info: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return records.map((r) => ({ line: r.info.lines, fields: r.record }));
  } catch (e) {
    const line = (e as { lines?: number }).lines ?? 0;
    throw new InputError(path, line, `not valid CSV: ${(e as Error).message}`);
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(path, 0, "file not found");
    }
    throw e;
  }
}

/** A parsed CSV with a header: column names and records. */
interface Table {
  path: string;
  header: string[];
  records: { line: number; fields: string[] }[];
}

async function readTable(path: string, required: string[]): Promise<Table> {
  const records = parseCsv(path, await readText(path));
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

async function listDir(path: string): Promise<Deno.DirEntry[]> {
  if (!(await exists(path))) return [];
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(path)) out.push(e);
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Folders under results/ that are never an experiment's shards. */
const NOT_EXPERIMENTS = new Set(["roc", "figures"]);

/** Paper order of the experiments; others follow alphabetically. */
const PAPER_ORDER = [
  "identification_only",
  "verification_only",
  "joint_lambda",
  "variance_spectra",
  "identities",
  "verification_signals",
  "face_identification",
  "final_system",
];

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
 * Names of the experiments with results under `resultsDir`, in paper order.
 *
 * @example
 * ```ts
 * await listExperiments("results"); // ["identification_only", "joint_lambda", ...]
 * ```
 */
export async function listExperiments(resultsDir: string): Promise<string[]> {
  if (!(await exists(resultsDir))) {
    throw new InputError(resultsDir, 0, "results folder not found");
  }
  const names = new Set<string>();
  for (const e of await listDir(resultsDir)) {
    if (e.isFile && e.name.endsWith(".csv")) names.add(e.name.slice(0, -4));
    if (
      e.isDirectory && !NOT_EXPERIMENTS.has(e.name) &&
      (await shardFiles(resultsDir, e.name)).length > 0
    ) names.add(e.name);
  }
  const rank = (n: string) => {
    const k = PAPER_ORDER.indexOf(n);
    return k < 0 ? PAPER_ORDER.length : k;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/** Parts of a config such as `n=32,lambda=0.05`. */
function configParts(config: string): [string, string][] {
  return config.split(",").map((p) => {
    const k = p.indexOf("=");
    return k < 0 ? [p, ""] : [p.slice(0, k), p.slice(k + 1)];
  });
}

/** Table 1 order of the verification signals. */
const SIGNAL_ORDER = ["l2", "l2+", "l2-", "l1", "cosine", "none"];
const SCORER_ORDER = ["l2", "cosine", "joint_bayesian"];

function compareValues(a: string, b: string): number {
  const x = parseNumber(a), y = parseNumber(b);
  if (x !== undefined && y !== undefined && !isNaN(x) && !isNaN(y)) {
    return x - y;
  }
  const i = SIGNAL_ORDER.indexOf(a), j = SIGNAL_ORDER.indexOf(b);
  if (i >= 0 && j >= 0) return i - j;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders configs part by part, numbers numerically (∞ last), signals in Table 1 order. */
function compareConfigs(a: string, b: string): number {
  const pa = configParts(a), pb = configParts(b);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i][0] !== pb[i][0]) return pa[i][0] < pb[i][0] ? -1 : 1;
    const c = compareValues(pa[i][1], pb[i][1]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function compareScorers(a: string, b: string): number {
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
      const key = `${row.config}\u0000${row.scorer}`;
      const seen = newest.get(key);
      if (!seen || mtime >= seen.mtime) newest.set(key, { row, mtime });
    }
  }
  const rows = [...newest.values()].map((v) => v.row).sort(compareRows);
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
    const text = stringify(
      rows.map((r) => columns.map((c) => r.fields[c] ?? "")),
      { header: true, columns },
    );
    const old = await exists(top) ? await Deno.readTextFile(top) : "";
    if (old !== text) await writeTextAtomic(top, text);
  }
  return { experiment, columns, rows, files, shards: shards.length, commands };
}

/**
 * Loads every experiment under `resultsDir` (see {@linkcode loadExperiment}).
 *
 * @param options `writeMerged`: write merged shard results back
 */
export async function loadResults(
  resultsDir: string,
  options: { writeMerged?: boolean } = {},
): Promise<Results> {
  const out: Results = new Map();
  for (const name of await listExperiments(resultsDir)) {
    out.set(name, await loadExperiment(resultsDir, name, options));
  }
  return out;
}

// ------------------------------------------------------------------ claims

/** The verdict on one of the paper's claims in this run. */
export interface ClaimVerdict {
  /** The claim in words, e.g. `accuracy peaks at an intermediate λ (L2)`. */
  claim: string;
  /** true: held; false: did not hold; null: not tested (data missing). */
  held: boolean | null;
  /** The numbers behind the verdict. */
  detail: string;
}

/** What the paper says about each experiment (PAPER.md, "The experiments and their claims"). */
interface PaperEntry {
  title: string;
  /** Where in the paper. */
  source: string;
  /** The claim, in words. */
  claim: string;
  /** The paper's own numbers, only where PAPER.md marks them [C]. */
  confirmed?: string;
}

const PAPER: Record<string, PaperEntry> = {
  identification_only: {
    title: "Identification signal only (λ = 0)",
    source: "Fig. 3 (λ = 0)",
    claim: "good features, but intra-personal variance stays large; " +
      "adding the verification signal does better",
  },
  verification_only: {
    title: "Verification signal only (λ = ∞)",
    source: "Fig. 3 (λ = ∞)",
    claim: "clearly worse than joint training: inter-personal variance " +
      "collapses too",
  },
  joint_lambda: {
    title: "Joint identification-verification, λ sweep",
    source: "Fig. 3",
    claim: "accuracy peaks at an intermediate λ (0.05 in the paper) for both " +
      "L2 and Joint Bayesian scoring",
  },
  variance_spectra: {
    title: "Inter- and intra-personal variance",
    source: "Fig. 4, 5",
    claim: "joint training keeps inter-personal variance and shrinks " +
      "intra-personal variance, relative to λ = 0 and λ = ∞",
  },
  identities: {
    title: "Number of identities in the identification signal",
    source: "Fig. 6",
    claim: "more identities in the identification signal → better verification",
  },
  verification_signals: {
    title: "Verification signals",
    source: "Table 1",
    claim: "L2 best; L2+ close to it; the others (L2−, L1, cosine) help less",
  },
  face_identification: {
    title: "Face identification — reconstruction of the Best-Rowden et al. " +
      "2014 protocol (lists not public)",
    source: "Table 3",
    claim: "DeepID2 features are strong for closed-set (rank-1) and open-set " +
      "(DIR at FAR = 1 %) identification",
  },
  final_system: {
    title: "Final system (patches + PCA + Joint Bayesian)",
    source: "Table 2",
    claim: "99.15 % on LFW (real data only)",
    confirmed: "99.15 % LFW accuracy [C]; DeepFace 97.35 %, DeepID 97.45 % [C]",
  },
};

const SCORER_NAMES: Record<string, string> = {
  l2: "L2",
  cosine: "cosine",
  joint_bayesian: "Joint Bayesian",
};
const SIGNAL_NAMES: Record<string, string> = {
  l2: "L2",
  "l2+": "L2+",
  "l2-": "L2−",
  l1: "L1",
  cosine: "cosine",
  none: "none",
};

function scorerName(s: string): string {
  return SCORER_NAMES[s] ?? s;
}

function configPart(row: ResultRow, key: string): string | undefined {
  return configParts(row.config).find(([k]) => k === key)?.[1];
}

/** λ of a row: its `lambda` column, else the config's `lambda=`; NaN if neither. */
function lambdaOf(row: ResultRow): number {
  const v = value(row, "lambda");
  if (!isNaN(v)) return v;
  const p = parseNumber(configPart(row, "lambda") ?? "");
  return p === undefined ? NaN : p;
}

function identitiesOf(row: ResultRow): number {
  const v = value(row, "identities");
  if (!isNaN(v)) return v;
  const p = parseNumber(configPart(row, "n") ?? "");
  return p === undefined ? NaN : p;
}

function signalOf(row: ResultRow): string {
  return row.fields.signal || configPart(row, "signal") || row.config;
}

function lambdaLabel(lambda: number): string {
  return `λ=${lambda === Infinity ? "∞" : String(lambda)}`;
}

/** A config for people: `lambda=inf` → `λ=∞`. */
function prettyConfig(config: string): string {
  return configParts(config).map(([k, v]) => {
    if (k === "lambda") {
      const l = parseNumber(v);
      return l !== undefined && !isNaN(l) ? lambdaLabel(l) : `λ=${v}`;
    }
    if (k === "signal") return `signal=${SIGNAL_NAMES[v] ?? v}`;
    return v === "" ? k : `${k}=${v}`;
  }).join(", ");
}

/** A fraction as % with two decimals. */
function pct(x: number): string {
  return isNaN(x) ? "—" : (100 * x).toFixed(2);
}

/** A difference of fractions in percentage points, signed. */
function points(d: number): string {
  const s = (100 * d).toFixed(2);
  return d >= 0 ? `+${s}` : s.replace("-", "−");
}

const acc = (r: ResultRow) => value(r, "accuracy_mean");
const accStd = (r: ResultRow) => value(r, "accuracy_std");

/** Largest fold std among rows, in points, for the text. */
function foldStd(rows: ResultRow[], column = "accuracy_std"): string {
  const stds = rows.map((r) => value(r, column)).filter((s) => !isNaN(s));
  if (stds.length === 0) return "fold std not reported";
  return `fold std ≤ ${(100 * Math.max(...stds)).toFixed(2)}`;
}

function maxStd(rows: ResultRow[]): number {
  const stds = rows.map(accStd).filter((s) => !isNaN(s));
  return stds.length ? Math.max(...stds) : NaN;
}

/** Rows with an accuracy, grouped by scorer in scorer order. */
function byScorer(rows: ResultRow[], metric = acc): Map<string, ResultRow[]> {
  const out = new Map<string, ResultRow[]>();
  for (
    const r of [...rows].sort((a, b) => compareScorers(a.scorer, b.scorer))
  ) {
    if (isNaN(metric(r))) continue;
    out.set(r.scorer, [...(out.get(r.scorer) ?? []), r]);
  }
  return out;
}

function argmax(rows: ResultRow[], metric = acc): ResultRow {
  return rows.reduce((best, r) => metric(r) > metric(best) ? r : best);
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(x: number[], y: number[]): number {
  const ranks = (v: number[]) => {
    const idx = v.map((_, i) => i).sort((a, b) => v[a] - v[b]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length;) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]] === v[idx[i]]) j++;
      for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const rx = ranks(x), ry = ranks(y);
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(rx), my = mean(ry);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

function notTested(claim: string, why: string): ClaimVerdict {
  return { claim, held: null, detail: why };
}

/** λ = 0, the best intermediate λ and λ = ∞ among rows of one scorer. */
function lambdaTriple(rows: ResultRow[], metric = acc) {
  const zero = rows.find((r) => lambdaOf(r) === 0);
  const inf = rows.find((r) => lambdaOf(r) === Infinity);
  const mids = rows.filter((r) => lambdaOf(r) > 0 && isFinite(lambdaOf(r)));
  const best = mids.length ? argmax(mids, metric) : undefined;
  return { zero, inf, best };
}

function checkJointLambda(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    // The paper states it for L2 and Joint Bayesian; other scorers are extra.
    const extra = scorer === "l2" || scorer === "joint_bayesian"
      ? ""
      : "; not claimed in the paper";
    const claim = `accuracy peaks at an intermediate λ (${
      scorerName(scorer)
    } scoring${extra})`;
    const { zero, inf, best } = lambdaTriple(group);
    if (!zero || !inf || !best) {
      const missing = [
        !zero && "λ=0",
        !inf && "λ=∞",
        !best && "an intermediate λ",
      ]
        .filter(Boolean).join(", ");
      out.push(notTested(claim, `no row for ${missing}`));
      continue;
    }
    const d0 = acc(best) - acc(zero), dInf = acc(best) - acc(inf);
    out.push({
      claim,
      held: d0 > 0 && dInf > 0,
      detail:
        `best intermediate ${lambdaLabel(lambdaOf(best))} (${
          pct(acc(best))
        } %) ` +
        `vs λ=0 (${pct(acc(zero))} %): ${points(d0)} points, ` +
        `vs λ=∞ (${pct(acc(inf))} %): ${points(dInf)} points ` +
        `(${foldStd([best, zero, inf])}; paper's peak: λ=0.05)`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.joint_lambda.claim, "no accuracy rows")];
}

function checkIdentities(rows: ResultRow[]): ClaimVerdict[] {
  const groups = new Map<string, ResultRow[]>();
  const sorted = [...rows].sort((a, b) =>
    compareValues(String(lambdaOf(b)), String(lambdaOf(a))) ||
    compareScorers(a.scorer, b.scorer)
  );
  for (const r of sorted) {
    if (isNaN(acc(r)) || isNaN(identitiesOf(r))) continue;
    const key = `${isNaN(lambdaOf(r)) ? "" : lambdaLabel(lambdaOf(r)) + ", "}${
      scorerName(r.scorer)
    }`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: ClaimVerdict[] = [];
  for (const [key, group] of groups) {
    const claim = `more identities → better verification (${key})`;
    const g = [...group].sort((a, b) => identitiesOf(a) - identitiesOf(b));
    if (new Set(g.map(identitiesOf)).size < 2) {
      out.push(notTested(claim, "fewer than two numbers of identities"));
      continue;
    }
    const first = g[0], last = g[g.length - 1];
    const d = acc(last) - acc(first);
    const rho = spearman(g.map(identitiesOf), g.map(acc));
    let up = 0;
    for (let i = 1; i < g.length; i++) if (acc(g[i]) > acc(g[i - 1])) up++;
    out.push({
      claim,
      held: d > 0 && rho > 0,
      detail: `n=${identitiesOf(first)} → ${identitiesOf(last)}: ` +
        `${pct(acc(first))} % → ${pct(acc(last))} % (${points(d)} points, ` +
        `${foldStd([first, last])}); Spearman ρ = ${
          rho.toFixed(2).replace("-", "−")
        }; ` +
        `${up} of ${g.length - 1} steps up`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.identities.claim, "no accuracy rows")];
}

function checkSignals(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    const s = `${scorerName(scorer)} scoring`;
    const bySignal = new Map(group.map((r) => [signalOf(r), r]));
    const name = (sig: string) => SIGNAL_NAMES[sig] ?? sig;
    const l2 = bySignal.get("l2");
    if (!l2) {
      out.push(
        notTested(`L2 is the best verification signal (${s})`, "no L2 row"),
      );
      continue;
    }
    const others = group.filter((r) => r !== l2);
    if (others.length) {
      const next = argmax(others);
      out.push({
        claim: `L2 is the best verification signal (${s})`,
        held: acc(l2) > acc(next),
        detail: `L2 ${pct(acc(l2))} %; best other: ${name(signalOf(next))} ` +
          `${pct(acc(next))} % (L2 − ${name(signalOf(next))} = ` +
          `${points(acc(l2) - acc(next))} points; ${foldStd([l2, next])})`,
      });
    }
    const plus = bySignal.get("l2+");
    if (plus) {
      const gap = acc(l2) - acc(plus);
      const tol = maxStd([l2, plus]);
      const within = isNaN(tol) ? Math.abs(gap) <= 0.01 : Math.abs(gap) <= tol;
      out.push({
        claim: `L2+ is close to L2, within one fold std (${s})`,
        held: within,
        detail: `L2 ${pct(acc(l2))} %, L2+ ${pct(acc(plus))} % ` +
          `(L2 − L2+ = ${points(gap)} points; ` +
          `${
            isNaN(tol) ? "no fold std: 1-point tolerance" : foldStd([l2, plus])
          })`,
      });
    }
    const rest = ["l2-", "l1", "cosine"].flatMap((sig) =>
      bySignal.get(sig) ?? []
    );
    const none = bySignal.get("none");
    if (rest.length) {
      const vsL2 = rest.map((r) =>
        `${name(signalOf(r))} ${points(acc(r) - acc(l2))}`
      );
      const overNone = none
        ? `; over none (${pct(acc(none))} %): ` +
          [l2, ...rest].map((r) =>
            `${name(signalOf(r))} ${points(acc(r) - acc(none))}`
          )
            .join(", ") +
          " points"
        : "";
      out.push({
        claim: `the other signals help less than L2 (${s})`,
        held: rest.every((r) => acc(r) < acc(l2)),
        detail: `vs L2: ${vsL2.join(", ")} points${overNone} (${
          foldStd([l2, ...rest])
        })`,
      });
    }
    if (none) {
      out.push({
        claim: `the L2 verification signal helps: L2 beats none (${s})`,
        held: acc(l2) > acc(none),
        detail: `L2 ${pct(acc(l2))} % vs none ${pct(acc(none))} %: ` +
          `${points(acc(l2) - acc(none))} points (${foldStd([l2, none])})`,
      });
    }
  }
  return out.length
    ? out
    : [notTested(PAPER.verification_signals.claim, "no accuracy rows")];
}

/** Spectral summaries per λ of the variance_spectra experiment. */
interface SpectraSummary {
  lambda: number;
  between: number;
  within: number;
}

function spectraSummaries(rows: ResultRow[]): SpectraSummary[] {
  const seen = new Map<number, SpectraSummary>();
  for (const r of rows) {
    const lambda = lambdaOf(r);
    const between = value(r, "between_energy"),
      within = value(r, "within_energy");
    if (isNaN(lambda) || !(between > 0) || isNaN(within) || seen.has(lambda)) {
      continue;
    }
    seen.set(lambda, { lambda, between, within });
  }
  return [...seen.values()].sort((a, b) => a.lambda - b.lambda);
}

const ratio = (s: SpectraSummary) => s.within / s.between;
const share = (s: SpectraSummary) => s.between / (s.between + s.within);

function checkSpectra(rows: ResultRow[]): ClaimVerdict[] {
  const s = spectraSummaries(rows);
  const zero = s.find((x) => x.lambda === 0),
    inf = s.find((x) => x.lambda === Infinity);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim = (m?: SpectraSummary) =>
    `joint training${m ? ` (${lambdaLabel(m.lambda)})` : ""} has a smaller ` +
    "intra-/inter-personal variance ratio than λ=0 and λ=∞";
  if (!zero || !inf || mids.length === 0) {
    return [
      notTested(
        claim(),
        "needs between_energy and within_energy for λ=0, an intermediate λ and λ=∞",
      ),
    ];
  }
  return mids.map((m) => ({
    claim: claim(m),
    held: ratio(m) < ratio(zero) && ratio(m) < ratio(inf),
    detail:
      `within/between energy: ${lambdaLabel(m.lambda)} ${
        ratio(m).toFixed(3)
      }, ` +
      `λ=0 ${ratio(zero).toFixed(3)}, λ=∞ ${ratio(inf).toFixed(3)} ` +
      `(between ${fmt(m.between)} / ${fmt(zero.between)} / ${
        fmt(inf.between)
      }; ` +
      `within ${fmt(m.within)} / ${fmt(zero.within)} / ${fmt(inf.within)})`,
  }));
}

/** A number with 4 significant digits. */
function fmt(x: number): string {
  if (isNaN(x)) return "—";
  if (!isFinite(x)) return x > 0 ? "∞" : "−∞";
  return Number(x.toPrecision(4)).toString();
}

/** Best intermediate-λ row of joint_lambda for a scorer, if any. */
function jointBest(results: Results, scorer: string): ResultRow | undefined {
  const rows = (results.get("joint_lambda")?.rows ?? []).filter((r) =>
    r.scorer === scorer && !isNaN(acc(r))
  );
  return lambdaTriple(rows).best;
}

function checkIdentificationOnly(
  rows: ResultRow[],
  results: Results,
): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const groups = byScorer(rows);
  if (groups.size) {
    const all = [...groups.values()].map((g) => g[0]);
    out.push({
      claim:
        "good features: well above the 50 % chance level (by > 2 fold std)",
      held: all.every((r) =>
        acc(r) - 0.5 > 2 * (isNaN(accStd(r)) ? 0 : accStd(r))
      ),
      detail: all.map((r) =>
        `${scorerName(r.scorer)} ${pct(acc(r))} ± ${pct(accStd(r))} %`
      )
        .join(", ") + " vs 50 % chance",
    });
  }
  for (const [scorer, group] of groups) {
    const claim = `joint training does better (${scorerName(scorer)} scoring)`;
    const best = jointBest(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    out.push({
      claim,
      held: d > 0,
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=0 ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results.get("variance_spectra")?.rows ?? []);
  const zero = s.find((x) => x.lambda === 0);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "intra-personal variance stays large: higher within/between ratio than joint";
  if (!zero || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=0 and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => ratio(b) < ratio(a) ? b : a);
    out.push({
      claim,
      held: ratio(zero) > ratio(m),
      detail:
        `within/between energy (variance_spectra): λ=0 ${
          ratio(zero).toFixed(3)
        } ` +
        `vs ${lambdaLabel(m.lambda)} ${ratio(m).toFixed(3)}`,
    });
  }
  return out;
}

function checkVerificationOnly(
  rows: ResultRow[],
  results: Results,
): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  for (const [scorer, group] of byScorer(rows)) {
    const claim =
      `clearly worse than joint training, by more than the fold std (${
        scorerName(scorer)
      } scoring)`;
    const best = jointBest(results, scorer);
    if (!best) {
      out.push(notTested(claim, "no intermediate-λ row in joint_lambda"));
      continue;
    }
    const d = acc(best) - acc(group[0]);
    const tol = maxStd([best, group[0]]);
    out.push({
      claim,
      held: d > (isNaN(tol) ? 0 : tol),
      detail:
        `joint_lambda ${lambdaLabel(lambdaOf(best))} ${pct(acc(best))} % vs ` +
        `λ=∞ ${pct(acc(group[0]))} %: ${points(d)} points (${
          foldStd([best, group[0]])
        })`,
    });
  }
  const s = spectraSummaries(results.get("variance_spectra")?.rows ?? []);
  const inf = s.find((x) => x.lambda === Infinity);
  const mids = s.filter((x) => x.lambda > 0 && isFinite(x.lambda));
  const claim =
    "inter-personal variance collapses too: smaller inter-personal share " +
    "of the variance than joint";
  if (!inf || mids.length === 0) {
    out.push(
      notTested(
        claim,
        "needs variance_spectra rows for λ=∞ and an intermediate λ",
      ),
    );
  } else {
    const m = mids.reduce((a, b) => share(b) > share(a) ? b : a);
    out.push({
      claim,
      held: share(inf) < share(m),
      detail: `between / (between + within) energy (variance_spectra): ` +
        `λ=∞ ${share(inf).toFixed(3)} vs ${lambdaLabel(m.lambda)} ${
          share(m).toFixed(3)
        }`,
    });
  }
  return out;
}

function checkFaceIdentification(rows: ResultRow[]): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const rank1 = (r: ResultRow) => value(r, "rank1_mean");
  const dir = (r: ResultRow) => value(r, "dir_at_far_1e-2_mean");
  for (const [scorer, group] of byScorer(rows, rank1)) {
    const { zero, inf, best } = lambdaTriple(group, rank1);
    const baselines = [zero, inf].filter((r): r is ResultRow =>
      r !== undefined
    );
    const than = baselines.length
      ? baselines.map((b) => lambdaLabel(lambdaOf(b))).join(" and ")
      : "λ=0 / λ=∞";
    const claim = `joint features identify better than ${than} ones (${
      scorerName(scorer)
    } scoring)`;
    if (!best || baselines.length === 0) {
      const r = best ?? group[0];
      out.push(notTested(
        claim,
        `only ${prettyConfig(r.config)}: rank-1 ${pct(rank1(r))} %, ` +
          `DIR at FAR=1 % ${
            pct(dir(r))
          } % (no λ=0 / λ=∞ configuration to compare; ` +
          "the paper's numbers are not confirmed)",
      ));
      continue;
    }
    const parts = baselines.map((b) =>
      `vs ${lambdaLabel(lambdaOf(b))}: rank-1 ${
        points(rank1(best) - rank1(b))
      }, ` +
      `DIR ${points(dir(best) - dir(b))} points`
    );
    out.push({
      claim,
      held: baselines.every((b) =>
        rank1(best) > rank1(b) &&
        (isNaN(dir(best)) || isNaN(dir(b)) || dir(best) > dir(b))
      ),
      detail: `${lambdaLabel(lambdaOf(best))}: rank-1 ${pct(rank1(best))} %, ` +
        `DIR at FAR=1 % ${pct(dir(best))} %; ${parts.join("; ")} ` +
        `(rank-1 ${
          foldStd([best, ...baselines], "rank1_std").replace("fold ", "")
        })`,
    });
  }
  return out.length
    ? out
    : [notTested(PAPER.face_identification.claim, "no rank-1 rows")];
}

function checkFinalSystem(rows: ResultRow[]): ClaimVerdict[] {
  const paper = 0.9915;
  return [...byScorer(rows)].map(([scorer, group]) => {
    const best = argmax(group);
    const d = acc(best) - paper;
    const tol = isNaN(accStd(best)) ? 0 : accStd(best);
    return {
      claim: `reaches the paper's 99.15 % LFW accuracy (${
        scorerName(scorer)
      } scoring)`,
      held: d >= -tol,
      detail:
        `${prettyConfig(best.config)} ${pct(acc(best))} ± ${
          pct(accStd(best))
        } % ` +
        `vs 99.15 %: ${points(d)} points`,
    };
  });
}

/**
 * Judges the paper's claims for one experiment on this run's numbers. Some
 * claims compare experiments (e.g. verification-only against the best
 * intermediate λ of joint_lambda), hence all results are passed.
 *
 * @example
 * ```ts
 * const results = await loadResults("results");
 * for (const v of judgeClaims("joint_lambda", results)) console.log(v.claim, v.held, v.detail);
 * ```
 */
export function judgeClaims(
  experiment: string,
  results: Results,
): ClaimVerdict[] {
  const rows = results.get(experiment)?.rows;
  if (!rows) return [];
  switch (experiment) {
    case "identification_only":
      return checkIdentificationOnly(rows, results);
    case "verification_only":
      return checkVerificationOnly(rows, results);
    case "joint_lambda":
      return checkJointLambda(rows);
    case "variance_spectra":
      return checkSpectra(rows);
    case "identities":
      return checkIdentities(rows);
    case "verification_signals":
      return checkSignals(rows);
    case "face_identification":
      return checkFaceIdentification(rows);
    case "final_system":
      return checkFinalSystem(rows);
    default:
      return [];
  }
}

// ----------------------------------------------------------------- figures

/** Reads a numeric CSV with the given columns (e.g. a ROC table). */
async function readNumericCsv(
  path: string,
  columns: string[],
): Promise<Record<string, number[]>> {
  const table = await readTable(path, columns);
  const out: Record<string, number[]> = Object.fromEntries(
    columns.map((c) => [c, []]),
  );
  const at = columns.map((c) => table.header.indexOf(c));
  for (const { line, fields } of table.records) {
    columns.forEach((c, k) => {
      const v = parseNumber(fields[at[k]]);
      if (v === undefined || isNaN(v)) {
        throw new InputError(
          path,
          line,
          `column "${c}": not a number: "${fields[at[k]]}"`,
        );
      }
      out[c].push(v);
    });
  }
  return out;
}

/** Figure files an experiment may have, as `[file, caption]`. */
function figureNames(
  experiment: string,
  configs: string[],
): [string, string][] {
  const out: [string, string][] = [[`${experiment}_roc.svg`, "ROC curves"]];
  if (experiment === "joint_lambda") {
    out.push(["fig3_accuracy_vs_lambda.svg", "Fig. 3: accuracy vs λ"]);
  }
  if (experiment === "identities") {
    out.push([
      "fig6_accuracy_vs_identities.svg",
      "Fig. 6: accuracy vs identities",
    ]);
  }
  if (experiment === "variance_spectra") {
    out.push(["fig4_spectra.svg", "Fig. 4: eigenvalue spectra"]);
    for (const c of configs) {
      out.push([
        `fig5_scatter_${c}.svg`,
        `Fig. 5: features, ${prettyConfig(c)}`,
      ]);
    }
  }
  if (experiment === "verification_signals") {
    out.push(["table1_signals.svg", "Table 1: verification signals"]);
  }
  return out;
}

/**
 * A config as it appears in file names; the same rule as `configFileName` in
 * lib/experiment.ts (not imported: that module loads TensorFlow.js).
 */
function configFileName(config: string): string {
  return config.replace(/[^A-Za-z0-9=+.,_-]/g, "_");
}

/** Configs that have a file `<prefix><config>.csv` in a folder. */
async function configFiles(dir: string, prefix: string): Promise<string[]> {
  return (await listDir(dir))
    .filter((e) =>
      e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".csv")
    )
    .map((e) => e.name.slice(prefix.length, -4))
    .sort(compareConfigs);
}

function accuracySeries(
  rows: ResultRow[],
  key: (r: ResultRow) => string,
  x: (r: ResultRow) => number,
) {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    if (isNaN(acc(r)) || isNaN(x(r))) continue;
    groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  }
  return [...groups].map(([name, g]) => {
    g.sort((a, b) => x(a) - x(b));
    return {
      name,
      x: g.map(x),
      y: g.map((r) => 100 * acc(r)),
      yErr: g.map((r) => 100 * accStd(r)),
    };
  });
}

async function drawFigures(
  resultsDir: string,
  ex: ExperimentResults,
): Promise<string[]> {
  const dir = join(resultsDir, "figures");
  const written: string[] = [];
  const put = async (name: string, svg: Promise<string>) => {
    const path = join(dir, name);
    await writeSvg(path, await svg);
    written.push(path);
  };
  const { experiment, rows } = ex;
  const title = PAPER[experiment]?.source ?? experiment;

  const curves = [];
  for (const r of rows) {
    const path = join(
      resultsDir,
      "roc",
      experiment,
      `${configFileName(r.config)}_${r.scorer}.csv`,
    );
    if (!(await exists(path))) continue;
    const roc = await readNumericCsv(path, ["fpr", "tpr"]);
    curves.push({
      name: prettyConfig(r.config),
      panel: scorerName(r.scorer),
      fpr: roc.fpr,
      tpr: roc.tpr,
    });
  }
  if (curves.length) {
    await put(
      `${experiment}_roc.svg`,
      rocPlot(curves, { title: `${title}: ROC (${experiment})`, logFpr: true }),
    );
  }

  const sorted = [...rows].sort((a, b) => compareScorers(a.scorer, b.scorer));
  if (experiment === "joint_lambda") {
    const series = accuracySeries(
      sorted,
      (r) => scorerName(r.scorer),
      lambdaOf,
    );
    if (series.length) {
      await put(
        "fig3_accuracy_vs_lambda.svg",
        linePlot(
          series.map((s) => ({
            ...s,
            x: s.x.map((l) => lambdaLabel(l).slice(2)),
          })),
          {
            title: "Fig. 3: accuracy vs λ (mean ± fold std)",
            xLabel: "λ (weight of the verification signal)",
            yLabel: "LFW-protocol accuracy (%)",
            xScale: "band",
          },
        ),
      );
    }
  }
  if (experiment === "identities") {
    const byLambda = [...sorted].sort((a, b) => lambdaOf(b) - lambdaOf(a));
    const series = accuracySeries(
      byLambda,
      (r) =>
        `${isNaN(lambdaOf(r)) ? "" : lambdaLabel(lambdaOf(r)) + ", "}${
          scorerName(r.scorer)
        }`,
      identitiesOf,
    );
    if (series.length) {
      await put(
        "fig6_accuracy_vs_identities.svg",
        linePlot(series, {
          title: "Fig. 6: accuracy vs training identities (mean ± fold std)",
          xLabel: "identities in the identification signal (log₂)",
          yLabel: "LFW-protocol accuracy (%)",
          xScale: "log",
          logBase: 2,
        }),
      );
    }
  }
  if (experiment === "variance_spectra") {
    const sub = join(resultsDir, experiment);
    const spectra = [];
    for (const c of await configFiles(sub, "spectra_")) {
      const s = await readNumericCsv(join(sub, `spectra_${c}.csv`), [
        "index",
        "between",
        "within",
      ]);
      spectra.push(
        {
          name: prettyConfig(c),
          kind: "inter-personal (between)",
          values: s.between,
        },
        {
          name: prettyConfig(c),
          kind: "intra-personal (within)",
          values: s.within,
        },
      );
    }
    if (spectra.length) {
      await put(
        "fig4_spectra.svg",
        spectrumPlot(spectra, { title: "Fig. 4: eigenvalues of the variance" }),
      );
    }
    for (const c of await configFiles(sub, "scatter_")) {
      const path = join(sub, `scatter_${c}.csv`);
      const table = await readTable(path, ["x", "y", "identity"]);
      const at = ["x", "y", "identity"].map((h) => table.header.indexOf(h));
      const points = table.records.map(({ line, fields }) => {
        const [x, y] = [parseNumber(fields[at[0]]), parseNumber(fields[at[1]])];
        if (x === undefined || y === undefined || isNaN(x) || isNaN(y)) {
          throw new InputError(path, line, "x and y must be numbers");
        }
        return { x, y, group: fields[at[2]] };
      });
      await put(
        `fig5_scatter_${c}.svg`,
        scatterPlot(points, {
          title: `Fig. 5: features of a few identities, ${prettyConfig(c)}`,
          xLabel: "principal component 1",
          yLabel: "principal component 2",
        }),
      );
    }
  }
  if (experiment === "verification_signals") {
    const bars = sorted
      .filter((r) => !isNaN(acc(r)))
      .sort((a, b) => compareValues(signalOf(a), signalOf(b)))
      .map((r) => ({
        category: SIGNAL_NAMES[signalOf(r)] ?? signalOf(r),
        value: 100 * acc(r),
        err: 100 * accStd(r),
        group: scorerName(r.scorer),
      }));
    if (bars.length) {
      await put(
        "table1_signals.svg",
        barPlot(bars, {
          title: "Table 1: verification signals (mean ± fold std)",
          yLabel: "LFW-protocol accuracy (%)",
        }),
      );
    }
  }
  return written;
}

/**
 * Draws the figures of one experiment from its CSVs, ROC tables and (for
 * variance_spectra) spectra and scatter files into `<resultsDir>/figures/`:
 * `<experiment>_roc.svg`, `fig3_accuracy_vs_lambda.svg`,
 * `fig6_accuracy_vs_identities.svg`, `fig4_spectra.svg`,
 * `fig5_scatter_<config>.svg`, `table1_signals.svg` (each where it applies).
 * Experiment scripts call it at the end of a run.
 *
 * @returns the paths written
 * @example
 * ```ts
 * await writeExperimentFigures("results", "joint_lambda");
 * ```
 */
export async function writeExperimentFigures(
  resultsDir: string,
  experiment: string,
): Promise<string[]> {
  return await drawFigures(
    resultsDir,
    await loadExperiment(resultsDir, experiment),
  );
}

// ---------------------------------------------------------------- markdown

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function markdownTable(head: string[], body: string[][]): string {
  return [
    `| ${head.map(cell).join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}

function meanStd(row: ResultRow, mean: string, std: string): string {
  const m = value(row, mean), s = value(row, std);
  if (isNaN(m)) return "—";
  return isNaN(s) ? pct(m) : `${pct(m)} ± ${pct(s)}`;
}

/** Columns of the results table: header, cell, and the CSV columns it needs. */
const TABLE_COLUMNS: [string, string[], (r: ResultRow) => string][] = [
  [
    "accuracy (%)",
    ["accuracy_mean"],
    (r) => meanStd(r, "accuracy_mean", "accuracy_std"),
  ],
  [
    "AUC",
    ["auc"],
    (r) => isNaN(value(r, "auc")) ? "—" : value(r, "auc").toFixed(4),
  ],
  ["EER (%)", ["eer"], (r) => pct(value(r, "eer"))],
  [
    "TAR@FAR=1e-3 (%)",
    ["tar_at_far_1e-3"],
    (r) => pct(value(r, "tar_at_far_1e-3")),
  ],
  [
    "TAR@FAR=1e-2 (%)",
    ["tar_at_far_1e-2"],
    (r) => pct(value(r, "tar_at_far_1e-2")),
  ],
  ["rank-1 (%)", ["rank1_mean"], (r) => meanStd(r, "rank1_mean", "rank1_std")],
  [
    "DIR@FAR=1e-2 (%)",
    ["dir_at_far_1e-2_mean"],
    (r) => meanStd(r, "dir_at_far_1e-2_mean", "dir_at_far_1e-2_std"),
  ],
  [
    "pairs",
    ["n_pairs"],
    (r) => isNaN(value(r, "n_pairs")) ? "—" : String(value(r, "n_pairs")),
  ],
];

function resultsTable(rows: ResultRow[]): string {
  const used = TABLE_COLUMNS.filter(([, cols]) =>
    rows.some((r) => cols.some((c) => !isNaN(value(r, c))))
  );
  // Bold the best accuracy of each scorer where there is a choice.
  const best = new Set<ResultRow>();
  for (const g of byScorer(rows).values()) {
    if (g.length > 1) best.add(argmax(g));
  }
  const body = rows.map((r) => [
    prettyConfig(r.config),
    scorerName(r.scorer),
    ...used.map(([head, , f]) => {
      const text = f(r);
      return head === "accuracy (%)" && best.has(r) ? `**${text}**` : text;
    }),
  ]);
  return markdownTable(["config", "scorer", ...used.map(([h]) => h)], body);
}

function spectraTable(rows: ResultRow[]): string | undefined {
  const seen = new Set<string>();
  const body: string[][] = [];
  for (const r of rows) {
    if (seen.has(r.config) || isNaN(value(r, "between_energy"))) continue;
    seen.add(r.config);
    const b = value(r, "between_energy"), w = value(r, "within_energy");
    body.push([
      prettyConfig(r.config),
      fmt(b),
      fmt(w),
      fmt(w / b),
      fmt(value(r, "between_top1")),
      fmt(value(r, "within_top1")),
    ]);
  }
  if (body.length === 0) return undefined;
  return markdownTable(
    [
      "config",
      "inter-personal energy (between)",
      "intra-personal energy (within)",
      "within / between",
      "between top-1 eigenvalue",
      "within top-1 eigenvalue",
    ],
    body,
  );
}

function distinctValues(rows: ResultRow[], column: string): string[] {
  return [
    ...new Set(rows.map((r) => r.fields[column] ?? "").filter((v) => v !== "")),
  ];
}

function verdictLine(v: ClaimVerdict): string {
  const word = v.held === null
    ? "not tested"
    : v.held
    ? "held"
    : "did not hold";
  return `- ${v.claim}: **${word}** — ${v.detail}`;
}

function section(
  ex: ExperimentResults,
  results: Results,
  figures: Set<string>,
): string {
  const { experiment, rows } = ex;
  const paper = PAPER[experiment];
  const out: string[] = [];
  out.push(
    paper
      ? `## ${paper.source} — ${paper.title} (\`${experiment}\`)`
      : `## \`${experiment}\``,
  );
  if (paper) {
    out.push(
      paper.confirmed
        ? `**Paper:** ${paper.claim}. Confirmed numbers: ${paper.confirmed}.`
        : `**Paper:** ${paper.claim}. A trend claim: PAPER.md confirms no numbers ` +
          "for it, so none are quoted.",
    );
  } else {
    out.push("No claim of the paper is registered for this experiment.");
  }
  const profiles = distinctValues(rows, "profile");
  const cmd = ex.commands.length
    ? ex.commands.map((c) => `\`${c}\``).join("<br>")
    : `\`deno run -A experiments/${experiment}.ts${
      profiles.length === 1 ? ` --profile ${profiles[0]}` : ""
    }\` (reconstructed: no \`command\` in \`${experiment}.meta.json\`)`;
  out.push(`**Command:** ${cmd}`);
  const run = [
    ["profile", distinctValues(rows, "profile")],
    ["backend", distinctValues(rows, "backend")],
    ["seed", distinctValues(rows, "seed")],
    ["pairs", distinctValues(rows, "n_pairs")],
  ].filter(([, v]) => v.length).map(([k, v]) =>
    `${k} ${(v as string[]).join(", ")}`
  );
  const files = `${ex.files.length} file${ex.files.length === 1 ? "" : "s"}` +
    (ex.shards
      ? `, merged from ${ex.shards} shard file${ex.shards === 1 ? "" : "s"}`
      : "");
  out.push(`**Run:** ${[...run, files].join(" · ")}`);
  if (profiles.includes("smoke")) {
    out.push(
      "> Smoke profile: these numbers only show that the pipeline runs.",
    );
  } else if (profiles.length && !profiles.every((p) => p === "paper")) {
    out.push(
      "> Synthetic data: compare the trends with the paper, not the absolute numbers.",
    );
  }
  if (experiment === "face_identification") {
    const protocol = distinctValues(rows, "protocol");
    out.push(
      `**Protocol:** ${
        protocol.length
          ? protocol.join("; ")
          : "reconstruction of the Best-Rowden et al. 2014 protocol " +
            "(lists not public): gallery and probe lists are built from a seed"
      }.`,
    );
  }
  out.push(rows.length ? resultsTable(rows) : "_No rows._");
  if (experiment === "variance_spectra") {
    const t = spectraTable(rows);
    if (t) out.push(t);
  }
  const verdicts = judgeClaims(experiment, results);
  if (verdicts.length) {
    out.push(
      ["**Claims in this run:**", "", ...verdicts.map(verdictLine)].join("\n"),
    );
  }
  const configs = [...new Set(rows.map((r) => r.config))];
  const figs = figureNames(experiment, configs).filter(([f]) => figures.has(f));
  if (figs.length) {
    out.push(
      figs.map(([f, caption]) => `![${caption}](figures/${encodeURI(f)})`).join(
        "\n",
      ),
    );
  }
  return out.join("\n\n");
}

/**
 * The Markdown of `results/TABLES.md`: one section per experiment.
 *
 * @param results every experiment (see {@linkcode loadResults})
 * @param options `figures`: figure file names present in `results/figures/`
 */
export function tablesMarkdown(
  results: Results,
  options: { figures?: Iterable<string> } = {},
): string {
  const figures = new Set(options.figures ?? []);
  const parts = [
    "# Results",
    "Generated by `make tables` (`experiments/tables.ts`) from the CSVs in this " +
    "folder; do not edit by hand. Accuracy follows the LFW protocol: the " +
    "threshold is chosen on 9 folds and applied to the 10th; mean ± std over " +
    "the 10 folds, in %. The best accuracy of each scorer is in bold. A claim " +
    "line says whether the paper's claim held in this run, with the numbers.",
    "The paper's only confirmed LFW numbers (PAPER.md [C]): DeepID2 99.15 % " +
    "(final system, Table 2, real data), DeepFace 97.35 %, DeepID 97.45 %. " +
    "Everything else in the paper is compared as a trend.",
  ];
  if (results.size === 0) {
    parts.push("_No results yet: run `make reproduce`._");
  } else {
    parts.push(summaryTable(results));
    for (const ex of results.values()) {
      parts.push(section(ex, results, figures));
    }
  }
  return parts.join("\n\n") + "\n";
}

function bestText(ex: ExperimentResults): string {
  const withAcc = ex.rows.filter((r) => !isNaN(acc(r)));
  if (withAcc.length) {
    const b = argmax(withAcc);
    return `${prettyConfig(b.config)}, ${scorerName(b.scorer)}: ` +
      `${meanStd(b, "accuracy_mean", "accuracy_std")} %`;
  }
  const rank1 = (r: ResultRow) => value(r, "rank1_mean");
  const withRank = ex.rows.filter((r) => !isNaN(rank1(r)));
  if (withRank.length) {
    const b = argmax(withRank, rank1);
    return `${prettyConfig(b.config)}, ${scorerName(b.scorer)}: rank-1 ` +
      `${meanStd(b, "rank1_mean", "rank1_std")} %`;
  }
  return "—";
}

function heldText(verdicts: ClaimVerdict[]): string {
  if (verdicts.length === 0) return "no claim";
  const tested = verdicts.filter((v) => v.held !== null);
  const held = tested.filter((v) => v.held).length;
  const untested = verdicts.length - tested.length;
  return `${held} of ${tested.length} held` +
    (untested ? `, ${untested} not tested` : "");
}

function summaryTable(results: Results): string {
  const body = [...results.values()].map((ex) => [
    PAPER[ex.experiment]?.source ?? "—",
    `\`${ex.experiment}\``,
    bestText(ex),
    heldText(judgeClaims(ex.experiment, results)),
  ]);
  return markdownTable([
    "paper",
    "experiment",
    "best accuracy (this run)",
    "claims",
  ], body);
}

/**
 * The README's results block (what goes between `<!-- results:start -->`
 * and `<!-- results:end -->`): one row per experiment with its best number
 * and how many claims held, then every claim that did not hold.
 *
 * @param results every experiment (see {@linkcode loadResults})
 * @param options `tablesLink`: the link to TABLES.md from the README
 */
export function readmeResults(
  results: Results,
  options: { tablesLink?: string } = {},
): string {
  const link = options.tablesLink ?? "results/TABLES.md";
  const rows = [...results.values()].flatMap((ex) => ex.rows);
  const profiles = distinctValues(rows, "profile");
  const backends = distinctValues(rows, "backend");
  const lines = [
    `Last run${profiles.length ? `: profile ${profiles.join(", ")}` : ""}` +
    `${backends.length ? `, backend ${backends.join(", ")}` : ""}. ` +
    `Every table, claim check and figure: [${link}](${link}); regenerate with ` +
    "`make tables`.",
    "",
    summaryTable(results),
  ];
  const failed = [...results.keys()].flatMap((name) =>
    judgeClaims(name, results).filter((v) => v.held === false).map((v) =>
      `- \`${name}\`: ${v.claim} — ${v.detail}`
    )
  );
  if (failed.length) {
    lines.push("", "Claims that did not hold in this run:", "", ...failed);
  }
  return lines.join("\n");
}

const START = "<!-- results:start -->";
const END = "<!-- results:end -->";

/**
 * Replaces the block between `<!-- results:start -->` and
 * `<!-- results:end -->` in a README (atomically, only when it changed).
 *
 * @returns what happened: `updated`, `unchanged`, `no README` or `no markers`
 */
export async function updateReadme(
  readmePath: string,
  block: string,
): Promise<"updated" | "unchanged" | "no README" | "no markers"> {
  if (!(await exists(readmePath))) return "no README";
  const text = await Deno.readTextFile(readmePath);
  const i = text.indexOf(START), j = text.indexOf(END);
  if (i < 0 || j < i) return "no markers";
  const next = `${text.slice(0, i + START.length)}\n${block}\n${text.slice(j)}`;
  if (next === text) return "unchanged";
  await writeTextAtomic(readmePath, next);
  return "updated";
}

/** What {@linkcode writeTables} wrote. */
export interface TablesReport {
  tables: string;
  figures: string[];
  /** Merged shard results written back to `results/<experiment>.csv`. */
  experiments: string[];
  readme:
    | "updated"
    | "unchanged"
    | "no README"
    | "no markers"
    | "no results"
    | "skipped";
}

/**
 * The `make tables` step: loads every experiment under `resultsDir`
 * (merging shards), draws the figures, writes `TABLES.md` there and the
 * README's results block.
 *
 * @param resultsDir the results folder, e.g. `results`
 * @param options `readme`: README path (`README.md`; "" to skip);
 *   `figures`: draw figures (default true)
 * @example
 * ```ts
 * const report = await writeTables("results");
 * console.log(report.tables, report.readme);
 * ```
 */
export async function writeTables(
  resultsDir: string,
  options: { readme?: string; figures?: boolean } = {},
): Promise<TablesReport> {
  const results = await loadResults(resultsDir, { writeMerged: true });
  const figures: string[] = [];
  if (options.figures ?? true) {
    for (const ex of results.values()) {
      figures.push(...await drawFigures(resultsDir, ex));
    }
  }
  const present = (await listDir(join(resultsDir, "figures"))).map((e) =>
    e.name
  );
  const tables = join(resultsDir, "TABLES.md");
  await writeTextAtomic(tables, tablesMarkdown(results, { figures: present }));
  const readmePath = options.readme ?? "README.md";
  let readme: TablesReport["readme"] = readmePath === ""
    ? "skipped"
    : "no results";
  if (readmePath !== "" && results.size > 0) {
    const link = relative(dirname(readmePath), tables) || basename(tables);
    readme = await updateReadme(
      readmePath,
      readmeResults(results, { tablesLink: link }),
    );
  }
  return { tables, figures, experiments: [...results.keys()], readme };
}

// --------------------------------------------------------------------- CLI

const USAGE =
  "usage: deno task tables [--results DIR] [--readme FILE] [--no-figures]";

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        results: { type: "string", default: "results" },
        readme: { type: "string", default: "README.md" },
        "no-figures": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const report = await writeTables(values.results, {
      readme: values.readme,
      figures: !values["no-figures"],
    });
    console.log(
      `wrote ${report.tables} (${report.experiments.length} experiments: ${
        report.experiments.join(", ") || "none"
      })`,
    );
    if (report.figures.length) {
      console.log(
        `wrote ${report.figures.length} figures in ${
          join(values.results, "figures")
        }`,
      );
    }
    const note: Record<TablesReport["readme"], string> = {
      updated: `updated the results block of ${values.readme}`,
      unchanged: `${values.readme}: results block already up to date`,
      "no README": `skipped the README excerpt: ${values.readme} not found`,
      "no markers":
        `skipped the README excerpt: ${values.readme} has no ${START} ... ${END} markers`,
      "no results": "left the README alone: no results",
      skipped: 'skipped the README excerpt (--readme "")',
    };
    console.log(note[report.readme]);
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

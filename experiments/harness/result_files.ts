/**
 * Names and writers of the result files (the contract other tools read):
 *
 * - `<out>/<experiment>/<config>.csv` + `.json` per configuration (what
 *   `--shard i/n` runs write; the `.json` holds the key that lets a later run
 *   skip a configuration whose code and config are unchanged, the per-fold
 *   accuracies and the wall time);
 * - `<out>/<experiment>.csv`, merged, one row per (config, scorer), with at
 *   least {@linkcode RESULT_COLUMNS};
 * - `<out>/roc/<experiment>/<config>_<scorer>.csv` (`fpr, tpr, threshold`);
 * - `<out>/<experiment>.meta.json`: commit, versions, backend, profile,
 *   seed, data, resolved config, wall time per configuration.
 *
 * No TensorFlow.js here: the report code (`make tables`) uses these names too.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { writeTextAtomic } from "../../lib/base/io.ts";

/** What a result column holds: a key, a fraction in [0, 1], another number, or text. */
export type ColumnKind = "key" | "fraction" | "number" | "text";

/** The common result columns, in contract order, with what each holds. */
const CONTRACT_COLUMNS = {
  experiment: "key",
  config: "key",
  scorer: "key",
  accuracy_mean: "fraction",
  accuracy_std: "fraction",
  accuracy_se: "fraction",
  auc: "fraction",
  eer: "fraction",
  "tar_at_far_1e-3": "fraction",
  "tar_at_far_1e-2": "fraction",
  n_pairs: "number",
  seed: "number",
  backend: "text",
  profile: "text",
} as const satisfies Record<string, ColumnKind>;

/** The common result columns, in contract order. */
export const RESULT_COLUMNS = Object.keys(CONTRACT_COLUMNS) as (
  keyof typeof CONTRACT_COLUMNS
)[];

/**
 * Every column the experiments write and what it holds (the contract's and
 * the experiments' own, e.g. `lambda`, the spectra, identification rates);
 * `make tables` checks the files it reads against this.
 */
export const COLUMN_KINDS: Record<string, ColumnKind> = {
  ...CONTRACT_COLUMNS,
  dead_features: "fraction",
  val_accuracy_mean: "fraction",
  lambda: "number",
  identities: "number",
  between_energy: "number",
  within_energy: "number",
  between_top1: "number",
  within_top1: "number",
  within_between_ratio: "number",
  rank1_mean: "fraction",
  rank1_std: "fraction",
  "dir_at_far_1e-2_mean": "fraction",
  "dir_at_far_1e-2_std": "fraction",
};

/** File-system safe version of a config name (kept readable). */
export function configFileName(config: string): string {
  return config.replace(/[^A-Za-z0-9=+.,_-]/g, "_");
}

/** `results/roc/<experiment>/<config>_<scorer>.csv`. */
export function rocPath(
  outDir: string,
  experiment: string,
  config: string,
  scorer: string,
): string {
  return `${outDir}/roc/${experiment}/${configFileName(config)}_${scorer}.csv`;
}

/** A number rounded for a CSV cell (non-finite values as they are). */
export function round(v: number, digits = 6): number {
  return Number.isFinite(v) ? Number(v.toFixed(digits)) : v;
}

/** Writes a CSV atomically from rows of objects (columns in `columns` order). */
export async function writeCsv(
  path: string,
  rows: Record<string, unknown>[],
  columns: string[],
): Promise<void> {
  await writeTextAtomic(path, stringify(rows, { header: true, columns }));
}

/** The contract columns first, then every other column in order of appearance. */
export function columnsOf(rows: Record<string, unknown>[]): string[] {
  const cols: string[] = [...RESULT_COLUMNS];
  for (const r of rows) {
    for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  }
  return cols;
}

/**
 * Names and writers of the result files (the contract other tools read):
 *
 * - `<out>/<experiment>/<config>_seed<k>.csv` + `.json` per configuration
 *   and seed (what `--shard i/n` runs write; the `.json` holds the key that
 *   lets a later run skip a unit whose code and config are unchanged, the
 *   per-fold results with their thresholds, and the wall time);
 * - `<out>/<experiment>.csv`, merged: one row per (config, scorer, seed),
 *   then one per (config, scorer) with seed `mean` (see
 *   {@linkcode aggregateRows}), with at least {@linkcode RESULT_COLUMNS};
 *   the per-seed rows carry `fold_accuracy`, the accuracy of each of the 10
 *   folds (`;`-separated), from which the claims' intervals are drawn;
 * - `<out>/roc/<experiment>/<config>_seed<k>_<scorer>.csv` (`fpr, tpr, threshold`);
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
  seed: "key",
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
  fold_accuracy: "text",
  seeds_ok: "text",
};

/** File-system safe version of a config name (kept readable). */
export function configFileName(config: string): string {
  return config.replace(/[^A-Za-z0-9=+.,_-]/g, "_");
}

/** The name of one (configuration, seed) unit in file names: `lambda=0.05_seed2`. */
export function unitStem(config: string, seed?: string | number): string {
  return seed === undefined || seed === "" ? config : `${config}_seed${seed}`;
}

/** `results/roc/<experiment>/<unit>_<scorer>.csv` (unit: {@linkcode unitStem}). */
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

/** The `seed` of a row that aggregates the seeds of a (config, scorer). */
export const MEAN_SEED = "mean";

const round6 = (v: number) => Number.isFinite(v) ? String(round(v)) : String(v);

/**
 * The mean-over-seeds row of each (config, scorer) of `rows` (per-seed rows;
 * rows with seed {@linkcode MEAN_SEED} are ignored), in first-seen order.
 * Only healthy seeds (`status` ok) are averaged. In these rows
 * `accuracy_mean` is the mean over seeds of the per-seed accuracies,
 * `accuracy_std` their sample std across seeds (not over folds) and
 * `accuracy_se` that std / √seeds (likewise every `<x>_mean` with an
 * `<x>_std`: rank-1, DIR); other numeric columns are means, columns
 * equal in every seed are copied; `seeds_ok` says how many seeds were
 * healthy (`2/3`), `status` is `ok` (all), `partial` (some) or the first
 * seed's (none).
 */
export function aggregateRows(
  rows: Record<string, unknown>[],
): Record<string, string>[] {
  const groups = new Map<string, Record<string, string>[]>();
  for (const r of rows) {
    const row = Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, v === undefined ? "" : String(v)]),
    );
    if (row.seed === MEAN_SEED) continue;
    const key = `${row.config}\u0000${row.scorer}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const out: Record<string, string>[] = [];
  for (const group of groups.values()) {
    const ok = group.filter((r) => (r.status || "ok") === "ok");
    const use = ok.length ? ok : group;
    const columns = [...new Set(group.flatMap((r) => Object.keys(r)))];
    const agg: Record<string, string> = {};
    for (const c of columns) {
      const vals = use.map((r) => r[c] ?? "");
      if (vals.every((v) => v === vals[0])) {
        agg[c] = vals[0];
        continue;
      }
      const nums = vals.map(Number);
      agg[c] = COLUMN_KINDS[c] !== "text" && COLUMN_KINDS[c] !== "key" &&
          vals.every((v) => v !== "" && Number.isFinite(Number(v)))
        ? round6(nums.reduce((a, b) => a + b, 0) / nums.length)
        : "";
    }
    // Every `<x>_mean` with an `<x>_std` (accuracy, rank-1, DIR): the mean
    // over seeds and the sample std across seeds (not within a seed).
    for (const c of columns) {
      if (!c.endsWith("_mean") || !ok.length) continue;
      const stem = c.slice(0, -5);
      if (!columns.includes(`${stem}_std`)) continue;
      const xs = ok.map((r) => r[c] ?? "").filter((v) => v !== "").map(Number)
        .filter(Number.isFinite);
      if (xs.length === 0) continue;
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = xs.length > 1
        ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))
        : NaN;
      agg[c] = round6(m);
      agg[`${stem}_std`] = xs.length > 1 ? round6(sd) : "";
      if (columns.includes(`${stem}_se`)) {
        agg[`${stem}_se`] = xs.length > 1
          ? round6(sd / Math.sqrt(xs.length))
          : "";
      }
    }
    agg.seed = MEAN_SEED;
    agg.fold_accuracy = "";
    agg.seeds_ok = `${ok.length}/${group.length}`;
    agg.status = ok.length === group.length
      ? "ok"
      : ok.length
      ? "partial"
      : group[0].status;
    agg.status_reason = group.filter((r) => (r.status || "ok") !== "ok")
      .map((r) => `seed ${r.seed}: ${r.status_reason || r.status}`).join("; ");
    out.push(agg);
  }
  return out;
}

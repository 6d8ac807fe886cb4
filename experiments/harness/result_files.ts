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
  "tar_at_far_1e-1": "fraction",
  accuracy_sd_replicates: "fraction",
  accuracy_se_replicates: "fraction",
  rank1_sd_replicates: "fraction",
  rank1_se_replicates: "fraction",
  "dir_at_far_1e-2_sd_replicates": "fraction",
  "dir_at_far_1e-2_se_replicates": "fraction",
  model: "text",
  cmc: "text",
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

/** Whether a row's model was scored: healthy, at its plateau or still improving. */
export function isScored(status: string | undefined): boolean {
  return (status || "ok") === "ok" || status === "still improving";
}

/**
 * The mean-over-replicates row of each (config, scorer) of `rows` (per-seed
 * rows; rows with seed {@linkcode MEAN_SEED} are ignored), in first-seen
 * order. Only scored replicates (`status` ok or still improving) are
 * averaged. A column keeps its meaning in both kinds of rows: in a mean row
 * `accuracy_mean` is the mean over replicates of the per-replicate
 * accuracies, `accuracy_std` and `accuracy_se` are the means over replicates
 * of each replicate's spread over its folds (as in its own row), and the
 * spread across replicates gets columns of its own, `accuracy_sd_replicates`
 * (sample std across replicates) and `accuracy_se_replicates` (that over
 * √replicates) — likewise every `<x>_mean` with an `<x>_std` (rank-1,
 * DIR). Other numeric columns are means, columns equal in every replicate
 * are copied; `seeds_ok` says how many replicates were scored (`2/3`);
 * `status` is `ok` (all at their plateau), `still improving` (all scored,
 * some still improving), `partial` (some not scored) or the first
 * replicate's (none).
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
    const ok = group.filter((r) => isScored(r.status));
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
    // Every `<x>_mean` with an `<x>_std` (accuracy, rank-1, DIR): its
    // spread across replicates, in columns of its own.
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
      agg[`${stem}_sd_replicates`] = xs.length > 1 ? round6(sd) : "";
      agg[`${stem}_se_replicates`] = xs.length > 1
        ? round6(sd / Math.sqrt(xs.length))
        : "";
    }
    agg.seed = MEAN_SEED;
    agg.fold_accuracy = "";
    agg.model = "";
    agg.seeds_ok = `${ok.length}/${group.length}`;
    const converged = ok.every((r) => (r.status || "ok") === "ok");
    agg.status = ok.length === group.length
      ? converged ? "ok" : "still improving"
      : ok.length
      ? "partial"
      : group[0].status;
    agg.status_reason = group.filter((r) => (r.status || "ok") !== "ok")
      .map((r) => `seed ${r.seed} (${r.status}): ${r.status_reason}`).join(
        "; ",
      );
    out.push(agg);
  }
  return out;
}

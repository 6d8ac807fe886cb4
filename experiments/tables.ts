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
 * The work is split: `_results.ts` reads and merges the CSVs, `_claims.ts`
 * judges the paper's claims, `_figures.ts` draws the figures; this file
 * writes the Markdown and is the command. It re-exports their public API.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, join, relative } from "node:path";
import { exists, InputError, writeTextAtomic } from "../lib/base/io.ts";
import {
  type ExperimentResults,
  listDir,
  loadResults,
  type ResultRow,
  type Results,
  value,
} from "./_results.ts";
import {
  acc,
  argmax,
  byScorer,
  type ClaimVerdict,
  fmt,
  judgeClaims,
  PAPER,
  pct,
  prettyConfig,
  scorerName,
} from "./_claims.ts";
import { drawFigures, figureNames } from "./_figures.ts";

export {
  type ExperimentResults,
  listExperiments,
  loadExperiment,
  loadResults,
  readResultsCsv,
  type ResultRow,
  type Results,
  value,
} from "./_results.ts";
export { type ClaimVerdict, judgeClaims, spearman } from "./_claims.ts";
export { writeExperimentFigures } from "./_figures.ts";

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
 * Markdown as `deno fmt` writes it (the README is kept formatted), or as
 * given when the formatter cannot run.
 */
async function formatMarkdown(text: string): Promise<string> {
  try {
    const p = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--ext=md", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await p.output();
    return out.success ? new TextDecoder().decode(out.stdout) : text;
  } catch {
    return text;
  }
}

/**
 * Replaces the block between `<!-- results:start -->` and
 * `<!-- results:end -->` in a README, formatted by `deno fmt` (atomically,
 * only when it changed).
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
  const next = await formatMarkdown(
    `${text.slice(0, i + START.length)}\n${block}\n${text.slice(j)}`,
  );
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

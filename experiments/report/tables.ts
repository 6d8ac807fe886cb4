/**
 * The Markdown of `make tables`: `results/TABLES.md` (one section per
 * experiment: the paper's claim, the command, our numbers, the claim checks,
 * the figures) and the README's results block. It loops over the
 * experiments it is given and asks each for its claim, verdicts, notes and
 * figures; it knows none of them by name.
 *
 * @module
 */

import { basename, dirname, join, relative } from "node:path";
import { exists, writeTextAtomic } from "../../lib/base/io.ts";
import type { AnyExperiment, Figure } from "../harness/experiment.ts";
import { writeCsv } from "../harness/result_files.ts";
import {
  type ExperimentResults,
  listDir,
  loadResults,
  type ResultRow,
  type Results,
  value,
} from "./results.ts";
import {
  acc,
  argmax,
  byScorer,
  type ClaimVerdict,
  pct,
  prettyConfig,
  scorerName,
  signed,
} from "./claims.ts";
import { drawFigures, experimentFigures } from "./figures.ts";

// ---------------------------------------------------------------- markdown

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** A Markdown table (cells escaped). */
export function markdownTable(head: string[], body: string[][]): string {
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
    "seeds",
    ["seeds_ok"],
    (r) => r.fields.seeds_ok || "—",
  ],
  [
    "pairs",
    ["n_pairs"],
    (r) => isNaN(value(r, "n_pairs")) ? "—" : String(value(r, "n_pairs")),
  ],
  [
    "validation acc. (%)",
    ["val_accuracy_mean"],
    (r) => pct(value(r, "val_accuracy_mean")),
  ],
  ["dead units (%)", ["dead_features"], (r) => pct(value(r, "dead_features"))],
];

function resultsTable(rows: ResultRow[]): string {
  const used = TABLE_COLUMNS.filter(([, cols]) =>
    rows.some((r) =>
      cols.some((c) => !isNaN(value(r, c)) || c === "seeds_ok" && r.fields[c])
    )
  );
  // Bold the best accuracy of each scorer where there is a choice.
  const best = new Set<ResultRow>();
  for (const g of byScorer(rows).values()) {
    if (g.length > 1) best.add(argmax(g));
  }
  // A model that collapsed or diverged in every seed says so instead of its
  // numbers; one that did in some seeds ("partial") shows the healthy seeds'.
  const failed = (r: ResultRow) =>
    r.fields.status !== undefined && r.fields.status !== "" &&
    r.fields.status !== "ok" && r.fields.status !== "partial";
  const noted = (r: ResultRow) => failed(r) || r.fields.status === "partial";
  const body = rows.map((r) => [
    prettyConfig(r.config),
    scorerName(r.scorer),
    ...used.map(([head, , f], k) => {
      if (failed(r)) return k === 0 ? `**${r.fields.status}**` : "—";
      const text = f(r);
      return head === "accuracy (%)" && best.has(r) ? `**${text}**` : text;
    }),
  ]);
  const table = markdownTable(
    ["config", "scorer", ...used.map(([h]) => h)],
    body,
  );
  const reasons = [
    ...new Set(
      rows.filter(noted).map((r) =>
        `- ${prettyConfig(r.config)}: ${r.fields.status} — ${
          r.fields.status_reason ?? ""
        }`
      ),
    ),
  ];
  return reasons.length
    ? `${table}\n\nNot results (never scored):\n\n${reasons.join("\n")}`
    : table;
}

function distinctValues(rows: ResultRow[], column: string): string[] {
  return [
    ...new Set(rows.map((r) => r.fields[column] ?? "").filter((v) => v !== "")),
  ];
}

function verdictLine(v: ClaimVerdict): string {
  return `- ${v.claim}: **${v.verdict}** — ${v.detail}`;
}

/** A verdict's effect and interval for a table cell: `+1.23 [−0.40, +2.86] points`. */
export function effectText(v: ClaimVerdict): string {
  if (v.effect === undefined || !v.ci) return "—";
  return `${signed(v.effect)} [${signed(v.ci[0])}, ${signed(v.ci[1])}] ${
    v.unit ?? ""
  }`.trim();
}

/** Figure files and captions of an experiment, in the order its section shows them. */
export type FigureLinks = [file: string, caption: string][];

function section(
  experiment: AnyExperiment | undefined,
  ex: ExperimentResults,
  results: Results,
  figures: FigureLinks,
): string {
  const { rows } = ex;
  const name = ex.experiment;
  const paper = experiment?.paper;
  const out: string[] = [];
  out.push(
    paper
      ? `## ${paper.source} — ${paper.title} (\`${name}\`)`
      : `## \`${name}\``,
  );
  if (paper) {
    out.push(
      paper.confirmed
        ? `**Paper:** ${paper.claim}. Confirmed numbers: ${paper.confirmed}.`
        : `**Paper:** ${paper.claim}. A trend claim: lib/PAPER.md confirms no numbers ` +
          "for it, so none are quoted.",
    );
  } else {
    out.push("No claim of the paper is registered for this experiment.");
  }
  const profiles = distinctValues(rows, "profile");
  const cmd = ex.commands.length
    ? ex.commands.map((c) => `\`${c}\``).join("<br>")
    : `\`deno run -A experiments/${name}.ts${
      profiles.length === 1 ? ` --profile ${profiles[0]}` : ""
    }\` (reconstructed: no \`command\` in \`${name}.meta.json\`)`;
  out.push(`**Command:** ${cmd}`);
  const run = [
    ["profile", distinctValues(rows, "profile")],
    ["backend", distinctValues(rows, "backend")],
    ["seeds", distinctValues(ex.seedRows, "seed")],
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
  const notes = experiment?.notes?.(ex) ?? {};
  out.push(...(notes.before ?? []));
  out.push(rows.length ? resultsTable(rows) : "_No rows._");
  out.push(...(notes.after ?? []));
  const verdicts = experiment?.claims(results) ?? [];
  if (verdicts.length) {
    out.push(
      ["**Claims in this run:**", "", ...verdicts.map(verdictLine)].join("\n"),
    );
  }
  if (figures.length) {
    out.push(
      figures.map(([f, caption]) => `![${caption}](figures/${encodeURI(f)})`)
        .join("\n"),
    );
  }
  return out.join("\n\n");
}

/**
 * The Markdown of `results/TABLES.md`: one section per experiment.
 *
 * @param experiments the experiment scripts' exports, by name
 * @param results every experiment's results (see {@linkcode loadResults})
 * @param options `figures`: each experiment's figures present in `results/figures/`
 */
export function tablesMarkdown(
  experiments: Map<string, AnyExperiment>,
  results: Results,
  options: { figures?: Map<string, FigureLinks> } = {},
): string {
  const parts = [
    "# Results",
    "Generated by `make tables` (`experiments/tables.ts`) from the CSVs in this " +
    "folder; do not edit by hand. Accuracy follows the LFW protocol: the " +
    "threshold is chosen on 9 folds and applied to the 10th. Every " +
    "configuration is trained with each seed of the profile; a table shows " +
    "the mean over seeds ± the std across seeds, in % (the per-seed rows, " +
    "with each fold's accuracy, are in the CSVs). The best accuracy of each " +
    "scorer is in bold. A claim line gives the effect with its 95 % " +
    "interval, paired on the same test pairs seed by seed (SE from a " +
    "bootstrap over seeds and folds, t on seeds − 1 df), its p-value and " +
    "Holm's within the experiment, and one of three answers: **held** (the " +
    "adjusted test lands on the claim's side), **contradicted** (on the " +
    "other side), **inconclusive**; a claim whose models collapsed is " +
    "**not tested**. Choices (the joint λ) use validation pairs only.",
    "The paper's only confirmed LFW numbers (lib/PAPER.md [C]): DeepID2 99.15 % " +
    "(final system, Table 2, real data), DeepFace 97.35 %, DeepID 97.45 %. " +
    "Everything else in the paper is compared as a trend.",
  ];
  if (results.size === 0) {
    parts.push("_No results yet: run `make reproduce`._");
  } else {
    parts.push(summaryTable(experiments, results));
    for (const ex of results.values()) {
      parts.push(section(
        experiments.get(ex.experiment),
        ex,
        results,
        options.figures?.get(ex.experiment) ?? [],
      ));
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
  const count = (w: string) => verdicts.filter((v) => v.verdict === w).length;
  return (["held", "contradicted", "inconclusive", "not tested"] as const)
    .filter((w) => count(w) > 0).map((w) => `${count(w)} ${w}`).join(", ");
}

const r6 = (v: number | undefined) =>
  v === undefined ? "" : Number(v.toPrecision(6));

/** Columns of `results/claims.csv`. */
export const CLAIM_COLUMNS = [
  "experiment",
  "claim",
  "verdict",
  "effect",
  "ci_low",
  "ci_high",
  "unit",
  "p",
  "p_holm",
  "seeds",
  "detail",
] as const;

/** Every claim of every experiment, one row each: what `results/claims.csv` holds. */
export function claimRows(
  experiments: Map<string, AnyExperiment>,
  results: Results,
): Record<string, string | number>[] {
  return [...results.keys()].flatMap((name) =>
    (experiments.get(name)?.claims(results) ?? []).map((v) => ({
      experiment: name,
      claim: v.claim,
      verdict: v.verdict,
      effect: r6(v.effect),
      ci_low: r6(v.ci?.[0]),
      ci_high: r6(v.ci?.[1]),
      unit: v.unit ?? "",
      p: r6(v.p),
      p_holm: r6(v.pHolm),
      seeds: v.seeds ?? "",
      detail: v.detail,
    }))
  );
}

function summaryTable(
  experiments: Map<string, AnyExperiment>,
  results: Results,
): string {
  const body = [...results.values()].map((ex) => [
    experiments.get(ex.experiment)?.paper.source ?? "—",
    `\`${ex.experiment}\``,
    bestText(ex),
    heldText(experiments.get(ex.experiment)?.claims(results) ?? []),
  ]);
  return markdownTable([
    "paper",
    "experiment",
    "best accuracy (this run)",
    "claims (this run)",
  ], body);
}

/**
 * The README's results block (what goes between `<!-- results:start -->`
 * and `<!-- results:end -->`): one row per experiment with its best number
 * and how many claims held, then every claim that did not hold.
 *
 * @param experiments the experiment scripts' exports, by name
 * @param results every experiment's results (see {@linkcode loadResults})
 * @param options `tablesLink`: the link to TABLES.md from the README
 */
export function readmeResults(
  experiments: Map<string, AnyExperiment>,
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
    summaryTable(experiments, results),
  ];
  const claims = [...results.keys()].flatMap((name) =>
    (experiments.get(name)?.claims(results) ?? []).map((v) => [
      `\`${name}\``,
      v.claim,
      `**${v.verdict}**`,
      v.verdict === "not tested" ? v.detail : effectText(v),
      v.seeds === undefined ? "—" : String(v.seeds),
    ])
  );
  if (claims.length) {
    lines.push(
      "",
      "Every claim, with its effect and 95 % interval (paired over seeds " +
        "and folds; Holm within each experiment decides the answer):",
      "",
      markdownTable(
        ["experiment", "claim", "answer", "effect [95 % interval]", "seeds"],
        claims,
      ),
    );
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
 * README's results block, and every verdict to `claims.csv`.
 *
 * @param experiments the experiment scripts' exports, in the order of their sections
 * @param resultsDir the results folder, e.g. `results`
 * @param options `readme`: README path (`README.md`; "" to skip);
 *   `figures`: draw figures (default true)
 * @example
 * ```ts
 * const report = await writeTables(EXPERIMENTS, "results");
 * console.log(report.tables, report.readme);
 * ```
 */
export async function writeTables(
  experiments: readonly AnyExperiment[],
  resultsDir: string,
  options: { readme?: string; figures?: boolean } = {},
): Promise<TablesReport> {
  const byName = new Map(experiments.map((e) => [e.name, e]));
  const results = await loadResults(resultsDir, {
    writeMerged: true,
    order: experiments.map((e) => e.name),
  });
  const drawn: string[] = [];
  const links = new Map<string, FigureLinks>();
  const present = async () =>
    new Set(
      (await listDir(join(resultsDir, "figures"))).map((e) => e.name),
    );
  const listed = new Map<string, Figure[]>();
  for (const ex of results.values()) {
    const experiment = byName.get(ex.experiment);
    const figures = experiment
      ? await experimentFigures(experiment, ex, resultsDir)
      : [];
    listed.set(ex.experiment, figures);
    if (options.figures ?? true) {
      drawn.push(...await drawFigures(resultsDir, figures));
    }
  }
  const files = await present();
  for (const [name, figures] of listed) {
    links.set(
      name,
      figures.filter((f) => files.has(f.file)).map((f) => [f.file, f.caption]),
    );
  }
  const tables = join(resultsDir, "TABLES.md");
  await writeTextAtomic(
    tables,
    tablesMarkdown(byName, results, { figures: links }),
  );
  // Every verdict as data, for anyone who wants to check or plot them.
  const claims = claimRows(byName, results);
  if (claims.length) {
    await writeCsv(join(resultsDir, "claims.csv"), claims, [
      ...CLAIM_COLUMNS,
    ]);
  }
  const readmePath = options.readme ?? "README.md";
  let readme: TablesReport["readme"] = readmePath === ""
    ? "skipped"
    : "no results";
  if (readmePath !== "" && results.size > 0) {
    const link = relative(dirname(readmePath), tables) || basename(tables);
    readme = await updateReadme(
      readmePath,
      readmeResults(byName, results, { tablesLink: link }),
    );
  }
  return { tables, figures: drawn, experiments: [...results.keys()], readme };
}

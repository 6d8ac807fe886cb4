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
  judgeAll,
  levelText,
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

/** `<x>_mean ± <x>_sd_replicates`: the mean over replicates and the spread across them. */
function overReplicates(row: ResultRow, stem: string): string {
  return meanStd(row, `${stem}_mean`, `${stem}_sd_replicates`);
}

/** FARs whose TAR the tables show: those the test pairs support. */
const FARS = ["1e-3", "1e-2", "1e-1"] as const;

/**
 * Whether the pair count supports TAR at `far`: the threshold is set on the
 * nine training folds, whose different-identity pairs (about 0.45 of the
 * pairs) must allow at least one false accept at that rate.
 */
export function farSupported(nPairs: number, far: number): boolean {
  return 0.45 * nPairs * far >= 1;
}

/** Columns of the results table: header, cell, and the CSV columns it needs. */
const TABLE_COLUMNS: [string, string[], (r: ResultRow) => string][] = [
  [
    "accuracy (%), mean ± sd over replicates",
    ["accuracy_mean"],
    (r) => overReplicates(r, "accuracy"),
  ],
  [
    "± over folds (%)",
    ["accuracy_std"],
    (r) => pct(value(r, "accuracy_std")),
  ],
  [
    "AUC",
    ["auc"],
    (r) => isNaN(value(r, "auc")) ? "—" : value(r, "auc").toFixed(4),
  ],
  ["EER (%)", ["eer"], (r) => pct(value(r, "eer"))],
  ...FARS.map((far): [string, string[], (r: ResultRow) => string] => [
    `TAR@FAR=${far} (%)`,
    [`tar_at_far_${far}`],
    (r) =>
      farSupported(value(r, "n_pairs"), Number(far))
        ? pct(value(r, `tar_at_far_${far}`))
        : "—",
  ]),
  [
    "rank-1 (%), ± sd over replicates",
    ["rank1_mean"],
    (r) => overReplicates(r, "rank1"),
  ],
  [
    "DIR@FAR=1e-2 (%), ± sd over replicates",
    ["dir_at_far_1e-2_mean"],
    (r) => overReplicates(r, "dir_at_far_1e-2"),
  ],
  [
    "replicates",
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
  // A model that collapsed or diverged in every replicate says so instead
  // of its numbers; one that did in some ("partial") shows the scored
  // replicates'; one still improving is scored and marked.
  const failed = (r: ResultRow) =>
    !["", "ok", "partial", "still improving"].includes(r.fields.status ?? "");
  // Still improving in some scored replicate (a "partial" row too).
  const improving = (r: ResultRow) =>
    r.fields.status === "still improving" ||
    (r.fields.status_reason ?? "").includes("(still improving): ");
  const body = rows.map((r) => [
    prettyConfig(r.config),
    scorerName(r.scorer),
    ...used.map(([head, , f], k) => {
      if (failed(r)) return k === 0 ? `**${r.fields.status}**` : "—";
      const text = f(r) +
        (k === 0 && improving(r) ? " ⚠" : "");
      return head.startsWith("accuracy") && best.has(r) ? `**${text}**` : text;
    }),
  ]);
  const table = markdownTable(
    ["config", "scorer", ...used.map(([h]) => h)],
    body,
  );
  // Each replicate's reason, from the mean rows' `seed K (status): reason`.
  const notes = (pick: (status: string) => boolean) => [
    ...new Set(
      rows.flatMap((r) =>
        // A reason may itself hold "; " (several convergence rules): split
        // only where the next replicate's part begins.
        (r.fields.status_reason ?? "").split(/; (?=seed \S+ \([^)]+\): )/)
          .filter(Boolean).flatMap(
            (part) => {
              const m = /^seed (\S+) \(([^)]+)\): (.*)$/s.exec(part);
              return m && pick(m[2])
                ? [
                  `- ${prettyConfig(r.config)}, replicate ${m[1]}: ${m[2]} — ${
                    m[3]
                  }`,
                ]
                : [];
            },
          )
      ),
    ),
  ];
  const notResults = notes((s) => s !== "still improving");
  const notConverged = notes((s) => s === "still improving");
  return [
    table,
    ...(notConverged.length
      ? [
        "Not converged (scored, marked ⚠; every claim that uses them says so):",
        notConverged.join("\n"),
      ]
      : []),
    ...(notResults.length
      ? ["Not results (never scored):", notResults.join("\n")]
      : []),
  ].join("\n\n");
}

function distinctValues(rows: ResultRow[], column: string): string[] {
  return [
    ...new Set(rows.map((r) => r.fields[column] ?? "").filter((v) => v !== "")),
  ];
}

function verdictLine(v: ClaimVerdict): string {
  return `- ${v.claim}: **${v.verdict}** — ${v.detail}`;
}

/**
 * A verdict's effect and the interval its answer is read from, with that
 * interval's level, for a table cell: `+1.23 [−0.40, +2.86] points (98.3 %)`.
 */
export function effectText(v: ClaimVerdict): string {
  if (v.effect === undefined || !v.ci) return "—";
  return `${signed(v.effect)} [${signed(v.ci[0])}, ${signed(v.ci[1])}] ${
    v.unit ?? ""
  }`.trim() + (v.level ? ` (${levelText(v.level)})` : "");
}

/** What a line could have seen: `2.10 points`, or for equivalence `±1.20 points`. */
export function mdeText(v: ClaimVerdict): string {
  if (v.mde === undefined || !Number.isFinite(v.mde)) return "—";
  const u = v.unit ? ` ${v.unit}` : "";
  return v.margin !== undefined
    ? `±${v.mde.toFixed(2)}${u}`
    : `${v.mde.toFixed(2)}${u}`;
}

/** Every experiment's verdicts, judged together (`judgeAll`). */
function verdictsOf(
  experiments: Map<string, AnyExperiment>,
  results: Results,
  name: string,
): ClaimVerdict[] {
  return judgeAll([...experiments.values()], results).get(name) ?? [];
}

/** Figure files and captions of an experiment, in the order its section shows them. */
export type FigureLinks = [file: string, caption: string][];

function section(
  experiment: AnyExperiment | undefined,
  ex: ExperimentResults,
  verdicts: ClaimVerdict[],
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
    ["replicates", distinctValues(ex.seedRows, "seed")],
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
    "threshold is chosen on 9 folds and applied to the 10th. A replicate is " +
    "one draw of data (its own training, held-out, validation and test " +
    "identities and pairs) and of initialisation; every configuration is " +
    "trained once per replicate. A table shows the mean over replicates ± " +
    "the sample std across replicates, and, in a column of its own, the " +
    "spread over the 10 folds (mean over replicates of each replicate's " +
    "fold std), in % (the per-replicate rows, with each fold's accuracy, " +
    "are in the CSVs). The best accuracy of each scorer is in bold. Each " +
    "paper claim is one family of lines (its scorers and comparisons); a " +
    "line is a paired t over replicates of a per-replicate statistic, its " +
    "interval drawn at 1 − 0.05/m for the family's m lines (Bonferroni; " +
    "1 − 0.1/m, the TOST interval, for an equivalence line with its margin " +
    "fixed in advance), and its answer is read off that interval: **held** " +
    "(it lies on the claim's side of 0, or inside the margin), " +
    "**contradicted** (on the other side, or outside the margin), " +
    "**inconclusive** (neither); a line whose models collapsed is **not " +
    "tested**. Each line also gives the smallest effect it would detect " +
    "with 80 % power at this run's replicates and spread, so an " +
    'inconclusive line reads as "an effect below that cannot be ' +
    'excluded". A comparison several experiments make is judged once and ' +
    "shown in each. Choices (the joint λ) use validation pairs only.",
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
        verdictsOf(experiments, results, ex.experiment),
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
      `${overReplicates(b, "accuracy")} %`;
  }
  const rank1 = (r: ResultRow) => value(r, "rank1_mean");
  const withRank = ex.rows.filter((r) => !isNaN(rank1(r)));
  if (withRank.length) {
    const b = argmax(withRank, rank1);
    return `${prettyConfig(b.config)}, ${scorerName(b.scorer)}: rank-1 ` +
      `${overReplicates(b, "rank1")} %`;
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
  "family",
  "claim",
  "verdict",
  "effect",
  "ci_low",
  "ci_high",
  "ci_level",
  "unit",
  "margin",
  "p_adjusted",
  "family_lines",
  "replicates",
  "sd",
  "mde",
  "judged_in",
  "not_converged",
  "detail",
] as const;

/** Every claim line of every experiment, one row each: what `results/claims.csv` holds. */
export function claimRows(
  experiments: Map<string, AnyExperiment>,
  results: Results,
): Record<string, string | number>[] {
  return [...results.keys()].flatMap((name) =>
    verdictsOf(experiments, results, name).map((v) => ({
      experiment: name,
      family: v.family ?? "",
      claim: v.claim,
      verdict: v.verdict,
      effect: r6(v.effect),
      ci_low: r6(v.ci?.[0]),
      ci_high: r6(v.ci?.[1]),
      ci_level: r6(v.level),
      unit: v.unit ?? "",
      margin: r6(v.margin),
      p_adjusted: r6(v.p),
      family_lines: v.familySize ?? "",
      replicates: v.replicates ?? "",
      sd: r6(v.sd),
      mde: r6(v.mde),
      judged_in: v.judgedIn ?? "",
      not_converged: (v.improving ?? []).join("; "),
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
    heldText(verdictsOf(experiments, results, ex.experiment)),
  ]);
  return markdownTable([
    "paper",
    "experiment",
    "best accuracy, mean ± sd over replicates",
    "claim lines (this run)",
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
  // Each comparison once: in the experiment whose family judged it.
  const claims = [...results.keys()].flatMap((name) =>
    verdictsOf(experiments, results, name).filter((v) => !v.judgedIn).map((
      v,
    ) => [
      `\`${name}\``,
      v.claim,
      `**${v.verdict}**`,
      v.verdict === "not tested" ? v.detail : effectText(v),
      v.verdict === "not tested" ? "—" : mdeText(v),
      v.replicates === undefined ? "—" : String(v.replicates),
    ])
  );
  if (claims.length) {
    lines.push(
      "",
      "Every claim line, once (a comparison two experiments make is judged " +
        "in one family and shown in both in TABLES.md): the effect and the " +
        "interval its answer is read from, at its level (95 % over the m " +
        "lines of its family, Bonferroni: 1 − 0.05/m; TOST's 1 − 0.1/m for " +
        "an equivalence), and the smallest effect the line would detect " +
        "with 80 % power at this run's replicates and spread (for an " +
        "equivalence, the margin it could confirm):",
      "",
      markdownTable(
        [
          "experiment",
          "claim",
          "answer",
          "effect [interval] (level)",
          "detectable",
          "replicates",
        ],
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

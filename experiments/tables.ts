/**
 * `make tables` / `deno task tables`: reads only the result files under
 * `results/` and writes `results/TABLES.md`, the figures in
 * `results/figures/`, and the results block of README.md (between
 * `<!-- results:start -->` and `<!-- results:end -->`).
 *
 *   deno task tables [--results DIR] [--readme FILE] [--no-figures]
 *
 * For each experiment found (`results/<experiment>.csv`, or shard files
 * `results/<experiment>/<config>.csv` written by `--shard i/n` runs, merged
 * with the newest row winning per (config, scorer)) it writes a table of our
 * numbers, the paper's claim beside it (numbers only where lib/PAPER.md marks
 * them [C]), the command that made the numbers, and one line per claim
 * saying whether it held in this run. The Markdown is `report/tables.ts`;
 * each experiment's claim checks and figures are in its own script.
 *
 * @module
 */
import { join } from "node:path";
import { parseCommandLine, usage } from "../lib/base/cli.ts";
import { InputError } from "../lib/base/io.ts";
import { EXPERIMENTS } from "./all.ts";
import { type TablesReport, writeTables } from "./report/tables.ts";

const FLAGS = {
  results: {
    type: "string",
    default: "results",
    arg: "DIR",
    help: "results folder to read",
  },
  readme: {
    type: "string",
    default: "README.md",
    arg: "FILE",
    help: 'README whose results block to update ("" to skip)',
  },
  "no-figures": {
    type: "boolean",
    default: false,
    help: "do not redraw the figures",
  },
} as const;

const COMMAND = "deno task tables";

async function main(args: string[]): Promise<number> {
  let cli;
  try {
    cli = parseCommandLine(args, FLAGS, { command: COMMAND });
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (cli.help) {
    console.log(usage(COMMAND, FLAGS));
    return 0;
  }
  const { values } = cli;
  try {
    const report = await writeTables(EXPERIMENTS, values.results, {
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
        `skipped the README excerpt: ${values.readme} has no results:start ... results:end markers`,
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

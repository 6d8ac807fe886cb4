/**
 * `deno task prepare`: validates a data set and builds its crop cache (the
 * loaders of datasets/mod.ts), printing one JSON line
 * `{"format", "images", "identities", "pairs", "skipped", "cache"}`.
 *
 * ```
 * deno task prepare --lfw DIR [--pairs pairs.txt]
 * deno task prepare --celeba DIR
 * deno task prepare --folders DIR
 * deno task prepare --synth smoke|quick
 *   [--crop 55x47|47x47|HxW] [--gray] [--skip-missing] [--skip-bad-images]
 *   [--cache-dir DIR] [--quiet]
 * ```
 *
 * Bad input exits with status 1 and one line `FILE:LINE: what is wrong`; a
 * bad command line with status 1 and one line naming the flag.
 *
 * @module
 */
import {
  type FlagTable,
  type FlagValues,
  parseCommandLine,
  usage,
  UsageError,
} from "../lib/base/cli.ts";
import { InputError } from "../lib/base/io.ts";
import type { CropOptions } from "./types.ts";
import { loadCeleba } from "./celeba.ts";
import { loadFolders } from "./folders.ts";
import { loadLfw } from "./lfw.ts";
import { skippedTotal } from "./faceset.ts";
import {
  DEFAULT_CACHE_DIR,
  ensureSynth,
  loadDataset,
  SYNTH_PROFILES,
} from "./mod.ts";

/** The JSON line `prepare` prints. */
export interface PrepareReport {
  format: string;
  images: number;
  identities: number;
  pairs: number;
  skipped: number;
  cache: string;
}

const SYNTH_NAMES = Object.keys(
  SYNTH_PROFILES,
) as (keyof typeof SYNTH_PROFILES)[];

/** The flags of `deno task prepare`: types, defaults and help lines. */
export const PREPARE_FLAGS = {
  lfw: { type: "string", arg: "DIR", help: "an LFW folder (lfw/, pairs.txt)" },
  celeba: { type: "string", arg: "DIR", help: "a CelebA folder" },
  folders: {
    type: "string",
    arg: "DIR",
    help: "a folder of one sub-folder of images per identity",
  },
  synth: {
    type: "string",
    arg: SYNTH_NAMES.join("|"),
    help: "the synthetic set of a profile (generated if missing)",
  },
  pairs: {
    type: "string",
    arg: "FILE",
    default: "pairs.txt",
    help: "with --lfw: the pairs file, relative to the LFW folder",
  },
  crop: {
    type: "string",
    arg: "HxW",
    default: "55x47",
    help: "crop size, e.g. 55x47 or 47x47",
  },
  gray: { type: "boolean", default: false, help: "gray-scale crops" },
  "skip-missing": {
    type: "boolean",
    default: false,
    help: "skip (and count) listed entries whose image is missing",
  },
  "skip-bad-images": {
    type: "boolean",
    default: false,
    help: "skip (and count) undecodable images and their pairs",
  },
  "cache-dir": {
    type: "string",
    arg: "DIR",
    default: DEFAULT_CACHE_DIR,
    help: "where the crop cache goes",
  },
  quiet: { type: "boolean", default: false, help: "no progress line" },
} as const satisfies FlagTable;

const COMMAND =
  "deno task prepare (--lfw DIR [--pairs FILE] | --celeba DIR | --folders DIR | --synth NAME) [flags]";
const EXTRA =
  "Checks a data set, builds its crop cache and prints one JSON line.";

/** What `deno task prepare --help` prints. */
export const PREPARE_USAGE: string = usage(COMMAND, PREPARE_FLAGS, EXTRA);

/** Parses the command line; throws {@linkcode UsageError} naming the flag. */
export function parsePrepareArgs(
  args: string[],
): { values: FlagValues<typeof PREPARE_FLAGS>; help: boolean } {
  return parseCommandLine(args, PREPARE_FLAGS, {
    command: COMMAND,
    extraHelp: EXTRA,
  });
}

/** Parses `HxW` (e.g. `55x47`). */
export function parseCrop(s: string, gray: boolean): CropOptions {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw new Error(`--crop must be HxW, e.g. 55x47, got "${s}"`);
  return { height: Number(m[1]), width: Number(m[2]), gray };
}

/** Runs `prepare` with command-line arguments; returns the report. */
export async function prepare(args: string[]): Promise<PrepareReport> {
  return await runPrepare(parsePrepareArgs(args).values);
}

/** Runs `prepare` with parsed flags; returns the report. */
export async function runPrepare(
  values: FlagValues<typeof PREPARE_FLAGS>,
): Promise<PrepareReport> {
  const given = (["lfw", "celeba", "folders", "synth"] as const).filter((k) =>
    values[k] !== undefined
  );
  if (given.length !== 1) {
    throw new Error(
      `give exactly one of --lfw DIR, --celeba DIR, --folders DIR, --synth ${
        SYNTH_NAMES.join("|")
      } (--help for usage)`,
    );
  }
  const profile = values.synth as keyof typeof SYNTH_PROFILES | undefined;
  if (profile !== undefined && !SYNTH_NAMES.includes(profile)) {
    throw new Error(
      `--synth must be ${SYNTH_NAMES.join(" or ")}, got "${profile}"`,
    );
  }
  const crop = parseCrop(values.crop, values.gray);
  const common = {
    crop,
    cacheDir: values["cache-dir"],
    skipMissing: values["skip-missing"],
    skipBadImages: values["skip-bad-images"],
    quiet: values.quiet,
  };
  if (values.lfw !== undefined) {
    const d = await loadLfw(values.lfw, { ...common, pairsFile: values.pairs });
    return {
      format: "lfw",
      images: d.set.labels.length,
      identities: d.set.identities.length,
      pairs: d.pairs.length,
      skipped: skippedTotal(d.skipped),
      cache: d.cache,
    };
  }
  if (values.celeba !== undefined) {
    const d = await loadCeleba(values.celeba, common);
    return {
      format: "celeba",
      images: d.set.labels.length,
      identities: d.set.identities.length,
      pairs: 0,
      skipped: skippedTotal(d.skipped),
      cache: d.cache,
    };
  }
  if (values.folders !== undefined) {
    const d = await loadFolders(values.folders, common);
    return {
      format: "folders",
      images: d.set.labels.length,
      identities: d.set.identities.length,
      pairs: 0,
      skipped: skippedTotal(d.skipped),
      cache: d.cache,
    };
  }
  const params = SYNTH_PROFILES[profile!];
  const root = await ensureSynth(params, common);
  const ds = await loadDataset({
    ...common,
    data: "synth",
    synth: params,
    seed: 1,
  });
  const sk = ds.info.skipped as { train: number; test: number };
  return {
    format: "synth",
    // The four splits are disjoint on the synthetic set.
    images: ds.train.labels.length + ds.heldOut.labels.length +
      ds.validation.labels.length + ds.test.labels.length,
    identities: ds.train.identities.length + ds.heldOut.identities.length +
      ds.validation.identities.length + ds.test.identities.length,
    pairs: ds.pairs.length,
    skipped: sk.train + sk.test,
    cache: root,
  };
}

if (import.meta.main) {
  try {
    const { values, help } = parsePrepareArgs(Deno.args);
    if (help) {
      console.log(PREPARE_USAGE);
      Deno.exit(0);
    }
    console.log(JSON.stringify(await runPrepare(values)));
  } catch (e) {
    const message = e instanceof UsageError
      ? `${e.message.split("\n")[0]} (--help for usage)`
      : (e as Error).message;
    console.error(e instanceof InputError ? message : `prepare: ${message}`);
    Deno.exit(1);
  }
}

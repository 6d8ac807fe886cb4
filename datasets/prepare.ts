/**
 * `deno task prepare`: validates a data set and builds its crop cache
 * (issue 3, "Loaders"), printing one JSON line
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
 * Bad input exits with status 1 and one line `FILE:LINE: what is wrong`.
 *
 * @module
 */
import { parseArgs } from "node:util";
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

/** What `deno task prepare --help` prints. */
export const PREPARE_USAGE = `usage:
  deno task prepare --lfw DIR [--pairs pairs.txt]
  deno task prepare --celeba DIR
  deno task prepare --folders DIR
  deno task prepare --synth smoke|quick
options: [--crop 55x47|47x47|HxW] [--gray] [--skip-missing] [--skip-bad-images]
         [--cache-dir DIR] [--quiet]
Checks a data set, builds its crop cache and prints one JSON line.`;

/** Parses `HxW` (e.g. `55x47`). */
export function parseCrop(s: string, gray: boolean): CropOptions {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw new Error(`--crop must be HxW, e.g. 55x47, got "${s}"`);
  return { height: Number(m[1]), width: Number(m[2]), gray };
}

/** Runs `prepare` with command-line arguments; returns the report. */
export async function prepare(args: string[]): Promise<PrepareReport> {
  const { values } = parseArgs({
    args,
    options: {
      lfw: { type: "string" },
      celeba: { type: "string" },
      folders: { type: "string" },
      synth: { type: "string" },
      pairs: { type: "string" },
      crop: { type: "string", default: "55x47" },
      gray: { type: "boolean", default: false },
      "skip-missing": { type: "boolean", default: false },
      "skip-bad-images": { type: "boolean", default: false },
      "cache-dir": { type: "string" },
      quiet: { type: "boolean", default: false },
    },
    strict: true,
  });
  const given = (["lfw", "celeba", "folders", "synth"] as const).filter((k) =>
    values[k] !== undefined
  );
  if (given.length !== 1) {
    throw new Error(
      "give exactly one of --lfw DIR, --celeba DIR, --folders DIR, --synth smoke|quick (--help for usage)",
    );
  }
  const crop = parseCrop(values.crop!, values.gray!);
  const common = {
    crop,
    cacheDir: values["cache-dir"] ?? DEFAULT_CACHE_DIR,
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
  const profile = values.synth as keyof typeof SYNTH_PROFILES;
  if (!(profile in SYNTH_PROFILES)) {
    throw new Error(`--synth must be smoke or quick, got "${profile}"`);
  }
  const params = SYNTH_PROFILES[profile];
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
    images: ds.train.labels.length + ds.heldOut.labels.length +
      ds.test.labels.length,
    identities: ds.train.identities.length + ds.heldOut.identities.length +
      ds.test.identities.length,
    pairs: ds.pairs.length,
    skipped: sk.train + sk.test,
    cache: root,
  };
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(PREPARE_USAGE);
    Deno.exit(0);
  }
  try {
    console.log(JSON.stringify(await prepare(Deno.args)));
  } catch (e) {
    console.error(
      e instanceof InputError ? e.message : `prepare: ${(e as Error).message}`,
    );
    Deno.exit(1);
  }
}

/**
 * The flags every experiment script takes (and `reproduce`, which passes
 * them on): one table, the single place where their names, defaults and
 * help lines live. Any other `--key=value` is a config override, checked by
 * the experiment's config (an unknown key is an error there).
 *
 * @module
 */
import {
  type FlagSpec,
  type FlagTable,
  type FlagValues,
  parseCommandLine,
  usage,
} from "../../lib/base/cli.ts";
import { type ProfileName, PROFILES } from "./profiles.ts";

/** The common flags of an experiment run. */
export const RUN_FLAGS = {
  profile: {
    type: "string",
    default: "quick",
    arg: PROFILES.join("|"),
    help: "scale of the run",
  },
  backend: {
    type: "string",
    default: "auto",
    arg: "auto|tensorflow-gpu|tensorflow|wasm|cpu",
    help: "compute backend",
  },
  data: {
    type: "string",
    default: "synth",
    arg: "synth|DIR",
    help: "synthetic faces, or DIR with celeba/ and lfw/ in their real formats",
  },
  out: {
    type: "string",
    arg: "DIR",
    help:
      "results folder (default results/ for quick, results/<profile>/ otherwise)",
  },
  resume: {
    type: "boolean",
    default: true,
    help: "continue interrupted trainings from their checkpoints",
  },
  force: {
    type: "boolean",
    default: false,
    help: "recompute configurations whose results already exist",
  },
  shard: {
    type: "string",
    default: "0/1",
    arg: "i/n",
    help: "run only configurations i, i+n, i+2n, ... (0-based)",
  },
  cache: {
    type: "string",
    default: ".cache",
    arg: "DIR",
    help: "data and model cache",
  },
  quiet: { type: "boolean", default: false, help: "no progress lines" },
  "skip-missing": {
    type: "boolean",
    default: false,
    help: "skip (and count) missing images",
  },
  "skip-bad-images": {
    type: "boolean",
    default: false,
    help: "skip (and count) unreadable images",
  },
} as const satisfies FlagTable;

/** The parsed common flags. */
export interface RunFlags {
  profile: ProfileName;
  backend: string;
  data: string;
  out: string;
  resume: boolean;
  force: boolean;
  shard: [number, number];
  cacheDir: string;
  quiet: boolean;
  skipMissing: boolean;
  skipBadImages: boolean;
  /** `--key=value` config overrides. */
  overrides: Record<string, string>;
  /** `--help` was given. */
  help: boolean;
}

const OVERRIDE_HELP =
  "  --KEY=VALUE  override a config value (printed at start; unknown keys are errors)";

/** The help text of the common flags (and `extra` ones), for `--help`. */
export function runUsage(command: string, extra: FlagTable = {}): string {
  return usage(command, { ...RUN_FLAGS, ...extra }, OVERRIDE_HELP);
}

/**
 * Parses the common flags (and a command's own `extra` ones, returned in
 * `extra`); every other `--key=value` is a config override. Unknown flags
 * without a value, bad values, an unknown profile or a bad shard are errors.
 */
export function parseRunFlags<E extends FlagTable = Record<never, FlagSpec>>(
  argv: string[],
  command = "deno run -A experiments/NAME.ts",
  extra?: E,
): RunFlags & { extra: FlagValues<E> } {
  const seed = argv.find((a) => a === "--seed" || a.startsWith("--seed="));
  if (seed) {
    throw new Error(
      `${seed}: there is no single seed any more; a replicate is one draw of ` +
        "data and initialisation: --seeds=1,2,3 (the config key) runs those replicates",
    );
  }
  const parsed = parseCommandLine(argv, { ...RUN_FLAGS, ...extra }, {
    command,
    overrides: true,
    extraHelp: OVERRIDE_HELP,
  });
  const { overrides, help } = parsed;
  const values = parsed.values as unknown as FlagValues<typeof RUN_FLAGS>;
  if (!(PROFILES as readonly string[]).includes(values.profile)) {
    throw new Error(
      `unknown profile "${values.profile}"; valid profiles: ${
        PROFILES.join(", ")
      }`,
    );
  }
  const sm = /^(\d+)\/(\d+)$/.exec(values.shard);
  if (!sm || Number(sm[2]) < 1 || Number(sm[1]) >= Number(sm[2])) {
    throw new Error(
      `--shard must be i/n with 0 <= i < n, got "${values.shard}"`,
    );
  }
  return {
    profile: values.profile as ProfileName,
    backend: values.backend,
    data: values.data,
    // The quick profile owns results/; the others write beside it, so a smoke
    // try-out never mixes with the committed quick results.
    out: values.out ??
      (values.profile === "quick" ? "results" : `results/${values.profile}`),
    resume: values.resume,
    force: values.force,
    shard: [Number(sm[1]), Number(sm[2])],
    cacheDir: values.cache,
    quiet: values.quiet,
    skipMissing: values["skip-missing"],
    skipBadImages: values["skip-bad-images"],
    overrides,
    help,
    extra: parsed.values as unknown as FlagValues<E>,
  };
}

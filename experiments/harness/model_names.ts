/**
 * Naming a trained model on the command line (`deno task features`,
 * `verify`, `export`, `evaluate --model`). A model is one of:
 *
 * - a unit of an experiment, `EXPERIMENT:CONFIG[:seedK]`, e.g.
 *   `joint_lambda:lambda=0.05:seed1`: its key is the `model` field of the
 *   unit's file `<results>/<EXPERIMENT>/<CONFIG>_seed<K>.json`
 *   (`result_files.ts`), where `<results>` is the profile's results folder
 *   (`results/` for quick, `results/<profile>/` otherwise, as `flags.ts`
 *   sets `--out`; `--results DIR` overrides it). Without `:seedK` the name
 *   must match one unit;
 * - a model key, 24 hex digits: `<cache>/models/<key>.model`;
 * - a path to a `.model` file (or any file that exists).
 *
 * The model's scoring file (`lib/eval/scoring_file.ts`) is looked for
 * beside it: `<folder>/<key>.scoring.json`.
 *
 * A name that matches nothing or more than one unit is an error that names
 * the folder or file looked in and lists what is there.
 *
 * Also the flags every model tool shares and their output-path check.
 *
 * @module
 */
import { exists } from "../../lib/base/io.ts";
import type { FlagTable } from "../../lib/base/cli.ts";
import { PROFILES } from "./profiles.ts";
import { configFileName } from "./result_files.ts";

/** A resolved model name. */
export interface ModelRef {
  /** The model key (the file name without `.model`). */
  key: string;
  /** The `.model` file. */
  path: string;
  /** Where its scoring file is (may not exist). */
  scoringPath: string;
  /** How it was named. */
  kind: "unit" | "key" | "file";
  /** For a unit: which, and the result file that named the key. */
  unit?: { experiment: string; config: string; seed?: number; file: string };
  /** The name as given. */
  name: string;
}

/** Where model names are looked up. */
export interface ModelLookup {
  /** Profile whose default results folder holds the units (quick). */
  profile?: string;
  /** Results folder; overrides the profile's. */
  results?: string;
  /** Data and model cache (`.cache`). */
  cache?: string;
}

/** The flags of the model tools that say where a model name is looked up. */
export const MODEL_LOOKUP_FLAGS = {
  profile: {
    type: "string",
    default: "quick",
    arg: PROFILES.join("|"),
    help: "the profile whose results folder names units",
  },
  results: {
    type: "string",
    arg: "DIR",
    help:
      "results folder of the units (default results/ for quick, results/<profile>/ otherwise)",
  },
  cache: {
    type: "string",
    default: ".cache",
    arg: "DIR",
    help: "model cache (<cache>/models/<key>.model)",
  },
} as const satisfies FlagTable;

/** The default results folder of a profile, as `flags.ts` sets `--out`. */
export function resultsFolder(profile: string): string {
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new Error(
      `unknown profile "${profile}"; valid profiles: ${PROFILES.join(", ")}`,
    );
  }
  return profile === "quick" ? "results" : `results/${profile}`;
}

const KEY = /^[0-9a-f]{24}$/;

/** `<folder>/<key>.scoring.json` beside a `.model` file. */
function scoringBeside(path: string, key: string): string {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  return `${dir}/${key}.scoring.json`;
}

/** One unit file of an experiment's folder. */
interface UnitFile {
  /** Its config name as in the file name (`configFileName`). */
  config: string;
  seed?: number;
  file: string;
}

async function unitFiles(dir: string): Promise<UnitFile[]> {
  const out: UnitFile[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    if (e.name.endsWith(".meta.json")) continue;
    const stem = e.name.slice(0, -".json".length);
    const m = /^(.*)_seed(\d+)$/.exec(stem);
    out.push({
      config: m ? m[1] : stem,
      seed: m ? Number(m[2]) : undefined,
      file: `${dir}/${e.name}`,
    });
  }
  return out.sort((a, b) =>
    a.config < b.config
      ? -1
      : a.config > b.config
      ? 1
      : (a.seed ?? 0) - (b.seed ?? 0)
  );
}

function unitLabel(experiment: string, u: UnitFile): string {
  return `${experiment}:${u.config}${
    u.seed === undefined ? "" : `:seed${u.seed}`
  }`;
}

/** What an experiment's folder holds, in words: `lambda=0 (seeds 1, 2), ...`. */
function listUnits(units: UnitFile[]): string {
  const by = new Map<string, (number | undefined)[]>();
  for (const u of units) {
    by.set(u.config, [...(by.get(u.config) ?? []), u.seed]);
  }
  return [...by].map(([c, seeds]) => {
    const s = seeds.filter((x) => x !== undefined);
    return s.length
      ? `${c} (seed${s.length > 1 ? "s" : ""} ${s.join(", ")})`
      : c;
  }).join(", ");
}

/** The experiments of a results folder: its subfolders holding unit files. */
async function experimentsIn(results: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(results)) {
      if (!e.isDirectory) continue;
      if ((await unitFiles(`${results}/${e.name}`)).length) out.push(e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return out.sort();
}

/** Splits `EXPERIMENT:CONFIG[:seedK]`; the config may itself hold colons. */
export function parseUnitName(
  name: string,
): { experiment: string; config: string; seed?: number } {
  const parts = name.split(":");
  const experiment = parts[0];
  let rest = parts.slice(1);
  let seed: number | undefined;
  const m = /^seed(\d+)$/.exec(rest.at(-1) ?? "");
  if (m && rest.length > 1) {
    seed = Number(m[1]);
    rest = rest.slice(0, -1);
  }
  const config = rest.join(":");
  if (!experiment || !config) {
    throw new Error(
      `model "${name}": expected EXPERIMENT:CONFIG[:seedK] (e.g. joint_lambda:lambda=0.05:seed1), a 24-hex model key, or a path to a .model file`,
    );
  }
  return { experiment, config, seed };
}

/**
 * Resolves a model name (see the module doc) to its `.model` file, which
 * must exist.
 *
 * @example
 * ```ts
 * const m = await resolveModel("joint_lambda:lambda=0.05:seed1", { profile: "smoke" });
 * m.path; // ".cache/models/<key>.model"
 * ```
 */
export async function resolveModel(
  name: string,
  lookup: ModelLookup = {},
): Promise<ModelRef> {
  const cache = lookup.cache ?? ".cache";
  if (!name) throw new Error("no model named (--model M)");
  // A file path: anything that exists as a file, or looks like one.
  const looksLikePath = name.endsWith(".model") || name.includes("/");
  let isFile = false;
  try {
    isFile = (await Deno.stat(name)).isFile;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (isFile || (looksLikePath && !name.includes(":"))) {
    if (!isFile) throw new Error(`${name}: model file not found`);
    const base = name.slice(name.lastIndexOf("/") + 1);
    const key = base.replace(/\.model$/, "");
    return {
      key,
      path: name,
      scoringPath: scoringBeside(name, key),
      kind: "file",
      name,
    };
  }
  if (KEY.test(name)) {
    const path = `${cache}/models/${name}.model`;
    if (!await exists(path)) {
      throw new Error(`model ${name}: no ${path} (is --cache right?)`);
    }
    return {
      key: name,
      path,
      scoringPath: scoringBeside(path, name),
      kind: "key",
      name,
    };
  }
  const { experiment, config, seed } = parseUnitName(name);
  const results = lookup.results ?? resultsFolder(lookup.profile ?? "quick");
  const dir = `${results}/${experiment}`;
  let units: UnitFile[];
  try {
    units = await unitFiles(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    const there = await experimentsIn(results);
    throw new Error(
      `model "${name}": no experiment ${experiment} in ${results}/ (${
        there.length
          ? `experiments there: ${there.join(", ")}`
          : "no results there; run the experiment first, or give --profile / --results"
      })`,
    );
  }
  const want = configFileName(config);
  const hits = units.filter((u) =>
    u.config === want && (seed === undefined || u.seed === seed)
  );
  if (hits.length === 0) {
    throw new Error(
      `model "${name}": no unit ${config}${
        seed === undefined ? "" : ` seed ${seed}`
      } in ${dir}/ (${
        units.length ? `there: ${listUnits(units)}` : "no unit files there"
      })`,
    );
  }
  if (hits.length > 1) {
    throw new Error(
      `model "${name}" matches ${hits.length} units in ${dir}/: ${
        hits.map((u) => unitLabel(experiment, u)).join(", ")
      }; add :seedK`,
    );
  }
  const hit = hits[0];
  let key: unknown;
  try {
    key = JSON.parse(await Deno.readTextFile(hit.file)).model;
  } catch (e) {
    throw new Error(
      `${hit.file}: not a unit result file (${(e as Error).message})`,
    );
  }
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new Error(`${hit.file}: no model key (field "model")`);
  }
  const path = `${cache}/models/${key}.model`;
  if (!await exists(path)) {
    throw new Error(
      `model "${name}": ${hit.file} names model ${key}, but ${path} does not exist ` +
        `(a unit that combines other units' features, such as the final system's patch sets, ` +
        `has no model of its own; a diverged training has none; else is --cache right?)`,
    );
  }
  return {
    key,
    path,
    scoringPath: scoringBeside(path, key),
    kind: "unit",
    unit: { experiment, config: hit.config, seed: hit.seed, file: hit.file },
    name,
  };
}

/**
 * Checks that an output file can be written where it is asked for: its
 * folder must exist (the atomic writers would create it). Throws an error
 * naming the path.
 */
export async function checkOutputPath(
  path: string,
  flag = "--out",
): Promise<void> {
  if (!path) throw new Error(`${flag} FILE is required`);
  const dir = path.includes("/")
    ? path.slice(0, path.lastIndexOf("/")) || "/"
    : ".";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${flag} ${path}: folder ${dir} does not exist`);
    }
    throw e;
  }
  if (!info.isDirectory) {
    throw new Error(`${flag} ${path}: ${dir} is not a folder`);
  }
  try {
    if ((await Deno.stat(path)).isDirectory) {
      throw new Error(`${flag} ${path}: is a folder`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

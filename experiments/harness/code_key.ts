/**
 * Cache keys from the code itself. A trained model is reused only while
 * every module that training runs is unchanged, and a configuration's
 * results only while every module its experiment script runs is unchanged.
 * Which modules those are is read from the import statements, transitively,
 * so a file added anywhere under `lib/` or `datasets/` (any depth) is
 * covered as soon as something imports it: no hand-kept list to go stale.
 *
 * @module
 */
import { sha256Hex } from "../../lib/base/io.ts";

/** The repository root (this file is `experiments/harness/code_key.ts`). */
export const REPO_ROOT: URL = new URL("../../", import.meta.url);

/** The modules whose code decides a trained model's numbers. */
export const TRAINING_ENTRIES = [
  "lib/train/train.ts",
  "lib/nn/model.ts",
  "lib/engine/backend.ts",
];

/**
 * Files that run without being imported, by the module that loads them: the
 * C sources of our own TensorFlow kernels (compiled by `make tensorflow`,
 * opened with `Deno.dlopen`) and the wasm text of the wasm kernels' loops
 * (assembled at start-up). Each counts wherever its loader does.
 */
export const RUNTIME_SOURCES: Readonly<
  Record<string, { dir: string; names: RegExp }>
> = {
  "lib/engine/native_kernels.ts": {
    dir: "lib/engine/native/",
    names: /\.[ch]$/,
  },
  "lib/engine/heap_simd.ts": { dir: "lib/engine/", names: /^heap_simd\.wat$/ },
};

// Static imports and re-exports (`from "./x.ts"`), and dynamic imports of a
// literal path (`import("./x.ts")`): the local ones start with "." .
const IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+\.ts)["']/gm;

/**
 * Every local module `entries` import, transitively, themselves included:
 * paths relative to `root`, sorted.
 *
 * @example
 * ```ts
 * const files = await importClosure(["lib/train/train.ts"]);
 * // ["lib/base/io.ts", ..., "lib/train/train.ts"]
 * ```
 */
export async function importClosure(
  entries: string[],
  root: URL = REPO_ROOT,
): Promise<string[]> {
  const seen = new Set<string>();
  const rootPath = new URL(root).pathname;
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const url = new URL(file, root);
    const loads = RUNTIME_SOURCES[file];
    if (loads) {
      for await (const e of Deno.readDir(new URL(loads.dir, root))) {
        if (e.isFile && loads.names.test(e.name)) seen.add(loads.dir + e.name);
      }
    }
    // Comment lines (JSDoc examples) are not imports.
    const text = (await Deno.readTextFile(url)).split("\n")
      .filter((line) => !/^\s*(\*|\/\/)/.test(line)).join("\n");
    for (const m of text.matchAll(IMPORT)) {
      const dep = new URL(m[1], url).pathname;
      if (!dep.startsWith(rootPath)) continue;
      await visit(dep.slice(rootPath.length));
    }
  };
  for (const e of entries) await visit(e);
  return [...seen].sort();
}

const hashes = new Map<string, Promise<string>>();

/**
 * A 16-hex-digit hash of the path and text of every module in the import
 * closure of `entries`. Read once per process and root, so edits during a run
 * do not change it.
 */
export function codeHash(
  entries: string[],
  root: URL = REPO_ROOT,
): Promise<string> {
  const k = `${root.href}\n${entries.join("\n")}`;
  if (!hashes.has(k)) {
    hashes.set(
      k,
      (async () => {
        let all = "";
        for (const f of await importClosure(entries, root)) {
          all += f + "\n" + await Deno.readTextFile(new URL(f, root)) + "\n";
        }
        return (await sha256Hex(all)).slice(0, 16);
      })(),
    );
  }
  return hashes.get(k)!;
}

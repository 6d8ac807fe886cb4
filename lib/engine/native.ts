/**
 * Loading the native TensorFlow backends (tfjs-node, tfjs-node-gpu).
 *
 * They are Node-API addons built for libtensorflow 2.9.1; the CPU build runs
 * 2.18.0 by default (tfjs-node 4.22's binding builds against it; `make
 * tensorflow LIBTENSORFLOW=2.9.1` for 2.9.1; models of each library get
 * their own cache keys), the GPU build 2.9.1; `make tensorflow` /
 * `make tensorflow-gpu` (`lib/engine/native/build.sh`) install them into
 * `.tensorflow/cpu/` and `.tensorflow/gpu/`, either through the package's own
 * install script or, where its download host is out of reach, with
 * libtensorflow taken from TensorFlow's Python wheel. Deno loads the addon
 * through its Node-API support (needs `--allow-ffi`, part of `-A`).
 *
 * The package is loaded with `require` from its install folder, whose
 * `@tensorflow/tfjs*` dependencies the build links to the project's own
 * `node_modules`, so it registers the `tensorflow` backend and its kernels in
 * the same tfjs-core instance as `lib/engine/tf.ts`; that is checked here.
 *
 * Only one libtensorflow can live in a process (both builds have the same
 * sonames): once the GPU build is loaded it also serves `tensorflow` (with
 * TensorFlow 2.9.1's CPU kernels, and without our own), and the CPU build
 * cannot be swapped for the GPU one.
 *
 * @module
 */
import { createRequire } from "node:module";
import nodeUtil from "node:util";
import { tf } from "./tf.ts";

/** Which native package. */
export type NativeKind = "tensorflow" | "tensorflow-gpu";

/** What `make tensorflow[-gpu]` writes to `.tensorflow/<cpu|gpu>.json`. */
export interface NativeManifest {
  kind: "cpu" | "gpu";
  /** `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu`. */
  package: string;
  /** The package folder, relative to `.tensorflow/`. */
  packageDir: string;
  /** tfjs version (4.22.0). */
  tfjs: string;
  /** libtensorflow version (2.18.0 or 2.9.1 for the CPU build, 2.9.1 for the GPU one). */
  libtensorflow: string;
  /** `npm` (the package's install script) or `wheel` (libtensorflow from PyPI). */
  route: string;
}

/** Where `make tensorflow` installs, beside the repository's `lib/`. */
export const NATIVE_DIR = new URL("../../.tensorflow/", import.meta.url);

/** The process-wide state: at most one libtensorflow is ever loaded. */
let loaded:
  | {
    kind: NativeKind;
    manifest: NativeManifest;
    gpu: boolean;
    /** Set when the library loaded but is not usable. */
    error?: string;
  }
  | undefined;

function subdir(kind: NativeKind): "cpu" | "gpu" {
  return kind === "tensorflow-gpu" ? "gpu" : "cpu";
}

/** Reads the install manifest, or `undefined` when the kind is not installed. */
export function nativeManifest(kind: NativeKind): NativeManifest | undefined {
  try {
    const text = Deno.readTextFileSync(
      new URL(`${subdir(kind)}.json`, NATIVE_DIR),
    );
    return JSON.parse(text) as NativeManifest;
  } catch {
    return undefined;
  }
}

/** The manifest of the libtensorflow loaded in this process, if any. */
export function loadedNative():
  | { kind: NativeKind; manifest: NativeManifest; gpu: boolean }
  | undefined {
  return loaded && !loaded.error ? loaded : undefined;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}

/** Checks that the links to the project's @tensorflow packages resolve. */
function checkLinks(pkgDir: URL): string | null {
  const scope = new URL("../", pkgDir);
  for (const entry of Deno.readDirSync(scope)) {
    if (!entry.isSymlink) continue;
    try {
      Deno.realPathSync(new URL(entry.name, scope));
    } catch {
      return `the project's node_modules/@tensorflow/${entry.name} is missing ` +
        "(run `deno install`)";
    }
  }
  return null;
}

/**
 * Tries to load a native backend package, which registers the `tensorflow`
 * backend with the project's tfjs-core as a side effect.
 *
 * @returns `null` when it loaded, otherwise the one-line reason it did not.
 */
export async function loadNative(kind: NativeKind): Promise<string | null> {
  if (loaded) {
    if (loaded.error) return `${kind}: ${loaded.error}`;
    if (kind === "tensorflow-gpu" && !loaded.gpu) {
      return loaded.kind === "tensorflow-gpu"
        ? `${kind}: libtensorflow ${loaded.manifest.libtensorflow} found no ` +
          "usable CUDA GPU"
        : `${kind}: the CPU build is already loaded in this process`;
    }
    return null;
  }
  const manifest = nativeManifest(kind);
  if (!manifest) return `${kind}: not installed (run \`make ${kind}\`)`;
  if (
    kind === "tensorflow-gpu" && Deno.build.os === "linux" &&
    !existsSync("/proc/driver/nvidia/version")
  ) {
    return `${kind}: no NVIDIA driver on this machine ` +
      "(/proc/driver/nvidia/version is missing)";
  }
  const pkgDir = new URL(`${manifest.packageDir}/`, NATIVE_DIR);
  const links = checkLinks(pkgDir);
  if (links) return `${kind}: ${links}`;
  // TensorFlow's C++ INFO lines (oneDNN notices) on load; warnings stay.
  if (Deno.env.get("TF_CPP_MIN_LOG_LEVEL") === undefined) {
    Deno.env.set("TF_CPP_MIN_LOG_LEVEL", "1");
  }
  // TensorFlow 2.9 turns its oneDNN kernels on by default only on CPUs with
  // AVX-512 neural-network instructions; on an AVX2-only host they trained
  // ~1.45x faster (342-361 -> 511-522 img/s, batch 64, bench, interleaved).
  // Read by TensorFlow when it first runs an op, so it is set before the
  // library loads; a user's own setting (0 or 1) wins.
  if (Deno.env.get("TF_ENABLE_ONEDNN_OPTS") === undefined) {
    Deno.env.set("TF_ENABLE_ONEDNN_OPTS", "1");
  }
  // tfjs-node 4.22 calls util.isNullOrUndefined, which Node deprecated and
  // Deno's node:util does not have (nor has Node since 23).
  const util = nodeUtil as unknown as Record<string, unknown>;
  if (typeof util.isNullOrUndefined !== "function") {
    util.isNullOrUndefined = (v: unknown) => v === null || v === undefined;
  }
  // Not tf.getBackend(): with none set yet, that would initialise one.
  const previous = (tf.engine() as unknown as { backendName?: string })
    .backendName;
  let exports: { Tensor?: unknown };
  try {
    const require = createRequire(new URL("package.json", pkgDir));
    exports = require(manifest.package);
  } catch (e) {
    return `${kind}: ${manifest.package} failed to load: ${firstLine(e)}`;
  }
  const backend = tf.findBackend("tensorflow") as unknown as
    | { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } }
    | null;
  const version = backend?.binding?.TF_Version;
  const gpu = backend?.isUsingGpuDevice === true;
  loaded = { kind, manifest, gpu };
  // The package selects its backend on import; leave that to the caller.
  if (previous && previous !== "tensorflow") await tf.setBackend(previous);
  if (!backend || exports.Tensor !== tf.Tensor) {
    // tfjs keeps its engine in a global, so a second tfjs-core copy would
    // half work, with every kernel registered twice: refuse it.
    loaded.error = `${manifest.package} loaded its own copy of ` +
      "@tensorflow/tfjs-core, not the project's (run `make " + kind +
      "` again after `deno install`)";
  } else if (version !== manifest.libtensorflow) {
    loaded.error = `the addon reports libtensorflow ${version}, expected ` +
      manifest.libtensorflow;
  }
  if (loaded.error) return `${kind}: ${loaded.error}`;
  if (kind === "tensorflow-gpu" && !gpu) {
    return `${kind}: libtensorflow ${version} found no usable CUDA GPU ` +
      "(TF_CPP_MIN_LOG_LEVEL=0 shows which CUDA 11 / cuDNN 8 library is missing)";
  }
  return null;
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

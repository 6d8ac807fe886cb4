/**
 * Helpers shared by the test files: backend switching (with the
 * formulations each backend runs), numeric asserts, seeded tensors.
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { activateBackend } from "./engine/backend.ts";
import { type FastPaths, fastPathsFor } from "./engine/fast_paths.ts";
import { installNativeKernels } from "./engine/native_kernels.ts";
import { Rng } from "./base/rng.ts";
import { tf } from "./engine/tf.ts";
import { installWasmKernels, installWasmSimd } from "./engine/wasm_kernels.ts";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

/** Switches the process to a tfjs backend for the following test code. */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (name === "wasm") installWasmKernels();
  await activateBackend(name);
  assertStrict.equal(tf.getBackend(), name);
  // Our wasm kernels' SIMD loops, as initBackend loads them.
  if (name === "wasm") assertStrict.equal(await installWasmSimd(), null);
}

/** Asserts a condition with a message. */
export function assert(
  cond: unknown,
  message = "assertion failed",
): asserts cond {
  assertStrict.ok(cond, message);
}

/** Asserts two numeric arrays agree within `tol` (absolute, scaled by max(1, |b|)). */
export function assertAllClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol = 1e-5,
): void {
  assertStrict.equal(a.length, b.length, `length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(err <= tol)) {
      throw new Error(`element ${i}: ${a[i]} vs ${b[i]} (tolerance ${tol})`);
    }
  }
}

/** The backends the native tests compare. */
export type TestBackend = "tensorflow" | "wasm" | "cpu";

/**
 * Switches the process to a backend and returns the formulations
 * `initBackend` picks there: on `tensorflow` (loaded by `loadNative` first)
 * with the native kernels that pass their start-up check.
 */
export async function onBackend(
  name: TestBackend,
): Promise<Readonly<FastPaths>> {
  if (name !== "tensorflow") {
    await useBackend(name);
    return fastPathsFor(name);
  }
  await activateBackend("tensorflow");
  assertStrict.equal(tf.getBackend(), "tensorflow");
  return Object.freeze({
    ...fastPathsFor("tensorflow"),
    ...await installNativeKernels(),
  });
}

/**
 * Runs `fn` on each backend with that backend's formulations and checks it
 * leaves no tensor behind; its results, in the order of `names`.
 */
export async function across<T>(
  names: TestBackend[],
  fn: (paths: Readonly<FastPaths>) => Promise<T> | T,
): Promise<T[]> {
  const out: T[] = [];
  for (const n of names) {
    const paths = await onBackend(n);
    const before = tf.memory().numTensors;
    out.push(await fn(paths));
    assertStrict.equal(tf.memory().numTensors, before, `${n}: tensors leaked`);
  }
  return out;
}

/**
 * Asserts max |a - b| / max |b| <= `tol` (both finite), with an error that
 * names what differs; returns the ratio (printed with NATIVE_TEST_VERBOSE=1).
 */
export function assertRelClose(
  what: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
): number {
  assertStrict.equal(a.length, b.length, `${what}: length`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`${what}: ${a[i]} at ${i}`);
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  const rel = diff / Math.max(scale, 1e-12);
  if (!(rel <= tol)) {
    throw new Error(
      `${what}: the two differ by ${rel.toExponential(2)} ` +
        `of the largest magnitude ${scale.toExponential(2)} (tolerance ${tol})`,
    );
  }
  if (Deno.env.get("NATIVE_TEST_VERBOSE")) {
    console.log(`${what}: ${rel.toExponential(2)}`);
  }
  return rel;
}

/** A tensor of seeded standard normal values. */
export function randn(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

/** The values of `ts`, which are disposed. */
export async function arrays(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = [];
  for (const t of ts) out.push(await t.data() as Float32Array);
  tf.dispose(ts);
  return out;
}

/**
 * Runs a probe script (`lib/engine/_*_probe.ts`) in a fresh process with
 * `env` and returns the JSON of its last output line; fails the test with
 * its stderr if it exits with an error.
 */
export async function runProbe<T>(
  script: URL,
  env: Record<string, string>,
): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fromFileUrl(script)],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertStrict.equal(
    out.code,
    0,
    `${script.pathname} with ${JSON.stringify(env)} failed: ${
      new TextDecoder().decode(out.stderr)
    }`,
  );
  const text = new TextDecoder().decode(out.stdout);
  return JSON.parse(text.trim().split("\n").at(-1)!) as T;
}

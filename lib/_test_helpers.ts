/**
 * Helpers shared by the test files: backend switching and numeric asserts.
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import { activateBackend } from "./engine/backend.ts";
import { tf } from "./engine/tf.ts";
import { installWasmKernels } from "./engine/wasm_kernels.ts";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";

/** Switches the process to a tfjs backend for the following test code. */
export async function useBackend(name: "cpu" | "wasm"): Promise<void> {
  if (name === "wasm") installWasmKernels();
  await activateBackend(name);
  assertStrict.equal(tf.getBackend(), name);
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

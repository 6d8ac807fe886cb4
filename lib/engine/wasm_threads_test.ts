import assertStrict from "node:assert/strict";
import { runProbe } from "../_test_helpers.ts";
import { MAX_WASM_THREADS, wasmThreadsWanted } from "./wasm_threads.ts";

const probe = new URL("../train/_wasm_threads_probe.ts", import.meta.url);

/** Runs the probe in a fresh process with `DEEPID2_WASM_THREADS=threads`. */
function runThreadsProbe(threads: string) {
  return runProbe<{ threads: number; fallback: string | null; sha256: string }>(
    probe,
    { DEEPID2_WASM_THREADS: threads },
  );
}

Deno.test("wasm threads: two threads train to the same bits as one, and the threaded build starts", async () => {
  const one = await runThreadsProbe("1");
  const two = await runThreadsProbe("2");
  assertStrict.equal(one.threads, 1);
  assertStrict.equal(two.fallback, null, `fell back: ${two.fallback}`);
  assertStrict.equal(two.threads, 2);
  assertStrict.equal(two.sha256, one.sha256);
});

Deno.test("wasmThreadsWanted: DEEPID2_WASM_THREADS is checked; unset means every core", () => {
  const saved = Deno.env.get("DEEPID2_WASM_THREADS");
  try {
    Deno.env.set("DEEPID2_WASM_THREADS", "3");
    assertStrict.equal(wasmThreadsWanted(), 3);
    for (const bad of ["0", "1.5", "x", String(MAX_WASM_THREADS + 1)]) {
      Deno.env.set("DEEPID2_WASM_THREADS", bad);
      assertStrict.throws(
        () => wasmThreadsWanted(),
        /DEEPID2_WASM_THREADS=.*whole number of threads from 1 to 8/,
      );
    }
    Deno.env.delete("DEEPID2_WASM_THREADS");
    const n = wasmThreadsWanted();
    assertStrict.ok(n >= 1 && n <= MAX_WASM_THREADS);
  } finally {
    if (saved === undefined) Deno.env.delete("DEEPID2_WASM_THREADS");
    else Deno.env.set("DEEPID2_WASM_THREADS", saved);
  }
});

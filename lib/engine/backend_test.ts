import assertStrict from "node:assert/strict";
import { BACKENDS, initBackend, parseBackend } from "./backend.ts";
import { tf } from "./tf.ts";

Deno.test("parseBackend: an unknown name lists the valid ones", () => {
  assertStrict.throws(
    () => parseBackend("gpu"),
    /unknown backend "gpu"; valid backends: auto, tensorflow-gpu, tensorflow, wasm, cpu/,
  );
  for (const b of BACKENDS) assertStrict.equal(parseBackend(b), b);
});

Deno.test("initBackend: wasm runs wasm (not a silent cpu fallback); auto says what it skipped", async () => {
  const info = await initBackend("wasm", { quiet: true });
  assertStrict.equal(info.name, "wasm");
  assertStrict.equal(tf.getBackend(), "wasm");
  const auto = await initBackend("auto", { quiet: true });
  // Without libtensorflow installed, auto skips the native backends with a reason each.
  if (auto.name === "wasm") {
    assertStrict.equal(auto.skipped.length, 2);
    assertStrict.match(auto.skipped[0], /tensorflow-gpu/);
  }
  await assertStrict.rejects(() => initBackend("nope"), /valid backends/);
});

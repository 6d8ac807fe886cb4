import assert from "node:assert/strict";
import {
  benchPytorch,
  type BenchResult,
  compareRounds,
  type PeerResult,
  profileKernels,
} from "./bench.ts";

const ours = (train: number, extract: number): BenchResult => ({
  backend: "tensorflow",
  batch: 64,
  input: "55x47x3",
  identities: 1000,
  train_img_per_s: train,
  extract_img_per_s: extract,
  tensors_leaked: 0,
  paths: [],
  parameters: 1,
  forward_macs_per_image: 1,
  cpu: "test cpu",
  vector_extensions: ["avx2"],
  cores: 2,
});
const peer = (train: number, extract: number): PeerResult => ({
  peer: "pytorch",
  torch: "2.13.0",
  threads: 2,
  batch: 64,
  train_img_per_s: train,
  extract_img_per_s: extract,
});

Deno.test("compareRounds: a ratio per interleaved round and their median", () => {
  const r = compareRounds(
    [ours(500, 1500), ours(400, 1200), ours(450, 1000)],
    [peer(250, 1000), peer(400, 1200), peer(300, 2000)],
  );
  assert.deepEqual(r.train_ratio, [2, 1, 1.5]);
  assert.equal(r.train_ratio_median, 1.5);
  assert.deepEqual(r.extract_ratio, [1.5, 1, 0.5]);
  assert.equal(r.extract_ratio_median, 1);
  assert.equal(r.compare, "tensorflow vs pytorch 2.13.0 (2 thread(s))");
  assert.deepEqual(r.vector_extensions, ["avx2"]);
});

Deno.test("benchPytorch: a missing Python is a one-line error naming it", async () => {
  await assert.rejects(
    benchPytorch("/nonexistent/python3", {
      threads: 1,
      batch: 2,
      identities: 2,
      steps: 1,
    }),
    /--vs-pytorch: cannot run "\/nonexistent\/python3"/,
  );
});

Deno.test("profileKernels: the step's kernels by time, summing to no more than the step", async () => {
  const { initBackend } = await import("../lib/engine/backend.ts");
  const info = await initBackend("wasm", { quiet: true });
  const p = await profileKernels({
    batch: 4,
    identities: 8,
    steps: 2,
    backend: info.name,
    paths: info.paths,
    top: 5,
  });
  assert.equal(p.kernels.length, 5);
  const ms = p.kernels.map((k) => k.ms_per_step);
  assert.deepEqual(ms, [...ms].sort((a, b) => b - a), "largest first");
  assert.ok(p.kernels.every((k) => k.calls_per_step > 0));
  assert.ok(p.kernel_ms_per_step > 0);
  assert.ok(
    p.kernel_ms_per_step <= p.step_ms * 1.05,
    `kernels ${p.kernel_ms_per_step} ms of a ${p.step_ms} ms step`,
  );
});

/**
 * Test fixture of the model tools (`features_test.ts`, `verify_test.ts`,
 * `export_test.ts`): a tiny untrained DeepID2 saved in a temp cache as a
 * unit's model would be, with the unit's result file and a scoring file,
 * and a way to run a tool's `main` in-process with its output captured.
 *
 * @module
 */
import { Rng } from "../lib/base/rng.ts";
import { writeScoringFile } from "../lib/eval/scoring_file.ts";
import {
  createDeepID2,
  defaultModelConfig,
  disposeModel,
  type ModelConfig,
  saveModel,
} from "../lib/nn/model.ts";
import { useBackend } from "../lib/_test_helpers.ts";

/** The tiny data set of the data-layer tests (CelebA and LFW formats). */
export const TINY_DATA: string =
  new URL("../datasets/testdata/tiny", import.meta.url)
    .pathname;

/** The fixture's files. */
export interface ModelFixture {
  dir: string;
  cache: string;
  results: string;
  key: string;
  modelPath: string;
  /** The unit name that resolves to it. */
  unit: string;
  /** Flags that look the unit up in the fixture. */
  lookup: string[];
  config: ModelConfig;
}

/**
 * A temp folder with `cache/models/<key>.model` (an untrained network of
 * `config`, 10 identities by default), `results/joint_lambda/lambda=0.05_seed1.json`
 * naming it and, unless `scoring: false`, its scoring file (fitted on
 * random clustered features; its thresholds mean nothing).
 */
export async function modelFixture(
  options: { config?: ModelConfig; scoring?: boolean; seed?: number } = {},
): Promise<ModelFixture> {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir({ prefix: "deepid2-model-" });
  const cache = `${dir}/cache`, results = `${dir}/results`;
  const config = options.config ?? defaultModelConfig(10);
  const key = (options.seed ?? 1).toString(16).padStart(24, "0");
  const net = createDeepID2(config, options.seed ?? 1);
  const modelPath = `${cache}/models/${key}.model`;
  await saveModel(net, modelPath);
  disposeModel(net);
  await Deno.mkdir(`${results}/joint_lambda`, { recursive: true });
  await Deno.writeTextFile(
    `${results}/joint_lambda/lambda=0.05_seed1.json`,
    JSON.stringify({ key: "r", model: key, status: "ok" }),
  );
  if (options.scoring !== false) {
    const d = config.deepid2Dim;
    const rng = new Rng(5);
    const rows = 40;
    const labels = Int32Array.from({ length: rows }, (_, i) => i % 8);
    const centres = Array.from(
      { length: 8 },
      () => Float32Array.from({ length: d }, () => Math.abs(rng.normal())),
    );
    const feats = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < d; k++) {
        feats[i * d + k] = Math.max(
          0,
          centres[labels[i]][k] + 0.3 * rng.normal(),
        );
      }
    }
    const [h, w, c] = config.inputShape;
    await writeScoringFile(cache, {
      model: key,
      crop: { height: h, width: w, gray: c === 1 },
      dim: d,
      pcaDim: 8,
      heldOutFeatures: feats,
      heldOutLabels: labels,
      validationFeatures: feats,
      // Odd rows with the row 8 on (same identity), even with the next (another).
      validationPairs: Array.from({ length: 20 }, (_, a) => {
        const b = a % 2 ? a + 8 : a + 1;
        return { fold: a % 10, same: labels[a] === labels[b], a, b };
      }),
    });
  }
  return {
    dir,
    cache,
    results,
    key,
    modelPath,
    unit: "joint_lambda:lambda=0.05:seed1",
    lookup: ["--results", results, "--cache", cache],
    config,
  };
}

/** A tool's `main` run in-process: its exit status and what it printed. */
export async function runMain(
  main: (args: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** The files in a folder (to check that a failed run left none). */
export async function filesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/**
 * `deno task bench [--backend B] [--batch 64] [--identities 1000] [--steps 10]
 * [--vs-pytorch PYTHON [--torch-threads 2] [--rounds 3]] [--kernels N]`
 *
 * Throughput of the real DeepID2 network (locally shared layers included):
 * one full joint training step (forward, backward through both branches,
 * SGD update, softmax over `--identities`) and feature extraction, plus data
 * preparation (decode + align + crop, images/s) and evaluation timings (the
 * 10-fold protocol on 6000 pairs, Joint Bayesian on 20,000 x 180). Prints one
 * JSON line. `--model-only` skips preparation and evaluation.
 * `--vs-pytorch PYTHON` times instead the training step and extraction
 * against this repository's PyTorch reference of the same network and step
 * (`experiments/peers/deepid2_torch.py`), interleaved round by round in the
 * same run, and prints the ratios: the only speed comparison that holds
 * across hosts. `--kernels N` profiles the training steps instead and
 * prints the N kernels that take the most time per step (and, with
 * `--vs-pytorch`, PyTorch's N ops with the most self time): what bounds the
 * step on a host.
 *
 * @module
 */
import {
  type FlagTable,
  parseCommandLine,
  usage,
  UsageError,
} from "../lib/base/cli.ts";
import { benchPrepare } from "../datasets/mod.ts";
import { benchEvaluation } from "../lib/eval/bench.ts";
import { BACKENDS, initBackend } from "../lib/engine/backend.ts";
import type { FastPaths } from "../lib/engine/fast_paths.ts";
import {
  countParams,
  createDeepID2,
  defaultModelConfig,
  extractFeatures,
} from "../lib/nn/model.ts";
import { forwardMultiplyAdds } from "../lib/nn/cost.ts";
import { productsIsa } from "../lib/engine/native_kernels.ts";
import { Rng } from "../lib/base/rng.ts";
import { tf } from "../lib/engine/tf.ts";
import { DEFAULT_TRAIN, train } from "../lib/train/train.ts";

/** Measured throughput. */
export interface BenchResult {
  backend: string;
  batch: number;
  input: string;
  identities: number;
  train_img_per_s: number;
  extract_img_per_s: number;
  tensors_leaked: number;
  /** The formulations in force (`lib/engine/fast_paths.ts`), e.g. `batchedRegions`. */
  paths: string[];
  /** The network measured: trainable parameters and forward multiply-adds per image. */
  parameters: number;
  forward_macs_per_image: number;
  /** wasm only: the threads XNNPACK ran on (`DEEPID2_WASM_THREADS`). */
  wasm_threads?: number;
  /**
   * tensorflow only: the vector path of our own kernels
   * (`lib/engine/native/`: avx512, avx2 or scalar; `DEEPID2_KERNEL_ISA`).
   */
  kernels_isa?: string;
  /** The host: CPU model, the vector extensions that matter here, cores. */
  cpu: string;
  vector_extensions: string[];
  cores: number;
}

/** CPU model and vector extensions (Linux `/proc/cpuinfo`; "unknown" elsewhere). */
export function hostInfo(): { cpu: string; vector_extensions: string[] } {
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/cpuinfo");
  } catch {
    return { cpu: "unknown", vector_extensions: [] };
  }
  const field = (name: string) =>
    new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1].trim() ?? "";
  const flags = new Set(field("flags").split(/\s+/));
  // The extensions whose presence changes which kernels oneDNN, XNNPACK and
  // PyTorch pick (AVX-512 VNNI is what turns TensorFlow 2.9's oneDNN on by itself).
  const wanted = [
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
  ];
  return {
    cpu: field("model name") || "unknown",
    vector_extensions: wanted.filter((f) => flags.has(f)),
  };
}

/** What the model benchmark and the kernel profile run. */
export interface ModelBenchOptions {
  /** Images per training step (pairs × 2). */
  batch: number;
  /** Softmax size. */
  identities: number;
  /** Timed (or profiled) steps. */
  steps: number;
  /** The formulations to run (`initBackend(...).paths`); portable if omitted. */
  paths?: Readonly<FastPaths>;
  /** wasm: the threads it runs on (`initBackend(...).wasm.threads`), reported. */
  wasmThreads?: number;
}

/**
 * The benchmark's network, random faces (4 per identity) and training
 * config, after two warm-up steps (kernel initialisation).
 */
async function warmedUp(options: ModelBenchOptions) {
  const cfg = defaultModelConfig(options.identities);
  const [h, w, c] = cfg.inputShape;
  const n = options.identities * 4;
  const rng = new Rng(7);
  const images = new Uint8Array(n * h * w * c).map(() => rng.int(256));
  const labels = Int32Array.from(
    { length: n },
    (_, i) => i % options.identities,
  );
  const net = createDeepID2(cfg, 1, { paths: options.paths });
  const tcfg = {
    ...DEFAULT_TRAIN,
    steps: options.steps + 2,
    pairsPerBatch: options.batch / 2,
    checkpointEvery: 0,
  };
  const data = { images, shape: cfg.inputShape, labels };
  await train(net, data, { ...tcfg, steps: 2 }, { progressLabel: null });
  return { cfg, net, data, tcfg, n };
}

/** Runs the model benchmark on the current backend. */
export async function benchModel(
  options: ModelBenchOptions & { backend: string },
): Promise<BenchResult> {
  const { cfg, net, data, tcfg, n } = await warmedUp(options);
  const [h, w, c] = cfg.inputShape;
  const { images } = data;
  const before = tf.memory().numTensors;
  const r = await train(net, data, tcfg, {
    progressLabel: null,
    stopAfter: options.steps,
  });
  const leaked = tf.memory().numTensors - before;
  await extractFeatures(
    net,
    images.subarray(0, 256 * h * w * c),
    cfg.inputShape,
  );
  const t0 = performance.now();
  const m = Math.min(n, 1024);
  await extractFeatures(net, images.subarray(0, m * h * w * c), cfg.inputShape);
  const ex = m / ((performance.now() - t0) / 1000);
  const parameters = countParams(net);
  for (const v of net.params.values()) v.dispose();
  return {
    backend: options.backend,
    batch: options.batch,
    input: `${h}x${w}x${c}`,
    identities: options.identities,
    train_img_per_s: Math.round(r.imagesPerSecond * 10) / 10,
    extract_img_per_s: Math.round(ex * 10) / 10,
    tensors_leaked: leaked,
    paths: Object.entries(net.paths).filter(([, on]) => on).map(([k]) => k),
    parameters,
    forward_macs_per_image: forwardMultiplyAdds(cfg),
    ...(options.wasmThreads ? { wasm_threads: options.wasmThreads } : {}),
    ...(productsIsa() ? { kernels_isa: productsIsa()! } : {}),
    ...hostInfo(),
    cores: navigator.hardwareConcurrency || 1,
  };
}

/** One kernel's share of a profiled training step. */
export interface KernelTime {
  name: string;
  calls_per_step: number;
  ms_per_step: number;
}

/** A profiled training step: its wall time and the kernels that took it. */
export interface KernelProfile {
  backend: string;
  batch: number;
  step_ms: number;
  /** The sum over every kernel; the rest of `step_ms` is outside kernels (JS, data). */
  kernel_ms_per_step: number;
  kernels: KernelTime[];
}

/**
 * Profiles `steps` training steps (after the same warm-up as
 * {@linkcode benchModel}) by timing every kernel with `performance.now()`
 * around it: on tensorflow each TensorFlow op the addon executes (its
 * `executeOp`, so the ops run without a tfjs kernel, the SGD update's and
 * variable reads, count too), elsewhere each tfjs kernel. Both run kernels
 * synchronously on the CPU, so a kernel's time is its wall time. Summed by
 * name; the `top` largest. (`tf.profile`, used before, adds bookkeeping per
 * kernel that lengthened the profiled step by about a fifth.)
 */
export async function profileKernels(
  options: ModelBenchOptions & { backend: string; top: number },
): Promise<KernelProfile> {
  const { net, data, tcfg } = await warmedUp(options);
  const by = new Map<string, { calls: number; ms: number }>();
  const record = (name: string, t0: number) => {
    const e = by.get(name) ?? { calls: 0, ms: 0 };
    by.set(name, { calls: e.calls + 1, ms: e.ms + performance.now() - t0 });
  };
  const restore: (() => void)[] = [];
  const backend = tf.backend() as unknown as { binding?: object };
  const native = backend.binding;
  if (tf.getBackend().startsWith("tensorflow") && native) {
    // The addon's exports are read-only: the backend gets a stand-in that
    // times `executeOp` and inherits everything else.
    const executeOp = (native as {
      executeOp: (name: string, ...rest: unknown[]) => unknown;
    }).executeOp;
    backend.binding = Object.create(native, {
      executeOp: {
        value: (name: string, ...rest: unknown[]) => {
          const t0 = performance.now();
          try {
            return executeOp.call(native, name, ...rest);
          } finally {
            record(name, t0);
          }
        },
      },
    });
    restore.push(() => backend.binding = native);
  } else {
    for (const k of tf.getKernelsForBackend(tf.getBackend())) {
      tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel({
        ...k,
        kernelFunc: (args) => {
          const t0 = performance.now();
          try {
            return k.kernelFunc(args);
          } finally {
            record(k.kernelName, t0);
          }
        },
      });
      restore.push(() => {
        tf.unregisterKernel(k.kernelName, k.backendName);
        tf.registerKernel(k);
      });
    }
  }
  const t0 = performance.now();
  try {
    await train(net, data, tcfg, {
      progressLabel: null,
      stopAfter: options.steps,
    });
  } finally {
    restore.forEach((f) => f());
  }
  const wall = (performance.now() - t0) / options.steps;
  for (const v of net.params.values()) v.dispose();
  const all = [...by].sort((a, b) => b[1].ms - a[1].ms);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    backend: options.backend,
    batch: options.batch,
    step_ms: Math.round(wall * 100) / 100,
    kernel_ms_per_step: Math.round(
      all.reduce((s, [, e]) => s + e.ms, 0) / options.steps * 100,
    ) / 100,
    kernels: all.slice(0, options.top).map(([name, e]) => ({
      name,
      calls_per_step: e.calls / options.steps,
      ms_per_step: r3(e.ms / options.steps),
    })),
  };
}

/** The flags of `deno task bench`: types, defaults and help lines. */
export const BENCH_FLAGS = {
  backend: {
    type: "string",
    arg: BACKENDS.join("|"),
    default: "auto",
    help: "the engine to measure",
  },
  batch: {
    type: "integer",
    arg: "N",
    default: 64,
    help: "images per training step, even (pairs)",
  },
  identities: {
    type: "integer",
    arg: "N",
    default: 1000,
    help: "softmax size (identities)",
  },
  steps: { type: "integer", arg: "N", default: 10, help: "timed steps" },
  "model-only": {
    type: "boolean",
    default: false,
    help: "skip the preparation and evaluation timings",
  },
  "vs-pytorch": {
    type: "string",
    arg: "PYTHON",
    default: "",
    help:
      "also time experiments/peers/deepid2_torch.py with this Python (torch installed), interleaved A B A B, and print the ratios",
  },
  "torch-threads": {
    type: "integer",
    arg: "N",
    default: 2,
    help: "PyTorch's intra-op threads in --vs-pytorch (1 to compare with wasm)",
  },
  rounds: {
    type: "integer",
    arg: "N",
    default: 3,
    help: "interleaved rounds in --vs-pytorch",
  },
  kernels: {
    type: "integer",
    arg: "N",
    default: 0,
    help:
      "profile the timed training steps instead and print the N kernels that take the most time (with --vs-pytorch, PyTorch's N ops too)",
  },
} as const satisfies FlagTable;

/** One PyTorch reference measurement (experiments/peers/deepid2_torch.py). */
export interface PeerResult {
  peer: string;
  torch: string;
  threads: number;
  batch: number;
  train_img_per_s: number;
  extract_img_per_s: number;
}

/** Runs the PyTorch reference once with `python`; throws with its stderr if it fails. */
export async function benchPytorch(
  python: string,
  options: {
    threads: number;
    batch: number;
    identities: number;
    steps: number;
    /** Profile instead, and return the top N ops (`kernels` in the JSON). */
    kernels?: number;
  },
): Promise<PeerResult> {
  const script = new URL("./peers/deepid2_torch.py", import.meta.url).pathname;
  let out;
  try {
    out = await new Deno.Command(python, {
      args: [
        script,
        `--threads=${options.threads}`,
        `--batch=${options.batch}`,
        `--identities=${options.identities}`,
        `--steps=${options.steps}`,
        ...(options.kernels ? [`--kernels=${options.kernels}`] : []),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(
      `--vs-pytorch: cannot run "${python}": ${(e as Error).message}`,
    );
  }
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
  if (!out.success || !text) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    throw new Error(
      `--vs-pytorch: ${python} ${script} failed: ${err} (is torch installed? \`${python} -m pip install torch\`)`,
    );
  }
  return JSON.parse(text) as PeerResult;
}

/** The median of a list. */
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Ours against PyTorch, interleaved (ours, PyTorch, ours, PyTorch, ...) in
 * one run, so both see the same host state; ratios per round and their
 * median.
 */
export function compareRounds(
  ours: BenchResult[],
  peer: PeerResult[],
): Record<string, unknown> {
  const ratio = (a: number, b: number) => Math.round(a / b * 100) / 100;
  const train = ours.map((o, i) =>
    ratio(o.train_img_per_s, peer[i].train_img_per_s)
  );
  const extract = ours.map((o, i) =>
    ratio(o.extract_img_per_s, peer[i].extract_img_per_s)
  );
  return {
    compare: `${ours[0].backend}${
      ours[0].wasm_threads ? ` (${ours[0].wasm_threads} thread(s))` : ""
    } vs pytorch ${peer[0].torch} (${peer[0].threads} thread(s))`,
    batch: ours[0].batch,
    ours_train_img_per_s: ours.map((o) => o.train_img_per_s),
    pytorch_train_img_per_s: peer.map((p) => p.train_img_per_s),
    train_ratio: train,
    train_ratio_median: median(train),
    ours_extract_img_per_s: ours.map((o) => o.extract_img_per_s),
    pytorch_extract_img_per_s: peer.map((p) => p.extract_img_per_s),
    extract_ratio: extract,
    extract_ratio_median: median(extract),
    cpu: ours[0].cpu,
    vector_extensions: ours[0].vector_extensions,
    cores: ours[0].cores,
  };
}

const BENCH_COMMAND = "deno task bench [flags]";
const BENCH_EXTRA =
  "Prints one JSON line: training and extraction images/s (and, without\n" +
  "--model-only, data preparation and evaluation timings).";

/** What `deno task bench --help` prints. */
export const BENCH_USAGE: string = usage(
  BENCH_COMMAND,
  BENCH_FLAGS,
  BENCH_EXTRA,
);

async function main() {
  const { values, help } = parseCommandLine(Deno.args, BENCH_FLAGS, {
    command: BENCH_COMMAND,
    extraHelp: BENCH_EXTRA,
  });
  if (help) {
    console.log(BENCH_USAGE);
    return;
  }
  if (!(BACKENDS as readonly string[]).includes(values.backend)) {
    throw new Error(
      `--backend must be one of ${
        BACKENDS.join(", ")
      }, got "${values.backend}"`,
    );
  }
  const batch = values.batch;
  if (batch < 2 || batch % 2) {
    throw new Error(`--batch must be an even integer >= 2, got ${batch}`);
  }
  for (const flag of ["identities", "steps"] as const) {
    if (values[flag] < 1) {
      throw new Error(`--${flag} must be >= 1, got ${values[flag]}`);
    }
  }
  const info = await initBackend(values.backend);
  if (values.kernels > 0) {
    const opts = {
      batch,
      identities: values.identities,
      steps: values.steps,
    };
    const ours = await profileKernels({
      ...opts,
      backend: info.name,
      paths: info.paths,
      top: values.kernels,
    });
    const peer = values["vs-pytorch"]
      ? await benchPytorch(values["vs-pytorch"], {
        ...opts,
        threads: values["torch-threads"],
        kernels: values.kernels,
      })
      : undefined;
    console.log(JSON.stringify({ ours, pytorch: peer, ...hostInfo() }));
    return;
  }
  if (values["vs-pytorch"]) {
    if (values.rounds < 1) {
      throw new Error(`--rounds must be >= 1, got ${values.rounds}`);
    }
    const opts = {
      batch,
      identities: values.identities,
      steps: values.steps,
    };
    const ours: BenchResult[] = [], peer: PeerResult[] = [];
    for (let r = 0; r < values.rounds; r++) {
      ours.push(
        await benchModel({
          ...opts,
          backend: info.name,
          paths: info.paths,
          wasmThreads: info.wasm?.threads,
        }),
      );
      peer.push(
        await benchPytorch(values["vs-pytorch"], {
          ...opts,
          threads: values["torch-threads"],
        }),
      );
      console.error(
        `bench: round ${r + 1}/${values.rounds}: ${info.name} ${
          ours[r].train_img_per_s
        }, pytorch ${peer[r].train_img_per_s} train img/s`,
      );
    }
    console.log(JSON.stringify(compareRounds(ours, peer)));
    return;
  }
  const res = await benchModel({
    batch,
    identities: values.identities,
    steps: values.steps,
    backend: info.name,
    paths: info.paths,
    wasmThreads: info.wasm?.threads,
  });
  const extra = values["model-only"]
    ? {}
    : { ...await benchPrepare(), ...await benchEvaluation() };
  console.log(JSON.stringify({ ...res, ...extra }));
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    // A bad command line: the first line names the flag (the rest is usage).
    const message = e instanceof UsageError
      ? `${e.message.split("\n")[0]} (--help for usage)`
      : (e as Error).message;
    console.error(`bench: ${message}`);
    Deno.exit(1);
  }
}

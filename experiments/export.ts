/**
 * `deno task export`: a trained network's weights as a safetensors file
 * (`lib/nn/safetensors.ts`), for other tools; with `--onnx`, also its
 * features graph as ONNX, exported through the PyTorch version of the
 * network (`experiments/peers/deepid2_torch.py`).
 *
 *   deno task export --model M --out FILE.safetensors [--onnx FILE.onnx]
 *       [--profile P] [--results DIR] [--cache DIR] [--backend B]
 *
 * The safetensors file holds every parameter under our names and in our
 * layouts (`lib/nn/model.ts` `Params`: `conv1/w` .. `conv4/w` as `[banks,
 * kh * kw * cin, cout]`, rows (dy, dx, cin), bank `gi * gw + gj`; `conv<i>/b`
 * `[banks, cout]`; `deepid2/w` `[pool3 + conv4 (each flattened h, w, c),
 * D]`; `deepid2/b`; `softmax/w` `[D, n]`, `softmax/b`), F32, and in
 * `__metadata__`: `model_config` (the `ModelConfig` JSON: the architecture),
 * `crop` (the crop the network sees: height, width, gray, patch), `model_key`,
 * `name` (as given), `layout` and `input` (the two in words), `parameters`.
 * It is read back and checked tensor by tensor, bit for bit, before the
 * command reports success. `deepid2_torch.py` `load_model` maps it to
 * PyTorch's layouts.
 *
 * `--onnx` needs a Python with torch, onnx and onnxruntime
 * ({@linkcode peerPython}: `$DEEPID2_PYTHON`, else `.venv-peer/bin/python`,
 * else `python3`); the ONNX graph's features on a few seeded crops are
 * compared with ours (max abs difference printed; over 1e-4 is an error).
 * A failed run removes what it wrote.
 *
 * @module
 */
import {
  type FlagTable,
  parseToolCommandLine,
  usage,
} from "../lib/base/cli.ts";
import { Rng } from "../lib/base/rng.ts";
import { initBackend } from "../lib/engine/backend.ts";
import { countParams, type DeepID2, extractFeatures } from "../lib/nn/model.ts";
import {
  readSafetensors,
  type SafetensorsData,
  writeSafetensors,
} from "../lib/nn/safetensors.ts";
import { lookupOf, openModel } from "./features.ts";
import {
  checkOutputPath,
  MODEL_LOOKUP_FLAGS,
  resultsFolder,
} from "./harness/model_names.ts";
import type { CropOptions } from "../datasets/types.ts";

/** The flags of `deno task export`. */
export const EXPORT_FLAGS = {
  model: {
    type: "string",
    arg: "M",
    help: "EXPERIMENT:CONFIG:seedK, a model key, or a .model file",
  },
  out: {
    type: "string",
    arg: "FILE.safetensors",
    help: "the weights file to write",
  },
  onnx: {
    type: "string",
    arg: "FILE.onnx",
    help:
      "also write the features graph as ONNX (needs Python with torch, onnx, onnxruntime)",
  },
  ...MODEL_LOOKUP_FLAGS,
  backend: {
    type: "string",
    default: "auto",
    arg: "auto|tensorflow-gpu|tensorflow|wasm|cpu",
    help: "compute backend (for the ONNX check)",
  },
  quiet: { type: "boolean", default: false, help: "no progress lines" },
} as const satisfies FlagTable;

const COMMAND =
  "deno task export --model M --out FILE.safetensors [--onnx FILE.onnx] [flags]";

/** What `deno task export --help` prints. */
export const EXPORT_USAGE: string = usage(COMMAND, EXPORT_FLAGS);

/** The largest max-abs feature difference the ONNX check accepts. */
export const PARITY_TOLERANCE = 1e-4;

/** The peer script: the PyTorch version of the network. */
export const PEER_SCRIPT: string = new URL(
  "./peers/deepid2_torch.py",
  import.meta.url,
).pathname;

const LAYOUT =
  "conv1/w..conv4/w: [banks, kh*kw*cin, cout], rows ordered (dy, dx, cin), bank r = gi*gw + gj " +
  "for block (gi, gj) of the output map (one bank = an ordinary convolution, HWIO flattened); " +
  "conv<i>/b: [banks, cout]; ReLU after each conv, 2x2 max-pooling (floor) after conv1-conv3; " +
  "deepid2/w: [pool3 + conv4, D], x @ w, pool3 and conv4 each flattened (h, w, c); " +
  "deepid2/b: [D], ReLU; softmax/w: [D, n], softmax/b: [n]";

const INPUT =
  "crops [N, H, W, C] (RGB, or one gray channel), uint8 pixel v as v / 127.5 - 1, channels last";

/** The safetensors contents of a network: its parameters and metadata. */
export function exportData(
  net: DeepID2,
  crop: CropOptions,
  info: { key: string; name: string },
): SafetensorsData {
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, v] of net.params) {
    tensors.set(name, {
      shape: [...v.shape],
      values: v.dataSync() as Float32Array,
    });
  }
  return {
    tensors,
    metadata: {
      deepid2_export: "1",
      model_config: JSON.stringify(net.config),
      crop: JSON.stringify(crop),
      model_key: info.key,
      name: info.name,
      layout: LAYOUT,
      input: INPUT,
      parameters: String(countParams(net)),
    },
  };
}

/** Checks that a file read back holds exactly `want` (bit for bit); throws naming the file. */
export function checkSame(
  path: string,
  got: SafetensorsData,
  want: SafetensorsData,
): void {
  const names = [...want.tensors.keys()];
  if (got.tensors.size !== names.length) {
    throw new Error(
      `${path}: read back ${got.tensors.size} tensors, wrote ${names.length}`,
    );
  }
  for (const name of names) {
    const a = got.tensors.get(name), b = want.tensors.get(name)!;
    if (!a || a.shape.join() !== b.shape.join()) {
      throw new Error(
        `${path}: tensor ${name} missing or reshaped on reading back`,
      );
    }
    const ua = new Uint32Array(
      a.values.buffer,
      a.values.byteOffset,
      a.values.length,
    );
    const ub = new Uint32Array(
      b.values.buffer,
      b.values.byteOffset,
      b.values.length,
    );
    for (let i = 0; i < ua.length; i++) {
      if (ua[i] !== ub[i]) {
        throw new Error(
          `${path}: tensor ${name}[${i}] differs on reading back`,
        );
      }
    }
  }
  for (const [k, v] of Object.entries(want.metadata)) {
    if (got.metadata[k] !== v) {
      throw new Error(`${path}: metadata ${k} differs on reading back`);
    }
  }
}

/**
 * The Python to run the PyTorch peer with and whether it imports what is
 * asked for: `$DEEPID2_PYTHON`, else `.venv-peer/bin/python` of this
 * repository, else `python3`. `why` says why not when it cannot.
 */
export async function peerPython(
  modules: string[] = ["torch", "numpy"],
): Promise<{ python: string; why?: string }> {
  const venv = new URL("../.venv-peer/bin/python", import.meta.url).pathname;
  const env = Deno.env.get("DEEPID2_PYTHON");
  let python = "python3";
  if (env) python = env;
  else {
    try {
      await Deno.stat(venv);
      python = venv;
    } catch { /* none: python3 */ }
  }
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", `import ${modules.join(", ")}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(
        -1,
      );
      return {
        python,
        why: `${python} cannot import ${modules.join(", ")}: ${err}`,
      };
    }
  } catch (e) {
    return { python, why: `cannot run ${python}: ${(e as Error).message}` };
  }
  return { python };
}

/** Runs the peer script with `args`; throws with its stderr when it fails. */
export async function runPeer(python: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(python, {
    args: [PEER_SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${python} ${PEER_SCRIPT} ${args[0]} failed: ${
        dec.decode(out.stderr).trim().split("\n").slice(-3).join(" | ")
      }`,
    );
  }
  return dec.decode(out.stdout);
}

/** `n` seeded crops of a network's input shape, uint8 `[n, H, W, C]`. */
export function seededCrops(
  shape: [number, number, number],
  n: number,
  seed = 7,
): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(n * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng.next() * 256);
  return out;
}

/** max |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`lengths ${a.length} and ${b.length}`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Features of `crops` by the peer from an exported file: PyTorch's, and
 * onnxruntime's when `onnx` is given (`[N, D]` each).
 */
export async function peerFeatures(
  python: string,
  weights: string,
  crops: Uint8Array,
  onnx?: string,
): Promise<{ torch: Float32Array; onnx?: Float32Array }> {
  const dir = await Deno.makeTempDir({ prefix: "deepid2-peer-" });
  try {
    await Deno.writeFile(`${dir}/c.u8`, crops);
    await runPeer(python, [
      "features",
      "--weights",
      weights,
      "--crops",
      `${dir}/c.u8`,
      "--out",
      `${dir}/t.f32`,
      ...(onnx ? ["--onnx", onnx, "--onnx-out", `${dir}/o.f32`] : []),
    ]);
    const read = async (p: string) => {
      const b = await Deno.readFile(p);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return Float32Array.from(
        { length: b.length / 4 },
        (_, i) => v.getFloat32(4 * i, true),
      );
    };
    return {
      torch: await read(`${dir}/t.f32`),
      onnx: onnx ? await read(`${dir}/o.f32`) : undefined,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `deno task export`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const values = parseToolCommandLine(
    args,
    EXPORT_FLAGS,
    { command: COMMAND, usage: EXPORT_USAGE },
    (v) => {
      if (!v.model) throw new Error("--model M is required");
      if (!v.out) throw new Error("--out FILE.safetensors is required");
      resultsFolder(v.profile);
    },
  );
  if (typeof values === "number") return values;
  const written: string[] = [];
  try {
    const log = (s: string) => values.quiet || console.error(`export: ${s}`);
    await checkOutputPath(values.out!);
    let python = "";
    if (values.onnx) {
      await checkOutputPath(values.onnx, "--onnx");
      const p = await peerPython(["torch", "numpy", "onnx", "onnxruntime"]);
      if (p.why) throw new Error(`--onnx: ${p.why}`);
      python = p.python;
    }
    const backend = await initBackend(values.backend, { quiet: values.quiet });
    using model = await openModel(values.model!, lookupOf(values), backend);
    const data = exportData(model.net, model.crop, {
      key: model.ref.key,
      name: values.model!,
    });
    await writeSafetensors(values.out!, data);
    written.push(values.out!);
    checkSame(values.out!, await readSafetensors(values.out!), data);
    const bytes = (await Deno.stat(values.out!)).size;
    log(
      `wrote ${values.out} (${data.tensors.size} tensors, ${data.metadata.parameters} parameters, ${bytes} bytes; model ${model.ref.key}), verified by reading back`,
    );
    if (values.onnx) {
      written.push(values.onnx);
      await runPeer(python, [
        "export-onnx",
        "--weights",
        values.out!,
        "--out",
        values.onnx,
      ]);
      const shape = model.net.config.inputShape;
      const crops = seededCrops(shape, 8);
      const ours = await extractFeatures(model.net, crops, shape);
      const peer = await peerFeatures(python, values.out!, crops, values.onnx);
      const dt = maxAbsDiff(ours, peer.torch),
        doo = maxAbsDiff(ours, peer.onnx!);
      log(
        `wrote ${values.onnx}; features of 8 seeded crops, max abs difference from ours: PyTorch ${
          dt.toExponential(2)
        }, onnxruntime ${doo.toExponential(2)}`,
      );
      if (!(Math.max(dt, doo) <= PARITY_TOLERANCE)) {
        throw new Error(
          `${values.onnx}: features differ from ours by up to ${
            Math.max(dt, doo)
          } (> ${PARITY_TOLERANCE})`,
        );
      }
    }
    return 0;
  } catch (e) {
    for (const p of written) await Deno.remove(p).catch(() => {});
    console.error(`export: error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

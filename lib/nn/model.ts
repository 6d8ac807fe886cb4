/**
 * The DeepID2 ConvNet (Sun et al., NIPS 2014, Sec. 2 and Fig. 1;
 * `lib/PAPER.md`): four convolutional layers with max-pooling after the first
 * three, conv3 sharing weights only inside 2x2 blocks of output positions,
 * conv4 not at all, and the 160-d DeepID2 layer fully connected to both pool3
 * and conv4. ReLU after every conv layer and after the DeepID2 layer. An
 * n-way softmax on top gives the identification signal.
 *
 * Every size and sharing region is a config value. Max-pooling is applied
 * before the ReLU, which gives the same values and gradients (ReLU is
 * monotone) on a 4x smaller tensor; on TensorFlow the per-channel bias of
 * conv1 and conv2 is added after the pooling too (the `biasAfterPool` path:
 * the same values, since rounding `a + b` is monotone in `a`).
 *
 * The network carries its formulation switches (`net.paths`,
 * `lib/engine/fast_paths.ts`): given once when it is made or loaded, handed
 * to every layer by {@linkcode features} and {@linkcode logits}, and read by
 * the trainer. Without them the network runs the portable formulation.
 *
 * @module
 */
import {
  locallyShared,
  locallySharedShape,
  type LocallySharedSpec,
} from "./locally_shared.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { maxPoolBiasRelu } from "./activations.ts";
import { type FastPaths, PORTABLE } from "../engine/fast_paths.ts";
import { fullyConnected } from "./matmul.ts";
import { Rng } from "../base/rng.ts";
import { tf } from "../engine/tf.ts";

/** One convolutional layer: `filters @ kernel x kernel`, weights shared in `region` blocks. */
export interface ConvLayerConfig {
  filters: number;
  kernel: number;
  /**
   * Output positions that share one filter bank, `[rh, rw]`; `null` = the
   * whole map (an ordinary convolution), `[1, 1]` = locally connected.
   */
  region: [number, number] | null;
}

/** Network configuration (defaults: Sec. 2 and Fig. 1, `lib/PAPER.md`). */
export interface ModelConfig {
  /** Input height, width, channels (55 x 47 x 3; 47 x 47 and gray accepted). */
  inputShape: [number, number, number];
  conv1: ConvLayerConfig;
  conv2: ConvLayerConfig;
  conv3: ConvLayerConfig;
  conv4: ConvLayerConfig;
  /** Width of the DeepID2 layer (160). */
  deepid2Dim: number;
  /** Identities in the softmax (8192 in the paper); 0 = no softmax (lambda = Infinity). */
  numIdentities: number;
  /**
   * Multiplier on every weight's initial standard deviation: He-normal
   * `gain·√(2 / fanIn)` for the conv and DeepID2 layers, `gain·√(1 / deepid2Dim)`
   * for the softmax (dimensionless; 1). [U]
   */
  weightInitGain: number;
  /**
   * Start value of the DeepID2 layer's 160 biases (feature units; 0). A
   * small positive value keeps more of its ReLUs active at the start. [U]
   */
  deepid2BiasInit: number;
}

/**
 * The initialisation keys of {@linkcode ModelConfig} and their defaults
 * (`lib/PAPER.md`, "What the paper leaves open, and our defaults"). The
 * paper gives no initialisation [U]; these are the values every model had
 * before they were config values.
 */
export const DEFAULT_INIT: Readonly<
  Pick<ModelConfig, "weightInitGain" | "deepid2BiasInit">
> = Object.freeze({ weightInitGain: 1, deepid2BiasInit: 0 });

/** The paper's network for `numIdentities` identities and a 55x47 RGB input. */
export function defaultModelConfig(numIdentities: number): ModelConfig {
  return {
    inputShape: [55, 47, 3],
    conv1: { filters: 20, kernel: 4, region: null },
    conv2: { filters: 40, kernel: 3, region: null },
    conv3: { filters: 60, kernel: 3, region: [2, 2] }, // [U] rule from DeepID1
    conv4: { filters: 80, kernel: 2, region: [1, 1] }, // [S] unshared
    deepid2Dim: 160,
    numIdentities,
    ...DEFAULT_INIT,
  };
}

/** Shapes of every layer, derived from a config. */
export interface ModelShapes {
  convs: LocallySharedSpec[];
  /** Flattened pool3 and conv4 widths, the DeepID2 layer's inputs. */
  pool3: number;
  conv4: number;
}

/**
 * Derives every layer's geometry; throws a clear error when an input size
 * does not fit the network (e.g. a sharing region that does not tile).
 */
export function modelShapes(config: ModelConfig): ModelShapes {
  let [h, w, c] = config.inputShape;
  const convs: LocallySharedSpec[] = [];
  const layers = [config.conv1, config.conv2, config.conv3, config.conv4];
  for (let i = 0; i < 4; i++) {
    const l = layers[i];
    const oh = h - l.kernel + 1;
    const ow = w - l.kernel + 1;
    const [rh, rw] = l.region ?? [oh, ow];
    const spec = {
      inH: h,
      inW: w,
      inC: c,
      kh: l.kernel,
      kw: l.kernel,
      outC: l.filters,
      rh,
      rw,
    };
    try {
      locallySharedShape(spec);
    } catch (e) {
      throw new Error(
        `conv${i + 1} on input ${config.inputShape.join("x")}: ${
          (e as Error).message
        }`,
      );
    }
    convs.push(spec);
    h = oh;
    w = ow;
    c = l.filters;
    if (i < 3) {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    }
    if (i === 2) {
      if (h < config.conv4.kernel || w < config.conv4.kernel) {
        throw new Error(
          `input ${config.inputShape.join("x")} too small for conv4`,
        );
      }
    }
  }
  const p3 = convs[3];
  return {
    convs,
    pool3: p3.inH * p3.inW * p3.inC,
    conv4: h * w * c,
  };
}

/**
 * The trainable parameters by name: `conv1/w` .. `conv4/w` (`[banks, kh * kw *
 * inC, outC]`, one filter bank per sharing region, rows ordered (dy, dx, cin)),
 * `conv1/b` .. `conv4/b` (`[banks, outC]`), `deepid2/w`, `deepid2/b`,
 * `softmax/w`, `softmax/b`.
 */
export type Params = Map<string, tf.Variable>;

/** The network: its config, shapes, parameters and formulation. */
export interface DeepID2 {
  config: ModelConfig;
  shapes: ModelShapes;
  params: Params;
  /** The formulations its layers and its training run (frozen). */
  paths: Readonly<FastPaths>;
}

/** Options of {@linkcode createDeepID2} and {@linkcode loadModel}. */
export interface ModelOptions {
  /**
   * The formulations to run: `initBackend(...).paths` for the backend's
   * fastest; omitted = `PORTABLE` (every switch off, correct everywhere).
   */
  paths?: Readonly<FastPaths>;
}

/** `n` seeded normal values of standard deviation `gain·√(2 / fanIn)`. */
function heNormal(
  rng: Rng,
  n: number,
  fanIn: number,
  gain: number,
): Float32Array {
  // No multiply at gain 1: the same values as before the gain existed.
  const std = gain === 1 ? Math.sqrt(2 / fanIn) : gain * Math.sqrt(2 / fanIn);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * std;
  return a;
}

/**
 * Creates the network with seeded He-normal weights (times
 * `config.weightInitGain`), zero biases except the DeepID2 layer's
 * (`config.deepid2BiasInit`). The values come from {@linkcode Rng}, so they
 * are identical on every backend.
 *
 * @example
 * ```ts
 * const info = await initBackend("auto");
 * const config = defaultModelConfig(1000);
 * const net = createDeepID2(config, 1, { paths: info.paths });
 * countParams(net); // parameter count
 * ```
 */
export function createDeepID2(
  config: ModelConfig,
  seed: number,
  options: ModelOptions = {},
): DeepID2 {
  const shapes = modelShapes(config);
  const { weightInitGain: gain, deepid2BiasInit } = config;
  if (!(gain >= 0) || !Number.isFinite(gain)) {
    throw new Error(`weightInitGain must be finite and >= 0, got ${gain}`);
  }
  if (!Number.isFinite(deepid2BiasInit)) {
    throw new Error(`deepid2BiasInit must be finite, got ${deepid2BiasInit}`);
  }
  const rng = Rng.derive(seed, "init");
  const params: Params = new Map();
  const add = (name: string, shape: number[], values: Float32Array) =>
    params.set(
      name,
      tf.tidy(() => tf.variable(tf.tensor(values, shape), true)),
    );
  shapes.convs.forEach((s, i) => {
    const { regions, patch } = locallySharedShape(s);
    // Bank by bank, so the values do not depend on how banks are stored.
    const w = new Float32Array(regions * patch * s.outC);
    for (let r = 0; r < regions; r++) {
      w.set(heNormal(rng, patch * s.outC, patch, gain), r * patch * s.outC);
    }
    add(`conv${i + 1}/w`, [regions, patch, s.outC], w);
    add(
      `conv${i + 1}/b`,
      [regions, s.outC],
      new Float32Array(regions * s.outC),
    );
  });
  const fanIn = shapes.pool3 + shapes.conv4;
  const d = config.deepid2Dim;
  add("deepid2/w", [fanIn, d], heNormal(rng, fanIn * d, fanIn, gain));
  add("deepid2/b", [d], new Float32Array(d).fill(deepid2BiasInit));
  if (config.numIdentities > 0) {
    const n = config.numIdentities;
    add(
      "softmax/w",
      [d, n],
      heNormal(rng, d * n, d, gain).map((v) => v / Math.SQRT2),
    );
    add("softmax/b", [n], new Float32Array(n));
  }
  const paths = Object.freeze({ ...(options.paths ?? PORTABLE) });
  return { config, shapes, params, paths };
}

/** Total number of trainable scalars. */
export function countParams(net: DeepID2): number {
  let n = 0;
  for (const v of net.params.values()) n += v.size;
  return n;
}

/** Checks that `x` is `[B, H, W, C]` float32 with the configured input shape. */
export function checkInput(net: DeepID2, x: tf.Tensor): void {
  const [h, w, c] = net.config.inputShape;
  if (
    x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c ||
    x.dtype !== "float32"
  ) {
    throw new Error(
      `DeepID2 input must be float32 [batch, ${h}, ${w}, ${c}], got ${x.dtype} [${x.shape}]`,
    );
  }
}

/**
 * The 160-d DeepID2 features (after ReLU).
 *
 * @param x images `[B, H, W, C]`, float32, normalised by {@linkcode normaliseImages}
 * @returns `[B, deepid2Dim]`
 */
export function features(net: DeepID2, x: tf.Tensor4D): tf.Tensor2D {
  checkInput(net, x);
  const { paths } = net;
  const s = net.shapes.convs;
  let h = x;
  let pool3: tf.Tensor4D | undefined;
  for (let i = 0; i < 4; i++) {
    const bias = net.params.get(`conv${i + 1}/b`) as tf.Tensor2D;
    // One bank's bias is per channel, so it commutes with max-pooling.
    const late = i < 3 && paths.biasAfterPool && bias.shape[0] === 1;
    // conv4's ReLU with the layer (one kernel where paths.ownProducts);
    // conv1-conv3's after their pooling.
    const y = locallyShared(
      h,
      net.params.get(`conv${i + 1}/w`) as tf.Tensor3D,
      late ? null : bias,
      s[i],
      { inputGradient: i > 0, relu: i === 3, paths },
    );
    h = i < 3
      ? maxPoolBiasRelu(
        y,
        late ? bias : null,
        paths,
      )
      : y;
    if (i === 2) pool3 = h;
  }
  const b = x.shape[0];
  const joint: tf.Tensor2D = tf.concat([
    tf.reshape(pool3!, [b, net.shapes.pool3]),
    tf.reshape(h, [b, net.shapes.conv4]),
  ], 1); // [B, pool3 + conv4]
  return fullyConnected(
    joint,
    net.params.get("deepid2/w") as tf.Tensor2D,
    net.params.get("deepid2/b") as tf.Tensor1D,
    { relu: true, paths },
  );
}

/** Softmax logits `[B, numIdentities]` on top of features `[B, deepid2Dim]`. */
export function logits(net: DeepID2, f: tf.Tensor2D): tf.Tensor2D {
  const w = net.params.get("softmax/w");
  if (!w) throw new Error("this network has no softmax (numIdentities = 0)");
  return fullyConnected(
    f,
    w as tf.Tensor2D,
    net.params.get("softmax/b") as tf.Tensor1D,
    { relu: false, paths: net.paths },
  );
}

/** `v / 127.5 - 1` for every byte value, as float32. */
const PIXEL = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

/**
 * Converts uint8 crops `[N, H, W, C]` (rows `start .. start + count`) to the
 * network's float input: `x / 127.5 - 1`.
 */
export function normaliseImages(
  images: Uint8Array,
  shape: [number, number, number],
  indices: ArrayLike<number>,
): tf.Tensor4D {
  const per = shape[0] * shape[1] * shape[2];
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const src = images.subarray(indices[i] * per, (indices[i] + 1) * per);
    const dst = i * per;
    for (let j = 0; j < per; j++) out[dst + j] = PIXEL[src[j]];
  }
  return tf.tensor4d(out, [indices.length, ...shape]);
}

/**
 * Features of every image in a uint8 image set, in batches.
 *
 * @returns `[N * deepid2Dim]` row-major
 */
export async function extractFeatures(
  net: DeepID2,
  images: Uint8Array,
  shape: [number, number, number],
  options: {
    batchSize?: number;
    onBatch?: (done: number, total: number) => void;
  } = {},
): Promise<Float32Array> {
  const per = shape[0] * shape[1] * shape[2];
  const n = Math.floor(images.length / per);
  const bs = options.batchSize ?? 256;
  const d = net.config.deepid2Dim;
  const out = new Float32Array(n * d);
  for (let start = 0; start < n; start += bs) {
    const count = Math.min(bs, n - start);
    const idx = Array.from({ length: count }, (_, i) => start + i);
    const f = tf.tidy(() => features(net, normaliseImages(images, shape, idx)));
    out.set(await f.data() as Float32Array, start * d);
    f.dispose();
    options.onBatch?.(start + count, n);
  }
  return out;
}

/**
 * Saves the network (config and weights) atomically. Trainer checkpoints
 * hold the same tensors, so {@linkcode loadModel} reads both.
 */
export async function saveModel(
  net: DeepID2,
  path: string,
  state: Record<string, unknown> = {},
): Promise<void> {
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, v] of net.params) {
    tensors.set(name, {
      shape: v.shape,
      values: await v.data() as Float32Array,
    });
  }
  await saveCheckpoint(path, {
    tensors,
    state: { ...state, model: net.config },
  });
}

/**
 * A layer's banks as one tensor from a checkpoint written before banks were
 * stored together (one tensor per bank: `conv3/w0` .. `conv3/w19`, same
 * values in the same order).
 */
function perBankTensor(
  tensors: Map<string, { values: Float32Array }>,
  name: string,
  banks: number,
): { values: Float32Array } | undefined {
  if (!/^conv\d\/[wb]$/.test(name) || !tensors.has(`${name}0`)) {
    return undefined;
  }
  const parts: Float32Array[] = [];
  for (let r = 0; r < banks; r++) {
    const t = tensors.get(`${name}${r}`);
    if (!t) return undefined;
    parts.push(t.values);
  }
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    values.set(p, at);
    at += p.length;
  }
  return { values };
}

/**
 * Loads a network saved by {@linkcode saveModel} or a trainer checkpoint
 * (also the earlier layout with one tensor per filter bank), to run with
 * `options.paths` (portable by default). A missing or corrupt file, or one
 * whose tensors do not match its config, gets an error naming the path.
 */
export async function loadModel(
  path: string,
  options: ModelOptions = {},
): Promise<DeepID2> {
  const ck = await loadCheckpoint(path);
  const saved = ck.state.model as ModelConfig | undefined;
  if (!saved) throw new Error(`${path}: checkpoint has no model config`);
  // Files from before the initialisation keys existed were initialised
  // with the defaults (the loaded weights replace them anyway).
  const config: ModelConfig = { ...DEFAULT_INIT, ...saved };
  const net = createDeepID2(config, 0, options);
  for (const [name, v] of net.params) {
    const t = ck.tensors.get(name) ??
      perBankTensor(ck.tensors, name, v.shape.length > 1 ? v.shape[0] : 0);
    if (!t || t.values.length !== v.size) {
      disposeModel(net);
      throw new Error(`${path}: tensor ${name} missing or of the wrong size`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.values, v.shape)));
  }
  return net;
}

/** Frees the network's variables. */
export function disposeModel(net: DeepID2): void {
  for (const v of net.params.values()) v.dispose();
}

/**
 * Kernels for the `tensorflow` backend that tfjs-node does not expose, each
 * one TensorFlow op run through the addon's eager binding
 * (`lib/engine/native_ops.ts`):
 *
 * - `DeepID2ReluGrad`: TensorFlow's fused `ReluGrad` (`dy * (y > 0)`). tfjs
 *   differentiates ReLU as `dy * cast(step(x))`, and tfjs-node builds `Step`
 *   from six ops (IsNan, Greater, Ones, Fill, Select, Select): 6.5 ms on the
 *   conv1 map of a batch of 64 here, against 0.7 ms.
 * - `DeepID2MaxPoolWorkspace` / `DeepID2MaxPoolGradWorkspace`: oneDNN's
 *   max-pooling (`_MklNativeMaxPool`, `_MklNativeMaxPoolGrad`, in the
 *   x86-64 libtensorflow 2.9 builds), whose forward pass keeps the argmax in a
 *   workspace. TensorFlow's `MaxPoolGrad` recomputes it: 9.3 ms on the conv1
 *   map against 2.0 ms. Same semantics: the gradient goes to the first
 *   maximum of each window.
 * - `DeepID2Transpose`: oneDNN's transpose (`_MklTranspose`, a oneDNN
 *   reorder) for the rank-6 transposes of the locally shared layers
 *   (`lib/nn/locally_shared.ts`): 0.53 ms against Eigen's 0.91 ms for conv3's
 *   patches of a batch of 64 (7 MB) on their own.
 * - `DeepID2GatherPatches` / `DeepID2ScatterPatches`: a locally shared
 *   layer's patches gathered straight into its batched product's layout
 *   (`GatherNd` with a kept index tensor) and their gradient scattered back
 *   (`ScatterNd`, which sums the updates of one pixel in index order). For
 *   conv3 of a batch of 64, 0.6 + 1.5 ms against 2.0 + 3.8 ms for a depthwise
 *   convolution with a one-hot filter, a rank-6 transpose and their
 *   gradients; and the weight rows need no permutation.
 * - `DeepID2MaxPoolGrad2x2`: the gradient of 2x2/2 max-pooling by a kernel
 *   of our own, `DeepID2MaxPool2x2Grad` in `lib/engine/native/pooling.c`
 *   (registered through TensorFlow's C kernel API when this module loads the
 *   library `make tensorflow` builds beside libtensorflow): one pass over x
 *   and dy, the gradient to each window's first maximum, as the stock
 *   `MaxPoolGrad`, which re-derives the argmax per pixel and per window.
 * - `DeepID2PoolBiasRelu` / `DeepID2PoolBiasReluGrad`: conv1-conv3's tail,
 *   `relu(maxPool(x) + bias)`, as one kernel of that library each way
 *   (`DeepID2MaxPool2x2BiasRelu`, `...Grad`) in place of three and a Sum
 *   (MaxPool, Add, Relu; ReluGrad, the Add's gradient, the pooling
 *   gradient), the values and dx bit for bit the same; the gradient also
 *   returns the bias's, the sum of `dz = dy * (y > 0)` in an order of its own.
 * - `DeepID2LocallyShared` / `DeepID2LocallySharedGrad`
 *   (`lib/engine/native/products.c`): the locally shared, locally connected
 *   and fully connected layers (product, bias, ReLU) as one kernel each way,
 *   with a GEMM of our own that reads patches and transposed operands in
 *   place; in place of about twenty ops per layer and step (GatherNd,
 *   BatchMatMul, Add, reshapes, a transpose; their gradients), and of
 *   oneDNN's BatchMatMul, which costs 0.1-0.3 ms a call on small batches.
 *   Each output is one fused multiply-add chain in a fixed order, the same
 *   bits on every vector path and thread count ({@linkcode productKernel}).
 * - `DeepID2Sgd` (`lib/engine/native/sgd.c`), run by
 *   `lib/engine/native_sgd.ts`: one SGD step on every parameter at once.
 *
 * When the `ReluGrad` check passes (ops by name work on this build), it also
 * replaces tfjs-node's `Reshape`, which makes, uploads and deletes a shape
 * tensor on every call (44 reshapes per training step), by one that keeps one
 * TensorFlow tensor per shape: the same op on the same buffer, so the same
 * values for every caller, whatever its paths.
 *
 * {@linkcode installNativeKernels} registers them, checks each on a small
 * input (ties included) against the stock kernels or its own definition
 * (our products on integer inputs, where every order of the sums gives the
 * same bits), and probes the resource-variable SGD of
 * `lib/engine/native_sgd.ts` (ours: bit for bit the tfjs update); what it
 * returns becomes part of the backend's formulations (`BackendInfo.paths`,
 * `lib/engine/backend.ts`). A build without oneDNN or a GPU build (oneDNN
 * kernels are CPU-only) keeps the stock pooling and transpose, and a GPU
 * build the depthwise patches (TensorFlow's GPU `ScatterNd` adds with
 * atomics, in no fixed order: not reproducible). `lib/nn/activations.ts` and
 * `lib/nn/locally_shared.ts` call them where the network's paths say so.
 *
 * @module
 */
import {
  boolAttr,
  execute,
  floatAttr,
  int32Attr,
  int32Constant,
  keptInt32,
  mklLabel,
  type NodeBackend,
  typeAttr,
} from "./native_ops.ts";
import { Rng } from "../base/rng.ts";
import { loadedNative, NATIVE_DIR } from "./native.ts";
import { probeResourceSgd } from "./native_sgd.ts";
import { tf } from "./tf.ts";

/** Kernel names (registered for the `tensorflow` backend only). */
export const RELU_GRAD = "DeepID2ReluGrad";
export const MAX_POOL_WORKSPACE = "DeepID2MaxPoolWorkspace";
export const MAX_POOL_GRAD_WORKSPACE = "DeepID2MaxPoolGradWorkspace";
export const TRANSPOSE = "DeepID2Transpose";
export const GATHER_PATCHES = "DeepID2GatherPatches";
export const SCATTER_PATCHES = "DeepID2ScatterPatches";
export const MAX_POOL_GRAD_2X2 = "DeepID2MaxPoolGrad2x2";
export const POOL_BIAS_RELU = "DeepID2PoolBiasRelu";
export const POOL_BIAS_RELU_GRAD = "DeepID2PoolBiasReluGrad";
export const LOCALLY_SHARED = "DeepID2LocallyShared";
export const LOCALLY_SHARED_GRAD = "DeepID2LocallySharedGrad";

/** The library of our own TensorFlow kernels, beside libtensorflow. */
export const KERNELS_LIBRARY = "libdeepid2_kernels.so";

const KERNELS_SYMBOLS = {
  deepid2_kernels_registered: { parameters: [], result: "i32" },
  deepid2_kernels_isa: { parameters: [], result: "pointer" },
  deepid2_products_force: { parameters: ["buffer"], result: "i32" },
  deepid2_sgd_copies: { parameters: [], result: "i64" },
} as const;

/**
 * Its handle once loaded. Never closed: TensorFlow's registries point into
 * it for the rest of the process.
 */
let kernelsLibrary: Deno.DynamicLibrary<typeof KERNELS_SYMBOLS> | undefined;

/**
 * Loads the library of `lib/engine/native/` (`deepid2_kernels.c`) into the process,
 * which registers its ops and CPU kernels with the loaded libtensorflow (its
 * constructor); `null` once they are registered, else why not. Idempotent.
 */
export function loadKernelsLibrary(): string | null {
  if (kernelsLibrary) return null;
  const native = loadedNative();
  if (!native) return "no native TensorFlow loaded";
  const url = new URL(
    `${native.manifest.packageDir}/deps/lib/${KERNELS_LIBRARY}`,
    NATIVE_DIR,
  );
  let lib: Deno.DynamicLibrary<typeof KERNELS_SYMBOLS>;
  try {
    lib = Deno.dlopen(url, KERNELS_SYMBOLS);
  } catch (e) {
    return `${KERNELS_LIBRARY} did not load (\`make tensorflow\` builds it): ` +
      String((e as Error)?.message ?? e).split("\n")[0];
  }
  if (lib.symbols.deepid2_kernels_registered() !== 1) {
    return `${KERNELS_LIBRARY} loaded but its kernels did not register (see stderr)`;
  }
  kernelsLibrary = lib;
  return null;
}

/**
 * The vector path of our products (`lib/engine/native/products.c`:
 * `avx512`, `avx2` or `scalar`, every one the same bits), or null before the
 * library is loaded.
 */
export function productsIsa(): string | null {
  const p = kernelsLibrary?.symbols.deepid2_kernels_isa();
  return p ? Deno.UnsafePointerView.getCString(p) : null;
}

/**
 * For the tests: makes our products run on the vector path `isa` from now
 * on; false when this CPU has no such path (nothing changes then).
 */
export function forceProductsIsa(isa: "avx512" | "avx2" | "scalar"): boolean {
  if (!kernelsLibrary) throw new Error(`${KERNELS_LIBRARY} is not loaded`);
  const name = new TextEncoder().encode(`${isa}\0`);
  return kernelsLibrary.symbols.deepid2_products_force(name) === 1;
}

/**
 * For the tests: how many resource variables `DeepID2Sgd` has had to copy
 * before updating them (`lib/engine/native/sgd.c`; training makes none).
 */
export function sgdCopies(): number {
  if (!kernelsLibrary) throw new Error(`${KERNELS_LIBRARY} is not loaded`);
  return Number(kernelsLibrary.symbols.deepid2_sgd_copies());
}

/** 2x2 windows, stride 2, valid, NHWC, oneDNN's workspace on. */
function poolAttrs(b: NodeBackend) {
  const { TF_ATTR_INT, TF_ATTR_STRING, TF_ATTR_BOOL } = b.binding;
  return [
    floatAttr(b),
    { name: "ksize", type: TF_ATTR_INT, value: [1, 2, 2, 1] },
    { name: "strides", type: TF_ATTR_INT, value: [1, 2, 2, 1] },
    { name: "padding", type: TF_ATTR_STRING, value: "VALID" },
    { name: "data_format", type: TF_ATTR_STRING, value: "NHWC" },
    { name: "workspace_enabled", type: TF_ATTR_BOOL, value: true },
    mklLabel(b),
  ];
}

let emptyFloatId: number | undefined;

/** A float32 TensorFlow tensor of shape [0], made once and kept; its id. */
function emptyFloat(b: NodeBackend): number {
  emptyFloatId ??= b.binding.createTensor(
    [0],
    b.binding.TF_FLOAT,
    new Float32Array(0),
  );
  return emptyFloatId;
}

/** Attrs of `DeepID2LocallyShared[Grad]` (`products.c`). */
interface ProductAttrs {
  kh: number;
  kw: number;
  rh: number;
  rw: number;
  relu: boolean;
  inputGrad?: boolean;
}

function productAttrs(b: NodeBackend, a: ProductAttrs, grad: boolean) {
  const { TF_ATTR_INT } = b.binding;
  const ints = (["kh", "kw", "rh", "rw"] as const).map((name) => ({
    name,
    type: TF_ATTR_INT,
    value: a[name],
  }));
  const flags = [boolAttr(b, "relu", a.relu)];
  if (grad) flags.push(boolAttr(b, "input_grad", a.inputGrad !== false));
  return [...ints, ...flags];
}

/** Geometry attrs of the patch kernels. */
interface PatchAttrs {
  kh: number;
  kw: number;
  rh: number;
  rw: number;
}

/**
 * `GatherNd` indices `[R, B * rh * rw, kh * kw, 3]` of (b, y, x): for region
 * `r = gi * gw + gj`, row (b, dy, dx), tap (ky, kx), the input pixel
 * `(b, gi * rh + dy + ky, gj * rw + dx + kx)`; kept per geometry and batch
 * size.
 */
function patchIndexTensor(
  b: NodeBackend,
  [n, h, w]: number[],
  a: PatchAttrs,
): number {
  const key = `patches:${[n, h, w, a.kh, a.kw, a.rh, a.rw]}`;
  return keptInt32(b, key, () => {
    const gh = (h - a.kh + 1) / a.rh;
    const gw = (w - a.kw + 1) / a.rw;
    const values = new Int32Array(gh * gw * n * a.rh * a.rw * a.kh * a.kw * 3);
    let o = 0;
    for (let gi = 0; gi < gh; gi++) {
      for (let gj = 0; gj < gw; gj++) {
        for (let bi = 0; bi < n; bi++) {
          for (let dy = 0; dy < a.rh; dy++) {
            for (let dx = 0; dx < a.rw; dx++) {
              for (let ky = 0; ky < a.kh; ky++) {
                for (let kx = 0; kx < a.kw; kx++) {
                  values[o++] = bi;
                  values[o++] = gi * a.rh + dy + ky;
                  values[o++] = gj * a.rw + dx + kx;
                }
              }
            }
          }
        }
      }
    }
    return { shape: [gh * gw, n * a.rh * a.rw, a.kh * a.kw, 3], values };
  });
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo };
      return b.executeSingleOutput("ReluGrad", [floatAttr(b)], [dy, y]);
    },
  });
  tf.registerKernel({
    kernelName: MAX_POOL_WORKSPACE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { x } = inputs as { x: tf.TensorInfo };
      // Outputs: the pooled map and the workspace (uint8 in TensorFlow; tfjs
      // labels it int32 and it is only ever handed back to the gradient).
      return b.executeMultipleOutputs(
        "_MklNativeMaxPool",
        poolAttrs(b),
        [x],
        2,
      );
    },
  });
  tf.registerKernel({
    kernelName: TRANSPOSE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NodeBackend;
      const { x } = inputs as { x: tf.TensorInfo };
      const { perm } = attrs as unknown as { perm: number[] };
      return execute(b, "_MklTranspose", [
        floatAttr(b),
        int32Attr(b, "Tperm"),
        mklLabel(b),
      ], [b.getInputTensorIds([x])[0], int32Constant(b, perm)]);
    },
  });
  tf.registerGradient({
    kernelName: TRANSPOSE,
    gradFunc: (dy, _saved, attrs) => {
      const { perm } = attrs as unknown as { perm: number[] };
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => transposeKernel(dy as tf.Tensor, inverse) };
    },
  });
  tf.registerKernel({
    kernelName: GATHER_PATCHES,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NodeBackend;
      const { x } = inputs as { x: tf.TensorInfo };
      const a = attrs as unknown as PatchAttrs;
      return execute(b, "GatherNd", [
        floatAttr(b, "Tparams"),
        int32Attr(b, "Tindices"),
      ], [b.getInputTensorIds([x])[0], patchIndexTensor(b, x.shape, a)]);
    },
  });
  tf.registerKernel({
    kernelName: SCATTER_PATCHES,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NodeBackend;
      const { dy } = inputs as { dy: tf.TensorInfo };
      const a = attrs as unknown as PatchAttrs & { inputShape: number[] };
      // ScatterNd sums the updates that land on one pixel, in index order.
      return execute(b, "ScatterNd", [
        floatAttr(b),
        int32Attr(b, "Tindices"),
      ], [
        patchIndexTensor(b, a.inputShape, a),
        b.getInputTensorIds([dy])[0],
        int32Constant(b, a.inputShape),
      ]);
    },
  });
  tf.registerGradient({
    kernelName: GATHER_PATCHES,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return {
        x: () =>
          tf.engine().runKernel(SCATTER_PATCHES, { dy: dy as tf.Tensor }, {
            ...(attrs as unknown as PatchAttrs),
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  });
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD_2X2,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { x, dy } = inputs as Record<string, tf.TensorInfo>;
      return execute(
        b,
        "DeepID2MaxPool2x2Grad",
        [],
        b.getInputTensorIds([x, dy]),
      );
    },
  });
  tf.registerKernel({
    kernelName: POOL_BIAS_RELU,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { x, bias } = inputs as Record<string, tf.TensorInfo | undefined>;
      // No bias: an empty one, which the kernel skips (adding +0 would
      // turn -0 into +0).
      const ids = [
        b.getInputTensorIds([x!])[0],
        bias ? b.getInputTensorIds([bias])[0] : emptyFloat(b),
      ];
      return execute(b, "DeepID2MaxPool2x2BiasRelu", [], ids);
    },
  });
  tf.registerKernel({
    kernelName: POOL_BIAS_RELU_GRAD,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { x, y, dy, bias } = inputs as Record<
        string,
        tf.TensorInfo | undefined
      >;
      const ids = [
        ...b.getInputTensorIds([x!, y!, dy!]),
        bias ? b.getInputTensorIds([bias])[0] : emptyFloat(b),
      ];
      return b.binding.executeOp("DeepID2MaxPool2x2BiasReluGrad", [], ids, 2)
        .map((meta) => b.createOutputTensor(meta));
    },
  });
  tf.registerKernel({
    kernelName: LOCALLY_SHARED,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NodeBackend;
      const { x, w, bias } = inputs as Record<string, tf.TensorInfo>;
      return execute(
        b,
        "DeepID2LocallyShared",
        productAttrs(b, attrs as unknown as ProductAttrs, false),
        b.getInputTensorIds([x, w, bias]),
      );
    },
  });
  tf.registerKernel({
    kernelName: LOCALLY_SHARED_GRAD,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as NodeBackend;
      const { x, w, y, dy } = inputs as Record<string, tf.TensorInfo>;
      return b.executeMultipleOutputs(
        "DeepID2LocallySharedGrad",
        productAttrs(b, attrs as unknown as ProductAttrs, true),
        [x, w, y, dy],
        3,
      );
    },
  });
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD_WORKSPACE,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as NodeBackend;
      const { x, y, dy, workspace } = inputs as Record<string, tf.TensorInfo>;
      return b.executeSingleOutput(
        "_MklNativeMaxPoolGrad",
        poolAttrs(b),
        [x, y, dy, workspace],
      );
    },
  });
}

let reshapeReplaced = false;

/**
 * Replaces tfjs-node's `Reshape` (a new shape tensor made, uploaded and
 * deleted on every call) by the same TensorFlow op with the shape kept
 * (idempotent). float32 and int32 only; other dtypes go to the stock kernel.
 */
function replaceReshape(): void {
  const stock = tf.getKernel("Reshape", "tensorflow");
  if (reshapeReplaced || !stock) return;
  reshapeReplaced = true;
  tf.unregisterKernel("Reshape", "tensorflow");
  tf.registerKernel({
    kernelName: "Reshape",
    backendName: "tensorflow",
    kernelFunc: (args) => {
      const b = args.backend as unknown as NodeBackend;
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { shape } = args.attrs as unknown as { shape: number[] };
      if (!(x.dtype === "float32" || x.dtype === "int32")) {
        return stock.kernelFunc(args);
      }
      return execute(b, "Reshape", [
        typeAttr(b, "T", b.getDTypeInteger(x.dtype)),
        int32Attr(b, "Tshape"),
      ], [b.getInputTensorIds([x])[0], int32Constant(b, shape)]);
    },
  });
}

/** `ReluGrad`: `dy * (y > 0)` for the ReLU output `y`. */
export function reluGradKernel(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel(RELU_GRAD, { dy, y }) as tf.Tensor;
}

/** oneDNN 2x2/2 max-pooling: `[pooled, workspace]`. */
export function maxPoolWorkspaceKernel(
  x: tf.Tensor4D,
): [tf.Tensor4D, tf.Tensor] {
  return tf.engine().runKernel(MAX_POOL_WORKSPACE, { x }) as unknown as [
    tf.Tensor4D,
    tf.Tensor,
  ];
}

/** The gradient of {@linkcode maxPoolWorkspaceKernel} for `dy`. */
export function maxPoolGradWorkspaceKernel(
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  dy: tf.Tensor4D,
  workspace: tf.Tensor,
): tf.Tensor4D {
  return tf.engine().runKernel(MAX_POOL_GRAD_WORKSPACE, {
    x,
    y,
    dy,
    workspace,
  }) as tf.Tensor4D;
}

/**
 * The gradient of 2x2/2 valid max-pooling of `x` for `dy` by
 * `DeepID2MaxPool2x2Grad` (`lib/engine/native/pooling.c`): `x`'s
 * shape, each window's `dy` at its first maximum.
 */
export function maxPoolGrad2x2Kernel(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
): tf.Tensor4D {
  return tf.engine().runKernel(MAX_POOL_GRAD_2X2, { x, dy }) as tf.Tensor4D;
}

/**
 * `relu(maxPool2x2(x) + bias)` by one kernel (no bias added when `bias` is
 * null): `x` `[B, H, W, C]`, `bias` `[C]` or `[1, C]`, result
 * `[B, H/2, W/2, C]`. Not differentiable on its own: `lib/nn/activations.ts`
 * pairs it with {@linkcode poolBiasReluGradKernel}.
 */
export function poolBiasReluKernel(
  x: tf.Tensor4D,
  bias: tf.Tensor1D | tf.Tensor2D | null,
): tf.Tensor4D {
  const inputs: tf.NamedTensorMap = bias ? { x, bias } : { x };
  return tf.engine().runKernel(POOL_BIAS_RELU, inputs) as tf.Tensor4D;
}

/**
 * The gradient of {@linkcode poolBiasReluKernel}'s output `y` for `dy`:
 * `[dx, db]`, `dx` the pooling gradient of `dz = dy * (y > 0)` (the ReLU's
 * gradient) and `db` the sum of `dz` over B, H/2, W/2, in `bias`'s shape
 * (`[0]` without a bias).
 */
export function poolBiasReluGradKernel(
  x: tf.Tensor4D,
  y: tf.Tensor4D,
  dy: tf.Tensor4D,
  bias: tf.Tensor | null,
): [tf.Tensor4D, tf.Tensor] {
  const inputs: tf.NamedTensorMap = bias ? { x, y, dy, bias } : { x, y, dy };
  return tf.engine().runKernel(POOL_BIAS_RELU_GRAD, inputs) as unknown as [
    tf.Tensor4D,
    tf.Tensor,
  ];
}

/** A region-shared product's geometry and activation (`products.c`). */
export interface ProductSpec {
  /** Filter size; 1 x 1 for a fully connected layer. */
  kh: number;
  kw: number;
  /** Output positions sharing one bank; 1 x 1 for a fully connected layer. */
  rh: number;
  rw: number;
  /** ReLU on the output (`v > 0 ? v : +0`), and its gradient, fused. */
  relu: boolean;
}

/** One differentiable op per geometry, activation and input gradient. */
const products = new Map<
  string,
  (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => tf.Tensor
>();

/**
 * A locally shared, locally connected or fully connected layer's output,
 * `y = act(patches(x) · w[region] + bias[region])`, by our own kernel
 * (`DeepID2LocallyShared` in `lib/engine/native/products.c`), differentiable
 * by `DeepID2LocallySharedGrad`: one kernel each way.
 *
 * @param x `[B, H, W, C]`, or `[B, K]` for a fully connected layer
 * @param w `[R, kh * kw * C, O]` (rows ordered (ky, kx, c)), or `[K, O]`
 * @param bias `[R, O]`, or `[O]`
 * @param inputGradient false: `x`'s gradient is zeros (not computed)
 * @returns `[B, H - kh + 1, W - kw + 1, O]`, or `[B, O]`
 */
export function productKernel(
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor,
  spec: ProductSpec,
  inputGradient = true,
): tf.Tensor {
  const { kh, kw, rh, rw, relu } = spec;
  const key = [kh, kw, rh, rw, relu, inputGradient].join();
  let op = products.get(key);
  if (!op) {
    const attrs = { kh, kw, rh, rw, relu } as unknown as tf.NamedAttrMap;
    const grad = { ...attrs, inputGrad: inputGradient };
    op = tf.customGrad((...args: unknown[]) => {
      const [xi, wi, bi, save] = args as [
        tf.Tensor,
        tf.Tensor,
        tf.Tensor,
        tf.GradSaveFunc,
      ];
      const y = tf.engine().runKernel(
        LOCALLY_SHARED,
        { x: xi, w: wi, bias: bi },
        attrs,
      ) as tf.Tensor;
      save([xi, wi, y]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws, ys] = saved;
          const [dx, dw, db] = tf.engine().runKernel(
            LOCALLY_SHARED_GRAD,
            { x: xs, w: ws, y: ys, dy },
            grad,
          ) as unknown as tf.Tensor[];
          if (inputGradient) return [dx, dw, db];
          dx.dispose();
          return [tf.zerosLike(xs), dw, db];
        },
      };
    }) as (x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
    products.set(key, op);
  }
  return op(x, w, bias);
}

/**
 * {@linkcode productKernel}'s definition in tfjs ops, one output position
 * at a time: its patch (taps (ky, kx) in order, each `C` channels) times
 * its region's bank, plus the bias, then the ReLU. For the start-up check
 * (small shapes only).
 */
function referenceProduct(
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor,
  spec: ProductSpec,
): tf.Tensor {
  if (x.rank === 2) {
    const y = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), bias);
    return spec.relu ? tf.relu(y) : y;
  }
  const [n, h, wd, c] = x.shape;
  const [oh, ow] = [h - spec.kh + 1, wd - spec.kw + 1];
  const gw = ow / spec.rw;
  const rows: tf.Tensor[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const taps: tf.Tensor[] = [];
      for (let ky = 0; ky < spec.kh; ky++) {
        for (let kx = 0; kx < spec.kw; kx++) {
          taps.push(tf.reshape(
            tf.slice(x, [0, oy + ky, ox + kx, 0], [n, 1, 1, c]),
            [n, c],
          ));
        }
      }
      const r = Math.floor(oy / spec.rh) * gw + Math.floor(ox / spec.rw);
      const bank = tf.squeeze(tf.slice(w, [r, 0, 0], [1, -1, -1]), [0]);
      const b = tf.squeeze(tf.slice(bias, [r, 0], [1, -1]), [0]);
      rows.push(
        tf.add(
          tf.matMul(tf.concat(taps, 1) as tf.Tensor2D, bank as tf.Tensor2D),
          b,
        ),
      );
    }
  }
  const o = w.shape[2]!;
  const y = tf.reshape(tf.stack(rows, 1), [n, oh, ow, o]);
  return spec.relu ? tf.relu(y) : y;
}

/** oneDNN's transpose of a float32 tensor (differentiable). */
export function transposeKernel(x: tf.Tensor, perm: number[]): tf.Tensor {
  return tf.engine().runKernel(
    TRANSPOSE,
    { x },
    { perm } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}

/**
 * The patches of a locally shared layer straight in its batched product's
 * layout, `[R, B * rh * rw, kh * kw, C]` (rows (b, dy, dx), taps (ky, kx)),
 * by one `GatherNd`; its gradient is one `ScatterNd`.
 */
export function gatherPatchesKernel(
  x: tf.Tensor4D,
  spec: { kh: number; kw: number; rh: number; rw: number },
): tf.Tensor4D {
  const { kh, kw, rh, rw } = spec;
  return tf.engine().runKernel(
    GATHER_PATCHES,
    { x },
    { kh, kw, rh, rw } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

/**
 * Which of the kernels work on the running `tensorflow` backend, and
 * whether its resource-variable SGD does (`lib/engine/native_sgd.ts`): the
 * native part of the backend's formulations (`FastPaths` in
 * `lib/engine/fast_paths.ts`).
 */
export interface NativeKernels {
  readonly nativeOps: boolean;
  readonly poolWorkspace: boolean;
  readonly poolGrad2x2: boolean;
  readonly poolBiasRelu: boolean;
  readonly mklTranspose: boolean;
  readonly gatherPatches: boolean;
  readonly ownProducts: boolean;
  readonly nativeSgd: boolean;
  readonly ownSgd: boolean;
}

const NONE: NativeKernels = {
  nativeOps: false,
  poolWorkspace: false,
  poolGrad2x2: false,
  poolBiasRelu: false,
  mklTranspose: false,
  gatherPatches: false,
  ownProducts: false,
  nativeSgd: false,
  ownSgd: false,
};

/** TensorFlow's stock 2x2/2 `MaxPoolGrad` of `dy` for `x` (pooled to `y`). */
function stockPoolGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  y: tf.Tensor4D = tf.maxPool(x, 2, 2, "valid"),
): tf.Tensor {
  return tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: y }, {
    filterSize: 2,
    strides: 2,
    pad: "valid",
  }) as tf.Tensor;
}

async function same(
  a: tf.Tensor,
  b: tf.Tensor,
  signedZeros = false,
): Promise<boolean> {
  const [x, y] = [await a.data(), await b.data()];
  const eq = signedZeros ? Object.is : (u: number, v: number) => u === v;
  return x.length === y.length && x.every((v, i) => eq(v, y[i]));
}

/**
 * Registers the kernels and checks them against the stock ones on the
 * running backend (all off unless it is `tensorflow`): an odd-sized map with
 * ties in every window shape. Idempotent; the checks run on every call.
 */
export async function installNativeKernels(): Promise<NativeKernels> {
  if (tf.getBackend() !== "tensorflow") return NONE;
  register();
  const b = tf.backend() as unknown as NodeBackend;
  const values = Array.from(
    { length: 2 * 5 * 7 * 3 },
    (_, i) => ((i * 7919) % 5) - 2,
  );
  const x = tf.tensor4d(values, [2, 5, 7, 3]);
  const dy = tf.tensor4d(values.slice(0, 2 * 2 * 3 * 3).map((v) => v + 3), [
    2,
    2,
    3,
    3,
  ]);
  const out = { ...NONE, nativeSgd: await probeResourceSgd() };
  out.ownSgd = out.nativeSgd && !b.isUsingGpuDevice &&
    loadKernelsLibrary() === null && await probeResourceSgd(true);
  // Each check computes in a tidy and compares after it; a kernel that
  // throws (a build without it) leaves the stock path on.
  // signedZeros: -0 and +0 count as different.
  const check = async (
    pair: () => [tf.Tensor, tf.Tensor][],
    signedZeros = false,
  ): Promise<boolean> => {
    try {
      const pairs = tf.tidy(() => pair().flat()) as tf.Tensor[];
      let ok = true;
      for (let i = 0; i < pairs.length; i += 2) {
        ok &&= await same(pairs[i], pairs[i + 1], signedZeros);
      }
      tf.dispose(pairs);
      return ok;
    } catch {
      return false;
    }
  };
  // x's negatives and zeros with dy's positives: every case of the mask.
  out.nativeOps = await check(() => {
    const y = x.slice([0, 0, 0, 0], dy.shape);
    return [[
      reluGradKernel(dy, y),
      tf.mul(dy, tf.cast(tf.greater(y, 0), "float32")),
    ]];
  });
  if (!b.isUsingGpuDevice) {
    out.poolWorkspace = await check(() => {
      const [y, ws] = maxPoolWorkspaceKernel(x);
      const yStock = tf.maxPool(x, 2, 2, "valid");
      const stockGrad = stockPoolGrad(x, dy, yStock);
      return [[y, yStock], [
        maxPoolGradWorkspaceKernel(x, y, dy, ws),
        stockGrad,
      ]];
    });
    // Against the stock MaxPoolGrad, bit for bit: the odd-sized map with
    // ties, and one large enough for the kernel to split it between threads.
    out.poolGrad2x2 = loadKernelsLibrary() === null && await check(() => {
      const rng = new Rng(5);
      const big = tf.tensor4d(
        Array.from({ length: 8 * 21 * 22 * 40 }, () => rng.int(4) - 1),
        [8, 21, 22, 40],
      );
      const bigDy = tf.randomNormal<tf.Rank.R4>(
        [8, 10, 11, 40],
        0,
        1,
        "float32",
        6,
      );
      const stock = (t: tf.Tensor4D, g: tf.Tensor4D) => stockPoolGrad(t, g);
      // -0 gradients (a ReLU's zeros of negative values) land as +0.
      const negZero = tf.mul(dy, -0) as tf.Tensor4D;
      return [
        [maxPoolGrad2x2Kernel(x, dy), stock(x, dy)],
        [maxPoolGrad2x2Kernel(x, negZero), stock(x, negZero)],
        [maxPoolGrad2x2Kernel(big, bigDy), stock(big, bigDy)],
      ];
    });
    // Against the stock composition, bit for bit: relu(maxPool(x) + b) with
    // and without a bias ([C] and [1, C]; ties, zeros of both signs,
    // negatives), dx against the stock MaxPoolGrad of TensorFlow's ReluGrad
    // (checked above), db against the Sum of that (integer gradients: exact
    // in any order); and maps large enough to be split between threads, with
    // 16 + 4 channels as conv1's 20 (the vector widths of the kernels).
    out.poolBiasRelu = out.nativeOps && out.poolGrad2x2 && await check(() => {
      const rng = new Rng(8);
      const signed = (n: number) =>
        Array.from({ length: n }, () => [-1, -0, 0, 1, 2][rng.int(5)]);
      const big = tf.tensor4d(signed(8 * 21 * 22 * 40), [8, 21, 22, 40]);
      const wide = tf.tensor4d(signed(6 * 10 * 9 * 20), [6, 10, 9, 20]);
      const cases: [tf.Tensor4D, tf.Tensor1D | tf.Tensor2D | null][] = [
        [x, null],
        [x, tf.tensor1d([-1, -0, 0.5])],
        [big, null],
        [big, tf.tensor1d(signed(40))],
        [wide, tf.tensor2d(signed(20), [1, 20])],
      ];
      return cases.flatMap(([t, bias]) => {
        const pooled = tf.maxPool(t, 2, 2, "valid");
        const y = tf.relu(bias ? tf.add(pooled, bias) : pooled);
        const g = tf.tensor4d(
          Array.from({ length: y.size }, () => rng.int(7) - 3),
          y.shape as [number, number, number, number],
        );
        const mine = poolBiasReluKernel(t, bias);
        const [dx, db] = poolBiasReluGradKernel(t, mine, g, bias);
        const stockDz = reluGradKernel(g, y);
        const stockDx = stockPoolGrad(t, stockDz as tf.Tensor4D, pooled);
        const pairs: [tf.Tensor, tf.Tensor][] = [[mine, y], [dx, stockDx]];
        if (bias) {
          pairs.push([db, tf.reshape(tf.sum(stockDz, [0, 1, 2]), bias.shape)]);
        }
        return pairs;
      });
    }, true);
    // Rank 6 as in the layers, rank 2, and the gradient (inverse perm).
    out.mklTranspose = await check(() => {
      const t6 = tf.reshape(x, [2, 5, 1, 7, 3, 1]);
      const p6 = [1, 3, 0, 2, 4, 5];
      const t2 = tf.reshape(x, [10, 21]);
      const w = tf.reshape(tf.range(0, 210), [5, 7, 2, 1, 3, 1]);
      const grad = (tr: typeof transposeKernel) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tr(t, p6), w)))(t6);
      return [
        [transposeKernel(t6, p6), tf.transpose(t6, p6)],
        [transposeKernel(t2, [1, 0]), tf.transpose(t2, [1, 0])],
        [grad(transposeKernel), grad(tf.transpose)],
      ];
    });
    // Against slices of the input, value by value; the gradient with
    // integer weights, so that every sum is exact. CPU only: ScatterNd sums
    // with atomics on a GPU, in no fixed order.
    out.gatherPatches = await check(() => {
      const a = { kh: 2, kw: 2, rh: 2, rw: 2 };
      const [n, h, w, c] = x.shape;
      const [gh, gw] = [(h - 1) / 2, (w - 1) / 2];
      // The layout by its definition: tap (ky, kx) of region (gi, gj) is the
      // rh x rw block of pixels from (gi * rh + ky, gj * rw + kx), rows
      // (b, dy, dx); stacked to [R, n * rh * rw, taps, c].
      const reference = (t: tf.Tensor4D) => {
        const regions: tf.Tensor[] = [];
        for (let gi = 0; gi < gh; gi++) {
          for (let gj = 0; gj < gw; gj++) {
            const taps: tf.Tensor[] = [];
            for (let ky = 0; ky < a.kh; ky++) {
              for (let kx = 0; kx < a.kw; kx++) {
                const at = [0, gi * a.rh + ky, gj * a.rw + kx, 0];
                const block = tf.slice(t, at, [n, a.rh, a.rw, c]);
                taps.push(tf.reshape(block, [n * a.rh * a.rw, c]));
              }
            }
            regions.push(tf.stack(taps, 1));
          }
        }
        return tf.stack(regions);
      };
      const wts = tf.reshape(tf.range(0, gh * gw * n * 16 * c), [
        gh * gw,
        n * 4,
        4,
        c,
      ]).mod(7);
      const grad = (f: (t: tf.Tensor4D) => tf.Tensor) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), wts)))(x);
      const mine = (t: tf.Tensor4D) => gatherPatchesKernel(t, a);
      return [
        [mine(x), reference(x)],
        [grad(mine), grad(reference)],
      ];
    });
  }
  // Against the same layers in tfjs ops, bit for bit, values and gradients:
  // integer inputs keep every product and sum exact, so the order of the
  // sums cannot show. A locally shared layer large enough to be split
  // between threads, a locally connected one with a ReLU and 80 outputs
  // (five vectors), fully connected ones with 70 (a masked tail); both ways
  // of transposing for the input gradient (products.c picks by size).
  out.ownProducts = !b.isUsingGpuDevice && loadKernelsLibrary() === null &&
    await check(() => {
      const rng = new Rng(11);
      const ints = (shape: number[], lo: number, hi: number) =>
        tf.tensor(
          Array.from(
            { length: shape.reduce((p, q) => p * q, 1) },
            () => lo + rng.int(hi - lo + 1),
          ),
          shape,
        );
      const cases: [number[], ProductSpec, number][] = [
        [[8, 8, 6, 5], { kh: 3, kw: 3, rh: 2, rw: 2, relu: false }, 16],
        [[3, 4, 3, 4], { kh: 2, kw: 2, rh: 1, rw: 1, relu: true }, 80],
        [[40, 30], { kh: 1, kw: 1, rh: 1, rw: 1, relu: true }, 70],
        [[5, 12], { kh: 1, kw: 1, rh: 1, rw: 1, relu: false }, 3],
        [[2, 30], { kh: 1, kw: 1, rh: 1, rw: 1, relu: false }, 70],
      ];
      return cases.flatMap(([shape, spec, o]) => {
        const xi = ints(shape, -2, 2);
        const dense = shape.length === 2;
        const c = shape[shape.length - 1];
        const [oh, ow] = dense ? [1, 1] : [
          shape[1] - spec.kh + 1,
          shape[2] - spec.kw + 1,
        ];
        const regions = (oh / spec.rh) * (ow / spec.rw);
        const k = spec.kh * spec.kw * c;
        const wi = ints(dense ? [k, o] : [regions, k, o], -2, 2);
        const bi = ints(dense ? [o] : [regions, o], -3, 3);
        const yShape = dense ? [shape[0], o] : [shape[0], oh, ow, o];
        const weights = ints(yShape, -3, 3);
        const mine = (t: tf.Tensor, v: tf.Tensor, u: tf.Tensor) =>
          productKernel(t, v, u, spec);
        const reference = (t: tf.Tensor, v: tf.Tensor, u: tf.Tensor) =>
          referenceProduct(t, v, u, spec);
        const grads = (f: typeof mine) =>
          tf.grads((t: tf.Tensor, v: tf.Tensor, u: tf.Tensor) =>
            tf.sum(tf.mul(f(t, v, u), weights))
          )([xi, wi, bi]);
        const [g1, g2] = [grads(mine), grads(reference)];
        return [
          [mine(xi, wi, bi), reference(xi, wi, bi)],
          ...g1.map((g, i) => [g, g2[i]] as [tf.Tensor, tf.Tensor]),
        ] as [tf.Tensor, tf.Tensor][];
      });
    });
  tf.dispose([x, dy]);
  // After the checks, which compare against the stock kernels throughout.
  if (out.nativeOps) replaceReshape();
  return out;
}

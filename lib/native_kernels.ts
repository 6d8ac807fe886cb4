/**
 * Three kernels for the `tensorflow` backend that tfjs-node does not expose,
 * each one TensorFlow op run through the addon's eager binding:
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
 *
 * {@linkcode installNativeKernels} registers them and checks each on a small
 * input (ties included) against the stock kernels; a build without oneDNN or
 * a GPU build (oneDNN kernels are CPU-only) keeps the stock pooling.
 * `lib/activations.ts` uses them where `lib/fast_paths.ts` says so.
 *
 * @module
 */
import { tf } from "./tf.ts";

/** The addon's backend object, as far as these kernels use it. */
interface NodeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_INT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
  };
  isUsingGpuDevice?: boolean;
  executeSingleOutput(
    name: string,
    attrs: unknown[],
    inputs: tf.TensorInfo[],
  ): tf.TensorInfo;
  executeMultipleOutputs(
    name: string,
    attrs: unknown[],
    inputs: tf.TensorInfo[],
    numOutputs: number,
  ): tf.TensorInfo[];
}

/** Kernel names (registered for the `tensorflow` backend only). */
export const RELU_GRAD = "DeepID2ReluGrad";
export const MAX_POOL_WORKSPACE = "DeepID2MaxPoolWorkspace";
export const MAX_POOL_GRAD_WORKSPACE = "DeepID2MaxPoolGradWorkspace";

function floatAttr(b: NodeBackend) {
  return { name: "T", type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT };
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
    // Selects the oneDNN kernel registered for the renamed op.
    { name: "_kernel", type: TF_ATTR_STRING, value: "MklNameChangeOp" },
  ];
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

/** Which of the kernels work on the running `tensorflow` backend. */
export interface NativeKernels {
  nativeOps: boolean;
  poolWorkspace: boolean;
}

async function same(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  const [x, y] = [await a.data(), await b.data()];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Registers the kernels and checks them against the stock ones on the
 * running backend (which must be `tensorflow`): an odd-sized map with ties in
 * every window shape.
 */
export async function installNativeKernels(): Promise<NativeKernels> {
  if (tf.getBackend() !== "tensorflow") {
    return { nativeOps: false, poolWorkspace: false };
  }
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
  const out: NativeKernels = { nativeOps: false, poolWorkspace: false };
  // Each check computes in a tidy and compares after it; a kernel that
  // throws (a build without it) leaves the stock path on.
  const check = async (
    pair: () => [tf.Tensor, tf.Tensor][],
  ): Promise<boolean> => {
    try {
      const pairs = tf.tidy(() => pair().flat()) as tf.Tensor[];
      let ok = true;
      for (let i = 0; i < pairs.length; i += 2) {
        ok &&= await same(pairs[i], pairs[i + 1]);
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
      const stockGrad = tf.engine().runKernel("MaxPoolGrad", {
        dy,
        input: x,
        output: yStock,
      }, { filterSize: 2, strides: 2, pad: "valid" }) as tf.Tensor;
      return [[y, yStock], [
        maxPoolGradWorkspaceKernel(x, y, dy, ws),
        stockGrad,
      ]];
    });
  }
  tf.dispose([x, dy]);
  return out;
}

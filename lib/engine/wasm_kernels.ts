/**
 * Faster `Slice`, `MaxPoolGrad`, `Sum` and `Identity` kernels for the wasm
 * backend, each registered over the stock one for the wasm backend only, with
 * the stock kernel as the fallback for the cases they do not cover.
 *
 * tfjs-backend-wasm 4.22 implements `Slice` in JavaScript on top of
 * `readSync`, which copies the whole input tensor out of the wasm heap on
 * every call; cutting 20 regions out of a 7 MB patch tensor then copies
 * 140 MB. This kernel copies only the requested runs, inside the heap
 * (`copyWithin`, a memmove). Same semantics; strings fall back to the stock
 * kernel.
 *
 * `MaxPoolGrad` for the 2x2, stride-2, valid pooling of DeepID2: the stock
 * wasm kernel took 80 ms on the conv1 map of a batch of 64 (52x44x20); this
 * loop over the heap takes a fraction of it. The gradient goes to the first
 * maximum of each window in row-major order, as the cpu backend does. Other
 * pooling shapes use the stock kernel.
 *
 * `Sum` over leading axes (the bias gradients, e.g. [64, 52, 44, 20] to
 * [20]): the stock kernel first transposes the reduced axes innermost, then
 * sums each output's elements in order; this loop sums the same elements in
 * the same order, in float32, without the transpose (bit for bit the same,
 * `wasm_kernels_test.ts`). `Identity` shares its input's data, as the cpu
 * backend's does, where the stock kernel copies it.
 *
 * @module
 */
import { tf } from "./tf.ts";
import { copySliceRuns, maxPoolGrad2x2, sumColumns } from "./heap_loops.ts";

interface WasmBackendInternals {
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  incRef(dataId: unknown): void;
  wasm: { HEAPU8: Uint8Array };
}

let installed = false;

/**
 * Registers `kernelFunc` over the stock wasm kernel `stock`, keeping its
 * setup function (it binds the wasm function our fallback to it calls).
 */
function override(stock: tf.KernelConfig, kernelFunc: tf.KernelFunc): void {
  tf.unregisterKernel(stock.kernelName, "wasm");
  tf.registerKernel({ ...stock, kernelFunc });
}

/** A float32 view of `n` elements of tensor `t`'s data on the wasm heap. */
function heapF32(
  backend: WasmBackendInternals,
  t: tf.TensorInfo,
  n: number,
): Float32Array {
  return new Float32Array(
    backend.wasm.HEAPU8.buffer,
    backend.dataIdMap.get(t.dataId).memoryOffset,
    n,
  );
}

/** Registers the fast kernels for the wasm backend (idempotent). */
export function installWasmKernels(): void {
  if (installed) return;
  const stockSlice = tf.getKernel("Slice", "wasm");
  const stockPool = tf.getKernel("MaxPoolGrad", "wasm");
  const stockSum = tf.getKernel("Sum", "wasm");
  const stockIdentity = tf.getKernel("Identity", "wasm");
  if (!stockSlice || !stockPool || !stockSum || !stockIdentity) return;
  installed = true;
  override(stockIdentity, (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    (args.backend as unknown as WasmBackendInternals).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  override(stockSum, (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    // Only a sum over leading axes [0, k) (a bias gradient), in float32.
    if (
      x.dtype !== "float32" || k === 0 || k === rank ||
      axes.some((a, i) => a !== i)
    ) {
      return stockSum.kernelFunc(args);
    }
    const backend = args.backend as unknown as WasmBackendInternals;
    const kept = x.shape.slice(k);
    const shape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const out = backend.makeOutput(shape, "float32");
    const cols = tf.util.sizeFromShape(kept);
    const rows = tf.util.sizeFromShape(x.shape) / cols;
    const src = heapF32(backend, x, rows * cols);
    const acc = heapF32(backend, out, cols);
    // Each column summed from the first row to the last, each step rounded
    // to float32 by the store: the order and rounding of the stock kernel,
    // which transposes the reduced axes innermost and sums them in order.
    sumColumns(src, acc, rows, cols, 0, cols);
    return out;
  });
  override(stockPool, (args) => {
    const { dy, input } = args.inputs as {
      dy: tf.TensorInfo;
      input: tf.TensorInfo;
    };
    const a = args.attrs as unknown as {
      filterSize: number | number[];
      strides: number | number[];
      pad: unknown;
      dimRoundingMode?: string;
    };
    const two = (
      v: number | number[],
    ) => (Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2);
    if (
      !two(a.filterSize) || !two(a.strides) || a.pad !== "valid" ||
      input.dtype !== "float32" ||
      input.shape.length !== 4
    ) {
      return stockPool.kernelFunc(args);
    }
    const backend = args.backend as unknown as WasmBackendInternals;
    const [b, h, w, c] = input.shape;
    const oh = Math.floor(h / 2);
    const ow = Math.floor(w / 2);
    const out = backend.makeOutput(input.shape, "float32");
    const n = b * h * w * c;
    const x = heapF32(backend, input, n);
    const g = heapF32(backend, dy, b * oh * ow * c);
    const dx = heapF32(backend, out, n);
    // Rows and columns in no window (odd sizes) keep this 0.
    if (h % 2 !== 0 || w % 2 !== 0) dx.fill(0);
    const shape = [b, h, w, c] as const;
    maxPoolGrad2x2(x, g, dx, shape, 0, b);
    return out;
  });
  override(stockSlice, (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === "string") return stockSlice.kernelFunc(args);
    const { begin, size } = args.attrs as unknown as {
      begin: number[];
      size: number[];
    };
    const backend = args.backend as unknown as WasmBackendInternals;
    const [b, s] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      begin,
      size,
    );
    const out = backend.makeOutput(s, x.dtype);
    const n = tf.util.sizeFromShape(s);
    if (n === 0) return out;
    // Read offsets and the heap only after makeOutput (it may grow memory).
    const heap = backend.wasm.HEAPU8;
    const src = backend.dataIdMap.get(x.dataId).memoryOffset;
    const dst = backend.dataIdMap.get(out.dataId).memoryOffset;
    const bytes = tf.util.bytesPerElement(x.dtype);
    const shape = x.shape;
    const rank = shape.length;
    // Merge trailing dimensions that are taken whole into one run.
    let k = rank - 1;
    let run = s[k];
    while (k > 0 && s[k] === shape[k] && b[k] === 0) {
      k--;
      run *= s[k];
    }
    const strides = [...tf.util.computeStrides(shape), 1]; // elements
    let base = 0;
    for (let d = 0; d <= k; d++) base += b[d] * strides[d];
    const runs = { src, dst, bytes, strides, base, size: s, k, run };
    copySliceRuns(heap, runs, 0, k === 0 ? 1 : s[0]);
    return out;
  });
}

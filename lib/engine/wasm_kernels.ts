/**
 * Faster `Slice`, `MaxPoolGrad`, `Sum`, `Identity`, `Concat` and `Transpose`
 * kernels for the wasm backend, each registered over the stock one for the
 * wasm backend only, with the stock kernel as the fallback for the cases they
 * do not cover. Their loops run in wasm, 128-bit SIMD where it applies
 * (`heap_simd.wat`, loaded by {@linkcode installWasmSimd}), with JavaScript
 * twins of the same bits (`heap_loops.ts`) where the SIMD loops do not run;
 * `Concat` and `Transpose` have no twin and run the stock kernel then.
 * Together the SIMD loops took a training step at batch 64 from about 200
 * to about 165 ms on two threads (docs/backends_speed.md, "Speed").
 *
 * tfjs-backend-wasm 4.22 implements `Slice` in JavaScript on top of
 * `readSync`, which copies the whole input tensor out of the wasm heap on
 * every call; cutting 20 regions out of a 7 MB patch tensor then copies
 * 140 MB. This kernel copies only the requested runs, inside the heap (one
 * wasm call for up to three iterated dimensions, else `copyWithin` per run).
 * Same semantics; strings fall back to the stock kernel. `Concat` copies each
 * input's rows into the output the same way, where the stock kernel calls
 * `TypedArray.set` once per row and input (46,080 calls for conv3's patches).
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
 * `Transpose` in its fewest axes (`simplifyTranspose`): one copy of runs when
 * the last axis stays, 4 x 4 SIMD tiles for a 2-D transpose and the 3-D
 * `[2, 1, 0]` and `[0, 2, 1]` whose blocks are whole tiles (the patches'
 * `[256, 360]` took 0.06 ms against the stock 0.16), the stock kernel
 * otherwise. A transpose moves bits, so every path gives the same values.
 *
 * @module
 */
import { tf } from "./tf.ts";
import {
  copySliceRuns,
  maxPoolGrad2x2,
  simplifyTranspose,
  sumColumns,
} from "./heap_loops.ts";
import { type HeapSimd, loadHeapSimd } from "./heap_simd.ts";

interface WasmBackendInternals {
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  incRef(dataId: unknown): void;
  wasm: {
    HEAPU8: Uint8Array;
    /** The heap's memory: the threaded build keeps it here, */
    wasmMemory?: WebAssembly.Memory;
    /** the single-threaded build among its module's exports. */
    asm?: { memory?: WebAssembly.Memory };
  };
}

let installed = false;
/** The SIMD loops on the running wasm backend's heap, once loaded. */
let simd: HeapSimd | null = null;
let simdBackend: unknown = null;

/**
 * Loads the SIMD loops (`heap_simd.ts`) on the running wasm backend's heap,
 * for our `MaxPoolGrad` and `Sum` to use. Without them those kernels run the
 * JavaScript loops, with the same values.
 *
 * @returns null when they run, else why not
 */
export async function installWasmSimd(): Promise<string | null> {
  const backend = tf.backend() as unknown as WasmBackendInternals;
  if (tf.getBackend() !== "wasm") return "the wasm backend is not running";
  if (simdBackend === backend) return null;
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) return "the wasm backend does not expose its memory";
  try {
    simd = await loadHeapSimd(memory);
    simdBackend = backend;
    return null;
  } catch (e) {
    simd = null;
    simdBackend = null;
    return `SIMD loops failed to load: ${(e as Error).message}`;
  }
}

/** The SIMD loops when they run on `backend`'s heap. */
function simdOn(backend: WasmBackendInternals): HeapSimd | null {
  return simdBackend === backend ? simd : null;
}

/** Byte offset of tensor `t`'s data on the wasm heap. */
function offsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

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
  return new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, t), n);
}

/** Registers the fast kernels for the wasm backend (idempotent). */
export function installWasmKernels(): void {
  if (installed) return;
  const stockSlice = tf.getKernel("Slice", "wasm");
  const stockPool = tf.getKernel("MaxPoolGrad", "wasm");
  const stockSum = tf.getKernel("Sum", "wasm");
  const stockIdentity = tf.getKernel("Identity", "wasm");
  const stockConcat = tf.getKernel("Concat", "wasm");
  const stockTranspose = tf.getKernel("Transpose", "wasm");
  if (
    !stockSlice || !stockPool || !stockSum || !stockIdentity ||
    !stockConcat || !stockTranspose
  ) return;
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
    // Each column summed from the first row to the last, each step rounded
    // to float32 by the store: the order and rounding of the stock kernel,
    // which transposes the reduced axes innermost and sums them in order.
    const fast = simdOn(backend);
    if (fast && cols % 4 === 0) {
      fast.sumColumns(offsetOf(backend, x), offsetOf(backend, out), rows, cols);
      return out;
    }
    const src = heapF32(backend, x, rows * cols);
    const acc = heapF32(backend, out, cols);
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
    const dx = heapF32(backend, out, n);
    // Rows and columns in no window (odd sizes) keep this 0.
    if (h % 2 !== 0 || w % 2 !== 0) dx.fill(0);
    const fast = simdOn(backend);
    if (fast && c % 4 === 0) {
      const [px, pg, pdx] = [input, dy, out].map((t) => offsetOf(backend, t));
      fast.maxPoolGrad2x2(px, pg, pdx, b, h, w, c);
      return out;
    }
    const x = heapF32(backend, input, n);
    const g = heapF32(backend, dy, b * oh * ow * c);
    maxPoolGrad2x2(x, g, dx, [b, h, w, c], 0, b);
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
    const fast = simdOn(backend);
    if (fast && k <= 3) {
      // Up to three iterated dimensions, the rest given one run each; the
      // output is contiguous, so dimension d's output stride is the bytes
      // of the runs under one of its indices.
      const n = [1, 1, 1];
      const from = [0, 0, 0];
      const to = [0, 0, 0];
      let below = run * bytes;
      for (let d = k - 1; d >= 0; d--) {
        n[d] = s[d];
        from[d] = strides[d] * bytes;
        to[d] = below;
        below *= s[d];
      }
      fast.copyRuns(
        src + base * bytes,
        from[0],
        from[1],
        from[2],
        dst,
        to[0],
        to[1],
        to[2],
        n[0],
        n[1],
        n[2],
        run * bytes,
      );
      return out;
    }
    const runs = { src, dst, bytes, strides, base, size: s, k, run };
    copySliceRuns(heap, runs, 0, k === 0 ? 1 : s[0]);
    return out;
  });
  override(stockConcat, (args) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const fast = simdOn(backend);
    const inputs = (args.inputs as unknown as tf.TensorInfo[]).filter((t) =>
      tf.util.sizeFromShape(t.shape) > 0
    );
    const dtype = inputs[0]?.dtype;
    if (
      !fast || inputs.length < 2 || dtype === "string" || dtype === "complex64"
    ) {
      return stockConcat.kernelFunc(args);
    }
    const all = args.inputs as unknown as tf.TensorInfo[];
    const axis = tf.util.parseAxisParam(
      (args.attrs as unknown as { axis: number }).axis,
      all[0].shape,
    )[0];
    tf.backend_util.assertParamsConsistent(all.map((t) => t.shape), axis);
    const shape = tf.backend_util.computeOutShape(
      all.map((t) => t.shape),
      axis,
    );
    const out = backend.makeOutput(shape, dtype);
    // Each input is [rows, its inner size] and the output [rows, their sum]:
    // input i's rows go to its columns of every output row.
    const bytes = tf.util.bytesPerElement(dtype);
    const rows = tf.util.sizeFromShape(inputs[0].shape.slice(0, axis));
    const inner = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const outRow = inner.reduce((a, b) => a + b, 0) * bytes;
    let column = offsetOf(backend, out);
    inputs.forEach((t, i) => {
      const run = inner[i] * bytes;
      const src = offsetOf(backend, t);
      fast.copyRuns(src, run, 0, 0, column, outRow, 0, 0, rows, 1, 1, run);
      column += run;
    });
    return out;
  });
  override(stockTranspose, (args) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const fast = simdOn(backend);
    const x = args.inputs.x as tf.TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    if (
      !fast || tf.util.bytesPerElement(x.dtype) !== 4 || x.dtype === "string"
    ) {
      return stockTranspose.kernelFunc(args);
    }
    const { shape, perm: p } = simplifyTranspose(x.shape, perm);
    const r = p.length;
    const inner = r > 0 && p[r - 1] === r - 1;
    // The blocks a 2-D or 3-D transpose turns: [R, C] itself, [A, M, B] by
    // [2, 1, 0] A x B, [N, R, C] by [0, 2, 1] R x C. Whole 4 x 4 tiles only:
    // element by element the stock kernel was faster ([64, 2585, 3]).
    const block = r === 2
      ? shape
      : r === 3 && p[0] === 2
      ? [shape[0], shape[2]]
      : r === 3 && p[0] === 0
      ? [shape[1], shape[2]]
      : null;
    const tiles = !inner && block !== null && block[0] % 4 === 0 &&
      block[1] % 4 === 0;
    const covered = r <= 1 || (inner && r <= 4) || tiles;
    if (!covered) return stockTranspose.kernelFunc(args);
    const out = backend.makeOutput(perm.map((a) => x.shape[a]), x.dtype);
    const n = tf.util.sizeFromShape(x.shape);
    if (n === 0) return out;
    const src = offsetOf(backend, x);
    const dst = offsetOf(backend, out);
    if (r <= 1) {
      fast.copyRuns(src, 0, 0, 0, dst, 0, 0, 0, 1, 1, 1, n * 4);
    } else if (inner) {
      // The last axis stays: runs of it, from the input's places to the
      // output's. The loops follow the input's order (reads in sequence,
      // writes strided), which measured faster than the output's here.
      const strides = [...tf.util.computeStrides(shape), 1];
      const runs: { count: number; from: number; to: number }[] = [];
      let below = shape[r - 1] * 4;
      for (let j = r - 2; j >= 0; j--) {
        runs.push({ count: shape[p[j]], from: strides[p[j]] * 4, to: below });
        below *= shape[p[j]];
      }
      runs.sort((a, b) => b.from - a.from);
      while (runs.length < 3) runs.push({ count: 1, from: 0, to: 0 });
      const [a, b, c] = runs;
      fast.copyRuns(
        src,
        a.from,
        b.from,
        c.from,
        dst,
        a.to,
        b.to,
        c.to,
        a.count,
        b.count,
        c.count,
        shape[r - 1] * 4,
      );
    } else if (r === 2) {
      const [R, C] = shape;
      fast.transposeBlocks(src, 0, C * 4, dst, 0, R * 4, 1, R, C);
    } else if (p[0] === 2) {
      // [A, M, B] to [B, M, A]: for each m, an A x B block.
      const [A, M, B] = shape;
      fast.transposeBlocks(
        src,
        B * 4,
        M * B * 4,
        dst,
        A * 4,
        M * A * 4,
        M,
        A,
        B,
      );
    } else {
      // [N, R, C] to [N, C, R].
      const [N, R, C] = shape;
      fast.transposeBlocks(
        src,
        R * C * 4,
        C * 4,
        dst,
        R * C * 4,
        R * 4,
        N,
        R,
        C,
      );
    }
    return out;
  });
}

/**
 * The loops of our wasm kernels (`wasm_kernels.ts`), over views of the wasm
 * heap, each on a sub-range of its work (images, columns, first-dimension
 * indices): every output element is written by one range only, in the order
 * the whole loop would write it, so parts run in any order give the same
 * bits. A helper thread running part of them on the threaded build's shared
 * heap was tried: it took the pooling gradient from 20 to 14 ms a step, which
 * did not show in the whole step's speed, and was not kept.
 *
 * @module
 */

/**
 * The 2x2, stride-2, valid max-pooling gradient for images `b0 <= i < b1`:
 * each window's gradient goes to its first maximum in row-major order, the
 * window's other three elements get 0 (windows do not overlap), and `+ 0`
 * turns a -0 gradient into +0, as adding it to a cleared `dx` does. Rows and
 * columns in no window (odd sizes) are left alone: clear `dx` first then.
 *
 * @param x the pooling's input `[B, H, W, C]`
 * @param g the output's gradient `[B, H/2, W/2, C]`
 * @param dx the input's gradient, `[B, H, W, C]`
 */
export function maxPoolGrad2x2(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  shape: readonly [number, number, number, number],
  b0: number,
  b1: number,
): void {
  const [, h, w, c] = shape;
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const row = w * c;
  let k = b0 * oh * ow * c;
  for (let bi = b0; bi < b1; bi++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const p0 = ((bi * h + 2 * i) * w + 2 * j) * c;
        for (let ch = 0; ch < c; ch++, k++) {
          const q0 = p0 + ch;
          const q1 = q0 + c;
          const q2 = q0 + row;
          const q3 = q2 + c;
          let best = q0;
          let v = x[q0];
          if (x[q1] > v) {
            best = q1;
            v = x[q1];
          }
          if (x[q2] > v) {
            best = q2;
            v = x[q2];
          }
          if (x[q3] > v) best = q3;
          dx[q0] = 0;
          dx[q1] = 0;
          dx[q2] = 0;
          dx[q3] = 0;
          dx[best] = g[k] + 0;
        }
      }
    }
  }
}

/**
 * Column sums of `src` viewed as `[rows, cols]`, for columns `c0 <= c < c1`:
 * each column from the first row to the last, every step rounded to float32
 * by the store into `out` (which this clears first).
 */
export function sumColumns(
  src: Float32Array,
  out: Float32Array,
  rows: number,
  cols: number,
  c0: number,
  c1: number,
): void {
  for (let c = c0; c < c1; c++) out[c] = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = c0; c < c1; c++) out[c] += src[base + c];
  }
}

/** Where a slice's runs lie (byte offsets into the heap, element strides). */
export interface SliceRuns {
  /** Byte offsets of the input and the output. */
  src: number;
  dst: number;
  bytes: number;
  /** Element strides of the input, one per dimension (the last is 1). */
  strides: number[];
  /** Element offset of the slice's first run in the input. */
  base: number;
  /** The slice's size per dimension. */
  size: number[];
  /** Dimensions 0..k-1 are iterated; from k on one run of `run` elements. */
  k: number;
  run: number;
}

/**
 * Copies the runs of a slice whose first-dimension index is in `[o0, o1)`
 * (all of them when `k` is 0: one run), inside the heap (`copyWithin`).
 */
export function copySliceRuns(
  heap: Uint8Array,
  s: SliceRuns,
  o0: number,
  o1: number,
): void {
  const { k, strides, size, bytes } = s;
  const runBytes = s.run * bytes;
  if (k === 0) {
    const from = s.src + s.base * bytes;
    heap.copyWithin(s.dst, from, from + runBytes);
    return;
  }
  // Runs per index of dimension 0: the product of the sizes of 1..k-1.
  let perOuter = 1;
  for (let d = 1; d < k; d++) perOuter *= size[d];
  const idx = new Array(k).fill(0);
  idx[0] = o0;
  let outOffset = s.dst + o0 * perOuter * runBytes;
  for (;;) {
    let off = s.base;
    for (let d = 0; d < k; d++) off += idx[d] * strides[d];
    const from = s.src + off * bytes;
    heap.copyWithin(outOffset, from, from + runBytes);
    outOffset += runBytes;
    let d = k - 1;
    while (d > 0 && ++idx[d] === size[d]) idx[d--] = 0;
    if (d === 0 && ++idx[0] === o1) break;
  }
}

/**
 * A transpose in its fewest axes: axes of size 1 dropped, and input axes
 * that stay next to each other, in order, merged into one (`[64, 52, 44, 20]`
 * by `[1, 2, 0, 3]` is `[64, 2288, 20]` by `[1, 0, 2]`). The output's
 * elements are in the same order as the full transpose's.
 */
export function simplifyTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const renumber = new Map(kept.map((axis, i) => [axis, i]));
  const sizes = kept.map((i) => shape[i]);
  const order = perm.filter((p) => shape[p] !== 1).map((p) => renumber.get(p)!);
  // Groups of input axes in output order: [first axis, last axis].
  const groups: [number, number][] = [];
  for (const p of order) {
    const last = groups[groups.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else groups.push([p, p]);
  }
  const byInput = [...groups].sort((a, b) => a[0] - b[0]);
  const merged = byInput.map(([a, b]) =>
    sizes.slice(a, b + 1).reduce((x, y) => x * y, 1)
  );
  return {
    shape: merged,
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

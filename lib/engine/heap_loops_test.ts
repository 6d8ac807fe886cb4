import assertStrict from "node:assert/strict";
import {
  copySliceRuns,
  maxPoolGrad2x2,
  simplifyTranspose,
  sumColumns,
} from "./heap_loops.ts";
import { Rng } from "../base/rng.ts";

function randoms(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(0));

Deno.test("maxPoolGrad2x2: the parts of a split give the whole loop's bits; ties go to the first maximum", () => {
  const shape = [5, 6, 4, 3] as const;
  const n = 5 * 6 * 4 * 3;
  const x = randoms(n, 1).map((v) => Math.round(v * 2) / 2); // many ties
  const g = randoms(n / 4, 2);
  g[0] = -0;
  const whole = new Float32Array(n).fill(9);
  maxPoolGrad2x2(x, g, whole, shape, 0, 5);
  const parts = new Float32Array(n).fill(7);
  maxPoolGrad2x2(x, g, parts, shape, 0, 2);
  maxPoolGrad2x2(x, g, parts, shape, 2, 5);
  assertStrict.deepEqual(bits(parts), bits(whole));
  // Each window holds its gradient once, at its first maximum; -0 becomes +0.
  let k = 0;
  for (let b = 0; b < 5; b++) {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        for (let c = 0; c < 3; c++, k++) {
          const at = [0, 1, 2, 3].map((q) =>
            (((b * 6 + 2 * i + (q >> 1)) * 4 + 2 * j + (q & 1)) * 3) + c
          );
          const v = at.map((p) => x[p]);
          const first = v.indexOf(Math.max(...v));
          at.forEach((p, q) =>
            assertStrict.ok(
              Object.is(whole[p], q === first ? g[k] + 0 : 0),
              `window ${k} element ${q}`,
            )
          );
        }
      }
    }
  }
});

Deno.test("sumColumns: in order, rounded to float32 at every step; parts are disjoint columns", () => {
  const rows = 50;
  const cols = 7;
  const src = randoms(rows * cols, 3).map((v, i) => v * 10 ** (i % 9));
  const out = new Float32Array(cols);
  sumColumns(src, out, rows, cols, 0, cols);
  for (let c = 0; c < cols; c++) {
    let acc = 0;
    for (let r = 0; r < rows; r++) acc = Math.fround(acc + src[r * cols + c]);
    assertStrict.equal(out[c], acc);
  }
  const parts = new Float32Array(cols).fill(5);
  sumColumns(src, parts, rows, cols, 0, 3);
  sumColumns(src, parts, rows, cols, 3, cols);
  assertStrict.deepEqual(bits(parts), bits(out));
});

Deno.test("copySliceRuns: a slice copied in two parts of its first dimension equals one pass and the reference", () => {
  const n = 4 * 5 * 6 * 3;
  const bytes = 4;
  const src = 64; // byte offsets inside one heap
  const dst = src + n * bytes + 32;
  const heap = new Uint8Array(dst + n * bytes + 32);
  const input = new Float32Array(heap.buffer, src, n);
  input.set(Float32Array.from({ length: n }, (_, i) => i));
  const begin = [1, 2, 1, 0];
  const size = [3, 2, 4, 3];
  const strides = [90, 18, 3, 1];
  let base = 0;
  for (let d = 0; d < 4; d++) base += begin[d] * strides[d];
  // The last dimension is taken whole: runs of 4 * 3 elements along dim 2..3.
  const runs = { src, dst, bytes, strides, base, size, k: 2, run: 12 };
  copySliceRuns(heap, runs, 0, 1);
  copySliceRuns(heap, runs, 1, 3);
  const got = Array.from(new Float32Array(heap.buffer, dst, 3 * 2 * 4 * 3));
  const want: number[] = [];
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 4; c++) {
        for (let d = 0; d < 3; d++) {
          want.push(
            ((a + 1) * 5 + b + 2) * 18 + (c + 1) * 3 + d,
          );
        }
      }
    }
  }
  assertStrict.deepEqual(got, want);
  // k = 0: one run, the whole contiguous slice.
  heap.fill(0, dst);
  copySliceRuns(heap, { ...runs, base: 90, k: 0, run: 180 }, 0, 1);
  assertStrict.deepEqual(
    Array.from(new Float32Array(heap.buffer, dst, 180)),
    Array.from({ length: 180 }, (_, i) => 90 + i),
  );
});

Deno.test("simplifyTranspose: drops size-1 axes and merges input axes that stay together", () => {
  const cases: [number[], number[], number[], number[]][] = [
    [[64, 52, 44, 20], [1, 2, 0, 3], [64, 2288, 20], [1, 0, 2]],
    [[64, 55, 47, 3], [3, 1, 2, 0], [64, 2585, 3], [2, 1, 0]],
    [[256, 360], [1, 0], [256, 360], [1, 0]],
    [[3, 3, 20, 40], [0, 1, 3, 2], [9, 20, 40], [0, 2, 1]],
    [[2, 3, 4], [0, 1, 2], [24], [0]],
    [[2, 1, 4], [2, 1, 0], [2, 4], [1, 0]],
    [[1, 1], [1, 0], [], []],
    [[2, 3, 4, 5], [2, 3, 0, 1], [6, 20], [1, 0]],
  ];
  for (const [shape, perm, s, p] of cases) {
    assertStrict.deepEqual(simplifyTranspose(shape, perm), {
      shape: s,
      perm: p,
    }, `${shape} by ${perm}`);
  }
});

import assertStrict from "node:assert/strict";
import { type HeapSimd, loadHeapSimd } from "./heap_simd.ts";
import { maxPoolGrad2x2, sumColumns } from "./heap_loops.ts";
import { Rng } from "../base/rng.ts";

/**
 * A memory of `pages` 64 KiB pages (shared or not, as the two wasm builds'
 * heaps are) with the SIMD loops on it, and a bump allocator of float32
 * arrays on it (16-byte aligned, as tfjs's allocator is not required to be).
 */
async function heap(shared: boolean, pages = 64) {
  const memory = new WebAssembly.Memory(
    shared
      ? { initial: pages, maximum: 65536, shared: true }
      : { initial: pages },
  );
  const simd: HeapSimd = await loadHeapSimd(memory);
  let top = 4; // an odd start: no alignment is assumed
  const alloc = (n: number) => {
    const a = new Float32Array(memory.buffer, top * 4, n);
    top += n + 1;
    return { a, at: a.byteOffset };
  };
  return { simd, alloc };
}

function randoms(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.slice().buffer));

for (const shared of [false, true]) {
  const memory = shared ? "a shared memory" : "an unshared memory";

  Deno.test(`SIMD maxPoolGrad2x2 on ${memory} has the JavaScript loop's bits: ties, NaN, -0, odd sizes`, async () => {
    const { simd, alloc } = await heap(shared);
    for (const [b, h, w, c] of [[3, 6, 4, 8], [2, 7, 5, 4], [1, 52, 44, 20]]) {
      const n = b * h * w * c;
      const oh = h >> 1;
      const ow = w >> 1;
      const x = alloc(n);
      x.a.set(randoms(n, h).map((v) => Math.round(v * 2) / 2)); // many ties
      x.a[0] = NaN;
      x.a[c + 1] = NaN;
      x.a[w * c + 2] = -0;
      const g = alloc(b * oh * ow * c);
      g.a.set(randoms(g.a.length, w));
      g.a[0] = -0;
      g.a[3] = NaN;
      const ours = alloc(n);
      ours.a.fill(5); // rows and columns in no window keep this
      simd.maxPoolGrad2x2(x.at, g.at, ours.at, b, h, w, c);
      const js = new Float32Array(n).fill(5);
      maxPoolGrad2x2(x.a, g.a, js, [b, h, w, c], 0, b);
      assertStrict.deepEqual(bits(ours.a), bits(js), `${[b, h, w, c]}`);
    }
  });

  Deno.test(`SIMD sumColumns on ${memory} has the JavaScript loop's bits`, async () => {
    const { simd, alloc } = await heap(shared);
    for (const [rows, cols] of [[1, 4], [1000, 20], [333, 160]]) {
      // Values over many magnitudes, so that another order would show.
      const src = alloc(rows * cols);
      src.a.set(randoms(rows * cols, cols).map((v, i) => v * 2 ** (i % 37)));
      src.a[1] = -0;
      const out = alloc(cols);
      out.a.fill(3);
      simd.sumColumns(src.at, out.at, rows, cols);
      const js = new Float32Array(cols);
      sumColumns(src.a, js, rows, cols, 0, cols);
      assertStrict.deepEqual(bits(out.a), bits(js), `${rows} x ${cols}`);
    }
  });

  Deno.test(`SIMD copyRuns on ${memory} copies every run to its place, in 16-byte and odd lengths`, async () => {
    const { simd, alloc } = await heap(shared);
    for (const runElems of [4, 5, 720]) {
      const [n0, n1, n2] = [3, 2, 4];
      // Source: [n0, n1 + 1, n2 + 2, runElems + 3]; the runs skip the rest.
      const s2 = runElems + 3;
      const s1 = (n2 + 2) * s2;
      const s0 = (n1 + 1) * s1;
      const src = alloc(n0 * s0);
      src.a.set(randoms(n0 * s0, runElems));
      const dst = alloc(n0 * n1 * n2 * runElems + 1);
      dst.a.fill(-1);
      simd.copyRuns(
        src.at + 4 * (s2 + 1),
        s0 * 4,
        s1 * 4,
        s2 * 4,
        dst.at,
        n1 * n2 * runElems * 4,
        n2 * runElems * 4,
        runElems * 4,
        n0,
        n1,
        n2,
        runElems * 4,
      );
      const want: number[] = [];
      for (let i = 0; i < n0; i++) {
        for (let j = 0; j < n1; j++) {
          for (let k = 0; k < n2; k++) {
            const at = i * s0 + j * s1 + (k + 1) * s2 + 1;
            want.push(...src.a.subarray(at, at + runElems));
          }
        }
      }
      want.push(-1); // nothing written past the last run
      assertStrict.deepEqual(Array.from(dst.a), want, `runs of ${runElems}`);
    }
  });

  Deno.test(`SIMD transposeBlocks on ${memory} moves every element's bits, tiles and edges`, async () => {
    const { simd, alloc } = await heap(shared);
    for (const [n, R, C] of [[1, 8, 12], [3, 5, 7], [2, 64, 20], [1, 3, 1]]) {
      // Source blocks [n, R, C + 2] (rows padded), output [n, C, R].
      const src = alloc(n * R * (C + 2));
      src.a.set(randoms(src.a.length, R * C));
      src.a[0] = NaN;
      src.a[1] = -0;
      const dst = alloc(n * C * R);
      simd.transposeBlocks(
        src.at,
        R * (C + 2) * 4,
        (C + 2) * 4,
        dst.at,
        C * R * 4,
        R * 4,
        n,
        R,
        C,
      );
      // The reference moves bits too (a NaN read into JavaScript may not be).
      const from = new Uint32Array(src.a.buffer, src.at, src.a.length);
      const want = new Uint32Array(n * C * R);
      for (let o = 0; o < n; o++) {
        for (let r = 0; r < R; r++) {
          for (let c = 0; c < C; c++) {
            want[o * C * R + c * R + r] =
              from[o * R * (C + 2) + r * (C + 2) + c];
          }
        }
      }
      assertStrict.deepEqual(bits(dst.a), Array.from(want), `${[n, R, C]}`);
    }
  });
}

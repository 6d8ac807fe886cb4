/**
 * The loops of our wasm kernels in wasm (`heap_simd.wat`): the pooling
 * gradient, the column sums and the 2-D transposes in 128-bit SIMD, and the
 * run copies of slices, concatenations and transposes, running on the tfjs
 * wasm backend's own memory.
 *
 * The text is assembled with wabt (the WebAssembly Binary Toolkit, from npm)
 * when the wasm backend starts, about 30 ms once, so there is no build step
 * and nothing compiled is committed. The module imports the backend's
 * `WebAssembly.Memory` (shared on the threaded build), so it reads and writes
 * tensors where they lie, by heap byte offset, and sees the heap grow. Each
 * function computes what its JavaScript twin in `heap_loops.ts` computes, or
 * moves bits unchanged, bit for bit (`heap_simd_test.ts`); the kernels call
 * the twin or the stock kernel for what these do not cover (channels or
 * columns not a multiple of 4) or when this module could not load.
 *
 * @module
 */

/** The SIMD loops, on byte offsets into the memory they were loaded on. */
export interface HeapSimd {
  /**
   * `heap_loops.ts`'s `maxPoolGrad2x2` over all `b` images, for `c % 4 == 0`:
   * x, dx `[b, h, w, c]`, g `[b, h/2, w/2, c]` (float32, byte offsets).
   */
  maxPoolGrad2x2(
    x: number,
    g: number,
    dx: number,
    b: number,
    h: number,
    w: number,
    c: number,
  ): void;
  /** `heap_loops.ts`'s `sumColumns` over all columns, for `cols % 4 == 0`. */
  sumColumns(src: number, out: number, rows: number, cols: number): void;
  /**
   * Copies `n0 * n1 * n2` runs of `run` bytes, from `src + i0*s0 + i1*s1 +
   * i2*s2` to `dst + i0*d0 + i1*d1 + i2*d2` (byte offsets and strides), each a
   * memmove, in that order.
   */
  copyRuns(
    src: number,
    s0: number,
    s1: number,
    s2: number,
    dst: number,
    d0: number,
    d1: number,
    d2: number,
    n0: number,
    n1: number,
    n2: number,
    run: number,
  ): void;
  /**
   * `n` transposes of `R x C` blocks of 32-bit elements: element `(r, c)` of
   * block `o` at `src + o*so + r*sr + 4c` goes to `dst + o*dO + c*dr + 4r`
   * (byte offsets and strides), its bits unchanged.
   */
  transposeBlocks(
    src: number,
    so: number,
    sr: number,
    dst: number,
    dO: number,
    dr: number,
    n: number,
    R: number,
    C: number,
  ): void;
}

/** The module, compiled once per process (the memory import differs). */
const modules = new Map<boolean, Promise<WebAssembly.Module>>();

async function assemble(shared: boolean): Promise<WebAssembly.Module> {
  const url = new URL("./heap_simd.wat", import.meta.url);
  let text = await Deno.readTextFile(url);
  const plain = `(import "env" "memory" (memory 1))`;
  if (!text.includes(plain)) {
    throw new Error(`${url.pathname}: the memory import line is missing`);
  }
  // A shared memory import must state a maximum no smaller than the
  // memory's: 65536 pages is all of wasm32's 4 GiB.
  if (shared) {
    text = text.replace(
      plain,
      `(import "env" "memory" (memory 1 65536 shared))`,
    );
  }
  const { default: init } = await import("wabt");
  const wabt = await init();
  const module = wabt.parseWat("heap_simd.wat", text, {
    simd: true,
    bulk_memory: true,
    threads: shared,
  });
  // WebAssembly.compile validates it (wabt's own validator refuses a
  // shared memory whatever the features).
  let binary: Uint8Array<ArrayBuffer>;
  try {
    binary = new Uint8Array(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
  return await WebAssembly.compile(binary);
}

/**
 * Instantiates the SIMD loops on `memory` (the wasm backend's heap).
 *
 * @throws when the text does not assemble or the host has no wasm SIMD
 */
export async function loadHeapSimd(
  memory: WebAssembly.Memory,
): Promise<HeapSimd> {
  const shared = typeof SharedArrayBuffer !== "undefined" &&
    memory.buffer instanceof SharedArrayBuffer;
  let module = modules.get(shared);
  if (!module) {
    module = assemble(shared);
    modules.set(shared, module);
  }
  const instance = await WebAssembly.instantiate(await module, {
    env: { memory },
  });
  return instance.exports as unknown as HeapSimd;
}

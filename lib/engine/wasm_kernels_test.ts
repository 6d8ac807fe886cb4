import assertStrict from "node:assert/strict";
import { useBackend } from "../_test_helpers.ts";
import { tf } from "./tf.ts";

Deno.test("wasm Slice override equals the cpu backend on every rank and offset pattern", async () => {
  const cases: [number[], number[], number[]][] = [
    [[4, 5, 6, 7], [1, 2, 0, 3], [2, 3, 6, 4]],
    [[4, 5, 6, 7], [1, 0, 0, 0], [2, 5, 6, 7]],
    [[4, 5, 6, 7], [0, 1, 2, 0], [4, 3, 3, 7]],
    [[10, 8], [3, 2], [4, 5]],
    [[3, 4, 5], [0, 1, 0], [3, 2, 5]],
    [[2, 3, 4, 5, 6], [0, 1, 1, 0, 2], [2, 2, 3, 5, 3]],
    [[6], [2], [3]],
    [[3, 4], [1, 0], [0, 4]],
  ];
  for (const [shape, begin, size] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: n }, (_, i) => i);
    const out: number[][] = [];
    for (const b of ["cpu", "wasm"] as const) {
      await useBackend(b);
      out.push(
        Array.from(await tf.slice(tf.tensor(vals, shape), begin, size).data()),
      );
    }
    assertStrict.deepEqual(out[1], out[0], `slice ${shape} ${begin} ${size}`);
  }
  await useBackend("wasm");
  const ints = tf.slice(tf.tensor([1, 2, 3, 4], [2, 2], "int32"), [1, 0], [
    1,
    2,
  ]);
  assertStrict.equal(ints.dtype, "int32");
  assertStrict.deepEqual(Array.from(await ints.data()), [3, 4]);
});

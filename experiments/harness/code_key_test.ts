import assertStrict from "node:assert/strict";
import { codeHash, importClosure, TRAINING_ENTRIES } from "./code_key.ts";

Deno.test("the training closure reaches every layer, kernel and loss, at any depth", async () => {
  const files = await importClosure(TRAINING_ENTRIES);
  for (
    const f of [
      "lib/engine/tf.ts",
      "lib/engine/native_sgd.ts",
      "lib/engine/wasm_kernels.ts",
      "lib/nn/locally_shared.ts",
      "lib/nn/conv.ts",
      "lib/train/joint_loss.ts",
      "lib/train/losses.ts",
      "lib/base/rng.ts",
      // Loaded at run time, not imported: our TensorFlow kernels' C
      // sources and the wasm kernels' loops.
      "lib/engine/native/products.c",
      "lib/engine/native/deepid2_kernels.h",
      "lib/engine/heap_simd.wat",
    ]
  ) assertStrict.ok(files.includes(f), f);
  // Nothing outside lib/ decides a model's numbers.
  assertStrict.deepEqual(files.filter((f) => !f.startsWith("lib/")), []);
});

Deno.test("changing any file of the closure changes the key; other files do not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = new URL(`file://${dir}/`);
    await Deno.mkdir(`${dir}/lib/deep/deeper`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/lib/a.ts`,
      'import { b } from "./deep/b.ts";\nexport const a = b;\n',
    );
    await Deno.writeTextFile(
      `${dir}/lib/deep/b.ts`,
      'export { c as b } from "./deeper/c.ts";\n',
    );
    await Deno.writeTextFile(
      `${dir}/lib/deep/deeper/c.ts`,
      "export const c = 1;\n",
    );
    await Deno.writeTextFile(
      `${dir}/lib/unrelated.ts`,
      "export const u = 1;\n",
    );
    assertStrict.deepEqual(await importClosure(["lib/a.ts"], root), [
      "lib/a.ts",
      "lib/deep/b.ts",
      "lib/deep/deeper/c.ts",
    ]);
    const key = async (tag: string) => {
      // A fresh root URL per state: codeHash reads each root once per process.
      return await codeHash(["lib/a.ts"], new URL(`${root.href}?${tag}`));
    };
    const base = await key("base");
    await Deno.writeTextFile(
      `${dir}/lib/unrelated.ts`,
      "export const u = 2;\n",
    );
    assertStrict.equal(await key("unrelated"), base);
    await Deno.writeTextFile(
      `${dir}/lib/deep/deeper/c.ts`,
      "export const c = 2;\n",
    );
    assertStrict.notEqual(await key("deep"), base);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

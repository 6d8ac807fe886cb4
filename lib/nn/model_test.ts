import assertStrict from "node:assert/strict";
import { useBackend } from "../_test_helpers.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import {
  createDeepID2,
  defaultModelConfig,
  disposeModel,
  loadModel,
  saveModel,
} from "./model.ts";

Deno.test("loadModel reads the earlier one-tensor-per-bank layout (conv3/w0 .. conv3/w19) into the same weights", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    const net = createDeepID2(defaultModelConfig(10), 4);
    await saveModel(net, `${dir}/now.ckpt`);
    // Rewrite it the way the earlier code stored banks.
    const ck = await loadCheckpoint(`${dir}/now.ckpt`);
    const old = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, t] of ck.tensors) {
      if (!name.startsWith("conv")) {
        old.set(name, t);
        continue;
      }
      const banks = t.shape[0];
      const per = t.values.length / banks;
      for (let r = 0; r < banks; r++) {
        old.set(`${name}${r}`, {
          shape: t.shape.slice(1),
          values: t.values.slice(r * per, (r + 1) * per),
        });
      }
    }
    assertStrict.ok(old.has("conv3/w19") && old.has("conv4/b11"));
    await saveCheckpoint(`${dir}/old.ckpt`, { tensors: old, state: ck.state });
    const back = await loadModel(`${dir}/old.ckpt`);
    for (const [name, v] of net.params) {
      assertStrict.deepEqual(
        Array.from(await back.params.get(name)!.data()),
        Array.from(await v.data()),
        name,
      );
    }
    // A bank missing from the old layout is still an error naming the file.
    old.delete("conv3/w7");
    await saveCheckpoint(`${dir}/broken.ckpt`, {
      tensors: old,
      state: ck.state,
    });
    await assertStrict.rejects(
      () => loadModel(`${dir}/broken.ckpt`),
      /broken\.ckpt: tensor conv3\/w missing or of the wrong size/,
    );
    disposeModel(net);
    disposeModel(back);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

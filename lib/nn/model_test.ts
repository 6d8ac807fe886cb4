import assertStrict from "node:assert/strict";
import { useBackend } from "../_test_helpers.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import {
  createDeepID2,
  DEFAULT_INIT,
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

Deno.test("initialisation keys: the gain scales every weight exactly, the DeepID2 bias starts at its value, older files load with the defaults", async () => {
  await useBackend("cpu");
  const base = defaultModelConfig(10);
  assertStrict.equal(base.weightInitGain, 1);
  assertStrict.equal(base.deepid2BiasInit, 0);
  const a = createDeepID2(base, 4);
  const b = createDeepID2(
    { ...base, weightInitGain: 2, deepid2BiasInit: 0.1 },
    4,
  );
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, v] of a.params) {
      const x = Array.from(await v.data());
      const y = Array.from(await b.params.get(name)!.data());
      if (name === "deepid2/b") {
        assertStrict.ok(x.every((t) => t === 0));
        assertStrict.ok(y.every((t) => t === Math.fround(0.1)));
      } else if (name.endsWith("/b")) {
        assertStrict.ok(x.every((t) => t === 0) && y.every((t) => t === 0));
      } else {
        // Times 2 is exact in binary floating point: the same draws, doubled.
        assertStrict.deepEqual(y, x.map((t) => 2 * t), name);
      }
    }
    // A file written before the keys existed: its model config lacks them.
    await saveModel(a, `${dir}/old.ckpt`);
    const ck = await loadCheckpoint(`${dir}/old.ckpt`);
    const { weightInitGain: _g, deepid2BiasInit: _b, ...older } = base;
    await saveCheckpoint(`${dir}/old.ckpt`, {
      tensors: ck.tensors,
      state: { ...ck.state, model: older },
    });
    const back = await loadModel(`${dir}/old.ckpt`);
    assertStrict.deepEqual(back.config, { ...older, ...DEFAULT_INIT });
    disposeModel(back);
    assertStrict.throws(
      () => createDeepID2({ ...base, weightInitGain: NaN }, 1),
      /weightInitGain must be finite and >= 0/,
    );
    assertStrict.throws(
      () => createDeepID2({ ...base, deepid2BiasInit: Infinity }, 1),
      /deepid2BiasInit must be finite/,
    );
  } finally {
    disposeModel(a);
    disposeModel(b);
    await Deno.remove(dir, { recursive: true });
  }
});

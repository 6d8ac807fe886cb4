import assert from "node:assert/strict";
import {
  cropBytes,
  cropFace,
  decodeImage,
  DEFAULT_CROP,
} from "../datasets/crop.ts";
import {
  extractFeatures,
  loadModel,
  type ModelConfig,
} from "../lib/nn/model.ts";
import { readSafetensors } from "../lib/nn/safetensors.ts";
import {
  main,
  maxAbsDiff,
  PARITY_TOLERANCE,
  peerFeatures,
  peerPython,
  seededCrops,
} from "./export.ts";
import { filesIn, modelFixture, runMain, TINY_DATA } from "./_model_fixture.ts";

// The PyTorch parity checks need a Python with torch (DEEPID2_PYTHON, else
// .venv-peer/bin/python, else python3); the ONNX ones onnx and onnxruntime too.
const torchPy = await peerPython(["torch", "numpy"]);
const onnxPy = torchPy.why
  ? torchPy
  : await peerPython(["torch", "numpy", "onnx", "onnxruntime"]);
if (torchPy.why) {
  console.log(`export_test: PyTorch parity skipped: ${torchPy.why}`);
} else if (onnxPy.why) {
  console.log(`export_test: ONNX parity skipped: ${onnxPy.why}`);
}

/**
 * A network unlike the default in every way the layout mapping could get
 * wrong: gray 47x47 input, a one-bank conv1 given as a region, conv2 in 2x2
 * banks, conv3 in non-square 1x2 regions (8x4 banks), no softmax.
 */
const ODD: ModelConfig = {
  inputShape: [47, 47, 1],
  conv1: { filters: 6, kernel: 4, region: [44, 44] }, // 44x44 out, one bank
  conv2: { filters: 8, kernel: 3, region: [10, 10] }, // 22x22 -> 20x20, 2x2 banks
  conv3: { filters: 10, kernel: 3, region: [1, 2] }, // 10x10 -> 8x8, 8x4 banks
  conv4: { filters: 12, kernel: 2, region: [1, 1] }, // 4x4 -> 3x3, 9 banks
  deepid2Dim: 32,
  numIdentities: 0,
  weightInitGain: 1,
  deepid2BiasInit: 0.1,
};

/** Seeded noise crops and a few real faces (the tiny LFW set, fixed box), uint8 `[N, H, W, C]`. */
async function testCrops(shape: [number, number, number]): Promise<Uint8Array> {
  const noise = seededCrops(shape, 6);
  if (shape.join() !== "55,47,3") return noise;
  const faces = [
    "Kofi_Pereira/Kofi_Pereira_0001.jpg",
    "Rosa_Petrov/Rosa_Petrov_0001.jpg",
  ];
  const per = cropBytes(DEFAULT_CROP);
  const out = new Uint8Array(noise.length + faces.length * per);
  out.set(noise);
  for (let i = 0; i < faces.length; i++) {
    const img = await decodeImage(
      await Deno.readFile(`${TINY_DATA}/lfw/lfw/${faces[i]}`),
    );
    cropFace(img, null, {
      crop: DEFAULT_CROP,
      out,
      offset: noise.length + i * per,
    });
  }
  return out;
}

Deno.test("export: every parameter by name, bit for bit, with the architecture and crop", async () => {
  const fx = await modelFixture();
  try {
    const out = `${fx.dir}/m.safetensors`;
    const r = await runMain(main, [
      "--model",
      fx.unit,
      ...fx.lookup,
      "--out",
      out,
      "--backend",
      "cpu",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /wrote .*m\.safetensors \(12 tensors, \d+ parameters, \d+ bytes; model 0+1\), verified by reading back/,
    );
    const st = await readSafetensors(out);
    const net = await loadModel(fx.modelPath);
    assert.deepEqual([...st.tensors.keys()], [...net.params.keys()]);
    for (const [name, v] of net.params) {
      const t = st.tensors.get(name)!;
      assert.deepEqual(t.shape, v.shape, name);
      assert.deepEqual(t.values, v.dataSync(), name);
    }
    assert.deepEqual(JSON.parse(st.metadata.model_config), net.config);
    assert.deepEqual(JSON.parse(st.metadata.crop), DEFAULT_CROP);
    assert.equal(st.metadata.model_key, fx.key);
    assert.equal(st.metadata.name, fx.unit);
    assert.match(
      st.metadata.layout,
      /\[banks, kh\*kw\*cin, cout\], rows ordered \(dy, dx, cin\)/,
    );
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("export: a bad model name or file, or a missing folder, exits 1 and writes nothing", async () => {
  const fx = await modelFixture({ scoring: false });
  try {
    await Deno.mkdir(`${fx.dir}/out`);
    const bytes = await Deno.readFile(fx.modelPath);
    await Deno.writeFile(`${fx.dir}/cut.model`, bytes.subarray(0, 1000));
    const out = `${fx.dir}/out/m.safetensors`;
    const cases: [string[], RegExp][] = [
      [
        ["--model", "joint_lambda:lambda=0.5", ...fx.lookup, "--out", out],
        /no unit lambda=0\.5 in .*joint_lambda\/ \(there: lambda=0\.05 \(seed 1\)\)/,
      ],
      [
        ["--model", `${fx.dir}/cut.model`, "--out", out],
        /cut\.model: not a valid DeepID2 checkpoint/,
      ],
      [
        ["--model", fx.modelPath, "--out", `${fx.dir}/none/m.safetensors`],
        /folder .*none does not exist/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await runMain(main, [...args, "--backend", "cpu", "--quiet"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, want);
      assert.deepEqual(await filesIn(`${fx.dir}/out`), []);
    }
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test({
  name:
    "export: PyTorch's features of the same crops equal ours (default and odd layouts)",
  ignore: Boolean(torchPy.why),
  fn: async () => {
    for (const config of [undefined, ODD]) {
      const fx = await modelFixture({
        config,
        scoring: false,
        seed: config ? 3 : 1,
      });
      try {
        const out = `${fx.dir}/m.safetensors`;
        const r = await runMain(main, [
          "--model",
          fx.modelPath,
          "--out",
          out,
          "--backend",
          "cpu",
          "--quiet",
        ]);
        assert.equal(r.code, 0, r.stderr);
        const net = await loadModel(fx.modelPath);
        const crops = await testCrops(net.config.inputShape);
        const ours = await extractFeatures(net, crops, net.config.inputShape);
        const peer = await peerFeatures(torchPy.python, out, crops);
        const diff = maxAbsDiff(ours, peer.torch);
        const scale = Math.max(...ours.map(Math.abs));
        console.log(
          `export_test: ${
            net.config.inputShape.join("x")
          }: PyTorch vs ours, max abs ${
            diff.toExponential(2)
          } (features up to ${scale.toFixed(2)})`,
        );
        assert.ok(diff <= PARITY_TOLERANCE, `max abs difference ${diff}`);
        assert.ok(
          scale > 0.01,
          "features all near zero: the check would be empty",
        );
      } finally {
        await Deno.remove(fx.dir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "export --onnx: onnxruntime's features of the same crops equal ours",
  ignore: Boolean(onnxPy.why),
  fn: async () => {
    const fx = await modelFixture();
    try {
      const out = `${fx.dir}/m.safetensors`, onnx = `${fx.dir}/m.onnx`;
      const r = await runMain(main, [
        "--model",
        fx.modelPath,
        "--out",
        out,
        "--onnx",
        onnx,
        "--backend",
        "cpu",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /max abs difference from ours: PyTorch [\d.e+-]+, onnxruntime [\d.e+-]+/,
      );
      const net = await loadModel(fx.modelPath);
      const crops = await testCrops(net.config.inputShape);
      const ours = await extractFeatures(net, crops, net.config.inputShape);
      const peer = await peerFeatures(onnxPy.python, out, crops, onnx);
      const diff = maxAbsDiff(ours, peer.onnx!);
      console.log(
        `export_test: onnxruntime vs ours, max abs ${diff.toExponential(2)}`,
      );
      assert.ok(diff <= PARITY_TOLERANCE, `max abs difference ${diff}`);
    } finally {
      await Deno.remove(fx.dir, { recursive: true });
    }
  },
});

import assert from "node:assert/strict";
import sharp from "sharp";
import { loadModel } from "../lib/nn/model.ts";
import { mirrored } from "../lib/faces.ts";
import { extractFeatures } from "../lib/nn/model.ts";
import {
  cropBytes,
  cropFace,
  decodeImage,
  DEFAULT_CROP,
} from "../datasets/crop.ts";
import { readFeaturesCsv } from "./evaluate.ts";
import { main as evaluate } from "./evaluate.ts";
import { f32Text, main, readLandmarkFile } from "./features.ts";
import { filesIn, modelFixture, runMain, TINY_DATA } from "./_model_fixture.ts";

const LFW = `${TINY_DATA}/lfw`;
const CELEBA = `${TINY_DATA}/celeba`;

/** Our features of image files, cropped as the tool does (the reference). */
async function reference(
  modelPath: string,
  files: string[],
  landmarks: (number[] | null)[],
): Promise<Float32Array> {
  const net = await loadModel(modelPath);
  const per = cropBytes(DEFAULT_CROP);
  const crops = new Uint8Array(files.length * per);
  for (let i = 0; i < files.length; i++) {
    cropFace(await decodeImage(await Deno.readFile(files[i])), landmarks[i], {
      crop: DEFAULT_CROP,
      out: crops,
      offset: i * per,
    });
  }
  return extractFeatures(net, crops, net.config.inputShape);
}

Deno.test("features --lfw: one row per image, our features, ready for evaluate --pairs", async () => {
  const fx = await modelFixture();
  try {
    const out = `${fx.dir}/f.csv`;
    const r = await runMain(main, [
      "--model",
      fx.unit,
      ...fx.lookup,
      "--lfw",
      LFW,
      "--out",
      out,
      "--backend",
      "cpu",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /alignment: fixed LFW box/);
    assert.match(
      r.stderr,
      /crop: 55x47 RGB, whole face, from its scoring file/,
    );
    const table = await readFeaturesCsv(out);
    assert.equal(table.dim, 160);
    assert.ok(
      table.paths.every((p) => /^lfw\/[^/]+\/[^/]+_\d{4}\.jpg$/.test(p)),
    );
    assert.deepEqual(table.paths, [...table.paths].sort());
    const want = await reference(
      fx.modelPath,
      table.paths.map((p) => `${LFW}/${p}`),
      table.paths.map(() => null),
    );
    // The CSV holds each float32 exactly.
    assert.deepEqual(Float32Array.from(table.features), want);
    const header = (await Deno.readTextFile(out)).split("\n")[0].split(",");
    assert.deepEqual(header.slice(0, 3), ["path", "f0", "f1"]);
    assert.equal(header.at(-1), "f159");
    // evaluate reads it as it is.
    const e = await runMain(evaluate, [
      "--features",
      out,
      "--pairs",
      `${LFW}/pairs.txt`,
    ]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(JSON.parse(e.stdout).n_pairs, 4); // 2 folds x 2 pairs
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("features --landmarks: CelebA's file and the simple format align alike; --flip appends the mirror's", async () => {
  const fx = await modelFixture();
  try {
    const imgs = `${CELEBA}/img_align_celeba`;
    const celeba = await readLandmarkFile(
      `${CELEBA}/list_landmarks_align_celeba.txt`,
    );
    assert.equal(celeba.format, "celeba");
    // The same points, simple format, paths relative to the folder given.
    const simple = `${fx.dir}/lm.txt`;
    await Deno.writeTextFile(
      simple,
      "# path x1 y1 ... x5 y5\n" +
        [...celeba.byPath].map(([p, e]) => `${p} ${e.points.join(" ")}`).join(
          "\n",
        ) + "\n",
    );
    const files: string[] = [];
    const names = [...celeba.byPath.keys()].sort();
    for (const n of names) files.push(`${imgs}/${n}`);
    const want = await reference(
      fx.modelPath,
      files,
      names.map((n) => celeba.byPath.get(n)!.points),
    );
    const csvs: string[] = [];
    for (const lm of [`${CELEBA}/list_landmarks_align_celeba.txt`, simple]) {
      const out = `${fx.dir}/f${csvs.length}.csv`;
      const r = await runMain(main, [
        "--model",
        fx.modelPath,
        "--images",
        imgs,
        "--landmarks",
        lm,
        "--out",
        out,
        "--backend",
        "cpu",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /alignment: five-landmark similarity alignment/);
      csvs.push(await Deno.readTextFile(out));
      const t = await readFeaturesCsv(out);
      assert.deepEqual(t.paths, names);
      assert.deepEqual(Float32Array.from(t.features), want);
    }
    assert.equal(csvs[0], csvs[1]);
    // --flip: 320 columns, the second half the mirrored crops' features.
    const out = `${fx.dir}/flip.csv`;
    const r = await runMain(main, [
      "--model",
      fx.modelPath,
      "--images",
      imgs,
      "--landmarks",
      simple,
      "--flip",
      "--out",
      out,
      "--backend",
      "cpu",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const t = await readFeaturesCsv(out);
    assert.equal(t.dim, 320);
    const net = await loadModel(fx.modelPath);
    const per = cropBytes(DEFAULT_CROP);
    const crops = new Uint8Array(names.length * per);
    for (let i = 0; i < names.length; i++) {
      cropFace(
        await decodeImage(await Deno.readFile(files[i])),
        celeba.byPath.get(names[i])!.points,
        { crop: DEFAULT_CROP, out: crops, offset: i * per },
      );
    }
    const flipped = await extractFeatures(
      net,
      mirrored({
        images: crops,
        shape: [55, 47, 3],
        labels: new Int32Array(0),
        identities: [],
        paths: [],
      })
        .images,
      [55, 47, 3],
    );
    for (let i = 0; i < names.length; i++) {
      assert.deepEqual(
        Float32Array.from(t.features.subarray(i * 320, i * 320 + 160)),
        want.subarray(i * 160, (i + 1) * 160),
      );
      assert.deepEqual(
        Float32Array.from(t.features.subarray(i * 320 + 160, (i + 1) * 320)),
        flipped.subarray(i * 160, (i + 1) * 160),
      );
    }
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("features: bad input names the file (and line), exits 1 and leaves no output", async () => {
  const fx = await modelFixture({ scoring: false });
  try {
    const imgs = `${fx.dir}/imgs`;
    await Deno.mkdir(imgs);
    const noise = new Uint8Array(60 * 50 * 3).map((_, i) => (i * 37) % 256);
    await sharp(noise, { raw: { width: 50, height: 60, channels: 3 } }).png()
      .toFile(`${imgs}/a.png`);
    await Deno.copyFile(`${TINY_DATA}/../truncated.jpg`, `${imgs}/b.jpg`);
    const base = ["--backend", "cpu", "--quiet"];
    const run = (args: string[]) =>
      runMain(main, [...base, "--out", `${fx.dir}/out/f.csv`, ...args]);
    await Deno.mkdir(`${fx.dir}/out`);
    const cases: [string[], RegExp][] = [
      [
        ["--model", fx.modelPath, "--images", imgs],
        /b\.jpg: does not decode as an image/,
      ],
      [
        [
          "--model",
          "joint_lambda:lambda=9:seed1",
          ...fx.lookup,
          "--images",
          imgs,
        ],
        /no unit lambda=9 seed 1 in .*joint_lambda\/ \(there: lambda=0\.05 \(seed 1\)\)/,
      ],
      [
        ["--model", `${fx.dir}/none.model`, "--images", imgs],
        /none\.model: model file not found/,
      ],
    ];
    // A truncated and a foreign model file.
    const bytes = await Deno.readFile(fx.modelPath);
    await Deno.writeFile(
      `${fx.dir}/cut.model`,
      bytes.subarray(0, bytes.length - 100),
    );
    await Deno.writeFile(
      `${fx.dir}/png.model`,
      await Deno.readFile(`${imgs}/a.png`),
    );
    cases.push(
      [
        ["--model", `${fx.dir}/cut.model`, "--images", imgs],
        /cut\.model: not a valid DeepID2 checkpoint \(expected \d+ bytes, found \d+\)/,
      ],
      [
        ["--model", `${fx.dir}/png.model`, "--images", imgs],
        /png\.model: not a valid DeepID2 checkpoint \(wrong magic\)/,
      ],
    );
    // Landmark files: a malformed line, a bad number, a missing image.
    await Deno.writeTextFile(
      `${fx.dir}/lm1.txt`,
      "a.png 1 2 30 2 15 20 5 30 25 30\nb.jpg 1 2 3\n",
    );
    await Deno.writeTextFile(
      `${fx.dir}/lm2.txt`,
      "a.png 1 2 30 2 15 20 5 30 25 x\n",
    );
    await Deno.writeTextFile(
      `${fx.dir}/lm3.txt`,
      "a.png 1 2 30 2 15 20 5 30 25 30\n",
    );
    await Deno.writeTextFile(
      `${fx.dir}/lm4.txt`,
      "3\n" +
        "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\na.png 1 2 30 2 15 20 5 30 25 30\n",
    );
    cases.push(
      [[
        "--model",
        fx.modelPath,
        "--images",
        imgs,
        "--landmarks",
        `${fx.dir}/lm1.txt`,
      ], /lm1\.txt:2: expected "path x1 y1 .* \(11 fields\), got 4/],
      [[
        "--model",
        fx.modelPath,
        "--images",
        imgs,
        "--landmarks",
        `${fx.dir}/lm2.txt`,
      ], /lm2\.txt:1: bad coordinate "x"/],
      [[
        "--model",
        fx.modelPath,
        "--images",
        imgs,
        "--landmarks",
        `${fx.dir}/lm3.txt`,
      ], /lm3\.txt: no landmarks line for image b\.jpg/],
      [[
        "--model",
        fx.modelPath,
        "--images",
        imgs,
        "--landmarks",
        `${fx.dir}/lm4.txt`,
      ], /lm4\.txt:1: count line says 3 images, file lists 1/],
      [
        ["--model", fx.modelPath, "--images", `${fx.dir}/nodir`],
        /nodir: folder not found/,
      ],
    );
    for (const [args, want] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.deepEqual(await filesIn(`${fx.dir}/out`), [], args.join(" "));
    }
    // An output in a missing folder.
    const r = await runMain(main, [
      ...base,
      "--model",
      fx.modelPath,
      "--images",
      imgs,
      "--out",
      `${fx.dir}/nope/f.csv`,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /--out .*nope\/f\.csv: folder .*nope does not exist/,
    );
    // A bad command line: status 2 with the usage.
    const u = await runMain(main, ["--model", fx.modelPath, "--out", "x.csv"]);
    assert.equal(u.code, 2);
    assert.match(
      u.stderr,
      /give one of --images DIR, --lfw DIR or --folders DIR\nusage:/,
    );
  } finally {
    await Deno.remove(fx.dir, { recursive: true });
  }
});

Deno.test("features: float32 values print as the shortest text that reads back exactly", () => {
  const vals = new Float32Array([
    0,
    1,
    0.1,
    1 / 3,
    123456.79,
    3.4e38,
    1e-40,
    -2.5,
  ]);
  for (const v of vals) assert.equal(Math.fround(Number(f32Text(v))), v);
  assert.equal(f32Text(vals[2]), "0.1");
  assert.equal(f32Text(0), "0");
});

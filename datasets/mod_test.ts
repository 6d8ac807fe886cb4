import assert from "node:assert/strict";
import {
  type Dataset,
  DEFAULT_CROP,
  ensureSynth,
  type FaceSet,
  loadDataset,
  splitIdentities,
  synthFolder,
} from "./mod.ts";
import { copyTree, rejectsWith, TINY, tinyCopy } from "./_testing.ts";
import { generateSynth, type SynthParams } from "./synthfaces.ts";
import { readPairs } from "./lfw.ts";
import { readIdentities, readPartition } from "./celeba.ts";

/** Writes a real-format folder (celeba/, lfw/) made by the generator. */
async function realFormat(params: SynthParams): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "deepid2-data-" });
  await generateSynth(root, params, { quiet: true, contactSheet: false });
  return root;
}

/** FNV-1a of each image's pixels: equal crops give equal keys. */
function pixelKeys(s: FaceSet): string[] {
  const per = s.shape[0] * s.shape[1] * s.shape[2];
  const out: string[] = [];
  for (let i = 0; i < s.labels.length; i++) {
    let h = 0x811c9dc5;
    for (let j = i * per; j < (i + 1) * per; j++) {
      h = Math.imul(h ^ s.images[j], 0x01000193) >>> 0;
    }
    out.push(`${h}`);
  }
  return out;
}

/**
 * The validation split's invariants on the synthetic set: disjoint from
 * train, held-out and test by name, path (relative to its data set's root)
 * and pixels; pairs index `validation` in 10 folds, each with
 * same and different pairs.
 */
function checkValidation(ds: Dataset): void {
  const v = ds.validation;
  assert.ok(v.identities.length >= 2);
  const others = [ds.train, ds.heldOut, ds.test];
  const names = new Set(others.flatMap((s) => s.identities));
  for (const n of v.identities) assert.ok(!names.has(n), `${n} shared`);
  const paths = new Set(others.flatMap((s) => s.paths));
  for (const p of v.paths) assert.ok(!paths.has(p), `${p} shared`);
  const pixels = new Set(others.flatMap(pixelKeys));
  for (const k of pixelKeys(v)) assert.ok(!pixels.has(k), "pixels shared");
  assert.deepEqual(v.shape, ds.test.shape);
  for (let f = 0; f < 10; f++) {
    const inFold = ds.validationPairs.filter((p) => p.fold === f);
    assert.ok(inFold.some((p) => p.same), `fold ${f}: a same pair`);
    assert.ok(inFold.some((p) => !p.same), `fold ${f}: a different pair`);
  }
  for (const p of ds.validationPairs) {
    assert.ok(p.fold >= 0 && p.fold < 10);
    assert.ok(p.a >= 0 && p.a < v.labels.length);
    assert.ok(p.b >= 0 && p.b < v.labels.length);
    assert.equal(v.labels[p.a] === v.labels[p.b], p.same);
  }
  const info = ds.info.validation as Record<string, unknown>;
  assert.equal(info.identities, v.identities.length);
  assert.equal(info.pairs, ds.validationPairs.length);
  assert.equal(info.numFolds, 10);
}

Deno.test("loadDataset(synth): generated once, split identity-disjoint, pairs valid", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const opts = {
      data: "synth",
      synth: TINY,
      crop: DEFAULT_CROP,
      seed: 1,
      cacheDir,
      quiet: true,
    };
    const ds = await loadDataset(opts);
    assert.equal(ds.train.identities.length, TINY.identities);
    assert.equal(ds.heldOut.identities.length, TINY.heldOutIdentities);
    const tr = new Set(ds.train.identities);
    assert.ok(ds.heldOut.identities.every((n) => !tr.has(n)));
    assert.deepEqual(ds.train.shape, [55, 47, 3]);
    assert.equal(ds.train.images.length, ds.train.labels.length * 55 * 47 * 3);
    assert.ok(Math.max(...ds.train.labels) === TINY.identities - 1);
    assert.equal(ds.numFolds, 2);
    assert.equal(ds.pairs.length, 12);
    for (const p of ds.pairs) {
      assert.ok(
        p.a >= 0 && p.a < ds.test.labels.length && p.b < ds.test.labels.length,
      );
      assert.equal(ds.test.labels[p.a] === ds.test.labels[p.b], p.same);
    }
    assert.equal(ds.info.format, "synth");
    const dir = await synthFolder(TINY, cacheDir);
    assert.equal(ds.info.root, dir);
    const st = await Deno.stat(`${dir}/synth.json`);
    // second load: no regeneration, same bytes
    const again = await loadDataset(opts);
    assert.equal(
      (await Deno.stat(`${dir}/synth.json`)).mtime?.getTime(),
      st.mtime?.getTime(),
    );
    assert.deepEqual(again.train.images, ds.train.images);
    // another split seed: other identities, same images overall
    const other = await loadDataset({ ...opts, seed: 2 });
    assert.notDeepEqual(other.heldOut.identities, ds.heldOut.identities);
    assert.equal(
      other.train.labels.length + other.heldOut.labels.length,
      ds.train.labels.length + ds.heldOut.labels.length,
    );
    // fewer training identities: a subset of the full training list
    const small = await loadDataset({ ...opts, trainIdentities: 2 });
    assert.ok(small.train.identities.every((n) => tr.has(n)));
    assert.deepEqual(small.heldOut.identities, ds.heldOut.identities);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("ensureSynth: an interrupted generation is never used", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const dir = await synthFolder(TINY, cacheDir);
    // what an interrupted run leaves: the folder without synth.json
    await Deno.mkdir(`${dir}/celeba`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/celeba/identity_CelebA.txt`,
      "000001.jpg 1\n",
    );
    assert.equal(await ensureSynth(TINY, { cacheDir, quiet: true }), dir);
    await Deno.stat(`${dir}/synth.json`);
    const ids = await Deno.readTextFile(`${dir}/celeba/identity_CelebA.txt`);
    assert.ok(ids.split("\n").length > 10);
    const left = [];
    for await (const e of Deno.readDir(`${cacheDir}/synth`)) left.push(e.name);
    assert.deepEqual(left, [dir.slice(dir.lastIndexOf("/") + 1)]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadDataset(DIR): real-format folder; default held-out scales 1985/10177", async () => {
  // The tiny fixture (3 CelebA identities, 4 LFW people) plus View 1 files.
  const root = await realFormat({
    ...TINY,
    identities: 2,
    heldOutIdentities: 1,
    imagesPerIdentity: 2,
    testIdentities: 4,
    testImagesPerIdentity: 2,
    folds: 2,
    pairsPerFold: 1,
    seed: 7,
  });
  try {
    const ds = await loadDataset({
      data: root,
      crop: { height: 47, width: 47, gray: true },
      seed: 3,
      cacheDir: `${root}/.cache`,
      quiet: true,
    });
    // 3 identities: round(3 * 1985 / 10177) = 1 held out, 2 train
    assert.equal(ds.heldOut.identities.length, 1);
    assert.equal(ds.train.identities.length, 2);
    assert.deepEqual(ds.test.shape, [47, 47, 1]);
    assert.equal(ds.test.labels.length, 8);
    assert.equal(ds.info.format, "celeba+lfw");
    assert.equal(
      (ds.info.validation as { source: string }).source,
      "lfw-view1",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset: training identities that are also test identities are refused by name", async () => {
  const root = await tinyCopy();
  try {
    await Deno.remove(`${root}/celeba`, { recursive: true });
    await copyTree(`${root}/lfw/lfw`, `${root}/folders`);
    await Deno.rename(
      `${root}/folders/Rosa_Petrov`,
      `${root}/folders/Someone_Else`,
    );
    await rejectsWith(
      loadDataset({
        data: root,
        crop: DEFAULT_CROP,
        seed: 1,
        heldOutIdentities: 1,
        cacheDir: `${root}/.cache`,
        quiet: true,
      }),
      "3 identities are in both the training data and the test set",
      "Kofi_Pereira, Marco-Javier_Kim, Paula_Schmidt",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset(synth): validation from View 1, disjoint from every other split; test without validation people; seeded", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const opts = {
      data: "synth",
      synth: TINY,
      crop: DEFAULT_CROP,
      seed: 1,
      cacheDir,
      quiet: true,
    };
    const ds = await loadDataset(opts);
    checkValidation(ds);
    assert.equal(ds.validation.identities.length, TINY.validationIdentities);
    assert.equal(ds.test.identities.length, TINY.testIdentities);
    assert.equal(ds.validationPairs.length, 2 * (5 + 5));
    const root = ds.info.root as string;
    const view1 = [
      ...await readPairs(`${root}/lfw/pairsDevTrain.txt`),
      ...await readPairs(`${root}/lfw/pairsDevTest.txt`),
    ];
    assert.deepEqual(
      new Set(ds.validation.identities),
      new Set(view1.flatMap((e) => [e.name1, e.name2])),
    );
    assert.deepEqual(ds.info.validation, {
      source: "lfw-view1",
      files: [`${root}/lfw/pairsDevTrain.txt`, `${root}/lfw/pairsDevTest.txt`],
      identities: 4,
      images: ds.validation.labels.length,
      pairs: 20,
      numFolds: 10,
    });
    // same seed, same split; the View 1 files fix it for any split seed
    const again = await loadDataset(opts);
    assert.deepEqual(again.validation, ds.validation);
    assert.deepEqual(again.validationPairs, ds.validationPairs);
    const other = await loadDataset({ ...opts, seed: 2 });
    assert.deepEqual(other.validationPairs, ds.validationPairs);
    assert.deepEqual(other.validation.identities, ds.validation.identities);
    // A validation person who also trains is refused, naming both.
    const dir = await Deno.makeTempDir();
    try {
      await copyTree(`${root}/lfw`, `${dir}/lfw`);
      const v = ds.validation.identities[0];
      await copyTree(`${root}/lfw/lfw/${v}`, `${dir}/folders/${v}`);
      await copyTree(
        `${root}/lfw/lfw/${v}`,
        `${dir}/folders/Someone_Else`,
      );
      await rejectsWith(
        loadDataset({
          ...opts,
          data: dir,
          heldOutIdentities: 0,
          cacheDir: `${dir}/.cache`,
        }),
        `${dir}: 1 identities are in both the validation set, from LFW View 1`,
        "pairsDevTrain.txt",
        `and the training or held-out identities: ${v} (`,
        "remove them from the training data, or their pairs from the View 1 files",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadDataset: without View 1, validation identities come from CelebA's partition, else are carved out; disjoint and seeded", async () => {
  // 20 CelebA identities x 5 images; the generator's list_eval_partition.txt
  // puts 2 of them in partition 1. No validation people, no View 1 files.
  const root = await realFormat({
    ...TINY,
    identities: 16,
    heldOutIdentities: 4,
    imagesPerIdentity: 5,
    testIdentities: 4,
    testImagesPerIdentity: 2,
    folds: 2,
    pairsPerFold: 1,
    validationIdentities: 0,
    seed: 5,
  });
  try {
    const opts = {
      data: root,
      crop: DEFAULT_CROP,
      seed: 1,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    // (b) CelebA's validation partition
    const ds = await loadDataset(opts);
    checkValidation(ds);
    const part = await readPartition(
      `${root}/celeba/list_eval_partition.txt`,
    );
    const ids = await readIdentities(`${root}/celeba/identity_CelebA.txt`);
    const inValid = new Set(
      ids.filter((e) => part.get(e.file) === 1).map((e) => e.identity),
    );
    assert.equal(inValid.size, 2);
    assert.deepEqual(new Set(ds.validation.identities), inValid);
    assert.equal(ds.validation.labels.length, 10);
    // all 2 x C(5, 2) = 20 same pairs, as many different
    assert.equal(ds.validationPairs.length, 40);
    // 18 identities left: round(18 * 1985 / 10177) = 4 held out, 14 train
    assert.equal(ds.heldOut.identities.length, 4);
    assert.equal(ds.train.identities.length, 14);
    const info = ds.info.validation as Record<string, unknown>;
    assert.equal(info.source, "celeba-partition");
    assert.equal(info.file, `${root}/celeba/list_eval_partition.txt`);
    const again = await loadDataset(opts);
    assert.deepEqual(again.validation.identities, ds.validation.identities);
    assert.deepEqual(again.validationPairs, ds.validationPairs);
    assert.deepEqual(again.train.identities, ds.train.identities);

    // (c) folder-per-identity training data: a seeded share carved out
    await Deno.mkdir(`${root}/folders`);
    for (const e of ids) {
      await Deno.mkdir(`${root}/folders/p${e.identity}`, { recursive: true });
      await Deno.copyFile(
        `${root}/celeba/img_align_celeba/${e.file}`,
        `${root}/folders/p${e.identity}/${e.file}`,
      );
    }
    await Deno.remove(`${root}/celeba`, { recursive: true });
    const carved = await loadDataset(opts);
    checkValidation(carved);
    // default: 5 % of 20 identities, at least 2
    assert.equal(carved.validation.identities.length, 2);
    assert.equal(
      carved.train.identities.length + carved.heldOut.identities.length,
      18,
    );
    assert.deepEqual(
      { ...(carved.info.validation as Record<string, unknown>) },
      {
        source: "carved",
        count: 2,
        fraction: 0.05,
        seed: 1,
        identities: 2,
        images: 10,
        pairs: 40,
        numFolds: 10,
      },
    );
    const same = await loadDataset(opts);
    assert.deepEqual(same.validation.identities, carved.validation.identities);
    assert.deepEqual(same.validationPairs, carved.validationPairs);
    const seen = new Set<string>();
    for (const seed of [2, 3, 4, 5]) {
      const o = await loadDataset({ ...opts, seed });
      checkValidation(o);
      seen.add(o.validation.identities.join());
    }
    assert.ok(seen.size > 1, "other seeds carve other identities");
    const three = await loadDataset({ ...opts, validationIdentities: 3 });
    checkValidation(three);
    assert.equal(three.validation.identities.length, 3);
    assert.equal(
      three.train.identities.length + three.heldOut.identities.length,
      17,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset: too few validation pairs to fill 10 folds says how to recover", async () => {
  // the tiny fixture: no View 1, no partition-1 images, 3 identities x 2
  const root = await tinyCopy();
  try {
    await rejectsWith(
      loadDataset({
        data: root,
        crop: DEFAULT_CROP,
        seed: 3,
        cacheDir: `${root}/.cache`,
        quiet: true,
      }),
      `${root}: the 2 validation identities (carved) give too few validation pairs`,
      "fold 1 has no same pair",
      "add LFW View 1 files (lfw/pairsDevTrain.txt, lfw/pairsDevTest.txt)",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadDataset: an empty folder says which files were expected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejectsWith(
      loadDataset({
        data: dir,
        crop: DEFAULT_CROP,
        seed: 1,
        cacheDir: dir,
        quiet: true,
      }),
      `${dir}/celeba/`,
      "identity_CelebA.txt",
      `${dir}/lfw/`,
      "pairs.txt",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("splitIdentities: seeded, disjoint, nested in the training count", () => {
  const a = splitIdentities(100, { train: 64, heldOut: 20, seed: 5 });
  const b = splitIdentities(100, { train: 32, heldOut: 20, seed: 5 });
  assert.deepEqual(
    a,
    splitIdentities(100, { train: 64, heldOut: 20, seed: 5 }),
  );
  assert.deepEqual(a.heldOut, b.heldOut);
  const trainA = new Set(a.train);
  assert.ok(b.train.every((i) => trainA.has(i)));
  assert.ok(a.heldOut.every((i) => !trainA.has(i)));
  assert.throws(
    () => splitIdentities(10, { train: 8, heldOut: 3, seed: 1 }),
    /the data has 10/,
  );
});

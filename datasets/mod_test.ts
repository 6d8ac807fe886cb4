import assert from "node:assert/strict";
import {
  DEFAULT_CROP,
  ensureSynth,
  loadDataset,
  splitIdentities,
  synthFolder,
} from "./mod.ts";
import { copyTree, rejectsWith, TINY, tinyCopy } from "./_testing.ts";

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
  const root = await tinyCopy();
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

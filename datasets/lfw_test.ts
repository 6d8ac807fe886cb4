import assert from "node:assert/strict";
import { loadLfw, readPairs, readPeople } from "./lfw.ts";
import { DEFAULT_CROP } from "./crop.ts";
import { rejectsWith, TESTDATA, TINY, tinyCopy } from "./_testing.ts";
import { generateSynth } from "./synthfaces.ts";

const T = TESTDATA;

Deno.test("readPairs: View 2 with header, folds and kinds", async () => {
  const p = await readPairs(`${T}/pairs_view2.txt`);
  assert.equal(p.length, 8);
  assert.deepEqual(p[0], {
    fold: 0,
    same: true,
    name1: "Ann_Lee",
    n1: 1,
    name2: "Ann_Lee",
    n2: 2,
    line: 2,
  });
  assert.deepEqual(p[2], {
    fold: 0,
    same: false,
    name1: "Ann_Lee",
    n1: 1,
    name2: "Bo_Kim",
    n2: 2,
    line: 4,
  });
  assert.deepEqual(p.map((e) => e.fold), [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(p.map((e) => e.same), [
    true,
    true,
    false,
    false,
    true,
    true,
    false,
    false,
  ]);
  assert.equal(p[4].name1, "Dee_O'Neill");
  assert.equal(p[7].name2, "Fay_de_la_Vega");
});

Deno.test("readPairs: without the header line gives the same pairs", async () => {
  const a = await readPairs(`${T}/pairs_view2.txt`);
  const b = await readPairs(`${T}/pairs_noheader.txt`);
  assert.deepEqual(
    b.map(({ line: _, ...e }) => e),
    a.map(({ line: _, ...e }) => e),
  );
  assert.equal(b[0].line, 1);
});

Deno.test("readPairs: View 1 (pairsDevTest.txt) is one fold", async () => {
  const p = await readPairs(`${T}/pairsDevTest.txt`);
  assert.equal(p.length, 4);
  assert.ok(p.every((e) => e.fold === 0));
  assert.deepEqual(p.map((e) => e.same), [true, true, false, false]);
});

Deno.test("readPairs: malformed lines are FILE:LINE errors", async () => {
  await rejectsWith(
    readPairs(`${T}/pairs_bad_fields.txt`),
    `${T}/pairs_bad_fields.txt:3: `,
    "5 field(s)",
  );
  await rejectsWith(
    readPairs(`${T}/pairs_bad_number.txt`),
    `${T}/pairs_bad_number.txt:2: `,
    "image number",
  );
  await rejectsWith(
    readPairs(`${T}/pairs_short.txt`),
    `${T}/pairs_short.txt:4: `,
    "header promises 8 pairs",
  );
  await rejectsWith(
    readPairs(`${T}/pairs_order.txt`),
    `${T}/pairs_order.txt:3: `,
    "expected a same-person pair",
  );
  await rejectsWith(
    readPairs(`${T}/pairs_same_person_diff.txt`),
    `${T}/pairs_same_person_diff.txt:3: `,
    "same person",
  );
  await rejectsWith(readPairs(`${T}/nope.txt`), "nope.txt: file not found");
});

Deno.test("readPeople: View 2 and View 1, malformed line", async () => {
  const v2 = await readPeople(`${T}/people_view2.txt`);
  assert.deepEqual(
    v2.map((e) => [e.fold, e.name, e.count]),
    [[0, "Ann_Lee", 2], [0, "Bo_Kim", 3], [1, "Cy_Wu", 1]],
  );
  const v1 = await readPeople(`${T}/peopleDevTrain.txt`);
  assert.deepEqual(v1.map((e) => [e.fold, e.name, e.count, e.line]), [
    [0, "Ann_Lee", 2, 2],
    [0, "Bo_Kim", 3, 3],
    [0, "Cy_Wu", 1, 4],
  ]);
  await rejectsWith(
    readPeople(`${T}/people_bad.txt`),
    `${T}/people_bad.txt:4: `,
    "name images",
  );
});

Deno.test("loadLfw: the tiny fixture loads; pairs index the right people", async () => {
  const root = await tinyCopy();
  try {
    const cacheDir = `${root}/.cache`;
    const d = await loadLfw(`${root}/lfw`, {
      crop: DEFAULT_CROP,
      cacheDir,
      quiet: true,
    });
    assert.equal(d.set.labels.length, 8);
    assert.equal(d.set.identities.length, 4);
    assert.deepEqual(d.set.shape, [55, 47, 3]);
    assert.equal(d.set.images.length, 8 * 55 * 47 * 3);
    assert.equal(d.numFolds, 2);
    assert.equal(d.pairs.length, 4);
    const entries = await readPairs(`${root}/lfw/pairs.txt`);
    d.pairs.forEach((p, i) => {
      const e = entries[i];
      assert.equal(p.same, e.same);
      assert.equal(d.set.identities[d.set.labels[p.a]], e.name1);
      assert.equal(d.set.identities[d.set.labels[p.b]], e.name2);
      assert.ok(d.set.paths[p.a].endsWith(`_000${e.n1}.jpg`));
    });
    assert.equal(d.info.cacheBuilt, true);
    const again = await loadLfw(`${root}/lfw`, {
      crop: DEFAULT_CROP,
      cacheDir,
      quiet: true,
    });
    assert.equal(again.info.cacheBuilt, false);
    assert.deepEqual(again.set.images, d.set.images);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: missing image names line and path; --skip-missing counts it", async () => {
  const root = await tinyCopy();
  try {
    const cacheDir = `${root}/.cache`;
    const name = "Kofi_Pereira";
    await Deno.remove(`${root}/lfw/lfw/${name}/${name}_0002.jpg`);
    await Deno.remove(`${root}/lfw/people.txt`);
    await rejectsWith(
      loadLfw(`${root}/lfw`, { crop: DEFAULT_CROP, cacheDir, quiet: true }),
      `${root}/lfw/pairs.txt:2: image not found: `,
      `lfw/${name}/${name}_0002.jpg`,
    );
    const d = await loadLfw(`${root}/lfw`, {
      crop: DEFAULT_CROP,
      cacheDir,
      quiet: true,
      skipMissing: true,
    });
    // pairs 2 (same, uses _0002) and 3 (different, uses _0002) are skipped
    assert.equal(d.pairs.length, 2);
    assert.equal(d.skipped.pairs, 2);
    assert.equal(d.set.labels.length, 7);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: people.txt entries are checked too", async () => {
  const root = await tinyCopy();
  try {
    await Deno.writeTextFile(
      `${root}/lfw/people.txt`,
      "1\n1\nKofi_Pereira\t3\n",
    );
    await rejectsWith(
      loadLfw(`${root}/lfw`, {
        crop: DEFAULT_CROP,
        cacheDir: `${root}/.cache`,
        quiet: true,
      }),
      `${root}/lfw/people.txt:3: image not found: `,
      "Kofi_Pereira_0003.jpg",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: truncated / non-image file named; --skip-bad-images counts it", async () => {
  const root = await tinyCopy();
  try {
    const cacheDir = `${root}/.cache`;
    const bad = `${root}/lfw/lfw/Rosa_Petrov/Rosa_Petrov_0001.jpg`;
    await Deno.copyFile(`${TESTDATA}/truncated.jpg`, bad);
    await rejectsWith(
      loadLfw(`${root}/lfw`, { crop: DEFAULT_CROP, cacheDir, quiet: true }),
      bad,
      "cannot decode image",
    );
    const d = await loadLfw(`${root}/lfw`, {
      crop: DEFAULT_CROP,
      cacheDir,
      quiet: true,
      skipBadImages: true,
    });
    assert.equal(d.skipped.badImages, 1);
    assert.equal(d.skipped.pairs, 1); // the different pair Kofi 2 / Rosa 1
    assert.equal(d.set.labels.length, 7);
    await Deno.copyFile(`${TESTDATA}/not_an_image.jpg`, bad);
    await rejectsWith(
      loadLfw(`${root}/lfw`, { crop: DEFAULT_CROP, cacheDir, quiet: true }),
      bad,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: deep-funneled folder preferred, .png accepted", async () => {
  const root = await tinyCopy();
  try {
    await Deno.rename(`${root}/lfw/lfw`, `${root}/lfw/lfw-deepfunneled`);
    await Deno.mkdir(`${root}/lfw/lfw`);
    const p = `${root}/lfw/lfw-deepfunneled/Rosa_Petrov/Rosa_Petrov_0002`;
    const { default: sharp } = await import("sharp");
    await sharp(await Deno.readFile(`${p}.jpg`)).png().toFile(`${p}.png`);
    await Deno.remove(`${p}.jpg`);
    const d = await loadLfw(`${root}/lfw`, {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    });
    assert.equal(d.info.imageDir, "lfw-deepfunneled");
    assert.ok(
      d.set.paths.includes("lfw-deepfunneled/Rosa_Petrov/Rosa_Petrov_0002.png"),
    );
    assert.equal(d.pairs.length, 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: empty or wrong folder says what was expected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await rejectsWith(
      loadLfw(dir, {
        crop: DEFAULT_CROP,
        cacheDir: `${dir}/.cache`,
        quiet: true,
      }),
      "expected an LFW folder",
      "pairs.txt",
    );
    await rejectsWith(
      loadLfw(`${dir}/missing`, {
        crop: DEFAULT_CROP,
        cacheDir: dir,
        quiet: true,
      }),
      "not found",
      "lfw/<Name>/<Name>_0001.jpg",
    );
    await Deno.mkdir(`${dir}/lfw`);
    await rejectsWith(
      loadLfw(dir, {
        crop: DEFAULT_CROP,
        cacheDir: `${dir}/.cache`,
        quiet: true,
      }),
      `${dir}/pairs.txt: file not found`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadLfw: View 1 files give the validation split in 10 folds; their people leave the test set", async () => {
  const root = await Deno.makeTempDir();
  try {
    await generateSynth(root, TINY, { quiet: true, contactSheet: false });
    const lfw = `${root}/lfw`;
    const opts = {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    const d = await loadLfw(lfw, opts);
    const v = d.validation!;
    assert.deepEqual(v.files, [
      `${lfw}/pairsDevTrain.txt`,
      `${lfw}/pairsDevTest.txt`,
    ]);
    const view1 = [
      ...await readPairs(`${lfw}/pairsDevTrain.txt`),
      ...await readPairs(`${lfw}/pairsDevTest.txt`),
    ];
    const vNames = new Set(view1.flatMap((e) => [e.name1, e.name2]));
    assert.deepEqual(new Set(v.set.identities), vNames);
    assert.ok(v.set.paths.every((p) => vNames.has(p.split("/")[1])));
    // the test set: exactly the other people, and its pairs still resolve
    assert.ok(d.set.identities.every((n) => !vNames.has(n)));
    assert.equal(d.set.identities.length, TINY.testIdentities);
    const entries = await readPairs(`${lfw}/pairs.txt`);
    assert.equal(d.pairs.length, entries.length);
    d.pairs.forEach((p, i) => {
      assert.equal(d.set.identities[d.set.labels[p.a]], entries[i].name1);
      assert.equal(d.set.identities[d.set.labels[p.b]], entries[i].name2);
    });
    // 5 + 5 same pairs: the k-th same (and k-th different) is in fold k
    assert.equal(v.pairs.length, view1.length);
    for (let f = 0; f < 10; f++) {
      const inFold = v.pairs.filter((p) => p.fold === f);
      assert.deepEqual(inFold.map((p) => p.same), [true, false]);
    }
    const sameEntries = view1.filter((e) => e.same);
    for (const p of v.pairs) {
      assert.equal(v.set.labels[p.a] === v.set.labels[p.b], p.same);
      if (!p.same) continue;
      const e = sameEntries[p.fold];
      assert.equal(v.set.identities[v.set.labels[p.a]], e.name1);
      assert.ok(v.set.paths[p.a].endsWith(`_000${e.n1}.jpg`));
      assert.ok(v.set.paths[p.b].endsWith(`_000${e.n2}.jpg`));
    }
    assert.equal((d.info.view1 as { onlyInView1: number }).onlyInView1, 4);
    // As in real LFW, a View 1 person who is also in pairs.txt stays a test
    // person (and is in the validation set too).
    const t = entries[0].name1;
    const path = `${lfw}/pairsDevTest.txt`;
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    const last = lines[lines.length - 1].split("\t");
    lines[lines.length - 1] = [last[0], last[1], t, "1"].join("\t");
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const shared = await loadLfw(lfw, opts);
    assert.ok(shared.set.identities.includes(t));
    assert.ok(shared.validation!.set.identities.includes(t));
    assert.equal(shared.set.identities.length, TINY.testIdentities);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadLfw: one View 1 file without the other, or too few View 1 pairs, is an InputError saying how to recover", async () => {
  const root = await tinyCopy();
  try {
    const lfw = `${root}/lfw`;
    const opts = {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    await Deno.writeTextFile(
      `${lfw}/pairsDevTrain.txt`,
      "1\nKofi_Pereira\t1\t2\nKofi_Pereira\t1\tRosa_Petrov\t1\n",
    );
    await rejectsWith(
      loadLfw(lfw, opts),
      `${lfw}/pairsDevTest.txt: file not found, but ${lfw}/pairsDevTrain.txt is there`,
      "restore the missing one, or remove the other",
    );
    await Deno.writeTextFile(
      `${lfw}/pairsDevTest.txt`,
      "1\nPaula_Schmidt\t1\t2\nPaula_Schmidt\t2\tRosa_Petrov\t2\n",
    );
    await rejectsWith(
      loadLfw(lfw, opts),
      `${lfw}/pairsDevTrain.txt: the View 1 files`,
      "fold 1 has no same pair (2 same and 2 different pairs in all",
      "remove both files",
    );
    await Deno.writeTextFile(
      `${lfw}/pairsDevTest.txt`,
      "1\nPaula_Schmidt\t1\t3\nPaula_Schmidt\t2\tRosa_Petrov\t2\n",
    );
    await rejectsWith(
      loadLfw(lfw, opts),
      `${lfw}/pairsDevTest.txt:2: image not found: `,
      "Paula_Schmidt_0003.jpg",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

import assert from "node:assert/strict";
import {
  loadCeleba,
  readIdentities,
  readLandmarks,
  readPartition,
} from "./celeba.ts";
import { DEFAULT_CROP } from "./crop.ts";
import { rejectsWith, TESTDATA, tinyCopy } from "./_testing.ts";

const T = TESTDATA;

Deno.test("readIdentities / readLandmarks / readPartition: the fixture", async () => {
  const c = `${T}/tiny/celeba`;
  const ids = await readIdentities(`${c}/identity_CelebA.txt`);
  assert.equal(ids.length, 6);
  assert.deepEqual(Object.keys(ids[0]).sort(), ["file", "identity", "line"]);
  assert.equal(ids[0].file, "000001.jpg");
  const lm = await readLandmarks(`${c}/list_landmarks_align_celeba.txt`);
  assert.equal(lm.length, 6);
  assert.equal(lm[0].points.length, 10);
  assert.equal(lm[0].line, 3);
  const part = await readPartition(`${c}/list_eval_partition.txt`);
  assert.equal(part.size, 6);
});

Deno.test("CelebA annotation files: malformed lines are FILE:LINE errors", async () => {
  await rejectsWith(
    readIdentities(`${T}/identity_bad.txt`),
    `${T}/identity_bad.txt:2: `,
    'expected "file identity"',
  );
  await rejectsWith(
    readIdentities(`${T}/identity_dup.txt`),
    `${T}/identity_dup.txt:3: `,
    "duplicate entry for 000001.jpg (first on line 1)",
  );
  await rejectsWith(
    readLandmarks(`${T}/landmarks_bad_count.txt`),
    `${T}/landmarks_bad_count.txt:1: `,
    "count line says 3 images, file lists 2",
  );
  await rejectsWith(
    readLandmarks(`${T}/landmarks_bad_coord.txt`),
    `${T}/landmarks_bad_coord.txt:4: `,
    'bad coordinate "abc"',
  );
  await rejectsWith(
    readLandmarks(`${T}/landmarks_no_header.txt`),
    `${T}/landmarks_no_header.txt:2: `,
    "expected the header",
  );
  await rejectsWith(
    readPartition(`${T}/partition_bad.txt`),
    `${T}/partition_bad.txt:2: `,
    "0|1|2",
  );
});

Deno.test("loadCeleba: the fixture loads, aligned crops, identities sorted", async () => {
  const root = await tinyCopy();
  try {
    const d = await loadCeleba(`${root}/celeba`, {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    });
    assert.equal(d.set.labels.length, 6);
    assert.deepEqual(d.set.identities, ["1", "2", "3"]);
    assert.deepEqual(Array.from(d.set.labels), [0, 1, 1, 2, 0, 2]);
    assert.equal(d.set.paths[0], "img_align_celeba/000001.jpg");
    assert.deepEqual(Array.from(d.partition), [0, 0, 0, 0, 0, 0]);
    // a real face crop: not flat
    const crop = d.set.images.subarray(0, 55 * 47 * 3);
    const mean = crop.reduce((s, v) => s + v, 0) / crop.length;
    const sd = Math.sqrt(
      crop.reduce((s, v) => s + (v - mean) ** 2, 0) / crop.length,
    );
    assert.ok(sd > 10, `crop std ${sd}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCeleba: missing image names line and path; --skip-missing counts it", async () => {
  const root = await tinyCopy();
  try {
    await Deno.remove(`${root}/celeba/img_align_celeba/000003.jpg`);
    const opts = {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    await rejectsWith(
      loadCeleba(`${root}/celeba`, opts),
      `${root}/celeba/identity_CelebA.txt:3: image not found: `,
      `${root}/celeba/img_align_celeba/000003.jpg`,
    );
    const d = await loadCeleba(`${root}/celeba`, {
      ...opts,
      skipMissing: true,
    });
    assert.equal(d.set.labels.length, 5);
    assert.equal(d.skipped.missing, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCeleba: bad image named; --skip-bad-images counts it", async () => {
  const root = await tinyCopy();
  try {
    const bad = `${root}/celeba/img_align_celeba/000002.jpg`;
    await Deno.copyFile(`${TESTDATA}/truncated.jpg`, bad);
    const opts = {
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    await rejectsWith(loadCeleba(`${root}/celeba`, opts), bad, "cannot decode");
    const d = await loadCeleba(`${root}/celeba`, {
      ...opts,
      skipBadImages: true,
    });
    assert.equal(d.set.labels.length, 5);
    assert.equal(d.skipped.badImages, 1);
    assert.ok(!d.set.paths.includes("img_align_celeba/000002.jpg"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCeleba: missing landmarks for an identity entry", async () => {
  const root = await tinyCopy();
  try {
    const p = `${root}/celeba/list_landmarks_align_celeba.txt`;
    const lines = (await Deno.readTextFile(p)).trim().split("\n");
    await Deno.writeTextFile(p, ["5", ...lines.slice(1, 7)].join("\n") + "\n");
    await rejectsWith(
      loadCeleba(`${root}/celeba`, {
        crop: DEFAULT_CROP,
        cacheDir: `${root}/.cache`,
        quiet: true,
      }),
      `${root}/celeba/identity_CelebA.txt:6: no landmarks for 000006.jpg`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCeleba: empty or wrong folder says which files were expected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const opts = { crop: DEFAULT_CROP, cacheDir: `${dir}/.cache`, quiet: true };
    await rejectsWith(
      loadCeleba(dir, opts),
      "expected a CelebA folder",
      "img_align_celeba/000001.jpg",
      "identity_CelebA.txt",
      "list_landmarks_align_celeba.txt",
    );
    await Deno.mkdir(`${dir}/img_align_celeba`);
    await rejectsWith(
      loadCeleba(dir, opts),
      `${dir}/identity_CelebA.txt: file not found`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

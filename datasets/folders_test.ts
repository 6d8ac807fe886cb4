import assert from "node:assert/strict";
import { loadFolders } from "./folders.ts";
import { DEFAULT_CROP } from "./crop.ts";
import { copyTree, rejectsWith, TESTDATA } from "./_testing.ts";

Deno.test("loadFolders: one folder per identity, fixed crop, cached", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await copyTree(`${TESTDATA}/tiny/lfw/lfw`, `${dir}/casia`);
    await Deno.writeTextFile(
      `${dir}/casia/Kofi_Pereira/notes.txt`,
      "ignored\n",
    );
    await Deno.mkdir(`${dir}/casia/empty_identity`);
    const opts = { crop: DEFAULT_CROP, cacheDir: `${dir}/.cache`, quiet: true };
    const d = await loadFolders(`${dir}/casia`, opts);
    assert.deepEqual(d.set.identities, [
      "Kofi_Pereira",
      "Marco-Javier_Kim",
      "Paula_Schmidt",
      "Rosa_Petrov",
    ]);
    assert.equal(d.set.labels.length, 8);
    assert.equal(d.set.paths[0], "Kofi_Pereira/Kofi_Pereira_0001.jpg");
    assert.equal(d.info.cacheBuilt, true);
    assert.equal(
      (await loadFolders(`${dir}/casia`, opts)).info.cacheBuilt,
      false,
    );
    await Deno.copyFile(
      `${TESTDATA}/not_an_image.jpg`,
      `${dir}/casia/Rosa_Petrov/bad.jpg`,
    );
    await rejectsWith(loadFolders(`${dir}/casia`, opts), "Rosa_Petrov/bad.jpg");
    const s = await loadFolders(`${dir}/casia`, {
      ...opts,
      skipBadImages: true,
    });
    assert.equal(s.skipped.badImages, 1);
    assert.equal(s.set.labels.length, 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadFolders: empty or missing folder says what was expected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const opts = { crop: DEFAULT_CROP, cacheDir: `${dir}/.cache`, quiet: true };
    await rejectsWith(
      loadFolders(dir, opts),
      "no images",
      "<identity>/<image>.jpg",
    );
    await rejectsWith(
      loadFolders(`${dir}/nope`, opts),
      "not found",
      "one folder per identity",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import assert from "node:assert/strict";
import { type CropSource, loadCrops } from "./cache.ts";
import { DEFAULT_CROP } from "./crop.ts";
import { tinyCopy } from "./_testing.ts";

function sources(): CropSource[] {
  const out: CropSource[] = [];
  for (const name of ["Kofi_Pereira", "Rosa_Petrov"]) {
    for (const n of [1, 2]) {
      out.push({
        path: `lfw/lfw/${name}/${name}_000${n}.jpg`,
        landmarks: null,
      });
    }
  }
  return out;
}

Deno.test("cache: reused when unchanged, rebuilt when a source or the crop changes", async () => {
  const root = await tinyCopy();
  try {
    const src = sources();
    const opts = {
      format: "lfw",
      root,
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    const a = await loadCrops(src, opts);
    assert.equal(a.built, true);
    assert.equal(a.images.length, 4 * 55 * 47 * 3);
    const manifest = JSON.parse(
      await Deno.readTextFile(`${a.cache}/manifest.json`),
    );
    assert.deepEqual(manifest.shape, [4, 55, 47, 3]);
    assert.deepEqual(manifest.crop, DEFAULT_CROP);
    assert.equal(typeof manifest.sourceHash, "string");
    const b = await loadCrops(src, opts);
    assert.equal(b.built, false);
    assert.deepEqual(b.images, a.images);

    // a changed source file -> rebuilt, different crops
    await Deno.copyFile(
      `${root}/${src[2].path}`,
      `${root}/${src[0].path}`,
    );
    const c = await loadCrops(src, opts);
    assert.equal(c.built, true);
    assert.notDeepEqual(c.images, a.images);

    // other crop settings -> another cache folder, built
    const g = await loadCrops(src, {
      ...opts,
      crop: { ...DEFAULT_CROP, gray: true },
    });
    assert.equal(g.built, true);
    assert.notEqual(g.cache, c.cache);
    assert.equal(g.images.length, 4 * 55 * 47);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cache: a half-written cache is detected and rebuilt, never used", async () => {
  const root = await tinyCopy();
  try {
    const src = sources();
    const opts = {
      format: "lfw",
      root,
      crop: DEFAULT_CROP,
      cacheDir: `${root}/.cache`,
      quiet: true,
    };
    const good = await loadCrops(src, opts);
    const bin = `${good.cache}/crops.bin`;
    const man = `${good.cache}/manifest.json`;
    const damages: [string, () => Promise<void>][] = [
      ["truncated binary", async () => {
        const b = await Deno.readFile(bin);
        await Deno.writeFile(bin, b.subarray(0, b.length >> 1));
      }],
      ["zero-filled tail (same length)", async () => {
        const b = await Deno.readFile(bin);
        b.fill(0, b.length >> 1);
        await Deno.writeFile(bin, b);
      }],
      ["missing manifest", () => Deno.remove(man)],
      ["half-written manifest", async () => {
        const t = await Deno.readTextFile(man);
        await Deno.writeTextFile(man, t.slice(0, t.length >> 1));
      }],
      ["missing binary", () => Deno.remove(bin)],
    ];
    for (const [what, damage] of damages) {
      await damage();
      const r = await loadCrops(src, opts);
      assert.equal(r.built, true, what);
      assert.deepEqual(r.images, good.images, what);
      assert.equal((await loadCrops(src, opts)).built, false, what);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

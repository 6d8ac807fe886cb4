import assert from "node:assert/strict";
import { generateSynth, SYNTH_PROFILES } from "./synthfaces.ts";
import { cropAll, cropAllMany, type CropSource, loadCrops } from "./cache.ts";
import { DEFAULT_CROP } from "./crop.ts";
import { patchCrop } from "./patches.ts";
import { dataWorkerCount, runTasks, WORKERS_ENV } from "./workers.ts";
import { sampleIdentity } from "./face_model.ts";
import { CELEBA_LAYOUT } from "./synthfaces.ts";
import { rejectsWith, tinyCopy } from "./_testing.ts";

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      out.push(...await listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    } else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

/** The CelebA-format images of a generated set, with their landmarks. */
async function celebaSources(root: string): Promise<CropSource[]> {
  const text = await Deno.readTextFile(
    `${root}/celeba/list_landmarks_align_celeba.txt`,
  );
  return text.trim().split("\n").slice(2).map((line) => {
    const f = line.trim().split(/\s+/);
    return {
      path: `celeba/img_align_celeba/${f[0]}`,
      landmarks: f.slice(1).map(Number),
    };
  });
}

Deno.test("workers: the smoke set and its crops are byte-identical with 1 and 2 workers", async () => {
  const one = await Deno.makeTempDir({ prefix: "deepid2-w1-" });
  const two = await Deno.makeTempDir({ prefix: "deepid2-w2-" });
  try {
    const p = SYNTH_PROFILES.smoke;
    // the contact sheet too: it decodes and crops what the workers wrote
    await generateSynth(one, p, { quiet: true, workers: 1 });
    await generateSynth(two, p, { quiet: true, workers: 2 });
    const files = await listFiles(one);
    assert.deepEqual(files, await listFiles(two));
    assert.ok(files.length > 250, `${files.length} files`);
    for (const f of files) {
      const a = await Deno.readFile(`${one}/${f}`);
      const b = await Deno.readFile(`${two}/${f}`);
      if (f === "synth.json") {
        // holds the wall time; the rest must agree
        const strip = (x: Uint8Array) => {
          const j = JSON.parse(new TextDecoder().decode(x));
          delete j.summary.seconds, delete j.summary.imagesPerSecond;
          return j;
        };
        assert.deepEqual(strip(a), strip(b));
      } else assert.deepEqual(a, b, f);
    }
    // Crops: several crops in one pass, 1 and 2 workers, and one at a time.
    const src = await celebaSources(one);
    const crops = [
      DEFAULT_CROP,
      patchCrop("eyes"),
      patchCrop("face_wide_gray"),
    ];
    const opts = { root: one, format: "celeba", quiet: true };
    const a = await cropAllMany(src, crops, { ...opts, workers: 1 });
    const b = await cropAllMany(src, crops, { ...opts, workers: 2 });
    assert.deepEqual(a.bad, []);
    assert.deepEqual(b.bad, []);
    for (let c = 0; c < crops.length; c++) {
      assert.deepEqual(a.images[c], b.images[c], JSON.stringify(crops[c]));
      assert.ok(a.images[c].some((v) => v !== 0));
    }
    const single = await cropAll(src, { ...opts, crop: crops[2] });
    assert.deepEqual(single.images, a.images[2]);
  } finally {
    await Deno.remove(one, { recursive: true });
    await Deno.remove(two, { recursive: true });
  }
});

Deno.test("workers: alsoCrops builds the other caches in the same pass, as they would be alone", async () => {
  const root = await tinyCopy();
  try {
    const src = await celebaSources(root);
    const crops = [DEFAULT_CROP, patchCrop("mouth"), patchCrop("eyes")];
    const base = { format: "celeba", root, quiet: true };
    const together = { ...base, cacheDir: `${root}/.c1`, alsoCrops: crops };
    const first = await loadCrops(src, { ...together, crop: crops[0] });
    assert.equal(first.built, true);
    for (const crop of crops.slice(1)) {
      const r = await loadCrops(src, { ...together, crop });
      assert.equal(r.built, false, "built with the first");
      const alone = await loadCrops(src, {
        ...base,
        cacheDir: `${root}/.c2`,
        crop,
      });
      assert.equal(alone.built, true);
      assert.deepEqual(r.images, alone.images);
      assert.deepEqual(r.shape, alone.shape);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("workers: a failing chunk fails the whole run with its message", async () => {
  const root = await Deno.makeTempDir({ prefix: "deepid2-fail-" });
  try {
    // a missing image stays a NotFound, from a worker as inline
    const src: CropSource[] = Array.from({ length: 200 }, (_, i) => ({
      path: `missing-${i}.jpg`,
      landmarks: null,
    }));
    for (const workers of [1, 2]) {
      await assert.rejects(
        cropAll(src, { root, crop: DEFAULT_CROP, format: "x", workers }),
        Deno.errors.NotFound,
      );
    }
    // a photo that cannot be written names its file; the others stop
    const identity = sampleIdentity(7, 0.5);
    const job = (path: string) => ({
      path,
      identity,
      seed: 3,
      layout: CELEBA_LAYOUT,
    });
    const chunks = [
      { jobs: [job(`${root}/ok-1.jpg`)], difficulty: 0.5 },
      { jobs: [job(`${root}/no/such/dir/bad.jpg`)], difficulty: 0.5 },
      { jobs: [job(`${root}/ok-2.jpg`)], difficulty: 0.5 },
    ];
    for (const workers of [1, 2]) {
      await rejectsWith(
        runTasks("render", chunks, { workers, onResult: () => {} }),
        `${root}/no/such/dir/bad.jpg`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("workers: the count comes from the option, DEEPID2_DATA_WORKERS or the cores", () => {
  const saved = Deno.env.get(WORKERS_ENV);
  try {
    Deno.env.delete(WORKERS_ENV);
    assert.equal(
      dataWorkerCount(),
      Math.min(16, navigator.hardwareConcurrency || 1),
    );
    assert.equal(dataWorkerCount(3), 3);
    // small jobs run on fewer threads by default, as asked when explicit
    assert.equal(dataWorkerCount(undefined, { items: 100, perWorker: 256 }), 1);
    assert.equal(dataWorkerCount(2, { items: 100, perWorker: 256 }), 2);
    Deno.env.set(WORKERS_ENV, "5");
    assert.equal(dataWorkerCount(), 5);
    assert.equal(dataWorkerCount(undefined, { items: 1, perWorker: 256 }), 5);
    assert.equal(dataWorkerCount(1), 1);
    Deno.env.set(WORKERS_ENV, "two");
    assert.throws(() => dataWorkerCount(), /DEEPID2_DATA_WORKERS/);
    assert.throws(() => dataWorkerCount(0), /workers/);
  } finally {
    if (saved === undefined) Deno.env.delete(WORKERS_ENV);
    else Deno.env.set(WORKERS_ENV, saved);
  }
});

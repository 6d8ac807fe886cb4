import assert from "node:assert/strict";
import sharp from "sharp";
import {
  CELEBA_LAYOUT,
  generateSynth,
  LFW_LAYOUT,
  main,
  SYNTH_USAGE,
  validateSynthParams,
} from "./synthfaces.ts";
import { UsageError } from "../lib/base/cli.ts";
import { renderFace, sampleIdentity } from "./face_model.ts";
import { readPairs, readPeople } from "./lfw.ts";
import { loadCeleba } from "./celeba.ts";
import { DEFAULT_CROP, LFW_FIXED_LANDMARKS, TEMPLATE_55X47 } from "./crop.ts";
import { uniqueNames } from "./names.ts";
import { Rng } from "../lib/base/rng.ts";
import { TESTDATA, TINY } from "./_testing.ts";

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      out.push(...await listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    } else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

Deno.test("synth: same seed -> identical files and identical crops", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    await generateSynth(a, TINY, { quiet: true, contactSheet: false });
    await generateSynth(b, TINY, { quiet: true, contactSheet: false });
    const fa = await listFiles(a), fb = await listFiles(b);
    assert.deepEqual(fa, fb);
    for (const f of fa) {
      if (f === "synth.json") continue; // holds the wall time
      assert.deepEqual(
        await Deno.readFile(`${a}/${f}`),
        await Deno.readFile(`${b}/${f}`),
        f,
      );
    }
    const opts = { crop: DEFAULT_CROP, quiet: true };
    const ca = await loadCeleba(`${a}/celeba`, {
      ...opts,
      cacheDir: `${a}/.c`,
    });
    const cb = await loadCeleba(`${b}/celeba`, {
      ...opts,
      cacheDir: `${b}/.c`,
    });
    assert.deepEqual(ca.set.images, cb.set.images);
    // another seed gives other faces
    const c = await Deno.makeTempDir();
    await generateSynth(c, { ...TINY, seed: 12 }, {
      quiet: true,
      contactSheet: false,
    });
    assert.notDeepEqual(
      await Deno.readFile(`${a}/celeba/img_align_celeba/000001.jpg`),
      await Deno.readFile(`${c}/celeba/img_align_celeba/000001.jpg`),
    );
    await Deno.remove(c, { recursive: true });
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("synth: writes the real formats; folds disjoint; sizes as asked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await generateSynth(dir, TINY, { quiet: true });
    assert.equal(s.celebaIdentities, 9);
    const ids = (await Deno.readTextFile(`${dir}/celeba/identity_CelebA.txt`))
      .trim().split("\n");
    assert.equal(ids.length, s.celebaImages);
    assert.match(ids[0], /^000001\.jpg \d+$/);
    const perId = new Map<string, number>();
    for (const l of ids) {
      perId.set(l.split(" ")[1], (perId.get(l.split(" ")[1]) ?? 0) + 1);
    }
    assert.equal(perId.size, 9);
    for (const k of perId.values()) assert.ok(k >= 2 && k <= 3);
    const meta = await sharp(`${dir}/celeba/img_align_celeba/000001.jpg`)
      .metadata();
    assert.deepEqual([meta.width, meta.height], [178, 218]);

    const pairs = await readPairs(`${dir}/lfw/pairs.txt`);
    assert.equal(pairs.length, 2 * 2 * 3);
    const firstLine =
      (await Deno.readTextFile(`${dir}/lfw/pairs.txt`)).split("\n")[0];
    assert.equal(firstLine, "2\t3");
    const foldOf = new Map<string, number>();
    for (const p of pairs) {
      for (const n of [p.name1, p.name2]) {
        assert.equal(foldOf.get(n) ?? p.fold, p.fold, `${n} in two folds`);
        foldOf.set(n, p.fold);
      }
      if (p.same) assert.notEqual(p.n1, p.n2);
      const f1 = `${dir}/lfw/lfw/${p.name1}/${p.name1}_${
        String(p.n1).padStart(4, "0")
      }.jpg`;
      const f2 = `${dir}/lfw/lfw/${p.name2}/${p.name2}_${
        String(p.n2).padStart(4, "0")
      }.jpg`;
      await Deno.stat(f1);
      await Deno.stat(f2);
    }
    const keys = pairs.map((p) => `${p.name1}/${p.n1}/${p.name2}/${p.n2}`);
    assert.equal(new Set(keys).size, keys.length, "pairs are distinct");
    const people = await readPeople(`${dir}/lfw/people.txt`);
    assert.equal(people.length, 8);
    for (const p of people) {
      const files = await listFiles(`${dir}/lfw/lfw/${p.name}`);
      assert.equal(files.length, p.count);
      if (foldOf.has(p.name)) assert.equal(foldOf.get(p.name), p.fold);
    }
    const lfwMeta = await sharp(
      `${dir}/lfw/lfw/${people[0].name}/${people[0].name}_0001.jpg`,
    )
      .metadata();
    assert.deepEqual([lfwMeta.width, lfwMeta.height], [250, 250]);
    await Deno.stat(`${dir}/contact_sheet.jpg`);
    // CelebA identities are numbers, LFW identities are names: disjoint
    for (const id of perId.keys()) assert.ok(!foldOf.has(id));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synth: validation people are extra LFW people in View 1 files, disjoint from every other split by name and by image", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await generateSynth(dir, TINY, {
      quiet: true,
      contactSheet: false,
    });
    assert.equal(s.validationIdentities, 4);
    assert.equal(s.validationPairs, 2 * (5 + 5));
    // View 1 format: a single count line N, then N same and N different.
    const devTrain = await readPairs(`${dir}/lfw/pairsDevTrain.txt`);
    const devTest = await readPairs(`${dir}/lfw/pairsDevTest.txt`);
    for (
      const [file, pairs] of [["pairsDevTrain.txt", devTrain], [
        "pairsDevTest.txt",
        devTest,
      ]] as const
    ) {
      const text = await Deno.readTextFile(`${dir}/lfw/${file}`);
      assert.equal(text.split("\n")[0], "5", file);
      assert.deepEqual(
        pairs.map((p) => p.same),
        [...Array(5).fill(true), ...Array(5).fill(false)],
      );
      assert.ok(pairs.every((p) => p.fold === 0));
      const keys = pairs.map((p) => `${p.name1}/${p.n1}/${p.name2}/${p.n2}`);
      assert.equal(new Set(keys).size, keys.length, `${file}: distinct`);
    }
    const namesOf = (ps: { name1: string; name2: string }[]) =>
      new Set(ps.flatMap((p) => [p.name1, p.name2]));
    const trainNames = namesOf(devTrain), testNames = namesOf(devTest);
    assert.ok(trainNames.size >= 2 && testNames.size >= 2);
    assert.equal(trainNames.size + testNames.size, 4);
    for (const n of trainNames) assert.ok(!testNames.has(n), `${n} in both`);
    // People files agree with the images on disk.
    const vPeople = [
      ...await readPeople(`${dir}/lfw/peopleDevTrain.txt`),
      ...await readPeople(`${dir}/lfw/peopleDevTest.txt`),
    ];
    const validation = new Set(vPeople.map((p) => p.name));
    assert.deepEqual(validation, new Set([...trainNames, ...testNames]));
    for (const p of vPeople) {
      assert.equal(
        (await listFiles(`${dir}/lfw/lfw/${p.name}`)).length,
        p.count,
      );
    }
    // Disjoint by name from the test people (pairs.txt, people.txt) and the
    // CelebA identities (numbers).
    const test = namesOf(await readPairs(`${dir}/lfw/pairs.txt`));
    for (const p of await readPeople(`${dir}/lfw/people.txt`)) test.add(p.name);
    for (const n of validation) {
      assert.ok(!test.has(n), `${n} is a test person`);
    }
    const celeb = (await Deno.readTextFile(`${dir}/celeba/identity_CelebA.txt`))
      .trim().split("\n").map((l) => l.split(" ")[1]);
    for (const id of celeb) assert.ok(!validation.has(id));
    // Disjoint by image: no file of a validation person has the bytes of
    // any other image.
    const digest = async (f: string) =>
      Array.from(
        new Uint8Array(
          await crypto.subtle.digest("SHA-256", await Deno.readFile(f)),
        ),
      ).join(",");
    const files = (await listFiles(dir)).filter((f) => f.endsWith(".jpg"));
    const isValidation = (f: string) =>
      f.startsWith("lfw/lfw/") && validation.has(f.split("/")[2]);
    const others = new Set<string>();
    for (const f of files.filter((f) => !isValidation(f))) {
      others.add(await digest(`${dir}/${f}`));
    }
    const vFiles = files.filter(isValidation);
    assert.ok(vFiles.length >= 8);
    for (const f of vFiles) {
      assert.ok(!others.has(await digest(`${dir}/${f}`)), `${f} shares bytes`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synth: the validation people leave the version-2 files byte-identical (the tiny fixture)", async () => {
  // datasets/testdata/tiny was written by version 2 of the generator
  // (datasets/testdata/README.md); with validation people added, every one
  // of its files but synth.json comes out the same.
  const dir = await Deno.makeTempDir();
  try {
    await generateSynth(dir, {
      ...TINY,
      identities: 2,
      heldOutIdentities: 1,
      imagesPerIdentity: 2,
      testIdentities: 4,
      testImagesPerIdentity: 2,
      folds: 2,
      pairsPerFold: 1,
      validationIdentities: 4,
      validationDevTrainPairs: 5,
      validationDevTestPairs: 5,
      seed: 7,
    }, { quiet: true, contactSheet: false });
    const fixture = (await listFiles(`${TESTDATA}/tiny`)).filter((f) =>
      f !== "synth.json"
    );
    const made = new Set(await listFiles(dir));
    for (const f of fixture) {
      assert.ok(made.has(f), f);
      assert.deepEqual(
        await Deno.readFile(`${dir}/${f}`),
        await Deno.readFile(`${TESTDATA}/tiny/${f}`),
        f,
      );
    }
    assert.ok(made.has("lfw/pairsDevTrain.txt"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("synth: names are unique and spelled like LFW folder names", () => {
  const names = uniqueNames(new Rng(3), 2000);
  assert.equal(new Set(names).size, 2000);
  for (const n of names) {
    assert.match(n, /^[A-Z][A-Za-z'\-]*(_[A-Za-z'\-]+)+$/, n);
  }
  assert.ok(names.some((n) => n.includes("-")));
  assert.ok(names.some((n) => n.includes("'")));
  assert.ok(names.some((n) => n.split("_").length > 2));
  // avoiding names: none of them, and the same names as before otherwise
  const avoid = new Set(names.slice(0, 1000));
  const more = uniqueNames(new Rng(4), 500, avoid);
  assert.ok(more.every((n) => !avoid.has(n)));
  assert.deepEqual(uniqueNames(new Rng(3), 2000, new Set()), names);
});

Deno.test("synth: faces sit where the CelebA template and the fixed LFW crop expect them", () => {
  const mean = (lm: number[][], k: number) =>
    lm.reduce((s, l) => s + l[k], 0) / lm.length;
  for (
    const [layout, want] of [[LFW_LAYOUT, LFW_FIXED_LANDMARKS], [
      CELEBA_LAYOUT,
      null,
    ]] as const
  ) {
    const lms: number[][] = [];
    for (let i = 0; i < 40; i++) {
      const id = sampleIdentity(100 + i, 0.5);
      lms.push(
        renderFace(id, { seed: 7 + i, difficulty: 0.5, layout }).landmarks,
      );
    }
    const eyeX = (mean(lms, 0) + mean(lms, 2)) / 2,
      eyeY = (mean(lms, 1) + mean(lms, 3)) / 2;
    assert.ok(
      Math.abs(eyeX - layout.eyeX) < 3 && Math.abs(eyeY - layout.eyeY) < 3,
    );
    const iod = mean(lms, 2) - mean(lms, 0);
    assert.ok(Math.abs(iod - layout.iod) < 0.1 * layout.iod, `iod ${iod}`);
    // mouth below the eyes by about the template's ratio (19 / 18)
    const ratio = (mean(lms, 7) - eyeY) / iod;
    assert.ok(ratio > 0.85 && ratio < 1.25, `eye-mouth / iod ${ratio}`);
    if (want) {
      for (let k = 0; k < 4; k++) {
        assert.ok(Math.abs(mean(lms, k) - want[k]) < 4, `lm ${k}`);
      }
    }
    // and every image has jitter: not all eyes at one point
    const xs = lms.map((l) => l[0]);
    assert.ok(Math.max(...xs) - Math.min(...xs) > 2);
  }
  assert.equal(TEMPLATE_55X47.length, 10);
});

Deno.test("synth: parameter validation says what is wrong", () => {
  assert.throws(
    () => validateSynthParams({ ...TINY, testIdentities: 3 }),
    /at least 2 per fold/,
  );
  assert.throws(
    () => validateSynthParams({ ...TINY, difficulty: 2 }),
    /difficulty/,
  );
  assert.throws(
    () =>
      validateSynthParams({ ...TINY, imagesPerIdentity: { min: 3, max: 2 } }),
    /imagesPerIdentity/,
  );
  assert.throws(
    () => validateSynthParams({ ...TINY, validationIdentities: 3 }),
    /validationIdentities must be 0 or at least 4/,
  );
  assert.throws(
    () =>
      validateSynthParams({
        ...TINY,
        validationDevTrainPairs: 4,
        validationDevTestPairs: 5,
      }),
    /\(9\) must be at least 10/,
  );
  assert.throws(
    () => validateSynthParams({ ...TINY, validationDevTestPairs: 0 }),
    /validationDevTestPairs must be an integer >= 1/,
  );
  validateSynthParams({ ...TINY, validationIdentities: 0 });
});

Deno.test("synth CLI: unknown flags and bad values are errors naming the flag", async () => {
  const bad = (args: string[], re: RegExp) =>
    assert.rejects(() => main(args), (e: Error) => re.test(e.message));
  await assert.rejects(
    () => main(["--out", "x", "--bogus=1"]),
    (e: Error) =>
      e instanceof UsageError && /^unknown flag --bogus/.test(e.message),
  );
  await bad(
    ["--out", "x", "--identities", "many"],
    /^--identities must be an integer/,
  );
  await bad(
    ["--out", "x", "--difficulty=hard"],
    /^--difficulty must be a number/,
  );
  await bad(
    ["--out", "x", "--profile", "paper"],
    /^--profile must be smoke or quick, got "paper"/,
  );
  await bad(
    ["--out", "x", "--images-per-identity", "4-"],
    /^--images-per-identity must be N or MIN-MAX/,
  );
  await bad(
    ["--out", "x", "--validation-identities=some"],
    /^--validation-identities must be an integer/,
  );
  await bad(
    ["--out", "x", "--validation-identities=3"],
    /validationIdentities must be 0 or at least 4/,
  );
  for (
    const flag of [
      "--out DIR",
      "--profile smoke|quick",
      "--held-out N",
      "--validation-identities V",
      "--dev-train-pairs P",
      "--dev-test-pairs P",
      "--quiet",
    ]
  ) {
    assert.ok(SYNTH_USAGE.includes(flag), flag);
  }
});

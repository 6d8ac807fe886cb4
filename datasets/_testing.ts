/**
 * Helpers for the data-layer tests: copies of the fixtures in temp folders
 * that a test may damage, and a check that a promise rejects with a message.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SYNTH_PROFILES, type SynthParams } from "./synthfaces.ts";

/** The fixture folder, datasets/testdata/. */
export const TESTDATA: string = new URL("./testdata", import.meta.url).pathname;

/** Copies a folder tree. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await Deno.mkdir(dst, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (e.isDirectory) await copyTree(`${src}/${e.name}`, `${dst}/${e.name}`);
    else await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
  }
}

/** A temp copy of the tiny generated fixture; returns its root. */
export async function tinyCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "deepid2-data-" });
  await copyTree(`${TESTDATA}/tiny`, dir);
  return dir;
}

/** Asserts that `p` rejects with an Error whose message matches all `patterns`. */
export async function rejectsWith(
  p: Promise<unknown>,
  ...patterns: (string | RegExp)[]
): Promise<string> {
  let msg = "";
  try {
    await p;
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.ok(msg !== "", "expected a rejection");
  for (const pat of patterns) {
    if (typeof pat === "string") {
      assert.ok(msg.includes(pat), `"${msg}" should include "${pat}"`);
    } else assert.match(msg, pat);
  }
  return msg;
}

/**
 * A tiny synthetic set: 6 + 3 CelebA identities, 8 LFW test people in 2
 * folds, 4 LFW validation people (View 1: 5 + 5 same pairs, one of each kind
 * per validation fold).
 */
export const TINY: SynthParams = {
  ...SYNTH_PROFILES.smoke,
  identities: 6,
  heldOutIdentities: 3,
  imagesPerIdentity: { min: 2, max: 3 },
  testIdentities: 8,
  testImagesPerIdentity: { min: 1, max: 3 },
  folds: 2,
  pairsPerFold: 3,
  validationIdentities: 4,
  validationDevTrainPairs: 5,
  validationDevTestPairs: 5,
  seed: 11,
};

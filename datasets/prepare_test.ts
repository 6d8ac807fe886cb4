import assert from "node:assert/strict";
import { UsageError } from "../lib/base/cli.ts";
import { prepare, PREPARE_USAGE } from "./prepare.ts";
import { TESTDATA, tinyCopy } from "./_testing.ts";

Deno.test("prepare: --lfw / --celeba / --folders report the JSON fields", async () => {
  const root = await tinyCopy();
  try {
    const cache = ["--cache-dir", `${root}/.cache`, "--quiet"];
    const lfw = await prepare(["--lfw", `${root}/lfw`, ...cache]);
    assert.deepEqual(Object.keys(lfw), [
      "format",
      "images",
      "identities",
      "pairs",
      "skipped",
      "cache",
    ]);
    assert.equal(lfw.format, "lfw");
    assert.equal(lfw.images, 8);
    assert.equal(lfw.pairs, 4);
    assert.equal(lfw.skipped, 0);
    const cel = await prepare([
      "--celeba",
      `${root}/celeba`,
      "--crop",
      "47x47",
      "--gray",
      ...cache,
    ]);
    assert.deepEqual([cel.format, cel.images, cel.identities], [
      "celeba",
      6,
      3,
    ]);
    const fo = await prepare(["--folders", `${root}/lfw/lfw`, ...cache]);
    assert.deepEqual([fo.format, fo.images, fo.identities, fo.pairs], [
      "folders",
      8,
      4,
      0,
    ]);
    await Deno.remove(`${root}/lfw/lfw/Paula_Schmidt/Paula_Schmidt_0001.jpg`);
    const sk = await prepare([
      "--lfw",
      `${root}/lfw`,
      "--skip-missing",
      ...cache,
    ]);
    assert.equal(sk.pairs, 3);
    assert.equal(sk.skipped, 2); // one people.txt entry, one pair
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepare CLI: a malformed pairs.txt exits non-zero with FILE:LINE: message", async () => {
  const root = await tinyCopy();
  try {
    await Deno.copyFile(
      `${TESTDATA}/pairs_bad_fields.txt`,
      `${root}/lfw/pairs.txt`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./prepare.ts", import.meta.url).pathname,
        "--lfw",
        `${root}/lfw`,
        "--cache-dir",
        `${root}/.cache`,
        "--quiet",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 0);
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(
      err.split("\n").at(-1),
      `${root}/lfw/pairs.txt:3: expected "name n1 n2" or "name1 n1 name2 n2", got 5 field(s): "Bo_Kim 1 3 7 8"`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepare: unknown flags and bad values are errors naming the flag", async () => {
  const bad = (args: string[], re: RegExp) =>
    assert.rejects(() => prepare(args), (e: Error) => re.test(e.message));
  await assert.rejects(
    () => prepare(["--lfw", "x", "--bogus"]),
    (e: Error) =>
      e instanceof UsageError && /^unknown flag --bogus/.test(e.message),
  );
  await bad(["--lfw"], /^--lfw needs a value/);
  await bad(["--lfw", "x", "--gray=yes"], /^--gray takes true or false/);
  await bad(["--synth", "big"], /^--synth must be smoke or quick, got "big"/);
  await bad(["--lfw", "x", "--crop", "55"], /^--crop must be HxW/);
  await bad(["--lfw", "x", "--celeba", "y"], /^give exactly one of --lfw/);
  for (const flag of ["--lfw DIR", "--pairs FILE", "--crop HxW", "--gray"]) {
    assert.ok(PREPARE_USAGE.includes(flag), flag);
  }
  assert.match(PREPARE_USAGE, /--crop HxW\s+.*\(default 55x47\)/);
});

Deno.test("prepare CLI: --help prints the usage, a bogus flag one line and status 1", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./prepare.ts", import.meta.url).pathname,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  };
  const help = await run("--help");
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stdout.trim(), PREPARE_USAGE);
  const bogus = await run("--bogus");
  assert.equal(bogus.code, 1);
  assert.equal(
    bogus.stderr.trim(),
    "prepare: unknown flag --bogus (--help for usage)",
  );
});

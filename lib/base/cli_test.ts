import assertStrict from "node:assert/strict";
import { parseCommandLine, usage, UsageError } from "./cli.ts";

const TABLE = {
  seed: { type: "integer", default: 1, help: "seed" },
  rate: { type: "number", help: "a rate" },
  out: { type: "string", default: "results", help: "folder", arg: "DIR" },
  force: { type: "boolean", default: false, help: "redo" },
} as const;

Deno.test("parseCommandLine: defaults, both value forms, booleans", () => {
  const d = parseCommandLine([], TABLE, { command: "x" });
  assertStrict.deepEqual(d.values, { seed: 1, out: "results", force: false });
  const r = parseCommandLine(
    ["--seed", "3", "--rate=0.5", "--force", "--out=a b"],
    TABLE,
    { command: "x" },
  );
  assertStrict.deepEqual(r.values, {
    seed: 3,
    rate: 0.5,
    out: "a b",
    force: true,
  });
  assertStrict.equal(
    parseCommandLine(["--force=false"], TABLE, { command: "x" }).values.force,
    false,
  );
  assertStrict.equal(
    parseCommandLine(["--help"], TABLE, { command: "x" }).help,
    true,
  );
});

Deno.test("parseCommandLine: unknown flags, bad values and positionals are errors naming the flag", () => {
  const bad = (argv: string[], re: RegExp) =>
    assertStrict.throws(
      () => parseCommandLine(argv, TABLE, { command: "x" }),
      (e: Error) => e instanceof UsageError && re.test(e.message),
    );
  bad(["--sed=2"], /unknown flag --sed/);
  bad(["--seed=2.5"], /--seed must be an integer, got "2.5"/);
  bad(["--rate=fast"], /--rate must be a number/);
  bad(["--force=yes"], /--force takes true or false/);
  bad(["--out"], /--out needs a value/);
  bad(["stray"], /unexpected argument "stray"/);
  // The usage text comes with the error.
  bad(["--sed=2"], /--out DIR\s+folder \(default results\)/);
});

Deno.test("parseCommandLine: overrides collect --key=value only where allowed", () => {
  const r = parseCommandLine(["--steps=20", "--seed=2"], TABLE, {
    command: "x",
    overrides: true,
  });
  assertStrict.deepEqual(r.overrides, { steps: "20" });
  assertStrict.equal(r.values.seed, 2);
  assertStrict.throws(
    () =>
      parseCommandLine(["--steps"], TABLE, { command: "x", overrides: true }),
    /unknown flag --steps/,
  );
});

Deno.test("usage lists every flag with its default", () => {
  const u = usage("cmd [flags]", TABLE);
  assertStrict.match(u, /^usage: cmd \[flags\]/);
  assertStrict.match(u, /--seed INTEGER\s+seed \(default 1\)/);
  assertStrict.match(u, /--force\s+redo$/m);
});

import assertStrict from "node:assert/strict";
import { parseRunFlags } from "./flags.ts";

Deno.test("parseRunFlags: defaults, shards, resume, and clear errors", () => {
  const f = parseRunFlags([
    "--profile",
    "smoke",
    "--shard",
    "1/3",
    "--resume=false",
    "--steps=5",
  ]);
  assertStrict.equal(f.profile, "smoke");
  assertStrict.deepEqual(f.shard, [1, 3]);
  assertStrict.equal(f.resume, false);
  assertStrict.deepEqual(f.overrides, { steps: "5" });
  assertStrict.equal(parseRunFlags([]).resume, true);
  assertStrict.throws(
    () => parseRunFlags(["--shard", "3/3"]),
    /--shard must be i\/n/,
  );
  assertStrict.throws(
    () => parseRunFlags(["--seed", "3"]),
    /--seed: there is no single seed any more.*--seeds=1,2,3/,
  );
  assertStrict.throws(
    () => parseRunFlags(["stray"]),
    /unexpected argument "stray"/,
  );
});

Deno.test("parseRunFlags: quick writes to results/, other profiles to results/<profile>/ unless --out", () => {
  assertStrict.equal(parseRunFlags([]).out, "results");
  assertStrict.equal(
    parseRunFlags(["--profile", "smoke"]).out,
    "results/smoke",
  );
  assertStrict.equal(
    parseRunFlags(["--profile", "paper", "--out", "x"]).out,
    "x",
  );
});

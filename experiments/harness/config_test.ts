import assertStrict from "node:assert/strict";
import { applyOverrides, configToJson } from "./config.ts";

const defaults = {
  steps: 10,
  lambda: 0.05,
  lambdas: [0, 0.05],
  signal: "l2",
  flip: false,
  train: { lr: 0.01 },
};

Deno.test("applyOverrides: coerces to the default's type, nested keys, infinity", () => {
  const c = applyOverrides(defaults, {
    steps: "20",
    lambdas: "0,inf",
    flip: "true",
    "train.lr": "0.1",
    lambda: "Infinity",
  });
  assertStrict.deepEqual(c, {
    ...defaults,
    steps: 20,
    lambdas: [0, Infinity],
    flip: true,
    train: { lr: 0.1 },
    lambda: Infinity,
  });
  assertStrict.equal(defaults.steps, 10, "defaults untouched");
});

Deno.test("applyOverrides: unknown keys and wrong types are errors naming the key", () => {
  assertStrict.throws(
    () => applyOverrides(defaults, { stepz: "1" }),
    /unknown config key "stepz"; known keys: steps/,
  );
  assertStrict.throws(
    () => applyOverrides(defaults, { steps: "ten" }),
    /config key "steps" takes a number, got "ten"/,
  );
  assertStrict.throws(
    () => applyOverrides(defaults, { flip: "yes" }),
    /"flip" takes true or false/,
  );
  assertStrict.throws(
    () => applyOverrides(defaults, { "train.x": "1" }),
    /unknown config key "train.x"/,
  );
  assertStrict.throws(
    () => applyOverrides(defaults, { train: "1" }),
    /is a group/,
  );
});

Deno.test("configToJson keeps Infinity readable", () => {
  assertStrict.equal(JSON.parse(configToJson({ a: Infinity })).a, "Infinity");
});

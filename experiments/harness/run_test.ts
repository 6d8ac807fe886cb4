import assertStrict from "node:assert/strict";
import { lambdaConfigurations, lambdaName } from "./run.ts";

Deno.test("lambdaConfigurations: one L2 configuration per λ, named by lambdaName", () => {
  assertStrict.equal(lambdaName(Infinity), "inf");
  assertStrict.equal(lambdaName(0.05), "0.05");
  assertStrict.deepEqual(lambdaConfigurations([0, Infinity]), [
    { name: "lambda=0", lambda: 0, signal: "l2", columns: { lambda: "0" } },
    {
      name: "lambda=inf",
      lambda: Infinity,
      signal: "l2",
      columns: { lambda: "inf" },
    },
  ]);
});

import assertStrict from "node:assert/strict";
import { forwardMultiplyAdds } from "./cost.ts";
import { defaultModelConfig } from "./model.ts";

Deno.test("forwardMultiplyAdds: the paper's net by hand", () => {
  // conv1 52·44·20·(4·4·3) + conv2 24·20·40·(3·3·20) + conv3 10·8·60·(3·3·40)
  // + conv4 4·3·80·(2·2·60) + DeepID2 (1200 + 960)·160 + softmax 160·n.
  const convs = 52 * 44 * 20 * 48 + 24 * 20 * 40 * 180 + 10 * 8 * 60 * 360 +
    4 * 3 * 80 * 240;
  const expected = convs + 2160 * 160 + 160 * 1000;
  assertStrict.equal(forwardMultiplyAdds(defaultModelConfig(1000)), expected);
});

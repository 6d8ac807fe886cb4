/**
 * What the network costs to run: multiply-adds per image, for benchmark
 * tables (as face-recognition toolkits list them beside their models).
 *
 * @module
 */
import { type ModelConfig, modelShapes } from "./model.ts";

/**
 * Multiply-adds of one image's forward pass: the four convolutions (each
 * output value costs kh·kw·inC), the DeepID2 layer on pool3 + conv4 and the
 * softmax (`deepid2Dim · numIdentities`; 0 without one). Training costs
 * about three times this (forward, input and weight gradients).
 *
 * @example
 * ```ts
 * forwardMultiplyAdds(defaultModelConfig(1000)); // ≈ 8.0e6
 * ```
 */
export function forwardMultiplyAdds(config: ModelConfig): number {
  const shapes = modelShapes(config);
  let macs = 0;
  for (const c of shapes.convs) {
    macs += (c.inH - c.kh + 1) * (c.inW - c.kw + 1) * c.outC * c.kh * c.kw *
      c.inC;
  }
  macs += (shapes.pool3 + shapes.conv4) * config.deepid2Dim;
  return macs + config.deepid2Dim * config.numIdentities;
}

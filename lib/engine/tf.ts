/**
 * The one TensorFlow.js entry point of the suite. `@tensorflow/tfjs-core`'s
 * Node bundle registers no gradients and its ESM files do not resolve under
 * Node/Deno rules, so the gradients come from the `@tensorflow/tfjs` bundle,
 * which registers them in the same global registry and shares the same
 * tfjs-core instance (tfjs-node depends on it too). Import `tf` from here.
 *
 * @module
 */
import "@tensorflow/tfjs";
export * as tf from "@tensorflow/tfjs-core";

// Production mode: no console warnings from tfjs (e.g. the cpu backend's
// "install tfjs-node" banner, which `--backend` already covers).
import { env } from "@tensorflow/tfjs-core";
env().set("PROD", true);

/**
 * Loading the native TensorFlow backends (tfjs-node, tfjs-node-gpu).
 *
 * They are Node-API addons that need libtensorflow; `make tensorflow` /
 * `make tensorflow-gpu` install them into `.tensorflow/`. Until then this
 * module reports them as not installed, and the caller falls back.
 *
 * @module
 */

/** Which native package. */
export type NativeKind = "tensorflow" | "tensorflow-gpu";

/**
 * Tries to load a native backend package, which registers the backend with
 * tfjs-core as a side effect.
 *
 * @returns `null` when it loaded, otherwise the reason it did not.
 */
export function loadNative(kind: NativeKind): Promise<string | null> {
  return Promise.resolve(
    `${kind}: not installed (run \`make ${kind}\`)`,
  );
}

/**
 * The check `make tensorflow[-gpu]` ends with: selects the native backend
 * through `lib/engine/backend.ts`, as `--backend` does, and runs a convolution and its
 * gradients on it.
 *
 *   deno run -A lib/engine/native/check.ts tensorflow|tensorflow-gpu
 *
 * @module
 */
import { initBackend } from "../backend.ts";
import { loadedNative } from "../native.ts";
import { tf } from "../tf.ts";

const name = Deno.args[0] ?? "tensorflow";
const info = await initBackend(name);
const x = tf.randomNormal([2, 9, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
  tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "valid").square().sum()
)([x, w]);
const ok = dx.shape.join() === x.shape.join() &&
  dw.shape.join() === w.shape.join() && Number.isFinite(dw.sum().dataSync()[0]);
const m = loadedNative();
console.log(
  `deno: backend ${info.name} (tfjs "${info.backend}"), ` +
    `libtensorflow ${m?.manifest.libtensorflow} from the ${m?.manifest.route} route` +
    `${m?.gpu ? ", on GPU" : ""}; conv2d gradients ${ok ? "ok" : "WRONG"}`,
);
if (!ok || info.backend !== "tensorflow") Deno.exit(1);

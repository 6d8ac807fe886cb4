/**
 * The native TensorFlow backend (`make tensorflow`) on its own: the addon
 * registers in the project's tfjs-core, `initBackend` reports the
 * formulations it runs, and the kernels of `lib/engine/native_kernels.ts`
 * equal the stock ones. The network and training on it against wasm:
 * `lib/nn/native_test.ts`, `lib/train/native_test.ts`. Without the native
 * install every test here is skipped, and the reason is printed.
 *
 * @module
 */
import assertStrict from "node:assert/strict";
import { arrays, onBackend, randn, runProbe } from "../_test_helpers.ts";
import { initBackend } from "./backend.ts";
import { fastPathsFor } from "./fast_paths.ts";
import { loadedNative, loadNative } from "./native.ts";
import {
  installNativeKernels,
  loadKernelsLibrary,
  transposeKernel,
} from "./native_kernels.ts";
import { tf } from "./tf.ts";

const reason = await loadNative("tensorflow");
if (reason !== null) console.log(`native tests skipped: ${reason}`);
const ignore = reason !== null;

Deno.test({
  name: "native: tfjs-node registers `tensorflow` in the project's tfjs-core",
  ignore,
  fn() {
    const m = loadedNative()!;
    assertStrict.ok(tf.engine().registryFactory["tensorflow"]);
    const b = tf.findBackend("tensorflow") as unknown as {
      binding: { TF_Version: string };
    };
    assertStrict.equal(b.binding.TF_Version, m.manifest.libtensorflow);
    // No second copy of the kernels: tfjs-node's and ours are the same registry.
    assertStrict.ok(tf.getKernel("Conv2D", "tensorflow"));
    assertStrict.ok(tf.getKernel("Conv2D", "wasm"));
  },
});

Deno.test({
  name:
    "native: initBackend returns the backend's formulations as a frozen value, native kernels included",
  ignore,
  async fn() {
    const info = await initBackend("tensorflow", { quiet: true });
    assertStrict.equal(info.backend, "tensorflow");
    assertStrict.ok(Object.isFrozen(info.paths));
    assertStrict.deepEqual(info.paths, {
      ...fastPathsFor("tensorflow"),
      ...await installNativeKernels(),
    });
    // What every build has: TensorFlow's ReluGrad, the in-place SGD, and
    // the formulations that need no native kernel.
    for (
      const k of [
        "builtinGradients",
        "batchedRegions",
        "biasAfterPool",
        "hostLoss",
        "nativeOps",
        "nativeSgd",
      ] as const
    ) assertStrict.ok(info.paths[k], k);
    // `make tensorflow` builds our own kernels with the CPU backend.
    if (!loadedNative()!.gpu) {
      assertStrict.equal(loadKernelsLibrary(), null);
      assertStrict.ok(info.paths.poolGrad2x2, "poolGrad2x2");
      assertStrict.ok(info.paths.poolBiasRelu, "poolBiasRelu");
      assertStrict.ok(info.paths.ownProducts, "ownProducts");
      assertStrict.ok(
        info.paths.ownSgd,
        "ownSgd (bit for bit the tfjs update)",
      );
    }
    // The same answer for the same name: the backend starts once.
    assertStrict.equal(await initBackend("tensorflow", { quiet: true }), info);
  },
});

Deno.test({
  name:
    "native: oneDNN's transpose (and its gradient) and the cached-shape Reshape equal the stock kernels",
  ignore,
  async fn() {
    const found = await onBackend("tensorflow");
    if (!found.mklTranspose) {
      console.log("oneDNN transpose not in this libtensorflow: Eigen's runs");
      return;
    }
    const x = randn([6, 5, 2, 4, 2, 7], 21);
    const w = randn([5, 4, 6, 2, 2, 7], 22);
    const perm = [1, 3, 0, 2, 4, 5];
    try {
      const [mine, stock] = await arrays([
        transposeKernel(x, perm),
        tf.transpose(x, perm),
      ]);
      assertStrict.deepEqual(Array.from(mine), Array.from(stock));
      const grad = (tr: typeof transposeKernel) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tr(t, perm), w)))(x);
      const [g1, g2] = await arrays([
        grad(transposeKernel),
        grad(tf.transpose),
      ]);
      assertStrict.deepEqual(Array.from(g1), Array.from(g2), "gradient");
      // Reshape with the cached shape tensors (in force once ReluGrad
      // passed): the shapes tfjs infers and the input's values, in order;
      // -1 and int32 included.
      assertStrict.ok(found.nativeOps);
      const shapes = [[30, -1], [2, 3, 5, 112], [-1]];
      const want = [[30, 112], [2, 3, 5, 112], [3360]];
      const xi = tf.cast(x, "int32");
      const [xv, xiv] = [await x.data(), await xi.data()];
      for (const [i, sh] of shapes.entries()) {
        const [a, b] = [tf.reshape(x, sh), tf.reshape(xi, sh)];
        assertStrict.deepEqual(a.shape, want[i]);
        assertStrict.deepEqual(b.shape, want[i]);
        assertStrict.deepEqual(await a.data(), xv);
        assertStrict.deepEqual(await b.data(), xiv);
        tf.dispose([a, b]);
      }
      xi.dispose();
    } finally {
      tf.dispose([x, w]);
    }
  },
});

const probe = new URL("../train/_native_kernels_probe.ts", import.meta.url);

/** Runs the probe in a fresh process with `env`. */
function runKernelsProbe(env: Record<string, string>) {
  return runProbe<{
    isa: string;
    products: boolean;
    sgd: boolean;
    sha256: string;
    copies: number;
  }>(probe, env);
}

Deno.test({
  name:
    "native: our kernels train to the same bits on one thread and two, on every vector path, and the fused SGD copies no variable",
  ignore,
  async fn() {
    const two = await runKernelsProbe({ DEEPID2_KERNEL_THREADS: "2" });
    if (!two.products) {
      console.log(`our kernels are off: ${loadKernelsLibrary()}`);
      return;
    }
    assertStrict.ok(two.sgd, "the fused SGD runs");
    assertStrict.equal(two.copies, 0, "variables copied before an update");
    const runs = [
      await runKernelsProbe({ DEEPID2_KERNEL_THREADS: "1" }),
      await runKernelsProbe({ DEEPID2_KERNEL_ISA: "avx2" }),
      await runKernelsProbe({ DEEPID2_KERNEL_ISA: "base" }),
    ];
    for (const r of runs) {
      assertStrict.equal(r.sha256, two.sha256, `${r.isa}: other bits`);
    }
    assertStrict.equal(runs[2].isa, "scalar");
  },
});

import assert from "node:assert/strict";
import {
  eigenvalues,
  fitPca,
  pcaProjection2d,
  projectPca,
  scatterMatrices,
  scatterSpectra,
  symmetricEigen,
  totalScatter,
} from "./scatter.ts";
import { Rng } from "../base/rng.ts";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

Deno.test("scatter matrices by hand", () => {
  // Identity 0 at 0 and 2 (mean 1), identity 1 at 10 and 12 (mean 11); mean 6.
  const s = scatterMatrices(new Float32Array([0, 2, 10, 12]), 1, [0, 0, 1, 1]);
  assert.deepEqual([...s.mean], [6]);
  assert.deepEqual([...s.between], [25]);
  assert.deepEqual([...s.within], [1]);
  assert.equal(s.numIdentities, 2);
  const sp = scatterSpectra(new Float32Array([0, 2, 10, 12]), 1, [0, 0, 1, 1]);
  assert.deepEqual([...sp.between], [25]);
  assert.deepEqual([...sp.within], [1]);
  // 2-D: identities differ along x only, images within along y only.
  const t = scatterMatrices(
    new Float32Array([0, 1, 0, -1, 4, 1, 4, -1]),
    2,
    [0, 0, 1, 1],
  );
  assert.deepEqual([...t.between], [4, 0, 0, 0]);
  assert.deepEqual([...t.within], [0, 0, 0, 1]);
});

Deno.test("between + within = total covariance; spectra sorted", () => {
  const rng = new Rng(3);
  const dim = 6, n = 200;
  const x = new Float32Array(n * dim).map(() => rng.normal());
  const labels = Array.from({ length: n }, () => rng.int(15));
  const s = scatterMatrices(x, dim, labels);
  const t = totalScatter(x, dim);
  for (let i = 0; i < dim * dim; i++) {
    close(s.between[i] + s.within[i], t.scatter[i] / n);
  }
  const sp = scatterSpectra(x, dim, labels);
  for (const v of [sp.between, sp.within]) {
    assert.ok(v.every((e, i) => i === 0 || e <= v[i - 1]));
  }
  // Sum of eigenvalues = trace.
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += s.within[a * dim + a];
  close(sp.within.reduce((a, b) => a + b, 0), trace);
});

Deno.test("symmetric eigen-decomposition: A v = lambda v, sign fixed", () => {
  assert.deepEqual([...eigenvalues(new Float64Array([1, 0, 0, 4]), 2)], [4, 1]);
  const m = new Float64Array([2, 1, 0, 1, 2, 0, 0, 0, 5]);
  const { values, vectors } = symmetricEigen(m, 3);
  [5, 3, 1].forEach((v, k) => close(values[k], v));
  for (let k = 0; k < 3; k++) {
    let big = 0;
    for (let a = 0; a < 3; a++) {
      let av = 0;
      for (let b = 0; b < 3; b++) av += m[a * 3 + b] * vectors[b * 3 + k];
      close(av, values[k] * vectors[a * 3 + k]);
      if (Math.abs(vectors[a * 3 + k]) > Math.abs(big)) {
        big = vectors[a * 3 + k];
      }
    }
    assert.ok(big > 0);
  }
});

Deno.test("PCA: components, variances, projection, rank clipping", () => {
  const pca = fitPca(new Float32Array([0, 0, 2, 0]), 2);
  assert.equal(pca.numComponents, 1); // rank 1
  assert.deepEqual([...pca.variances], [1]);
  assert.deepEqual([...projectPca(pca, new Float32Array([2, 5]))], [1]);
  const rng = new Rng(1);
  const x = new Float32Array(300).map((_, i) =>
    (i % 3 === 0 ? 5 : 1) * rng.normal()
  );
  const full = fitPca(x, 3, { maxComponents: 2 });
  assert.equal(full.numComponents, 2);
  assert.ok(Math.abs(full.components[0]) > 0.99); // first axis has the variance
});

Deno.test("2-D projection of chosen identities (Fig. 5)", () => {
  const rng = new Rng(6);
  const dim = 4, features: number[] = [], labels: number[] = [];
  for (let id = 0; id < 5; id++) {
    for (let j = 0; j < 10; j++) {
      labels.push(id);
      // Identities 10 apart along dimension 0, noise 0.5 elsewhere.
      features.push(
        10 * id + rng.normal() * 0.1,
        ...[0, 0, 0].map(() => 0.5 * rng.normal()),
      );
    }
  }
  const pts = pcaProjection2d(Float32Array.from(features), dim, {
    labels,
    identities: [1, 3],
  });
  assert.equal(pts.length, 20);
  assert.deepEqual(
    pts.map((p) => p.index),
    [...Array(10).keys()].map((k) => k + 10).concat(
      [...Array(10).keys()].map((k) => k + 30),
    ),
  );
  const mean = (id: number) =>
    pts.filter((p) => p.label === id).reduce((s, p) => s + p.pc1, 0) / 10;
  close(Math.abs(mean(1) - mean(3)), 20, 0.2);
  close(pts.reduce((s, p) => s + p.pc1, 0), 0, 1e-9);
  const v1 = pts.reduce((s, p) => s + p.pc1 ** 2, 0);
  const v2 = pts.reduce((s, p) => s + p.pc2 ** 2, 0);
  assert.ok(v1 > v2);
});

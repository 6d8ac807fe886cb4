/**
 * Joint Bayesian face verification (Chen et al., ECCV 2012), as lib/PAPER.md,
 * "Joint Bayesian" specifies it: PCA first, centred on the training data;
 * x = mu + eps with mu ~ N(0, S_mu), eps ~ N(0, S_eps); EM started from
 * the between/within-identity scatter; a small ridge on every inverse;
 * identities with one image do not inform S_eps; stop on relative change
 * < 1e-6 or a maximum number of iterations.
 *
 * EM step for an identity with m images x_1..x_m, s = sum_j x_j:
 *   F = S_eps^-1,  G_m = -(m S_mu + S_eps)^-1 S_mu S_eps^-1,
 *   E[mu] = S_mu (F + m G_m) s,  E[eps_j] = x_j + S_eps G_m s,
 *   S_mu <- mean over identities of E[mu] E[mu]^T,
 *   S_eps <- mean over images (of identities with m >= 2) of E[eps] E[eps]^T.
 * These are covariances of point estimates, so S_eps comes out about
 * (m - 1) / m too small (half for pairs); the option `posteriorCovariance`
 * adds the posterior covariance and makes it the full EM (maximum likelihood).
 * The ridge rho is added to S_eps wherever it takes part in an inverse
 * (S_eps + rho I replaces S_eps in F, G_m and E[eps]); rho = ridge * trace(S_eps0) / d.
 *
 * Speed: S_mu and S_eps + rho I are diagonalised together (W^T S_eps W = I,
 * W^T S_mu W = Lambda, by two symmetric eigen-decompositions from ml-matrix).
 * Then every (m S_mu + S_eps)^-1 is diagonal in that basis, so one EM
 * iteration costs two d x d EVDs plus O(K d^2) for K identities, with no
 * per-identity inverse. The formulas are the ones above; the test checks one
 * step against a direct implementation with explicit inverses.
 *
 * Score: log P(x1, x2 | same) / P(x1, x2 | different), the log-likelihood
 * ratio of the two Gaussians. In the paper's notation it is
 *   r(x1, x2) / 2 + const,  r = x1^T A x1 + x2^T A x2 - 2 x1^T G x2,
 *   A = (S_mu + S_eps)^-1 - (F + G), G = -(2 S_mu + S_eps)^-1 S_mu S_eps^-1,
 * so it ranks pairs exactly as r does; 0 means even odds.
 *
 * @module
 */

import type { Pair } from "../faces.ts";
import { pcaFromCovariance, symmetricEigen, totalScatter } from "./scatter.ts";

/** Options for {@linkcode fitJointBayesian}. */
export interface JointBayesianOptions {
  /** PCA dimension before the model (180 in the paper), clipped to the data's rank. */
  pcaDim?: number;
  /** Most EM iterations; 500. */
  maxIter?: number;
  /** Stop when the relative Frobenius change of S_mu and S_eps is below this; 1e-6. */
  tol?: number;
  /** Ridge on S_eps in every inverse, relative to trace(S_eps0) / d; 1e-6. */
  ridge?: number;
  /**
   * false (default): the EM of lib/PAPER.md, "Joint Bayesian", S_mu and
   * S_eps = covariances of the posterior means E[mu], E[eps]. This shrinks
   * S_eps by about (m - 1) / m for identities of m images. true: the full
   * EM, which also adds the posterior covariance Cov[mu | x] (= Cov[eps_j |
   * x]) and so converges to the maximum-likelihood estimate.
   */
  posteriorCovariance?: boolean;
  /** Called after every EM iteration with the relative change. */
  onIteration?: (iteration: number, change: number) => void;
}

/** Everything that defines a fitted model (what its JSON holds). */
export interface JointBayesianParams {
  /** Training mean, [D]. */
  mean: Float64Array;
  /** PCA components as columns, [D, d] row-major. */
  pca: Float64Array;
  /** Between-identity covariance in PCA space, [d, d]. */
  sMu: Float64Array;
  /** Within-identity covariance in PCA space, [d, d] (without the ridge). */
  sEps: Float64Array;
  /** Absolute ridge rho added to S_eps in every inverse. */
  ridge: number;
  /** EM iterations run. */
  iterations: number;
  /** Whether EM stopped on the tolerance (not on maxIter). */
  converged: boolean;
}

/** The JSON form of a model ({@linkcode JointBayesianModel.toJSON}). */
export interface JointBayesianJson {
  format: "deepid2-joint-bayesian";
  version: 1;
  inputDim: number;
  pcaDim: number;
  mean: number[];
  pca: number[];
  sMu: number[];
  sEps: number[];
  ridge: number;
  iterations: number;
  converged: boolean;
}

/** C = A B for row-major A [n, k], B [k, p]. */
function matmul(
  a: Float64Array,
  b: Float64Array,
  shape: [number, number, number],
): Float64Array {
  const [n, k, p] = shape;
  const c = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const aij = a[i * k + j];
      if (aij === 0) continue;
      const bRow = j * p, cRow = i * p;
      for (let l = 0; l < p; l++) c[cRow + l] += aij * b[bRow + l];
    }
  }
  return c;
}

/** Transpose of a row-major [n, p] matrix. */
function transpose(a: Float64Array, n: number, p: number): Float64Array {
  const t = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) t[j * n + i] = a[i * p + j];
  }
  return t;
}

/** A S A^T for square A, S [d, d]. */
function sandwich(a: Float64Array, s: Float64Array, d: number): Float64Array {
  return matmul(matmul(a, s, [d, d, d]), transpose(a, d, d), [d, d, d]);
}

function addRidge(s: Float64Array, d: number, rho: number): Float64Array {
  const out = s.slice();
  for (let k = 0; k < d; k++) out[k * d + k] += rho;
  return out;
}

/**
 * Simultaneous diagonalisation of S_mu and S_epsR (positive definite):
 * W^T S_epsR W = I, W^T S_mu W = diag(lambda), with W^-T = S_epsR W.
 */
function diagonalise(
  sMu: Float64Array,
  sEpsR: Float64Array,
  d: number,
): { lambda: Float64Array; w: Float64Array; wInvT: Float64Array } {
  const e = symmetricEigen(sEpsR, d); // S_epsR = Q Sigma Q^T
  if (!(e.values[d - 1] > 0)) {
    throw new RangeError(
      "S_eps + ridge is not positive definite; increase the ridge",
    );
  }
  const b = new Float64Array(d * d); // Q Sigma^-1/2
  const bInvT = new Float64Array(d * d); // Q Sigma^1/2
  for (let a = 0; a < d; a++) {
    for (let k = 0; k < d; k++) {
      const q = e.vectors[a * d + k], s = Math.sqrt(e.values[k]);
      b[a * d + k] = q / s;
      bInvT[a * d + k] = q * s;
    }
  }
  const bt = transpose(b, d, d);
  const c = matmul(matmul(bt, sMu, [d, d, d]), b, [d, d, d]); // B^T S_mu B
  const f = symmetricEigen(c, d); // C = V Lambda V^T
  const lambda = f.values.map((v) => Math.max(v, 0));
  return {
    lambda,
    w: matmul(b, f.vectors, [d, d, d]),
    wInvT: matmul(bInvT, f.vectors, [d, d, d]),
  };
}

function frobenius(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function relativeChange(prev: Float64Array, next: Float64Array): number {
  let s = 0;
  for (let i = 0; i < prev.length; i++) s += (next[i] - prev[i]) ** 2;
  return Math.sqrt(s) / Math.max(frobenius(prev), Number.MIN_VALUE);
}

/** A fitted Joint Bayesian model; higher score = more likely the same person. */
export class JointBayesianModel {
  /** Input feature dimension D. */
  readonly inputDim: number;
  /** PCA dimension d. */
  readonly pcaDim: number;
  /** The parameters (see {@linkcode JointBayesianParams}). */
  readonly params: JointBayesianParams;
  /** PCA then W: raw centred feature -> diagonal basis, [D, d]. */
  readonly #transform: Float64Array;
  /** Weight of y1_k^2 + y2_k^2 in the score (a_k / 2). */
  readonly #selfWeight: Float64Array;
  /** Weight of y1_k y2_k in the score (-g_k). */
  readonly #crossWeight: Float64Array;
  /** (1/2) log(|Sigma_different| / |Sigma_same|). */
  readonly #constant: number;

  /**
   * @param params the model's parameters, e.g. from {@linkcode fitJointBayesian}
   */
  constructor(params: JointBayesianParams) {
    const D = params.mean.length;
    const d = Math.round(Math.sqrt(params.sMu.length));
    if (
      d * d !== params.sMu.length || params.sEps.length !== d * d ||
      params.pca.length !== D * d
    ) {
      throw new RangeError(
        `inconsistent Joint Bayesian shapes: mean ${D}, pca ${params.pca.length}, ` +
          `sMu ${params.sMu.length}, sEps ${params.sEps.length}`,
      );
    }
    this.inputDim = D;
    this.pcaDim = d;
    this.params = params;
    const { lambda, w } = diagonalise(
      params.sMu,
      addRidge(params.sEps, d, params.ridge),
      d,
    );
    this.#transform = matmul(params.pca, w, [D, d, d]);
    this.#selfWeight = lambda.map((l) =>
      (1 / (l + 1) - (l + 1) / (2 * l + 1)) / 2
    );
    this.#crossWeight = lambda.map((l) => l / (2 * l + 1));
    let c = 0;
    for (const l of lambda) c += Math.log((l + 1) ** 2 / (2 * l + 1)) / 2;
    this.#constant = c;
  }

  /**
   * Projects a raw feature into PCA space (centred on the training mean).
   *
   * @param x a feature, [D]
   * @returns its PCA coordinates, [d]
   */
  project(x: ArrayLike<number>): Float64Array {
    const { mean, pca } = this.params;
    const d = this.pcaDim;
    const out = new Float64Array(d);
    for (let a = 0; a < this.inputDim; a++) {
      const v = x[a] - mean[a];
      for (let k = 0; k < d; k++) out[k] += v * pca[a * d + k];
    }
    return out;
  }

  /** Maps rows of a feature matrix into the diagonal basis, with their self terms. */
  #embed(
    features: ArrayLike<number>,
    dim: number,
    indices: Iterable<number>,
  ): { y: Float64Array; self: Float64Array; ready: Uint8Array } {
    if (dim !== this.inputDim) {
      throw new RangeError(
        `features have ${dim} dims, the model expects ${this.inputDim}`,
      );
    }
    const n = Math.floor(features.length / dim);
    const d = this.pcaDim, T = this.#transform, mean = this.params.mean;
    const y = new Float64Array(n * d); // [N, d]; rows not asked for stay 0
    const self = new Float64Array(n);
    const ready = new Uint8Array(n);
    for (const i of indices) {
      if (!(Number.isInteger(i) && i >= 0 && i < n)) {
        throw new RangeError(`row ${i} is outside the ${n} feature rows`);
      }
      ready[i] = 1;
      const row = i * d;
      for (let a = 0; a < dim; a++) {
        const v = features[i * dim + a] - mean[a];
        if (v === 0) continue;
        for (let k = 0; k < d; k++) y[row + k] += v * T[a * d + k];
      }
      let s = 0;
      for (let k = 0; k < d; k++) s += this.#selfWeight[k] * y[row + k] ** 2;
      self[i] = s;
    }
    return { y, self, ready };
  }

  /**
   * Prepares fast scoring of rows of a feature matrix: each row is projected
   * once, after which a pair costs O(d).
   *
   * @param features [N, D] row-major
   * @param dim D
   * @param indices the rows that will be scored (all by default)
   * @returns score(i, j) for rows i and j
   */
  prepare(
    features: ArrayLike<number>,
    dim: number,
    indices?: Iterable<number>,
  ): (i: number, j: number) => number {
    const n = Math.floor(features.length / dim);
    const rows = indices ?? Array.from({ length: n }, (_, i) => i);
    const { y, self, ready } = this.#embed(features, dim, new Set(rows));
    const d = this.pcaDim, h = this.#crossWeight, c = this.#constant;
    return (i, j) => {
      if (ready[i] !== 1 || ready[j] !== 1) {
        throw new RangeError(`rows ${i}, ${j} were not all prepared`);
      }
      let cross = 0;
      const ri = i * d, rj = j * d;
      for (let k = 0; k < d; k++) cross += h[k] * y[ri + k] * y[rj + k];
      return self[i] + self[j] + cross + c;
    };
  }

  /**
   * The log-likelihood ratio log P(x1, x2 | same) / P(x1, x2 | different).
   *
   * @param x1 a raw feature, [D]
   * @param x2 another, [D]
   * @returns the score; higher = more likely the same person
   * @example
   * ```ts
   * const s = model.score(features.subarray(0, 160), features.subarray(160, 320));
   * ```
   */
  score(x1: ArrayLike<number>, x2: ArrayLike<number>): number {
    const both = new Float64Array(2 * this.inputDim);
    both.set(Array.from(x1));
    both.set(Array.from(x2), this.inputDim);
    return this.prepare(both, this.inputDim)(0, 1);
  }

  /**
   * Scores index pairs of a feature matrix.
   *
   * @param features [N, D] row-major
   * @param dim D
   * @param pairs rows a and b of each pair
   * @returns one log-likelihood ratio per pair
   */
  scorePairs(
    features: ArrayLike<number>,
    dim: number,
    pairs: readonly Pick<Pair, "a" | "b">[],
  ): Float64Array {
    const used = new Set<number>();
    for (const p of pairs) used.add(p.a).add(p.b);
    const f = this.prepare(features, dim, used);
    return Float64Array.from(pairs, (p) => f(p.a, p.b));
  }

  /**
   * The paper's matrices A and G in PCA space (with the ridge on S_eps).
   *
   * @returns A and G, [d, d] each
   */
  matrices(): { A: Float64Array; G: Float64Array } {
    const d = this.pcaDim;
    const { lambda, w } = diagonalise(
      this.params.sMu,
      addRidge(this.params.sEps, d, this.params.ridge),
      d,
    );
    // In the W basis A and G are diagonal: W diag(.) W^T.
    const back = (diag: Float64Array) => {
      const wd = w.slice();
      for (let a = 0; a < d; a++) {
        for (let k = 0; k < d; k++) wd[a * d + k] *= diag[k];
      }
      return matmul(wd, transpose(w, d, d), [d, d, d]);
    };
    return {
      A: back(lambda.map((l) => 1 / (l + 1) - (l + 1) / (2 * l + 1))),
      G: back(lambda.map((l) => -l / (2 * l + 1))),
    };
  }

  /** The model as plain JSON (exact: numbers round-trip). */
  toJSON(): JointBayesianJson {
    const p = this.params;
    return {
      format: "deepid2-joint-bayesian",
      version: 1,
      inputDim: this.inputDim,
      pcaDim: this.pcaDim,
      mean: Array.from(p.mean),
      pca: Array.from(p.pca),
      sMu: Array.from(p.sMu),
      sEps: Array.from(p.sEps),
      ridge: p.ridge,
      iterations: p.iterations,
      converged: p.converged,
    };
  }

  /**
   * Rebuilds a model from {@linkcode JointBayesianModel.toJSON} output.
   *
   * @param json parsed JSON
   * @returns the model
   * @example
   * ```ts
   * const again = JointBayesianModel.fromJSON(JSON.parse(JSON.stringify(model)));
   * ```
   */
  static fromJSON(json: unknown): JointBayesianModel {
    const j = json as Partial<JointBayesianJson>;
    if (j?.format !== "deepid2-joint-bayesian" || j.version !== 1) {
      throw new RangeError(
        "not a deepid2 Joint Bayesian model (format/version)",
      );
    }
    const D = j.inputDim!, d = j.pcaDim!;
    const arr = (name: keyof JointBayesianJson, len: number) => {
      const v = j[name];
      if (!Array.isArray(v) || v.length !== len || !v.every(Number.isFinite)) {
        throw new RangeError(
          `model field ${name} is not ${len} finite numbers`,
        );
      }
      return Float64Array.from(v as number[]);
    };
    return new JointBayesianModel({
      mean: arr("mean", D),
      pca: arr("pca", D * d),
      sMu: arr("sMu", d * d),
      sEps: arr("sEps", d * d),
      ridge: Number(j.ridge),
      iterations: Number(j.iterations),
      converged: Boolean(j.converged),
    });
  }
}

/**
 * Fits a Joint Bayesian model by EM (see the module header).
 *
 * @param features training features, [N, D] row-major, identities disjoint
 *   from the ConvNet's training set and from the test set
 * @param dim D
 * @param labels identity of each row, length N; at least two identities and
 *   one identity with two or more images
 * @param options PCA dimension, iterations, tolerance, ridge
 * @returns the fitted model
 * @example
 * ```ts
 * const model = fitJointBayesian(features, 160, labels, { pcaDim: 180 });
 * const s = model.score(x1, x2);
 * ```
 */
export function fitJointBayesian(
  features: ArrayLike<number>,
  dim: number,
  labels: ArrayLike<number>,
  options: JointBayesianOptions = {},
): JointBayesianModel {
  const pcaDim = options.pcaDim ?? 180;
  const maxIter = options.maxIter ?? 500;
  const tol = options.tol ?? 1e-6;
  const ridge = options.ridge ?? 1e-6;
  const n = labels.length;
  if (features.length !== n * dim) {
    throw new RangeError(
      `features of length ${features.length} are not ${n} rows of ${dim}`,
    );
  }

  // Identities and their sizes.
  const ids = [...new Set(Array.from(labels))];
  const slot = new Map(ids.map((id, k) => [id, k]));
  const K = ids.length;
  const sizes = new Int32Array(K);
  for (let i = 0; i < n; i++) sizes[slot.get(labels[i])!]++;
  const multi = sizes.filter((m) => m >= 2);
  if (K < 2 || multi.length === 0) {
    throw new RangeError(
      `Joint Bayesian needs 2+ identities and one with 2+ images (got ${K} identities, ${multi.length} with 2+ images)`,
    );
  }
  const n2 = multi.reduce((s, m) => s + m, 0); // images that inform S_eps

  // PCA on the training data, clipped to its rank.
  const total = totalScatter(features, dim); // sum (x - mean)(x - mean)^T
  const mean = total.mean;
  const cov = total.scatter.map((v) => v / n);
  const pca = pcaFromCovariance(cov, mean, { maxComponents: pcaDim });
  const d = pca.numComponents;
  if (d === 0) throw new RangeError("the training features have no variance");
  const P = pca.components; // [D, d]

  // Per-identity sums of centred features, then in PCA space: s_i [K, d].
  const rawSums = new Float64Array(K * dim);
  const singletonScatter = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    const k = slot.get(labels[i])!;
    for (let a = 0; a < dim; a++) {
      rawSums[k * dim + a] += features[i * dim + a] - mean[a];
    }
    if (sizes[k] === 1) {
      for (let a = 0; a < dim; a++) {
        const va = features[i * dim + a] - mean[a];
        for (let b = 0; b < dim; b++) {
          singletonScatter[a * dim + b] += va *
            (features[i * dim + b] - mean[b]);
        }
      }
    }
  }
  const sums = matmul(rawSums, P, [K, dim, d]); // [K, d]
  // sum of x x^T over images of identities with 2+ images, in PCA space.
  const sxxRaw = total.scatter.map((v, i) => v - singletonScatter[i]);
  const pt = transpose(P, dim, d);
  const sxx = matmul(matmul(pt, sxxRaw, [d, dim, dim]), P, [d, dim, d]);

  // Identities grouped by size; big groups keep their scatter sum s s^T.
  const groups = new Map<number, number[]>();
  for (let k = 0; k < K; k++) {
    const g = groups.get(sizes[k]) ?? [];
    g.push(k);
    groups.set(sizes[k], g);
  }
  const useScatter = (count: number) => count * 3 > 4 * d; // 1.5 d^2 each vs 2 d^3
  const groupScatter = new Map<number, Float64Array>();
  for (const [m, members] of groups) {
    if (!useScatter(members.length)) continue;
    const s2 = new Float64Array(d * d);
    for (const k of members) {
      for (let a = 0; a < d; a++) {
        const va = sums[k * d + a];
        for (let b = 0; b < d; b++) s2[a * d + b] += va * sums[k * d + b];
      }
    }
    groupScatter.set(m, s2);
  }

  // Start: between-identity scatter of the means, within-identity scatter.
  let sMu: Float64Array = new Float64Array(d * d);
  let sEps: Float64Array = sxx.slice();
  for (let k = 0; k < K; k++) {
    const m = sizes[k];
    for (let a = 0; a < d; a++) {
      const va = sums[k * d + a];
      for (let b = 0; b < d; b++) {
        const vv = va * sums[k * d + b];
        sMu[a * d + b] += vv / (m * m * K);
        if (m >= 2) sEps[a * d + b] -= vv / m;
      }
    }
  }
  sEps = sEps.map((v) => v / n2);
  let trace = 0;
  for (let a = 0; a < d; a++) trace += sEps[a * d + a];
  const rho = ridge * Math.max(trace / d, Number.MIN_VALUE);

  let iterations = 0, converged = false;
  const z = new Float64Array(d);
  while (iterations < maxIter) {
    const { lambda, w, wInvT } = diagonalise(sMu, addRidge(sEps, d, rho), d);
    const wt = transpose(w, d, d);
    const mMu = new Float64Array(d * d); // sum E[mu]E[mu]^T, W basis
    const mEps = new Float64Array(d * d); // correction to sxx, W basis
    const z2 = new Float64Array(d * d);
    const diag = new Float64Array(d);
    for (const [m, members] of groups) {
      // z2 = sum over the group of z z^T, z = W^T s.
      const s2 = groupScatter.get(m);
      if (s2) {
        z2.set(matmul(matmul(wt, s2, [d, d, d]), w, [d, d, d]));
      } else {
        z2.fill(0);
        for (const k of members) {
          z.fill(0);
          for (let a = 0; a < d; a++) {
            const sa = sums[k * d + a];
            for (let c = 0; c < d; c++) z[c] += w[a * d + c] * sa;
          }
          for (let a = 0; a < d; a++) {
            const za = z[a];
            for (let b = a; b < d; b++) z2[a * d + b] += za * z[b];
          }
        }
        for (let a = 0; a < d; a++) {
          for (let b = a + 1; b < d; b++) z2[b * d + a] = z2[a * d + b];
        }
      }
      // E[mu] = W^-T D z with D = lambda / (m lambda + 1); E[eps_j] = x_j - E[mu].
      for (let a = 0; a < d; a++) diag[a] = lambda[a] / (m * lambda[a] + 1);
      for (let a = 0; a < d; a++) {
        for (let b = 0; b < d; b++) {
          const v = z2[a * d + b], da = diag[a], db = diag[b];
          mMu[a * d + b] += da * db * v / K;
          if (m >= 2) mEps[a * d + b] += (m * da * db - da - db) * v;
        }
      }
      if (options.posteriorCovariance) {
        // Cov[mu | x] = W^-T D W^-1, once per identity (and per image for S_eps).
        for (let a = 0; a < d; a++) {
          mMu[a * d + a] += members.length * diag[a] / K;
          if (m >= 2) mEps[a * d + a] += members.length * m * diag[a];
        }
      }
    }
    const nextMu = sandwich(wInvT, mMu, d);
    const corr = sandwich(wInvT, mEps, d);
    const nextEps = sxx.map((v, i) => (v + corr[i]) / n2);
    const change = Math.max(
      relativeChange(sMu, nextMu),
      relativeChange(sEps, nextEps),
    );
    sMu = nextMu;
    sEps = nextEps;
    iterations++;
    options.onIteration?.(iterations, change);
    if (change < tol) {
      converged = true;
      break;
    }
  }
  return new JointBayesianModel({
    mean,
    pca: P,
    sMu,
    sEps,
    ridge: rho,
    iterations,
    converged,
  });
}

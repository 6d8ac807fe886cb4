/**
 * Feature-space analysis (paper Fig. 4 and Fig. 5): between- and
 * within-identity scatter matrices of a feature set and their sorted
 * eigenvalue spectra (inter- and intra-personal variance), principal
 * components, and the 2-D PCA projection of a few identities' features.
 *
 * The scatter matrices follow the usual LDA definitions, normalised by the
 * number of images N, so that between + within = total covariance:
 *   between = 1/N sum_c n_c (mu_c - mu)(mu_c - mu)^T
 *   within  = 1/N sum_c sum_{x in c} (x - mu_c)(x - mu_c)^T
 * Eigen-decompositions come from ml-matrix.
 *
 * @module
 */

import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/** Between- and within-identity scatter of a feature set. */
export interface Scatter {
  /** Mean of all features, [D]. */
  mean: Float64Array;
  /** Between-identity scatter, [D, D] row-major. */
  between: Float64Array;
  /** Within-identity scatter, [D, D] row-major. */
  within: Float64Array;
  numImages: number;
  numIdentities: number;
}

/** Principal components of a feature set. */
export interface Pca {
  /** The mean subtracted before projecting, [D]. */
  mean: Float64Array;
  /** Components as columns, [D, K] row-major, by decreasing variance. */
  components: Float64Array;
  /** Variance along each component, [K]. */
  variances: Float64Array;
  /** Input dimension D. */
  inputDim: number;
  /** Number of components K. */
  numComponents: number;
}

function checkShape(features: ArrayLike<number>, dim: number): number {
  if (!Number.isInteger(dim) || dim < 1 || features.length % dim !== 0) {
    throw new RangeError(
      `features of length ${features.length} are not rows of ${dim}`,
    );
  }
  return features.length / dim;
}

/** Adds w * v v^T to the upper triangle of `out` [D, D]. */
function addOuterUpper(
  out: Float64Array,
  v: Float64Array,
  dim: number,
  w: number,
) {
  for (let a = 0; a < dim; a++) {
    const va = w * v[a];
    if (va === 0) continue;
    const row = a * dim;
    for (let b = a; b < dim; b++) out[row + b] += va * v[b];
  }
}

/** Copies the upper triangle of `m` [D, D] into the lower one. */
function mirrorUpper(m: Float64Array, dim: number): Float64Array {
  for (let a = 0; a < dim; a++) {
    for (let b = a + 1; b < dim; b++) m[b * dim + a] = m[a * dim + b];
  }
  return m;
}

/**
 * Mean and (unnormalised) scatter sum_i (x_i - mean)(x_i - mean)^T of the
 * rows of a feature matrix.
 *
 * @param features [N, D] row-major
 * @param dim D
 * @returns the mean [D], the scatter [D, D] and N
 * @example
 * ```ts
 * totalScatter(new Float32Array([0, 0, 2, 2]), 2).scatter; // [2, 2, 2, 2]
 * ```
 */
export function totalScatter(
  features: ArrayLike<number>,
  dim: number,
): { mean: Float64Array; scatter: Float64Array; count: number } {
  const n = checkShape(features, dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) mean[a] += features[i * dim + a];
  }
  for (let a = 0; a < dim; a++) mean[a] /= Math.max(n, 1);
  const scatter = new Float64Array(dim * dim);
  const v = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) v[a] = features[i * dim + a] - mean[a];
    addOuterUpper(scatter, v, dim, 1);
  }
  return { mean, scatter: mirrorUpper(scatter, dim), count: n };
}

/**
 * Between- and within-identity scatter matrices (see the module header).
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param labels identity of each row, length N
 * @returns mean, between [D, D], within [D, D]
 * @example
 * ```ts
 * const s = scatterMatrices(new Float32Array([0, 2, 10, 12]), 1, [0, 0, 1, 1]);
 * // s.between = [25], s.within = [1]
 * ```
 */
export function scatterMatrices(
  features: ArrayLike<number>,
  dim: number,
  labels: ArrayLike<number>,
): Scatter {
  const n = checkShape(features, dim);
  if (labels.length !== n) {
    throw new RangeError(`${n} feature rows but ${labels.length} labels`);
  }
  if (n === 0) throw new RangeError("no features");
  const ids = [...new Set(Array.from(labels))];
  const slot = new Map(ids.map((id, k) => [id, k]));
  const sums = new Float64Array(ids.length * dim); // [C, D]
  const counts = new Float64Array(ids.length);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const k = slot.get(labels[i])!;
    counts[k]++;
    for (let a = 0; a < dim; a++) {
      sums[k * dim + a] += features[i * dim + a];
      mean[a] += features[i * dim + a];
    }
  }
  for (let a = 0; a < dim; a++) mean[a] /= n;
  const between = new Float64Array(dim * dim);
  const within = new Float64Array(dim * dim);
  const v = new Float64Array(dim);
  for (let k = 0; k < ids.length; k++) {
    for (let a = 0; a < dim; a++) {
      v[a] = sums[k * dim + a] / counts[k] - mean[a];
    }
    addOuterUpper(between, v, dim, counts[k] / n);
  }
  for (let i = 0; i < n; i++) {
    const k = slot.get(labels[i])!;
    for (let a = 0; a < dim; a++) {
      v[a] = features[i * dim + a] - sums[k * dim + a] / counts[k];
    }
    addOuterUpper(within, v, dim, 1 / n);
  }
  return {
    mean,
    between: mirrorUpper(between, dim),
    within: mirrorUpper(within, dim),
    numImages: n,
    numIdentities: ids.length,
  };
}

/**
 * Eigen-decomposition of a symmetric matrix (ml-matrix), eigenvalues sorted
 * from largest to smallest; each eigenvector's largest entry (in absolute
 * value) is made positive so the result does not depend on sign conventions.
 *
 * @param matrix [D, D] row-major, symmetric (symmetrised before use)
 * @param dim D
 * @returns eigenvalues [D] and eigenvectors as columns [D, D]
 * @example
 * ```ts
 * symmetricEigen(new Float64Array([2, 0, 0, 3]), 2).values; // [3, 2]
 * ```
 */
export function symmetricEigen(
  matrix: ArrayLike<number>,
  dim: number,
): { values: Float64Array; vectors: Float64Array } {
  const m = new Matrix(dim, dim);
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b < dim; b++) {
      m.set(a, b, (matrix[a * dim + b] + matrix[b * dim + a]) / 2);
    }
  }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vec = evd.eigenvectorMatrix;
  const order = raw.map((_, i) => i).sort((i, j) => raw[j] - raw[i]);
  const values = Float64Array.from(order, (i) => raw[i]);
  const vectors = new Float64Array(dim * dim);
  order.forEach((src, k) => {
    let big = 0;
    for (let a = 0; a < dim; a++) {
      if (Math.abs(vec.get(a, src)) > Math.abs(big)) big = vec.get(a, src);
    }
    const sign = big < 0 ? -1 : 1;
    for (let a = 0; a < dim; a++) vectors[a * dim + k] = sign * vec.get(a, src);
  });
  return { values, vectors };
}

/**
 * Eigenvalues of a symmetric matrix, largest first.
 *
 * @param matrix [D, D] row-major, symmetric
 * @param dim D
 * @returns [D] eigenvalues, descending
 * @example
 * ```ts
 * eigenvalues(new Float64Array([1, 0, 0, 4]), 2); // [4, 1]
 * ```
 */
export function eigenvalues(
  matrix: ArrayLike<number>,
  dim: number,
): Float64Array {
  return symmetricEigen(matrix, dim).values;
}

/**
 * Sorted eigenvalue spectra of the between- and within-identity scatter
 * (paper Fig. 4: inter- and intra-personal variance).
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param labels identity of each row
 * @returns both spectra, [D] each, descending
 * @example
 * ```ts
 * scatterSpectra(new Float32Array([0, 2, 10, 12]), 1, [0, 0, 1, 1]);
 * // { between: [25], within: [1] }
 * ```
 */
export function scatterSpectra(
  features: ArrayLike<number>,
  dim: number,
  labels: ArrayLike<number>,
): { between: Float64Array; within: Float64Array } {
  const s = scatterMatrices(features, dim, labels);
  return {
    between: eigenvalues(s.between, dim),
    within: eigenvalues(s.within, dim),
  };
}

/** Options for {@linkcode pcaFromCovariance} and {@linkcode fitPca}. */
export interface PcaOptions {
  /** Most components to keep; all by default. */
  maxComponents?: number;
  /** Components with variance below this fraction of the largest are dropped (rank clipping); 1e-10. */
  relativeTol?: number;
}

/**
 * Principal components from a covariance matrix: the leading eigenvectors,
 * clipped to the matrix's numerical rank.
 *
 * @param covariance [D, D] row-major
 * @param mean [D], stored with the result
 * @param options how many components
 * @returns the PCA
 * @example
 * ```ts
 * pcaFromCovariance(new Float64Array([4, 0, 0, 1]), new Float64Array(2), { maxComponents: 1 }).components;
 * // [1, 0]
 * ```
 */
export function pcaFromCovariance(
  covariance: ArrayLike<number>,
  mean: Float64Array,
  options: PcaOptions = {},
): Pca {
  const dim = mean.length;
  const { values, vectors } = symmetricEigen(covariance, dim);
  const tol = (options.relativeTol ?? 1e-10) * Math.max(values[0], 0);
  let k = 0;
  const limit = Math.min(options.maxComponents ?? dim, dim);
  while (k < limit && values[k] > tol) k++;
  const components = new Float64Array(dim * k);
  for (let a = 0; a < dim; a++) {
    for (let c = 0; c < k; c++) components[a * k + c] = vectors[a * dim + c];
  }
  return {
    mean,
    components,
    variances: values.slice(0, k),
    inputDim: dim,
    numComponents: k,
  };
}

/**
 * Fits a PCA to the rows of a feature matrix (covariance normalised by N).
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param options how many components
 * @returns the PCA
 * @example
 * ```ts
 * fitPca(new Float32Array([0, 0, 2, 0]), 2).variances; // [1]
 * ```
 */
export function fitPca(
  features: ArrayLike<number>,
  dim: number,
  options: PcaOptions = {},
): Pca {
  const { mean, scatter, count } = totalScatter(features, dim);
  if (count < 2) throw new RangeError("PCA needs at least 2 rows");
  for (let i = 0; i < scatter.length; i++) scatter[i] /= count;
  return pcaFromCovariance(scatter, mean, options);
}

/**
 * Projects rows onto principal components.
 *
 * @param pca a fitted PCA
 * @param features [N, D] row-major
 * @returns [N, K] row-major
 * @example
 * ```ts
 * const pca = fitPca(new Float32Array([0, 0, 2, 0]), 2);
 * projectPca(pca, new Float32Array([2, 5])); // [1]
 * ```
 */
export function projectPca(
  pca: Pca,
  features: ArrayLike<number>,
): Float64Array {
  const d = pca.inputDim, k = pca.numComponents;
  const n = checkShape(features, d);
  const out = new Float64Array(n * k);
  const v = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) v[a] = features[i * d + a] - pca.mean[a];
    for (let a = 0; a < d; a++) {
      const va = v[a];
      const row = a * k;
      for (let c = 0; c < k; c++) {
        out[i * k + c] += va * pca.components[row + c];
      }
    }
  }
  return out;
}

/** One point of a 2-D PCA scatter plot. */
export interface ProjectedPoint {
  /** Row of the feature matrix. */
  index: number;
  /** Identity label. */
  label: number;
  /** First principal coordinate. */
  pc1: number;
  /** Second principal coordinate. */
  pc2: number;
}

/** Options for {@linkcode pcaProjection2d}. */
export interface Projection2dOptions {
  /** Identity of each row, length N. */
  labels: ArrayLike<number>;
  /** The identities to show (paper Fig. 5: six). */
  identities: readonly number[];
}

/**
 * The first two principal coordinates of the chosen identities' features,
 * with the PCA fitted on those features only (paper Fig. 5).
 *
 * @param features [N, D] row-major
 * @param dim D
 * @param options labels and the identities to show
 * @returns one point per row of a chosen identity, in row order
 * @example
 * ```ts
 * pcaProjection2d(new Float32Array([0, 0, 1, 0, 0, 3]), 2, { labels: [0, 1, 2], identities: [0, 2] });
 * // two points, rows 0 and 2
 * ```
 */
export function pcaProjection2d(
  features: ArrayLike<number>,
  dim: number,
  options: Projection2dOptions,
): ProjectedPoint[] {
  const n = checkShape(features, dim);
  const chosen = new Set(options.identities);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (chosen.has(options.labels[i])) rows.push(i);
  const sub = new Float64Array(rows.length * dim); // [M, D]
  rows.forEach((r, k) => {
    for (let a = 0; a < dim; a++) sub[k * dim + a] = features[r * dim + a];
  });
  const pca = fitPca(sub, dim, { maxComponents: 2, relativeTol: 0 });
  const y = projectPca(pca, sub); // [M, K <= 2]
  const k = pca.numComponents;
  return rows.map((r, m) => ({
    index: r,
    label: options.labels[r],
    pc1: k > 0 ? y[m * k] : 0,
    pc2: k > 1 ? y[m * k + 1] : 0,
  }));
}

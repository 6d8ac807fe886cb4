/*
 * The products of DeepID2's locally shared, locally connected and fully
 * connected layers as TensorFlow CPU kernels of our own (registered by
 * deepid2_kernels.c):
 *
 * DeepID2LocallyShared(x, w, b; kh, kw, rh, rw, relu) -> y
 *   x: float [B, H, W, C], w: float [R, K, O], b: float [R, O], with
 *   K = kh * kw * C, output positions (oh, ow) = (H - kh + 1, W - kw + 1)
 *   cut into R = (oh / rh) * (ow / rw) regions of rh x rw positions, region
 *   r = gi * (ow / rw) + gj using bank w[r] (rows ordered (ky, kx, c), as a
 *   conv2d filter) and bias b[r]: y [B, oh, ow, O] with
 *   y = sum_k patch(x)[k] * w[r][k] + b[r], then max(0, .) if relu.
 *   A fully connected layer is the same op on x [B, K], w [K, O], b [O]
 *   (a 1 x 1 map of K channels, one region): y [B, O].
 *
 * DeepID2LocallySharedGrad(x, w, y, dy; same attrs, input_grad) ->
 *   dx (x's shape; [0] without input_grad), dw (w's), db (b's):
 *   dz = dy * (y > 0 ? 1 : 0) with relu (TensorFlow's ReluGrad), else dy;
 *   db = the sum of dz over a region's rows; dw = patches^T dz;
 *   dx = the patch gradients dz w^T summed back onto the pixels (col2im).
 *
 * In TensorFlow's own ops that is, per layer and step, a GatherNd of the
 * patches, a BatchMatMul, a bias Add, reshapes and a rank-6 transpose
 * forward, and their gradients backward (two BatchMatMuls, a Sum, a
 * ScatterNd, a transpose, reshapes): about twenty eager dispatches, and
 * oneDNN's BatchMatMul costs 0.1-0.3 ms a call on the small matrices of a
 * small batch. Here it is one call each way.
 *
 * Arithmetic: every product element is one chain of fused multiply-adds
 * over the reduction index in increasing order, from +0; then + bias, then
 * the ReLU (v > 0 ? v : +0). The AVX-512, AVX2 and scalar paths (picked at
 * load time from the CPU) vectorise over output columns only, so they give
 * the same bits, and so does any number of threads: each output element is
 * computed whole by one thread. Sums over rows (db, and dx's col2im) run in
 * a fixed order too. The numbers are therefore the same on every x86-64 host
 * with FMA, which oneDNN's blocked products do not promise.
 *
 * The GEMM core takes A and B through offset tables, C(i, j) =
 * sum_p A(i, p) B(p, j) with A(i, p) = a[i][ao[p]] and B(p, j) =
 * b[bo[p] + j], so that patches, transposed operands and scattered output
 * rows are read in place: no im2col copy, no packing. Register blocks of
 * 6 x 64 (AVX-512: 24 accumulators) or 4 x 80, and 6 x 16 (AVX2).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepid2_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------ */
/* The GEMM core.                                                      */

#define MR 6 /* rows per block */

/* One block of mr <= MR rows, columns [0, n):
 *   C(i, j) = sum_{p < np} a[i][ao[p]] * b[bo[p] + j]   (FMA chain from +0)
 *   (+ bias[j]) (ReLU), stored to c[i][j]. */
typedef void (*block_fn)(int mr, const float *const *a, const int64_t *ao,
                         int64_t np, const float *b, const int64_t *bo,
                         int64_t n, float *const *c, const float *bias,
                         int relu);

static void block_scalar(int mr, const float *const *a, const int64_t *ao,
                         int64_t np, const float *b, const int64_t *bo,
                         int64_t n, float *const *c, const float *bias,
                         int relu) {
  for (int i = 0; i < mr; i++) {
    for (int64_t j = 0; j < n; j++) {
      float s = 0.0f;
      for (int64_t p = 0; p < np; p++) s = fmaf(a[i][ao[p]], b[bo[p] + j], s);
      if (bias) s = s + bias[j];
      if (relu) s = s > 0 ? s : 0.0f;
      c[i][j] = s;
    }
  }
}

#if defined(__x86_64__)

#define UNROLL _Pragma("GCC unroll 8")
#define AVX512 __attribute__((always_inline, target("avx512f,fma"))) static inline

/* MR_ x NV vectors of 16 columns, the last NV-th masked by `last`. */
AVX512 void kern512(const int MR_, const int NV, const float *const *a,
                    const int64_t *ao, int64_t np, const float *b,
                    const int64_t *bo, float *const *c, int64_t j0,
                    const float *bias, int relu, __mmask16 last) {
  __m512 acc[MR][5];
  UNROLL for (int i = 0; i < MR_; i++) {
    UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  }
  const float *ar[MR];
  UNROLL for (int i = 0; i < MR_; i++) ar[i] = a[i];
  const float *bj = b + j0;
  for (int64_t p = 0; p < np; p++) {
    const float *bp = bj + bo[p];
    __m512 bv[5];
    UNROLL for (int v = 0; v < NV; v++) {
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * v)
                          : _mm512_loadu_ps(bp + 16 * v);
    }
    const int64_t o = ao[p];
    UNROLL for (int i = 0; i < MR_; i++) {
      const __m512 av = _mm512_set1_ps(ar[i][o]);
      UNROLL for (int v = 0; v < NV; v++) {
        acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  UNROLL for (int v = 0; v < NV; v++) {
    const __mmask16 k = v == NV - 1 ? last : (__mmask16)0xffff;
    const __m512 bb = bias ? _mm512_maskz_loadu_ps(k, bias + j0 + 16 * v) : zero;
    UNROLL for (int i = 0; i < MR_; i++) {
      __m512 s = acc[i][v];
      if (bias) s = _mm512_add_ps(s, bb);
      if (relu) s = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(s, zero, _CMP_GT_OQ), s);
      _mm512_mask_storeu_ps(c[i] + j0 + 16 * v, k, s);
    }
  }
}

__attribute__((target("avx512f,fma"))) static void block_avx512(
    int mr, const float *const *a, const int64_t *ao, int64_t np,
    const float *b, const int64_t *bo, int64_t n, float *const *c,
    const float *bias, int relu) {
  const int64_t vectors = (n + 15) / 16;
  /* Strips of 5 vectors (4 rows at a time) where they tile the columns and
   * 4 would not (80, 160, 240 ...), else of 4 vectors (6 rows). */
  const int five = vectors % 5 == 0 && vectors % 4 != 0;
  for (int64_t v0 = 0; v0 < vectors;) {
    int nv = five ? 5 : (int)(vectors - v0 < 4 ? vectors - v0 : 4);
    const int64_t j0 = v0 * 16;
    const int64_t cols = n - j0 < nv * 16 ? n - j0 : nv * 16;
    const int tail = (int)(cols - (nv - 1) * 16);
    const __mmask16 last = (__mmask16)((1u << tail) - 1);
    const int rows = nv == 5 ? 4 : MR;
    for (int i0 = 0; i0 < mr; i0 += rows) {
      const int m = mr - i0 < rows ? mr - i0 : rows;
#define K512(M, V)                                                        \
  case M * 8 + V:                                                        \
    kern512(M, V, a + i0, ao, np, b, bo, c + i0, j0, bias, relu, last); \
    break;
      switch (m * 8 + nv) {
        K512(1, 1) K512(1, 2) K512(1, 3) K512(1, 4) K512(1, 5)
        K512(2, 1) K512(2, 2) K512(2, 3) K512(2, 4) K512(2, 5)
        K512(3, 1) K512(3, 2) K512(3, 3) K512(3, 4) K512(3, 5)
        K512(4, 1) K512(4, 2) K512(4, 3) K512(4, 4) K512(4, 5)
        K512(5, 1) K512(5, 2) K512(5, 3) K512(5, 4)
        K512(6, 1) K512(6, 2) K512(6, 3) K512(6, 4)
      }
#undef K512
    }
    v0 += nv;
  }
}

#define AVX2 __attribute__((always_inline, target("avx2,fma"))) static inline

/* MR_ x NV vectors of 8 columns, the last masked by `last` (lanes < tail). */
AVX2 void kern256(const int MR_, const int NV, const float *const *a,
                  const int64_t *ao, int64_t np, const float *b,
                  const int64_t *bo, float *const *c, int64_t j0,
                  const float *bias, int relu, __m256i last) {
  __m256 acc[MR][2];
  UNROLL for (int i = 0; i < MR_; i++) {
    UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
  }
  const float *ar[MR];
  UNROLL for (int i = 0; i < MR_; i++) ar[i] = a[i];
  const float *bj = b + j0;
  for (int64_t p = 0; p < np; p++) {
    const float *bp = bj + bo[p];
    __m256 bv[2];
    UNROLL for (int v = 0; v < NV; v++) {
      bv[v] = v == NV - 1 ? _mm256_maskload_ps(bp + 8 * v, last)
                          : _mm256_loadu_ps(bp + 8 * v);
    }
    const int64_t o = ao[p];
    UNROLL for (int i = 0; i < MR_; i++) {
      const __m256 av = _mm256_broadcast_ss(ar[i] + o);
      UNROLL for (int v = 0; v < NV; v++) {
        acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
      }
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  const __m256i all = _mm256_set1_epi32(-1);
  UNROLL for (int v = 0; v < NV; v++) {
    const __m256i k = v == NV - 1 ? last : all;
    const __m256 bb = bias ? _mm256_maskload_ps(bias + j0 + 8 * v, k) : zero;
    UNROLL for (int i = 0; i < MR_; i++) {
      __m256 s = acc[i][v];
      if (bias) s = _mm256_add_ps(s, bb);
      if (relu) s = _mm256_and_ps(s, _mm256_cmp_ps(s, zero, _CMP_GT_OQ));
      _mm256_maskstore_ps(c[i] + j0 + 8 * v, k, s);
    }
  }
}

__attribute__((target("avx2,fma"))) static void block_avx2(
    int mr, const float *const *a, const int64_t *ao, int64_t np,
    const float *b, const int64_t *bo, int64_t n, float *const *c,
    const float *bias, int relu) {
  const int64_t vectors = (n + 7) / 8;
  for (int64_t v0 = 0; v0 < vectors;) {
    const int nv = (int)(vectors - v0 < 2 ? vectors - v0 : 2);
    const int64_t j0 = v0 * 8;
    const int64_t cols = n - j0 < nv * 8 ? n - j0 : nv * 8;
    const int tail = (int)(cols - (nv - 1) * 8);
    const __m256i last = _mm256_cmpgt_epi32(
        _mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#define K256(M, V)                                                     \
  case M * 8 + V:                                                     \
    kern256(M, V, a, ao, np, b, bo, c, j0, bias, relu, last);         \
    break;
    switch (mr * 8 + nv) {
      K256(1, 1) K256(1, 2) K256(2, 1) K256(2, 2) K256(3, 1) K256(3, 2)
      K256(4, 1) K256(4, 2) K256(5, 1) K256(5, 2) K256(6, 1) K256(6, 2)
    }
#undef K256
    v0 += nv;
  }
}

#endif /* __x86_64__ */

static block_fn block = block_scalar;
static const char *block_isa = "scalar";

/* The vector paths by deepid2_isa_level: 0 scalar, 1 AVX2, 2 AVX-512. */
static const struct {
  const char *name;
  block_fn fn;
} paths[] = {
    {"scalar", block_scalar},
#if defined(__x86_64__)
    {"avx2", block_avx2},
    {"avx512", block_avx512},
#endif
};

/* Picks the widest path allowed (all give the same bits). */
static void products_init(void) {
  const int level = deepid2_isa_level();
  block = paths[level].fn;
  block_isa = paths[level].name;
}

/* For the tests: forces a path ("avx512", "avx2", "scalar"); 1 if it runs
 * on this CPU. */
__attribute__((visibility("default"))) int32_t deepid2_products_force(
    const char *isa) {
  const int cpu = deepid2_cpu_level();
  for (int level = 0; level <= cpu; level++) {
    if (strcmp(isa, paths[level].name) == 0) {
      block = paths[level].fn;
      block_isa = paths[level].name;
      return 1;
    }
  }
  return 0;
}

const char *deepid2_products_isa(void) { return block_isa; }

/* ------------------------------------------------------------------ */
/* The layer's geometry.                                               */

struct geometry {
  int64_t batch, h, w, c;     /* x [B, H, W, C] */
  int64_t kh, kw, rh, rw;     /* filter, sharing region */
  int64_t oh, ow, gw, regions; /* output map, regions across, regions */
  int64_t k, o;               /* patch length, output channels */
  int64_t rows;               /* rows per region: B * rh * rw */
};

/* Region r's row m (m = (b * rh + dy) * rw + dx): its output position. */
static inline void row_position(const struct geometry *g, int64_t r, int64_t m,
                                int64_t *b, int64_t *oy, int64_t *ox) {
  *b = m / (g->rh * g->rw);
  *oy = (r / g->gw) * g->rh + (m / g->rw) % g->rh;
  *ox = (r % g->gw) * g->rw + m % g->rw;
}

/* Offset of row m's patch origin in x, and of its output row in y. */
static inline int64_t row_pixel(const struct geometry *g, int64_t r, int64_t m) {
  int64_t b, oy, ox;
  row_position(g, r, m, &b, &oy, &ox);
  return ((b * g->h + oy) * g->w + ox) * g->c;
}

static inline int64_t row_output(const struct geometry *g, int64_t r, int64_t m) {
  int64_t b, oy, ox;
  row_position(g, r, m, &b, &oy, &ox);
  return ((b * g->oh + oy) * g->ow + ox) * g->o;
}

/* Offset of patch element k = (ky * kw + kx) * C + c from the patch origin. */
static inline int64_t patch_offset(const struct geometry *g, int64_t k) {
  const int64_t tap = k / g->c, ky = tap / g->kw, kx = tap % g->kw;
  return (ky * g->w + kx) * g->c + k % g->c;
}

/* Column chunks of a product's output: units split columns this wide. */
#define CHUNK 320

/* The calling thread's scratch memory, kept from call to call and only ever
 * grown: the temporaries (offset tables, transposed banks, patch
 * gradients) cost no allocation, and no page faults, after the first step. */
static _Thread_local struct {
  char *base;
  size_t size;
} scratch;

/* At least `bytes` of the calling thread's scratch (64-byte aligned), or
 * NULL; what an earlier call held is gone. */
static char *scratch_need(size_t bytes) {
  if (bytes > scratch.size) {
    free(scratch.base);
    const size_t size = (bytes + 4095) & ~(size_t)4095;
    scratch.base = aligned_alloc(64, size);
    scratch.size = scratch.base ? size : 0;
  }
  return scratch.base;
}

/* Carves n elements of `size` bytes from *at (kept 64-byte aligned). */
static void *carve(char **at, int64_t n, size_t size) {
  void *p = *at;
  *at += ((size_t)(n > 0 ? n : 1) * size + 63) & ~(size_t)63;
  return p;
}

/* What carve takes for n elements of `size` bytes. */
static size_t carved(int64_t n, size_t size) {
  return ((size_t)(n > 0 ? n : 1) * size + 63) & ~(size_t)63;
}

/* ------------------------------------------------------------------ */
/* Forward.                                                            */

struct forward {
  const struct geometry *g;
  const float *x, *w, *bias;
  float *y;
  const int64_t *patch; /* [K] patch_offset */
  const int64_t *wrow;  /* [K] k * O */
  int64_t blocks, chunks;
  int relu;
};

/* Unit: (region, row block, column chunk). */
static void forward_unit(void *arg, int64_t u) {
  const struct forward *f = arg;
  const struct geometry *g = f->g;
  const int64_t chunk = u % f->chunks, blk = (u / f->chunks) % f->blocks;
  const int64_t r = u / (f->chunks * f->blocks);
  const int64_t m0 = blk * MR;
  const int mr = (int)(g->rows - m0 < MR ? g->rows - m0 : MR);
  const int64_t j0 = chunk * CHUNK;
  const int64_t n = g->o - j0 < CHUNK ? g->o - j0 : CHUNK;
  const float *a[MR];
  float *c[MR];
  for (int i = 0; i < mr; i++) {
    a[i] = f->x + row_pixel(g, r, m0 + i);
    c[i] = f->y + row_output(g, r, m0 + i) + j0;
  }
  block(mr, a, f->patch, g->k, f->w + r * g->k * g->o + j0, f->wrow, n, c,
        f->bias + r * g->o + j0, f->relu);
}

/* ------------------------------------------------------------------ */
/* Gradient.                                                           */

/*
 * The patch gradients dP = dz w^T need one operand transposed, as the GEMM
 * core reads B's rows contiguously: either each bank (wt: dP[m][k], rows m
 * of dz times w[r]^T) or each region's rows of dz (zt: dP^T[k][m] = w[r]
 * times dz^T, read back transposed by col2im). Both compute every element
 * as the same fused multiply-add chain over o (a b = b a exactly), so they
 * give the same bits; the one that moves fewer floats runs: wt for large
 * batches, zt for small ones and for fully connected layers.
 */
struct backward {
  const struct geometry *g;
  const float *x, *w, *y, *dy;
  const float *dz;      /* dy, or dy * (y > 0) */
  float *dzbuf;         /* where that is written */
  float *dx, *dw, *db;
  float *t;             /* wt: [R, O, K] banks transposed; zt: [R, O, rows] */
  float *dp;            /* wt: [R, rows, K]; zt: [R, K, rows] */
  const int64_t *pixel; /* [R, rows]: row_pixel */
  const int64_t *out;   /* [R, rows]: row_output */
  const int64_t *patch; /* [K] */
  const int64_t *seq;   /* [max(K, O)]: 0, 1, 2 ... */
  const int64_t *krow;  /* wt: [O] o * K; zt: [O] o * rows */
  int64_t kblocks, kchunks, blocks, chunks;
  int zt;     /* which operand is transposed */
  int direct; /* wt with kh = kw = 1: dP's rows are dx's rows themselves */
};

/* dz = dy * (y > 0 ? 1 : 0), a slice of [0, size). */
static void relu_grad_unit(void *arg, int64_t u) {
  const struct backward *bw = arg;
  const int64_t size = bw->g->batch * bw->g->oh * bw->g->ow * bw->g->o;
  const int64_t per = (size + 63) / 64, i0 = u * per;
  const int64_t i1 = i0 + per < size ? i0 + per : size;
  for (int64_t i = i0; i < i1; i++) {
    bw->dzbuf[i] = bw->dy[i] * (bw->y[i] > 0 ? 1.0f : 0.0f);
  }
}

#define TILE 16

/* Units [0, R * kchunks) (wt, with dx): bank r's rows k0 .. k0 + 64
 * transposed, t[r][o][k] = w[r][k][o]; or [0, R) (zt, with dx): region r's
 * rows of dz transposed, t[r][o][m] = dz[out(m) + o]; then R units: db[r],
 * the column sums of region r's rows of dz, first row to last. */
#define KCHUNK 64
static void prep_unit(void *arg, int64_t u) {
  const struct backward *bw = arg;
  const struct geometry *g = bw->g;
  const int64_t k = g->k, o = g->o, rows = g->rows;
  const int64_t transposes =
      !bw->t ? 0 : bw->zt ? g->regions : g->regions * bw->kchunks;
  if (u < transposes && bw->zt) {
    float *dst = bw->t + u * o * rows;
    const int64_t *out = bw->out + u * rows;
    for (int64_t m = 0; m < rows; m++) {
      const float *row = bw->dz + out[m];
      for (int64_t j = 0; j < o; j++) dst[j * rows + m] = row[j];
    }
    return;
  }
  if (u < transposes) {
    const int64_t r = u / bw->kchunks, k0 = (u % bw->kchunks) * KCHUNK;
    const int64_t k1 = k0 + KCHUNK < k ? k0 + KCHUNK : k;
    /* Rows k0 .. k1 of w[r] into columns k0 .. k1 of t[r]. */
    const float *src = bw->w + (r * k + k0) * o;
    float *dst = bw->t + r * o * k + k0;
    for (int64_t j0 = 0; j0 < o; j0 += TILE) {
      const int64_t j1 = j0 + TILE < o ? j0 + TILE : o;
      for (int64_t j = j0; j < j1; j++) {
        for (int64_t i = 0; i < k1 - k0; i++) dst[j * k + i] = src[i * o + j];
      }
    }
    return;
  }
  const int64_t r = u - transposes;
  float *db = bw->db + r * o;
  for (int64_t j = 0; j < o; j++) db[j] = 0.0f;
  const int64_t *out = bw->out + r * rows;
  for (int64_t m = 0; m < rows; m++) {
    const float *row = bw->dz + out[m];
    for (int64_t j = 0; j < o; j++) db[j] = db[j] + row[j];
  }
}

/* dw[r] rows k0..: dw[r][k][j] = sum over region r's rows m of
 * x[pixel(m) + patch(k)] * dz[out(m) + j]. Unit: (region, k block). */
static void dw_unit(void *arg, int64_t u) {
  const struct backward *bw = arg;
  const struct geometry *g = bw->g;
  const int64_t r = u / bw->kblocks, k0 = (u % bw->kblocks) * MR;
  const int mr = (int)(g->k - k0 < MR ? g->k - k0 : MR);
  const float *a[MR];
  float *c[MR];
  for (int i = 0; i < mr; i++) {
    a[i] = bw->x + bw->patch[k0 + i];
    c[i] = bw->dw + (r * g->k + k0 + i) * g->o;
  }
  block(mr, a, bw->pixel + r * g->rows, g->rows, bw->dz,
        bw->out + r * g->rows, g->o, c, NULL, 0);
}

/* wt: patch gradients of region r's rows, dP[m][k] = sum_o dz[out(m) + o]
 * t[r][o][k], to dp (or, direct, to dx's rows). Unit: (region, row block,
 * column chunk). */
static void dp_unit(void *arg, int64_t u) {
  const struct backward *bw = arg;
  const struct geometry *g = bw->g;
  const int64_t chunk = u % bw->chunks, blk = (u / bw->chunks) % bw->blocks;
  const int64_t r = u / (bw->chunks * bw->blocks);
  const int64_t m0 = blk * MR;
  const int mr = (int)(g->rows - m0 < MR ? g->rows - m0 : MR);
  const int64_t j0 = chunk * CHUNK;
  const int64_t n = g->k - j0 < CHUNK ? g->k - j0 : CHUNK;
  const float *a[MR];
  float *c[MR];
  for (int i = 0; i < mr; i++) {
    const int64_t m = m0 + i;
    a[i] = bw->dz + bw->out[r * g->rows + m];
    c[i] = (bw->direct ? bw->dx + bw->pixel[r * g->rows + m]
                       : bw->dp + (r * g->rows + m) * g->k) + j0;
  }
  block(mr, a, bw->seq, g->o, bw->t + r * g->o * g->k + j0, bw->krow, n, c,
        NULL, 0);
}

/* zt: dP^T[k][m] = sum_o w[r][k][o] t[r][o][m], rows k0 .. of region r.
 * Unit: (region, k block). */
static void dpt_unit(void *arg, int64_t u) {
  const struct backward *bw = arg;
  const struct geometry *g = bw->g;
  const int64_t r = u / bw->kblocks, k0 = (u % bw->kblocks) * MR;
  const int mr = (int)(g->k - k0 < MR ? g->k - k0 : MR);
  const float *a[MR];
  float *c[MR];
  for (int i = 0; i < mr; i++) {
    a[i] = bw->w + (r * g->k + k0 + i) * g->o;
    c[i] = bw->dp + (r * g->k + k0 + i) * g->rows;
  }
  block(mr, a, bw->seq, g->o, bw->t + r * g->o * g->rows, bw->krow, g->rows,
        c, NULL, 0);
}

/* dx of image b: zero, then each output position's patch gradient added
 * onto its pixels, positions in raster order, taps (ky, kx) in order; dP's
 * element (r, m, k) read from dp (wt) or its transpose (zt). */
static void col2im_unit(void *arg, int64_t b) {
  const struct backward *bw = arg;
  const struct geometry *g = bw->g;
  const int64_t c = g->c, row = g->w * c, run = g->kw * c;
  const int64_t sm = bw->zt ? 1 : g->k, sk = bw->zt ? g->rows : 1;
  float *dxb = bw->dx + b * g->h * row;
  memset(dxb, 0, (size_t)(g->h * row) * sizeof(float));
  for (int64_t oy = 0; oy < g->oh; oy++) {
    for (int64_t ox = 0; ox < g->ow; ox++) {
      const int64_t r = (oy / g->rh) * g->gw + ox / g->rw;
      const int64_t m = (b * g->rh + oy % g->rh) * g->rw + ox % g->rw;
      const float *src = bw->dp + r * g->rows * g->k + m * sm;
      for (int64_t ky = 0; ky < g->kh; ky++) {
        float *dst = dxb + (oy + ky) * row + ox * c;
        const float *s = src + ky * run * sk;
        if (sk == 1) {
          for (int64_t i = 0; i < run; i++) dst[i] += s[i];
        } else {
          for (int64_t i = 0; i < run; i++) dst[i] += s[i * sk];
        }
      }
    }
  }
}

/* ------------------------------------------------------------------ */
/* The ops.                                                            */

struct attrs {
  int64_t kh, kw, rh, rw;
  int relu, input_grad;
};

static void *create_attrs(TF_OpKernelConstruction *ctx) {
  struct attrs *a = calloc(1, sizeof *a);
  TF_Status *status = TF_NewStatus();
  int32_t v;
  TF_Bool flag;
  const char *names[4] = {"kh", "kw", "rh", "rw"};
  int64_t *dst[4] = {&a->kh, &a->kw, &a->rh, &a->rw};
  for (int i = 0; i < 4 && TF_GetCode(status) == TF_OK; i++) {
    TF_OpKernelConstruction_GetAttrInt32(ctx, names[i], &v, status);
    *dst[i] = v;
  }
  if (TF_GetCode(status) == TF_OK) {
    TF_OpKernelConstruction_GetAttrBool(ctx, "relu", &flag, status);
    a->relu = flag;
  }
  a->input_grad = 1;
  if (TF_GetCode(status) == TF_OK) {
    /* Only the gradient op has it. */
    TF_Status *s2 = TF_NewStatus();
    TF_OpKernelConstruction_GetAttrBool(ctx, "input_grad", &flag, s2);
    if (TF_GetCode(s2) == TF_OK) a->input_grad = flag;
    TF_DeleteStatus(s2);
  }
  if (TF_GetCode(status) == TF_OK &&
      (a->kh < 1 || a->kw < 1 || a->rh < 1 || a->rw < 1)) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2LocallyShared: kh, kw, rh, rw must be >= 1");
  }
  if (TF_GetCode(status) != TF_OK) {
    TF_OpKernelConstruction_Failure(ctx, status);
  }
  TF_DeleteStatus(status);
  return a;
}

static void delete_attrs(void *a) { free(a); }

/* Checks x, w, b (or dy for the gradient) against the attrs and fills g;
 * 0 with status set on a mismatch. */
static int geometry_of(const struct attrs *at, const TF_Tensor *x,
                       const TF_Tensor *w, const char *op,
                       struct geometry *g, TF_Status *status) {
  char msg[256];
  const int xr = TF_NumDims(x), wr = TF_NumDims(w);
  if (xr == 4) {
    g->batch = TF_Dim(x, 0);
    g->h = TF_Dim(x, 1);
    g->w = TF_Dim(x, 2);
    g->c = TF_Dim(x, 3);
  } else if (xr == 2 && at->kh == 1 && at->kw == 1 && at->rh == 1 &&
             at->rw == 1) {
    g->batch = TF_Dim(x, 0);
    g->h = g->w = 1;
    g->c = TF_Dim(x, 1);
  } else {
    snprintf(msg, sizeof msg,
             "%s: x must be [B, H, W, C] (or [B, K] with kh = kw = rh = rw = 1)",
             op);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
    return 0;
  }
  g->kh = at->kh;
  g->kw = at->kw;
  g->rh = at->rh;
  g->rw = at->rw;
  g->oh = g->h - g->kh + 1;
  g->ow = g->w - g->kw + 1;
  if (g->oh < 1 || g->ow < 1 || g->oh % g->rh || g->ow % g->rw) {
    snprintf(msg, sizeof msg,
             "%s: a %ldx%ld filter on a %ldx%ld map must leave an output "
             "divisible by the %ldx%ld region",
             op, (long)g->kh, (long)g->kw, (long)g->h, (long)g->w, (long)g->rh,
             (long)g->rw);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
    return 0;
  }
  g->gw = g->ow / g->rw;
  g->regions = (g->oh / g->rh) * g->gw;
  g->k = g->kh * g->kw * g->c;
  g->rows = g->batch * g->rh * g->rw;
  const int64_t wr0 = wr == 3 ? TF_Dim(w, 0) : 1;
  if (!((wr == 3 || (wr == 2 && g->regions == 1)) && wr0 == g->regions &&
        TF_Dim(w, wr - 2) == g->k)) {
    snprintf(msg, sizeof msg,
             "%s: w must be [%ld, %ld, O] (regions, kh * kw * C, outputs)", op,
             (long)g->regions, (long)g->k);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
    return 0;
  }
  g->o = TF_Dim(w, wr - 1);
  return 1;
}

/* 1 if t holds exactly `size` elements laid out as `want` says; else sets
 * status to "<op>: <name> must be <want>". */
static int sized(const TF_Tensor *t, int64_t size, const char *op,
                 const char *name, const char *want, TF_Status *status) {
  if (TF_TensorElementCount(t) == size) return 1;
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s must be %s", op, name, want);
  TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
  return 0;
}

/* t[i] = i * step for i < n. */
static int64_t *fill_offsets(int64_t *t, int64_t n, int64_t step) {
  for (int64_t i = 0; i < n; i++) t[i] = i * step;
  return t;
}

static void ls_forward_compute(void *kernel, TF_OpKernelContext *ctx) {
  const struct attrs *at = kernel;
  const char *op = "DeepID2LocallyShared";
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[3] = {NULL, NULL, NULL}, *y = NULL;
  struct geometry g;
  for (int i = 0; i < 3 && TF_GetCode(status) == TF_OK; i++) {
    TF_GetInput(ctx, i, &in[i], status);
  }
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!geometry_of(at, in[0], in[1], op, &g, status) ||
      !sized(in[2], g.regions * g.o, op, "b", "[regions, O] (or [O])", status)) {
    goto done;
  }
  const int64_t dims4[4] = {g.batch, g.oh, g.ow, g.o};
  const int64_t dims2[2] = {g.batch, g.o};
  const int rank = TF_NumDims(in[0]);
  const int64_t size = g.batch * g.oh * g.ow * g.o;
  y = TF_AllocateOutput(ctx, 0, TF_FLOAT, rank == 4 ? dims4 : dims2, rank,
                        (size_t)size * sizeof(float), status);
  if (TF_GetCode(status) != TF_OK || size == 0) goto done;
  char *at_ = scratch_need(2 * carved(g.k, sizeof(int64_t)));
  if (!at_) {
    TF_SetStatus(status, TF_RESOURCE_EXHAUSTED, "DeepID2LocallyShared: out of memory");
    goto done;
  }
  int64_t *patch = carve(&at_, g.k, sizeof *patch);
  for (int64_t k = 0; k < g.k; k++) patch[k] = patch_offset(&g, k);
  struct forward f = {
      .g = &g,
      .x = TF_TensorData(in[0]),
      .w = TF_TensorData(in[1]),
      .bias = TF_TensorData(in[2]),
      .y = TF_TensorData(y),
      .patch = patch,
      .wrow = fill_offsets(carve(&at_, g.k, sizeof(int64_t)), g.k, g.o),
      .blocks = (g.rows + MR - 1) / MR,
      .chunks = (g.o + CHUNK - 1) / CHUNK,
      .relu = at->relu,
  };
  deepid2_parallel_for(g.regions * f.blocks * f.chunks, forward_unit, &f,
               2.0 * size * g.k);

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < 3; i++) TF_DeleteTensor(in[i]);
  TF_DeleteTensor(y);
  TF_DeleteStatus(status);
}

static void ls_grad_compute(void *kernel, TF_OpKernelContext *ctx) {
  const struct attrs *at = kernel;
  const char *op = "DeepID2LocallySharedGrad";
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[4] = {NULL, NULL, NULL, NULL};
  TF_Tensor *dx = NULL, *dw = NULL, *db = NULL;
  struct geometry g;
  for (int i = 0; i < 4 && TF_GetCode(status) == TF_OK; i++) {
    TF_GetInput(ctx, i, &in[i], status);
  }
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!geometry_of(at, in[0], in[1], op, &g, status)) goto done;
  const int64_t size = g.batch * g.oh * g.ow * g.o;
  if (!sized(in[2], size, op, "y", "the forward op's output", status) ||
      !sized(in[3], size, op, "dy", "the forward op's output shape", status)) {
    goto done;
  }
  /* Outputs: dx as x (or [0]), dw as w, db [regions, O] or [O] as w. */
  int64_t dims[4];
  const int xr = TF_NumDims(in[0]), wr = TF_NumDims(in[1]);
  for (int i = 0; i < xr; i++) dims[i] = TF_Dim(in[0], i);
  const int64_t xsize = g.batch * g.h * g.w * g.c;
  const int64_t none[1] = {0};
  dx = at->input_grad
           ? TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, xr,
                               (size_t)xsize * sizeof(float), status)
           : TF_AllocateOutput(ctx, 0, TF_FLOAT, none, 1, 0, status);
  for (int i = 0; i < wr; i++) dims[i] = TF_Dim(in[1], i);
  if (TF_GetCode(status) == TF_OK) {
    dw = TF_AllocateOutput(ctx, 1, TF_FLOAT, dims, wr,
                           (size_t)(g.regions * g.k * g.o) * sizeof(float),
                           status);
  }
  const int64_t bdims[2] = {g.regions, g.o};
  if (TF_GetCode(status) == TF_OK) {
    db = wr == 3 ? TF_AllocateOutput(ctx, 2, TF_FLOAT, bdims, 2,
                                     (size_t)(g.regions * g.o) * sizeof(float),
                                     status)
                 : TF_AllocateOutput(ctx, 2, TF_FLOAT, bdims + 1, 1,
                                     (size_t)g.o * sizeof(float), status);
  }
  if (TF_GetCode(status) != TF_OK) goto done;
  float *dxp = at->input_grad ? TF_TensorData(dx) : NULL;
  float *dwp = TF_TensorData(dw), *dbp = TF_TensorData(db);
  if (size == 0) {
    memset(dwp, 0, (size_t)(g.regions * g.k * g.o) * sizeof(float));
    memset(dbp, 0, (size_t)(g.regions * g.o) * sizeof(float));
    if (dxp) memset(dxp, 0, (size_t)xsize * sizeof(float));
    goto done;
  }
  /* Scratch: offset tables; dz with the ReLU; with dx, the transposed
   * operand and (unless wt writes dx directly) the patch gradients. */
  const int64_t r_rows = g.regions * g.rows, seqn = g.k > g.o ? g.k : g.o;
  const int zt = dxp && size + r_rows * g.k < g.regions * g.k * g.o;
  const int direct = !zt && g.kh == 1 && g.kw == 1;
  const int64_t nt = !dxp ? 0 : zt ? r_rows * g.o : g.regions * g.o * g.k;
  const int64_t ndp = dxp && !direct ? r_rows * g.k : 0;
  const int64_t ndz = at->relu ? size : 0;
  char *at_ = scratch_need(
      2 * carved(r_rows, sizeof(int64_t)) + carved(g.k, sizeof(int64_t)) +
      carved(seqn, sizeof(int64_t)) + carved(g.o, sizeof(int64_t)) +
      carved(nt, sizeof(float)) + carved(ndp, sizeof(float)) +
      carved(ndz, sizeof(float)));
  if (!at_) {
    TF_SetStatus(status, TF_RESOURCE_EXHAUSTED, "DeepID2LocallySharedGrad: out of memory");
    goto done;
  }
  int64_t *pixel = carve(&at_, r_rows, sizeof(int64_t));
  int64_t *out = carve(&at_, r_rows, sizeof(int64_t));
  int64_t *patch = carve(&at_, g.k, sizeof(int64_t));
  for (int64_t r = 0; r < g.regions; r++) {
    for (int64_t m = 0; m < g.rows; m++) {
      pixel[r * g.rows + m] = row_pixel(&g, r, m);
      out[r * g.rows + m] = row_output(&g, r, m);
    }
  }
  for (int64_t k = 0; k < g.k; k++) patch[k] = patch_offset(&g, k);
  struct backward bw = {
      .g = &g,
      .x = TF_TensorData(in[0]),
      .w = TF_TensorData(in[1]),
      .y = TF_TensorData(in[2]),
      .dy = TF_TensorData(in[3]),
      .dx = dxp,
      .dw = dwp,
      .db = dbp,
      .pixel = pixel,
      .out = out,
      .patch = patch,
      .seq = fill_offsets(carve(&at_, seqn, sizeof(int64_t)), seqn, 1),
      .krow = fill_offsets(carve(&at_, g.o, sizeof(int64_t)), g.o,
                           zt ? g.rows : g.k),
      .t = nt ? carve(&at_, nt, sizeof(float)) : NULL,
      .dp = ndp ? carve(&at_, ndp, sizeof(float)) : NULL,
      .dzbuf = ndz ? carve(&at_, ndz, sizeof(float)) : NULL,
      .kblocks = (g.k + MR - 1) / MR,
      .kchunks = (g.k + KCHUNK - 1) / KCHUNK,
      .blocks = (g.rows + MR - 1) / MR,
      .chunks = (g.k + CHUNK - 1) / CHUNK,
      .zt = zt,
      .direct = direct,
  };
  bw.dz = bw.dzbuf ? bw.dzbuf : bw.dy;
  if (bw.dzbuf) deepid2_parallel_for(64, relu_grad_unit, &bw, (double)size * 8);
  const int64_t transposes = !nt ? 0 : zt ? g.regions : g.regions * bw.kchunks;
  deepid2_parallel_for(transposes + g.regions, prep_unit, &bw, (double)(nt + size) * 4);
  deepid2_parallel_for(g.regions * bw.kblocks, dw_unit, &bw, 2.0 * size * g.k);
  if (zt) {
    deepid2_parallel_for(g.regions * bw.kblocks, dpt_unit, &bw, 2.0 * size * g.k);
  } else if (dxp) {
    deepid2_parallel_for(g.regions * bw.blocks * bw.chunks, dp_unit, &bw,
                 2.0 * size * g.k);
  }
  if (dxp && !direct) {
    deepid2_parallel_for(g.batch, col2im_unit, &bw, (double)r_rows * g.k);
  }

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < 4; i++) TF_DeleteTensor(in[i]);
  TF_DeleteTensor(dx);
  TF_DeleteTensor(dw);
  TF_DeleteTensor(db);
  TF_DeleteStatus(status);
}

/* Shapes are checked by the kernels (eager execution, the only caller,
 * does not infer them). */
static void unknown_shapes(TF_ShapeInferenceContext *ctx, TF_Status *status) {
  TF_ShapeInferenceContextSetUnknownShape(ctx, status);
}

int deepid2_register_products(void) {
  static const char *const fwd_in[] = {"x: float", "w: float", "b: float",
                                       NULL};
  static const char *const fwd_out[] = {"y: float", NULL};
  static const char *const fwd_attrs[] = {"kh: int", "kw: int", "rh: int",
                                          "rw: int", "relu: bool", NULL};
  static const char *const grad_in[] = {"x: float", "w: float", "y: float",
                                        "dy: float", NULL};
  static const char *const grad_out[] = {"dx: float", "dw: float", "db: float",
                                         NULL};
  static const char *const grad_attrs[] = {"kh: int", "kw: int", "rh: int",
                                           "rw: int", "relu: bool",
                                           "input_grad: bool", NULL};
  const struct deepid2_op fwd = {
      .name = "DeepID2LocallyShared", .inputs = fwd_in, .outputs = fwd_out,
      .attrs = fwd_attrs, .shape = unknown_shapes, .create = create_attrs,
      .compute = ls_forward_compute, .destroy = delete_attrs};
  const struct deepid2_op grad = {
      .name = "DeepID2LocallySharedGrad", .inputs = grad_in,
      .outputs = grad_out, .attrs = grad_attrs, .shape = unknown_shapes,
      .create = create_attrs, .compute = ls_grad_compute,
      .destroy = delete_attrs};
  products_init();
  return deepid2_register_op(&fwd) && deepid2_register_op(&grad);
}

/*
 * The 2x2 max-pooling kernels of the library (deepid2_kernels.c):
 *
 * DeepID2MaxPool2x2Grad(x: float [N, H, W, C], dy: float [N, H/2, W/2, C])
 *   -> dx: float [N, H, W, C]
 *
 * The gradient of 2x2, stride-2, VALID max-pooling (NHWC): each window's dy
 * goes to its first maximum in row-major order, (0,0), (0,1), (1,0), (1,1),
 * a later element taking over only when strictly greater (a -0 gradient
 * lands as +0); every other element, and the last row / column of an
 * odd-sized map, gets +0. That is the
 * rule of TensorFlow's stock MaxPoolGrad on the CPU (its argmax helper keeps
 * the first of equal values), which re-derives the argmax through a
 * per-pixel, per-window loop over 20- or 60-channel columns: 10.5 ms of a
 * batch-64 training step on an AVX-512 host for conv1's and conv3's maps.
 * Here it is one pass that reads x and dy once and writes dx once, row by
 * row, an image a unit on the library's thread pool (products.c; each
 * output element is written by exactly one unit, so the result does not
 * depend on the split). lib/engine/native_kernels.ts checks it against the
 * stock kernel, ties included, before the network uses it.
 *
 * DeepID2MaxPool2x2BiasRelu(x: float [N, H, W, C], bias: float [C], [1, C]
 *                           or [0])
 *   -> y: float [N, H/2, W/2, C]
 * DeepID2MaxPool2x2BiasReluGrad(x, y, dy: float [N, H/2, W/2, C], bias)
 *   -> dx: float [N, H, W, C], db: float (bias's shape)
 *
 * conv1-conv3's tail, relu(maxpool(x) + bias), in one pass forward and one
 * backward, where the stock ops take three each way and a Sum (MaxPool,
 * Add, Relu; ReluGrad, the Add's gradient (a Sum), MaxPoolGrad), each a
 * full pass over memory and an eager dispatch. The values are the stock
 * composition's, bit for bit: the maximum starts from -FLT_MAX and takes a
 * later element only when strictly greater (TensorFlow's CPU MaxPool, its
 * cwiseMax from the lowest value); then + bias (skipped for an empty bias,
 * as adding +0 would turn -0 into +0); then the ReLU keeps v where v > 0
 * and gives +0 elsewhere (as TensorFlow's Relu here: -0 becomes +0). The
 * gradient: dz = dy * (y > 0 ? 1 : 0), the product TensorFlow's ReluGrad
 * computes (so -0 where dy < 0 and y <= 0), sent to each window's first
 * maximum as DeepID2MaxPool2x2Grad does; and db, the sum of dz over N,
 * H/2, W/2: each image's windows in raster order, then the images in
 * order (TensorFlow's Sum adds in another order, so db is not its bits).
 */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepid2_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Channels are taken 16 at a time with AVX-512, or 8 with AVX2, where the
 * CPU has it (the functions' versions are picked once at load:
 * deepid2_isa_level), then 4 at a time (GCC's generic 16-byte vectors:
 * SSE), then one by one. Every operation is lane by lane, so the width
 * never changes a result. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* One unit of a call: images [n0, n1) of x [N, H, W, C]. */
struct job {
  const float *x, *y, *dy, *bias; /* those the op has; bias NULL if empty */
  float *dx, *out;                /* dx (gradient); y (forward) */
  float *dbpart;                  /* gradient with a bias: [N, C] sums */
  int64_t n0, n1, h, w, c;
};

/* The window's gradient for channels [k, k + 4): its dy (times the ReLU's
 * mask, dz = dy * (y > 0), with y) to the first maximum of a, b, p, q
 * (strictly greater takes over, so the first of equal values keeps it), +0
 * elsewhere, a -0 gradient landing as +0; dz added to the bias sums. */
#define GRAD4                                                              \
  for (; k + 4 <= c; k += 4) {                                             \
    const v4f zero = {0, 0, 0, 0}, one = {1, 1, 1, 1};                     \
    v4f va, vb, vp, vq, vg;                                                \
    memcpy(&va, a + k, 16);                                                \
    memcpy(&vb, b + k, 16);                                                \
    memcpy(&vp, p + k, 16);                                                \
    memcpy(&vq, q + k, 16);                                                \
    memcpy(&vg, gw + k, 16);                                               \
    if (yw) {                                                              \
      v4f vy;                                                              \
      memcpy(&vy, yw + k, 16);                                             \
      vg = vg * (v4f)((v4i)one & (vy > zero));                             \
    }                                                                      \
    if (db) {                                                              \
      v4f acc;                                                             \
      memcpy(&acc, db + k, 16);                                            \
      acc = acc + vg;                                                      \
      memcpy(db + k, &acc, 16);                                            \
    }                                                                      \
    const v4i sb = vb > va;                                                \
    const v4f m1 = (v4f)(((v4i)vb & sb) | ((v4i)va & ~sb));                \
    const v4i sp = vp > m1;                                                \
    const v4f m2 = (v4f)(((v4i)vp & sp) | ((v4i)m1 & ~sp));                \
    const v4i sq = vq > m2;                                                \
    const v4i gz = (v4i)(vg + 0.0f);                                       \
    const v4i oq = gz & sq, op = gz & sp & ~sq;                            \
    const v4i ob = gz & sb & ~sp & ~sq, oa = gz & ~(sb | sp | sq);         \
    memcpy(dq + k, &oq, 16);                                               \
    memcpy(dp + k, &op, 16);                                               \
    memcpy(dbw + k, &ob, 16);                                              \
    memcpy(da + k, &oa, 16);                                               \
  }

/* The same for channels [k, k + 16) with AVX-512 mask registers. */
#define GRAD16                                                             \
  for (; k + 16 <= c; k += 16) {                                           \
    const __m512 zero = _mm512_setzero_ps();                               \
    const __m512 va = _mm512_loadu_ps(a + k), vb = _mm512_loadu_ps(b + k); \
    const __m512 vp = _mm512_loadu_ps(p + k), vq = _mm512_loadu_ps(q + k); \
    __m512 vg = _mm512_loadu_ps(gw + k);                                   \
    if (yw) {                                                              \
      const __mmask16 pos =                                                \
          _mm512_cmp_ps_mask(_mm512_loadu_ps(yw + k), zero, _CMP_GT_OQ);   \
      vg = _mm512_mul_ps(vg, _mm512_maskz_mov_ps(pos, _mm512_set1_ps(1))); \
    }                                                                      \
    if (db) {                                                              \
      _mm512_storeu_ps(db + k, _mm512_add_ps(_mm512_loadu_ps(db + k), vg)); \
    }                                                                      \
    const __mmask16 sb = _mm512_cmp_ps_mask(vb, va, _CMP_GT_OQ);           \
    const __m512 m1 = _mm512_mask_mov_ps(va, sb, vb);                      \
    const __mmask16 sp = _mm512_cmp_ps_mask(vp, m1, _CMP_GT_OQ);           \
    const __m512 m2 = _mm512_mask_mov_ps(m1, sp, vp);                      \
    const __mmask16 sq = _mm512_cmp_ps_mask(vq, m2, _CMP_GT_OQ);           \
    const __m512 gz = _mm512_add_ps(vg, zero);                             \
    _mm512_storeu_ps(dq + k, _mm512_maskz_mov_ps(sq, gz));                 \
    _mm512_storeu_ps(dp + k, _mm512_maskz_mov_ps(sp & ~sq, gz));           \
    _mm512_storeu_ps(dbw + k, _mm512_maskz_mov_ps(sb & ~sp & ~sq, gz));    \
    _mm512_storeu_ps(da + k, _mm512_maskz_mov_ps(~(sb | sp | sq), gz));    \
  }

/* The same for channels [k, k + 8) with AVX2. */
#define GRAD8                                                              \
  for (; k + 8 <= c; k += 8) {                                             \
    const __m256 zero = _mm256_setzero_ps();                               \
    const __m256 va = _mm256_loadu_ps(a + k), vb = _mm256_loadu_ps(b + k); \
    const __m256 vp = _mm256_loadu_ps(p + k), vq = _mm256_loadu_ps(q + k); \
    __m256 vg = _mm256_loadu_ps(gw + k);                                   \
    if (yw) {                                                              \
      const __m256 pos =                                                   \
          _mm256_cmp_ps(_mm256_loadu_ps(yw + k), zero, _CMP_GT_OQ);        \
      vg = _mm256_mul_ps(vg, _mm256_and_ps(pos, _mm256_set1_ps(1)));       \
    }                                                                      \
    if (db) {                                                              \
      _mm256_storeu_ps(db + k, _mm256_add_ps(_mm256_loadu_ps(db + k), vg)); \
    }                                                                      \
    const __m256 sb = _mm256_cmp_ps(vb, va, _CMP_GT_OQ);                   \
    const __m256 m1 = _mm256_blendv_ps(va, vb, sb);                        \
    const __m256 sp = _mm256_cmp_ps(vp, m1, _CMP_GT_OQ);                   \
    const __m256 m2 = _mm256_blendv_ps(m1, vp, sp);                        \
    const __m256 sq = _mm256_cmp_ps(vq, m2, _CMP_GT_OQ);                   \
    const __m256 gz = _mm256_add_ps(vg, zero);                             \
    const __m256 later = _mm256_or_ps(sp, sq);                             \
    _mm256_storeu_ps(dq + k, _mm256_and_ps(gz, sq));                       \
    _mm256_storeu_ps(dp + k, _mm256_and_ps(gz, _mm256_andnot_ps(sq, sp))); \
    _mm256_storeu_ps(dbw + k,                                              \
                     _mm256_and_ps(gz, _mm256_andnot_ps(later, sb)));      \
    _mm256_storeu_ps(da + k,                                               \
                     _mm256_andnot_ps(_mm256_or_ps(sb, later), gz));       \
  }

/* The pooling gradient of images [n0, n1): for each pair of input rows, each
 * window, each channel (BLOCKS: the vector loops before the scalar one).
 * With y (DeepID2MaxPool2x2BiasReluGrad), the window's gradient is first
 * the ReLU's, dz = dy * (y > 0), summed per channel into the image's bias
 * sums (windows in raster order) when there is a bias. */
#define POOL_GRAD_ROWS(NAME, ATTR, BLOCKS)                                 \
  ATTR static void NAME(const struct job *j) {                             \
    const int64_t h = j->h, w = j->w, c = j->c;                            \
    const int64_t oh = h / 2, ow = w / 2, row = w * c;                     \
    for (int64_t n = j->n0; n < j->n1; n++) {                              \
      const float *xn = j->x + n * h * row;                                \
      const float *yn = j->y ? j->y + n * oh * ow * c : NULL;              \
      const float *gn = j->dy + n * oh * ow * c;                           \
      float *db = j->dbpart ? j->dbpart + n * c : NULL;                    \
      float *dn = j->dx + n * h * row;                                     \
      if (db) memset(db, 0, (size_t)c * sizeof(float));                    \
      for (int64_t i = 0; i < oh; i++) {                                   \
        const float *x0 = xn + 2 * i * row, *x1 = x0 + row;                \
        float *d0 = dn + 2 * i * row, *d1 = d0 + row;                      \
        for (int64_t jj = 0; jj < ow; jj++) {                              \
          const int64_t at = (i * ow + jj) * c; /* the window in y, dy */  \
          const float *restrict a = x0 + 2 * jj * c, *restrict b = a + c;  \
          const float *restrict p = x1 + 2 * jj * c, *restrict q = p + c;  \
          const float *restrict gw = gn + at;                              \
          const float *restrict yw = yn ? yn + at : NULL;                  \
          float *restrict da = d0 + 2 * jj * c, *restrict dbw = da + c;    \
          float *restrict dp = d1 + 2 * jj * c, *restrict dq = dp + c;     \
          int64_t k = 0;                                                   \
          BLOCKS                                                           \
          for (; k < c; k++) {                                             \
            float z = gw[k];                                               \
            if (yw) z = z * (yw[k] > 0 ? 1.0f : 0.0f);                     \
            if (db) db[k] = db[k] + z;                                     \
            float m = a[k];                                                \
            const int sb = b[k] > m;                                       \
            m = sb ? b[k] : m;                                             \
            const int sp = p[k] > m;                                       \
            m = sp ? p[k] : m;                                             \
            const int sq = q[k] > m;                                       \
            const float v = z + 0.0f;                                      \
            dq[k] = sq ? v : 0.0f;                                         \
            dp[k] = sp & !sq ? v : 0.0f;                                   \
            dbw[k] = sb & !sp & !sq ? v : 0.0f;                            \
            da[k] = !sb & !sp & !sq ? v : 0.0f;                            \
          }                                                                \
        }                                                                  \
        /* An odd width's last column is in no window. */                  \
        if (w % 2) {                                                       \
          memset(d0 + (w - 1) * c, 0, c * sizeof(float));                  \
          memset(d1 + (w - 1) * c, 0, c * sizeof(float));                  \
        }                                                                  \
      }                                                                    \
      /* An odd height's last row is in no window. */                      \
      if (h % 2) memset(dn + (h - 1) * row, 0, row * sizeof(float));       \
    }                                                                      \
  }

/* relu(max of the window's a, b, p, q (+ bias)) for channels [k, k + 4):
 * the maximum starts from -FLT_MAX and takes a later element only when
 * strictly greater; v > 0 ? v : +0. */
#define FWD4                                                               \
  for (; k + 4 <= c; k += 4) {                                             \
    v4f va, vb, vp, vq, m = {-FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX};      \
    memcpy(&va, a + k, 16);                                                \
    memcpy(&vb, b + k, 16);                                                \
    memcpy(&vp, p + k, 16);                                                \
    memcpy(&vq, q + k, 16);                                                \
    v4i s = va > m;                                                        \
    m = (v4f)(((v4i)va & s) | ((v4i)m & ~s));                              \
    s = vb > m;                                                            \
    m = (v4f)(((v4i)vb & s) | ((v4i)m & ~s));                              \
    s = vp > m;                                                            \
    m = (v4f)(((v4i)vp & s) | ((v4i)m & ~s));                              \
    s = vq > m;                                                            \
    m = (v4f)(((v4i)vq & s) | ((v4i)m & ~s));                              \
    if (bias) {                                                            \
      v4f vbias;                                                           \
      memcpy(&vbias, bias + k, 16);                                        \
      m = m + vbias;                                                       \
    }                                                                      \
    const v4i out = (v4i)m & (m > (v4f){0, 0, 0, 0});                      \
    memcpy(yw + k, &out, 16);                                              \
  }

/* The same for channels [k, k + 16) with AVX-512 mask registers. */
#define FWD16                                                              \
  for (; k + 16 <= c; k += 16) {                                           \
    __m512 m = _mm512_set1_ps(-FLT_MAX);                                   \
    const float *src[4] = {a, b, p, q};                                    \
    for (int e = 0; e < 4; e++) {                                          \
      const __m512 v = _mm512_loadu_ps(src[e] + k);                        \
      m = _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ), v);  \
    }                                                                      \
    if (bias) m = _mm512_add_ps(m, _mm512_loadu_ps(bias + k));             \
    _mm512_storeu_ps(yw + k,                                               \
                     _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(               \
                         m, _mm512_setzero_ps(), _CMP_GT_OQ), m));         \
  }

/* The same for channels [k, k + 8) with AVX2. */
#define FWD8                                                               \
  for (; k + 8 <= c; k += 8) {                                             \
    __m256 m = _mm256_set1_ps(-FLT_MAX);                                   \
    const float *src[4] = {a, b, p, q};                                    \
    for (int e = 0; e < 4; e++) {                                          \
      const __m256 v = _mm256_loadu_ps(src[e] + k);                        \
      m = _mm256_blendv_ps(m, v, _mm256_cmp_ps(v, m, _CMP_GT_OQ));         \
    }                                                                      \
    if (bias) m = _mm256_add_ps(m, _mm256_loadu_ps(bias + k));             \
    _mm256_storeu_ps(yw + k,                                               \
                     _mm256_and_ps(m, _mm256_cmp_ps(m, _mm256_setzero_ps(), \
                                                    _CMP_GT_OQ)));         \
  }

/* Forward: y = relu(max of each window (+ bias)); see the file's head. */
#define POOL_FWD_ROWS(NAME, ATTR, BLOCKS)                                  \
  ATTR static void NAME(const struct job *j) {                             \
    const int64_t h = j->h, w = j->w, c = j->c;                            \
    const int64_t oh = h / 2, ow = w / 2, row = w * c;                     \
    const float *bias = j->bias;                                           \
    for (int64_t n = j->n0; n < j->n1; n++) {                              \
      const float *xn = j->x + n * h * row;                                \
      float *yn = j->out + n * oh * ow * c;                                \
      for (int64_t i = 0; i < oh; i++) {                                   \
        const float *x0 = xn + 2 * i * row, *x1 = x0 + row;                \
        float *yr = yn + i * ow * c;                                       \
        for (int64_t jj = 0; jj < ow; jj++) {                              \
          const float *restrict a = x0 + 2 * jj * c, *restrict b = a + c;  \
          const float *restrict p = x1 + 2 * jj * c, *restrict q = p + c;  \
          float *restrict yw = yr + jj * c;                                \
          int64_t k = 0;                                                   \
          BLOCKS                                                           \
          for (; k < c; k++) {                                             \
            float m = -FLT_MAX;                                            \
            m = a[k] > m ? a[k] : m;                                       \
            m = b[k] > m ? b[k] : m;                                       \
            m = p[k] > m ? p[k] : m;                                       \
            m = q[k] > m ? q[k] : m;                                       \
            if (bias) m = m + bias[k];                                     \
            yw[k] = m > 0 ? m : 0.0f;                                      \
          }                                                                \
        }                                                                  \
      }                                                                    \
    }                                                                      \
  }

POOL_GRAD_ROWS(pool_grad_rows_sse, , GRAD4)
POOL_FWD_ROWS(pool_bias_relu_rows_sse, , FWD4)
#if defined(__x86_64__)
POOL_GRAD_ROWS(pool_grad_rows_avx512, __attribute__((target("avx512f"))),
               GRAD16 GRAD4)
POOL_FWD_ROWS(pool_bias_relu_rows_avx512, __attribute__((target("avx512f"))),
              FWD16 FWD4)
POOL_GRAD_ROWS(pool_grad_rows_avx2, __attribute__((target("avx2"))),
               GRAD8 GRAD4)
POOL_FWD_ROWS(pool_bias_relu_rows_avx2, __attribute__((target("avx2"))),
              FWD8 FWD4)
#endif

typedef void (*rows_fn)(const struct job *);

/* The widest versions this CPU runs (every version gives the same bits). */
static rows_fn pool_grad_rows = pool_grad_rows_sse;
static rows_fn pool_bias_relu_rows = pool_bias_relu_rows_sse;

static void pick_pool_rows(void) {
#if defined(__x86_64__)
  if (deepid2_isa_level() == 2) {
    pool_grad_rows = pool_grad_rows_avx512;
    pool_bias_relu_rows = pool_bias_relu_rows_avx512;
  } else if (deepid2_isa_level() == 1) {
    pool_grad_rows = pool_grad_rows_avx2;
    pool_bias_relu_rows = pool_bias_relu_rows_avx2;
  }
#endif
}


struct split {
  rows_fn fn;
  const struct job *proto;
};

static void split_unit(void *arg, int64_t u) {
  const struct split *s = arg;
  struct job j = *s->proto;
  j.n0 = u;
  j.n1 = u + 1;
  s->fn(&j);
}

/* Runs fn over proto's images [0, n), an image a unit, on the library's
 * thread pool (each output element is written by one unit, so the split
 * does not change it). */
static void run_split(rows_fn fn, const struct job *proto, int64_t n) {
  const struct split s = {fn, proto};
  deepid2_parallel_for(n, split_unit, (void *)&s,
                       (double)n * proto->h * proto->w * proto->c);
}

/* Reads inputs [0, count) into ins; sets status on failure. */
static void get_inputs(TF_OpKernelContext *ctx, TF_Tensor **ins, int count,
                       TF_Status *status) {
  for (int i = 0; i < count && TF_GetCode(status) == TF_OK; i++) {
    TF_GetInput(ctx, i, &ins[i], status);
  }
}

/* 1 if t is rank 4 with the given dims; else sets status to msg. */
static int has_dims(const TF_Tensor *t, const int64_t d[4], const char *msg,
                    TF_Status *status) {
  int ok = TF_NumDims(t) == 4;
  for (int i = 0; ok && i < 4; i++) ok = TF_Dim(t, i) == d[i];
  if (!ok) TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
  return ok;
}

/* x's dims, and the pooled map's; 0 (status set) if x is not rank 4. */
static int pool_dims(const TF_Tensor *x, int64_t dims[4], int64_t pooled[4],
                     const char *op, TF_Status *status) {
  if (TF_NumDims(x) != 4) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: x must be rank 4 (NHWC)", op);
    TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
    return 0;
  }
  for (int i = 0; i < 4; i++) dims[i] = pooled[i] = TF_Dim(x, i);
  pooled[1] = dims[1] / 2;
  pooled[2] = dims[2] / 2;
  return 1;
}

static size_t float_bytes(const int64_t d[4]) {
  return (size_t)(d[0] * d[1] * d[2] * d[3]) * sizeof(float);
}

/* A bias input: [C] or [1, C] of x's [N, H, W, C] (its element count, C),
 * or empty (0); -1 (status set) otherwise. */
static int64_t bias_size(const TF_Tensor *bias, int64_t c, const char *op,
                         TF_Status *status) {
  const int64_t nb = TF_TensorElementCount(bias);
  const int rank = TF_NumDims(bias);
  if ((nb == c && (rank == 1 || (rank == 2 && TF_Dim(bias, 0) == 1))) ||
      (nb == 0 && rank == 1)) {
    return nb;
  }
  char msg[160];
  snprintf(msg, sizeof msg,
           "%s: bias must be [C] or [1, C] of x's [N, H, W, C], or [0] for none",
           op);
  TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
  return -1;
}

/* DeepID2MaxPool2x2Grad (x, dy -> dx) and DeepID2MaxPool2x2BiasReluGrad
 * (x, y, dy, bias -> dx, db): told apart by their number of inputs. */
static void pool_grad_compute(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[4] = {NULL, NULL, NULL, NULL}, *dx = NULL, *db = NULL;
  float *dbpart = NULL;
  int64_t dims[4], pooled[4];
  const int relu = TF_NumInputs(ctx) == 4;
  const char *op = relu ? "DeepID2MaxPool2x2BiasReluGrad" : "DeepID2MaxPool2x2Grad";
  char shapes[160];
  snprintf(shapes, sizeof shapes, "%s: %s must be [N, H/2, W/2, C] of x's [N, H, W, C]",
           op, relu ? "y and dy" : "dy");
  get_inputs(ctx, in, relu ? 4 : 2, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!pool_dims(in[0], dims, pooled, op, status) ||
      !has_dims(in[1], pooled, shapes, status) ||
      (relu && !has_dims(in[2], pooled, shapes, status))) {
    goto done;
  }
  const int64_t nb = relu ? bias_size(in[3], dims[3], op, status) : 0;
  if (nb < 0) goto done;
  dx = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, float_bytes(dims), status);
  if (relu && TF_GetCode(status) == TF_OK) {
    /* db: the bias's shape. */
    int64_t bdims[2];
    const int rank = TF_NumDims(in[3]);
    for (int i = 0; i < rank; i++) bdims[i] = TF_Dim(in[3], i);
    db = TF_AllocateOutput(ctx, 1, TF_FLOAT, bdims, rank,
                           (size_t)nb * sizeof(float), status);
  }
  if (TF_GetCode(status) != TF_OK) goto done;
  float *dbp = db ? TF_TensorData(db) : NULL;
  if (nb) memset(dbp, 0, (size_t)nb * sizeof(float));
  if (float_bytes(dims) == 0) goto done;
  if (nb) {
    dbpart = malloc((size_t)(dims[0] * nb) * sizeof(float));
    if (!dbpart) {
      TF_SetStatus(status, TF_RESOURCE_EXHAUSTED, "DeepID2MaxPool2x2BiasReluGrad: out of memory");
      goto done;
    }
  }
  const struct job proto = {
      .x = TF_TensorData(in[0]),
      .y = relu ? TF_TensorData(in[1]) : NULL,
      .dy = TF_TensorData(in[relu ? 2 : 1]),
      .dx = TF_TensorData(dx),
      .dbpart = dbpart,
      .h = dims[1],
      .w = dims[2],
      .c = dims[3],
  };
  run_split(pool_grad_rows, &proto, dims[0]);
  /* The bias gradient: each image's sums, the images in order. */
  for (int64_t n = 0; dbpart && n < dims[0]; n++) {
    for (int64_t k = 0; k < nb; k++) dbp[k] = dbp[k] + dbpart[n * nb + k];
  }

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < 4; i++) TF_DeleteTensor(in[i]);
  TF_DeleteTensor(dx);
  TF_DeleteTensor(db);
  free(dbpart);
  TF_DeleteStatus(status);
}

static void pool_bias_relu_compute(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  const char *op = "DeepID2MaxPool2x2BiasRelu";
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[2] = {NULL, NULL}, *y = NULL;
  int64_t dims[4], pooled[4];
  get_inputs(ctx, in, 2, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!pool_dims(in[0], dims, pooled, op, status)) goto done;
  const int64_t nb = bias_size(in[1], dims[3], op, status);
  if (nb < 0) goto done;
  y = TF_AllocateOutput(ctx, 0, TF_FLOAT, pooled, 4, float_bytes(pooled),
                        status);
  if (TF_GetCode(status) != TF_OK || float_bytes(pooled) == 0) goto done;
  const struct job proto = {
      .x = TF_TensorData(in[0]),
      .bias = nb ? TF_TensorData(in[1]) : NULL,
      .out = TF_TensorData(y),
      .h = dims[1],
      .w = dims[2],
      .c = dims[3],
  };
  run_split(pool_bias_relu_rows, &proto, dims[0]);

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < 2; i++) TF_DeleteTensor(in[i]);
  TF_DeleteTensor(y);
  TF_DeleteStatus(status);
}

/* Output `out` has input `in`'s shape. */
static void same_shape(TF_ShapeInferenceContext *ctx, int in, int out,
                       TF_Status *status) {
  TF_ShapeHandle *x = TF_NewShapeHandle();
  TF_ShapeInferenceContextGetInput(ctx, in, x, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, out, x, status);
  TF_DeleteShapeHandle(x);
}

/* dx has x's shape. */
static void pool_grad_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) {
  same_shape(ctx, 0, 0, status);
}

/* dx has x's shape, db the bias's. */
static void pool_bias_relu_grad_shape(TF_ShapeInferenceContext *ctx,
                                      TF_Status *status) {
  same_shape(ctx, 0, 0, status);
  if (TF_GetCode(status) == TF_OK) same_shape(ctx, 3, 1, status);
}

/* y: left unknown to shape inference (the kernel checks x and sizes y;
 * eager execution, the only caller, does not infer shapes). */
static void pool_bias_relu_shape(TF_ShapeInferenceContext *ctx,
                                 TF_Status *status) {
  TF_ShapeInferenceContextSetUnknownShape(ctx, status);
}

int deepid2_register_pooling(void) {
  static const char *const pool_grad_in[] = {"x: float", "dy: float", NULL};
  static const char *const pool_grad_out[] = {"dx: float", NULL};
  static const char *const fwd_in[] = {"x: float", "bias: float", NULL};
  static const char *const fwd_out[] = {"y: float", NULL};
  static const char *const grad_in[] = {"x: float", "y: float", "dy: float",
                                        "bias: float", NULL};
  static const char *const grad_out[] = {"dx: float", "db: float", NULL};
  const struct deepid2_op ops[] = {
      {.name = "DeepID2MaxPool2x2Grad", .inputs = pool_grad_in,
       .outputs = pool_grad_out, .shape = pool_grad_shape,
       .compute = pool_grad_compute},
      {.name = "DeepID2MaxPool2x2BiasRelu", .inputs = fwd_in,
       .outputs = fwd_out, .shape = pool_bias_relu_shape,
       .compute = pool_bias_relu_compute},
      {.name = "DeepID2MaxPool2x2BiasReluGrad", .inputs = grad_in,
       .outputs = grad_out, .shape = pool_bias_relu_grad_shape,
       .compute = pool_grad_compute},
  };
  pick_pool_rows();
  int ok = 1;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    ok = ok && deepid2_register_op(&ops[i]);
  }
  return ok;
}

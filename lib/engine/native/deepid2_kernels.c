/*
 * deepid2_kernels: TensorFlow CPU kernels of our own, registered through
 * TensorFlow's C kernel and op API (tensorflow/c/kernels.h, ops.h) when
 * lib/engine/native_kernels.ts loads this library (Deno.dlopen; its
 * constructor registers them in the process's libtensorflow). Built by
 * lib/engine/native/build.sh next to libtensorflow (deps/lib/).
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
 * row, split over the batch between threads (each output element is written
 * by exactly one thread, so the result does not depend on the split).
 * lib/engine/native_kernels.ts checks it against the stock kernel, ties
 * included, before the network uses it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tensorflow/c/kernels.h"
/* ops.h declares its handle types C++-style (struct X;): name them for C. */
typedef struct TF_DimensionHandle TF_DimensionHandle;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
#include "tensorflow/c/ops.h"

/* 1 once both the op and its CPU kernel are registered. */
static int registered = 0;

/* Threads for one call: the CPUs this process may run on, at most 8, and
 * none for fewer than 64 Ki output elements per thread. */
#define MAX_THREADS 8
#define MIN_PER_THREAD (64 * 1024)

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

struct job {
  const float *x, *dy;
  float *dx;
  int64_t n0, n1, h, w, c;
};

/* Images [n0, n1): for each pair of input rows, each window, each channel. */
static void pool_grad_rows(const struct job *j) {
  const int64_t h = j->h, w = j->w, c = j->c;
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  for (int64_t n = j->n0; n < j->n1; n++) {
    const float *xn = j->x + n * h * row;
    const float *gn = j->dy + n * oh * ow * c;
    float *dn = j->dx + n * h * row;
    for (int64_t i = 0; i < oh; i++) {
      const float *x0 = xn + 2 * i * row, *x1 = x0 + row;
      const float *g = gn + i * ow * c;
      float *d0 = dn + 2 * i * row, *d1 = d0 + row;
      for (int64_t jj = 0; jj < ow; jj++) {
        const float *restrict a = x0 + 2 * jj * c, *restrict b = a + c;
        const float *restrict p = x1 + 2 * jj * c, *restrict q = p + c;
        const float *restrict gw = g + jj * c;
        float *restrict da = d0 + 2 * jj * c, *restrict db = da + c;
        float *restrict dp = d1 + 2 * jj * c, *restrict dq = dp + c;
        int64_t k = 0;
        /* Four channels at a time (GCC's vector extensions: SSE on
         * x86-64): sb, sp, sq are all-ones where b, p, q beat the running
         * maximum m, strictly, so that the first of equal values keeps it;
         * the last that did holds the window's maximum. */
        for (; k + 4 <= c; k += 4) {
          v4f va, vb, vp, vq, vg;
          memcpy(&va, a + k, 16);
          memcpy(&vb, b + k, 16);
          memcpy(&vp, p + k, 16);
          memcpy(&vq, q + k, 16);
          memcpy(&vg, gw + k, 16);
          const v4i sb = vb > va;
          const v4f m1 = (v4f)(((v4i)vb & sb) | ((v4i)va & ~sb));
          const v4i sp = vp > m1;
          const v4f m2 = (v4f)(((v4i)vp & sp) | ((v4i)m1 & ~sp));
          const v4i sq = vq > m2;
          /* + 0: a -0 gradient lands as +0, as in the stock kernel, which
           * adds each window's dy into a zeroed output. */
          const v4i g = (v4i)(vg + 0.0f);
          const v4i oq = g & sq;
          const v4i op = g & sp & ~sq;
          const v4i ob = g & sb & ~sp & ~sq;
          const v4i oa = g & ~(sb | sp | sq);
          memcpy(dq + k, &oq, 16);
          memcpy(dp + k, &op, 16);
          memcpy(db + k, &ob, 16);
          memcpy(da + k, &oa, 16);
        }
        for (; k < c; k++) {
          float m = a[k];
          const int sb = b[k] > m;
          m = sb ? b[k] : m;
          const int sp = p[k] > m;
          m = sp ? p[k] : m;
          const int sq = q[k] > m;
          const float v = gw[k] + 0.0f;
          dq[k] = sq ? v : 0.0f;
          dp[k] = sp & !sq ? v : 0.0f;
          db[k] = sb & !sp & !sq ? v : 0.0f;
          da[k] = !sb & !sp & !sq ? v : 0.0f;
        }
      }
      /* An odd width's last column is in no window. */
      if (w % 2) {
        memset(d0 + (w - 1) * c, 0, c * sizeof(float));
        memset(d1 + (w - 1) * c, 0, c * sizeof(float));
      }
    }
    /* An odd height's last row is in no window. */
    if (h % 2) memset(dn + (h - 1) * row, 0, row * sizeof(float));
  }
}

static void *pool_grad_thread(void *arg) {
  pool_grad_rows((const struct job *)arg);
  return NULL;
}

static int cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

static void pool_grad_compute(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *x = NULL, *dy = NULL, *dx = NULL;
  TF_GetInput(ctx, 0, &x, status);
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 1, &dy, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (TF_NumDims(x) != 4 || TF_NumDims(dy) != 4) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2MaxPool2x2Grad: x and dy must be rank 4 (NHWC)");
    goto done;
  }
  int64_t dims[4];
  for (int i = 0; i < 4; i++) dims[i] = TF_Dim(x, i);
  const int64_t n = dims[0], h = dims[1], w = dims[2], c = dims[3];
  if (TF_Dim(dy, 0) != n || TF_Dim(dy, 1) != h / 2 || TF_Dim(dy, 2) != w / 2 ||
      TF_Dim(dy, 3) != c) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2MaxPool2x2Grad: dy must be [N, H/2, W/2, C] of x's "
                 "[N, H, W, C]");
    goto done;
  }
  const size_t bytes = (size_t)(n * h * w * c) * sizeof(float);
  dx = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, bytes, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (bytes == 0) goto done;

  struct job jobs[MAX_THREADS];
  pthread_t threads[MAX_THREADS];
  int64_t count = cpu_count();
  const int64_t per_image = h * w * c;
  while (count > 1 && count * MIN_PER_THREAD > n * per_image) count--;
  if (count > n) count = n;
  for (int64_t t = 0; t < count; t++) {
    jobs[t] = (struct job){
        .x = (const float *)TF_TensorData(x),
        .dy = (const float *)TF_TensorData(dy),
        .dx = (float *)TF_TensorData(dx),
        .n0 = n * t / count,
        .n1 = n * (t + 1) / count,
        .h = h,
        .w = w,
        .c = c,
    };
  }
  /* This thread takes the first share; a thread that cannot start leaves
   * its share to this one. */
  int64_t started = 0;
  for (int64_t t = 1; t < count; t++) {
    if (pthread_create(&threads[t], NULL, pool_grad_thread, &jobs[t]) != 0) break;
    started = t;
  }
  pool_grad_rows(&jobs[0]);
  for (int64_t t = started + 1; t < count; t++) pool_grad_rows(&jobs[t]);
  for (int64_t t = 1; t <= started; t++) pthread_join(threads[t], NULL);

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  TF_DeleteTensor(x);
  TF_DeleteTensor(dy);
  TF_DeleteTensor(dx);
  TF_DeleteStatus(status);
}

/* dx has x's shape. */
static void pool_grad_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) {
  TF_ShapeHandle *x = TF_NewShapeHandle();
  TF_ShapeInferenceContextGetInput(ctx, 0, x, status);
  if (TF_GetCode(status) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 0, x, status);
  TF_DeleteShapeHandle(x);
}

__attribute__((constructor)) static void register_kernels(void) {
  TF_Status *status = TF_NewStatus();
  TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder("DeepID2MaxPool2x2Grad");
  TF_OpDefinitionBuilderAddInput(op, "x: float");
  TF_OpDefinitionBuilderAddInput(op, "dy: float");
  TF_OpDefinitionBuilderAddOutput(op, "dx: float");
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, pool_grad_shape);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    TF_KernelBuilder *k = TF_NewKernelBuilder("DeepID2MaxPool2x2Grad", "CPU", NULL,
                                              pool_grad_compute, NULL);
    TF_RegisterKernelBuilder("DeepID2MaxPool2x2GradCPU", k, status);
  }
  if (TF_GetCode(status) == TF_OK) {
    registered = 1;
  } else {
    fprintf(stderr, "deepid2_kernels: registering DeepID2MaxPool2x2Grad failed: %s\n",
            TF_Message(status));
  }
  TF_DeleteStatus(status);
}

/* For the loader (Deno.dlopen): 1 when the kernels are registered. */
__attribute__((visibility("default"))) int32_t deepid2_kernels_registered(void) {
  return registered;
}

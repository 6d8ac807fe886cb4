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
 *
 * DeepID2MaxPool2x2BiasRelu(x: float [N, H, W, C], bias: float [C] or [0])
 *   -> y: float [N, H/2, W/2, C]
 * DeepID2MaxPool2x2BiasReluGrad(x, y, dy: float [N, H/2, W/2, C])
 *   -> dx: float [N, H, W, C], dz: float [N, H/2, W/2, C]
 *
 * conv1-conv3's tail, relu(maxpool(x) + bias), in one pass forward and one
 * backward, where the stock ops take three each (MaxPool, Add, Relu;
 * ReluGrad, the Add's gradient, MaxPoolGrad), each a full pass over memory
 * and an eager dispatch. Bit for bit the stock composition: the maximum
 * starts from -FLT_MAX and takes a later element only when strictly
 * greater (TensorFlow's CPU MaxPool, its cwiseMax from the lowest value);
 * then + bias (skipped for an empty bias, as adding +0 would turn -0 into
 * +0); then the ReLU keeps v where v > 0 and gives +0 elsewhere (as
 * TensorFlow's Relu here: -0 becomes +0). The gradient:
 * dz = dy * (y > 0 ? 1 : 0), the product TensorFlow's ReluGrad computes (so -0 where dy < 0 and y <= 0),
 * returned for the bias gradient (its sum over N, H/2, W/2 is left to
 * TensorFlow's Sum, the op the stock Add gradient runs), and dx = dz sent
 * to each window's first maximum as DeepID2MaxPool2x2Grad does.
 */
#include <float.h>
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

/* One thread's share of a call: images [n0, n1) of x [N, H, W, C]. */
struct job {
  const float *x, *y, *dy, *bias; /* those the op has; bias NULL if empty */
  float *dx, *out;                /* dx, and y (forward) or dz (gradient) */
  int64_t n0, n1, h, w, c;
};

/* The pooling gradient of images [n0, n1): for each pair of input rows, each
 * window, each channel. With y (DeepID2MaxPool2x2BiasReluGrad), the window's
 * gradient is first the ReLU's, dz = dy * (y > 0), also written to out. */
static void pool_grad_rows(const struct job *j) {
  const int64_t h = j->h, w = j->w, c = j->c;
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  const v4f zero = {0, 0, 0, 0}, one = {1, 1, 1, 1};
  for (int64_t n = j->n0; n < j->n1; n++) {
    const float *xn = j->x + n * h * row;
    const float *yn = j->y ? j->y + n * oh * ow * c : NULL;
    const float *gn = j->dy + n * oh * ow * c;
    float *zn = j->y ? j->out + n * oh * ow * c : NULL;
    float *dn = j->dx + n * h * row;
    for (int64_t i = 0; i < oh; i++) {
      const float *x0 = xn + 2 * i * row, *x1 = x0 + row;
      const float *g = gn + i * ow * c;
      float *d0 = dn + 2 * i * row, *d1 = d0 + row;
      for (int64_t jj = 0; jj < ow; jj++) {
        const int64_t at = (i * ow + jj) * c; /* the window in y, dy, dz */
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
          if (yn) {
            v4f vy;
            memcpy(&vy, yn + at + k, 16);
            vg = vg * (v4f)((v4i)one & (vy > zero));
            memcpy(zn + at + k, &vg, 16);
          }
          const v4i sb = vb > va;
          const v4f m1 = (v4f)(((v4i)vb & sb) | ((v4i)va & ~sb));
          const v4i sp = vp > m1;
          const v4f m2 = (v4f)(((v4i)vp & sp) | ((v4i)m1 & ~sp));
          const v4i sq = vq > m2;
          /* + 0: a -0 gradient lands as +0, as in the stock kernel, which
           * adds each window's dy into a zeroed output. */
          const v4i gz = (v4i)(vg + 0.0f);
          const v4i oq = gz & sq;
          const v4i op = gz & sp & ~sq;
          const v4i ob = gz & sb & ~sp & ~sq;
          const v4i oa = gz & ~(sb | sp | sq);
          memcpy(dq + k, &oq, 16);
          memcpy(dp + k, &op, 16);
          memcpy(db + k, &ob, 16);
          memcpy(da + k, &oa, 16);
        }
        for (; k < c; k++) {
          float z = gw[k];
          if (yn) {
            z = z * (yn[at + k] > 0 ? 1.0f : 0.0f);
            zn[at + k] = z;
          }
          float m = a[k];
          const int sb = b[k] > m;
          m = sb ? b[k] : m;
          const int sp = p[k] > m;
          m = sp ? p[k] : m;
          const int sq = q[k] > m;
          const float v = z + 0.0f;
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

/* Forward: y = relu(max of each window (+ bias)); see the file's head. */
static void pool_bias_relu_rows(const struct job *j) {
  const int64_t h = j->h, w = j->w, c = j->c;
  const int64_t oh = h / 2, ow = w / 2, row = w * c;
  const float *bias = j->bias;
  const v4f lowest = {-FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX};
  for (int64_t n = j->n0; n < j->n1; n++) {
    const float *xn = j->x + n * h * row;
    float *yn = j->out + n * oh * ow * c;
    for (int64_t i = 0; i < oh; i++) {
      const float *x0 = xn + 2 * i * row, *x1 = x0 + row;
      float *yr = yn + i * ow * c;
      for (int64_t jj = 0; jj < ow; jj++) {
        const float *restrict a = x0 + 2 * jj * c, *restrict b = a + c;
        const float *restrict p = x1 + 2 * jj * c, *restrict q = p + c;
        float *restrict yw = yr + jj * c;
        int64_t k = 0;
        for (; k + 4 <= c; k += 4) {
          v4f va, vb, vp, vq, m = lowest;
          memcpy(&va, a + k, 16);
          memcpy(&vb, b + k, 16);
          memcpy(&vp, p + k, 16);
          memcpy(&vq, q + k, 16);
          v4i s = va > m;
          m = (v4f)(((v4i)va & s) | ((v4i)m & ~s));
          s = vb > m;
          m = (v4f)(((v4i)vb & s) | ((v4i)m & ~s));
          s = vp > m;
          m = (v4f)(((v4i)vp & s) | ((v4i)m & ~s));
          s = vq > m;
          m = (v4f)(((v4i)vq & s) | ((v4i)m & ~s));
          if (bias) {
            v4f vbias;
            memcpy(&vbias, bias + k, 16);
            m = m + vbias;
          }
          const v4i out = (v4i)m & (m > (v4f){0, 0, 0, 0});
          memcpy(yw + k, &out, 16);
        }
        for (; k < c; k++) {
          float m = -FLT_MAX;
          m = a[k] > m ? a[k] : m;
          m = b[k] > m ? b[k] : m;
          m = p[k] > m ? p[k] : m;
          m = q[k] > m ? q[k] : m;
          if (bias) m = m + bias[k];
          yw[k] = m > 0 ? m : 0.0f;
        }
      }
    }
  }
}

typedef void (*rows_fn)(const struct job *);

struct thread_arg {
  rows_fn fn;
  const struct job *job;
};

static void *rows_thread(void *arg) {
  const struct thread_arg *t = arg;
  t->fn(t->job);
  return NULL;
}

static int cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

/* Runs fn over proto's images [0, n) split between threads (each output
 * element is written by one thread, so the split does not change it). */
static void run_split(rows_fn fn, const struct job *proto, int64_t n) {
  struct job jobs[MAX_THREADS];
  struct thread_arg args[MAX_THREADS];
  pthread_t threads[MAX_THREADS];
  int64_t count = cpu_count();
  const int64_t per_image = proto->h * proto->w * proto->c;
  while (count > 1 && count * MIN_PER_THREAD > n * per_image) count--;
  if (count > n) count = n;
  for (int64_t t = 0; t < count; t++) {
    jobs[t] = *proto;
    jobs[t].n0 = n * t / count;
    jobs[t].n1 = n * (t + 1) / count;
    args[t] = (struct thread_arg){fn, &jobs[t]};
  }
  /* This thread takes the first share; a thread that cannot start leaves
   * its share to this one. */
  int64_t started = 0;
  for (int64_t t = 1; t < count; t++) {
    if (pthread_create(&threads[t], NULL, rows_thread, &args[t]) != 0) break;
    started = t;
  }
  fn(&jobs[0]);
  for (int64_t t = started + 1; t < count; t++) fn(&jobs[t]);
  for (int64_t t = 1; t <= started; t++) pthread_join(threads[t], NULL);
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

/* DeepID2MaxPool2x2Grad (x, dy -> dx) and DeepID2MaxPool2x2BiasReluGrad
 * (x, y, dy -> dx, dz): told apart by their number of inputs. */
static void pool_grad_compute(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[3] = {NULL, NULL, NULL}, *dx = NULL, *dz = NULL;
  int64_t dims[4], pooled[4];
  const int relu = TF_NumInputs(ctx) == 3;
  const char *op = relu ? "DeepID2MaxPool2x2BiasReluGrad" : "DeepID2MaxPool2x2Grad";
  char shapes[160];
  snprintf(shapes, sizeof shapes, "%s: %s must be [N, H/2, W/2, C] of x's [N, H, W, C]",
           op, relu ? "y and dy" : "dy");
  get_inputs(ctx, in, relu ? 3 : 2, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!pool_dims(in[0], dims, pooled, op, status) ||
      !has_dims(in[1], pooled, shapes, status) ||
      (relu && !has_dims(in[2], pooled, shapes, status))) {
    goto done;
  }
  dx = TF_AllocateOutput(ctx, 0, TF_FLOAT, dims, 4, float_bytes(dims), status);
  if (relu && TF_GetCode(status) == TF_OK) {
    dz = TF_AllocateOutput(ctx, 1, TF_FLOAT, pooled, 4, float_bytes(pooled),
                           status);
  }
  if (TF_GetCode(status) != TF_OK || float_bytes(dims) == 0) goto done;
  const struct job proto = {
      .x = TF_TensorData(in[0]),
      .y = relu ? TF_TensorData(in[1]) : NULL,
      .dy = TF_TensorData(in[relu ? 2 : 1]),
      .dx = TF_TensorData(dx),
      .out = relu ? TF_TensorData(dz) : NULL,
      .h = dims[1],
      .w = dims[2],
      .c = dims[3],
  };
  run_split(pool_grad_rows, &proto, dims[0]);

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < 3; i++) TF_DeleteTensor(in[i]);
  TF_DeleteTensor(dx);
  TF_DeleteTensor(dz);
  TF_DeleteStatus(status);
}

static void pool_bias_relu_compute(void *kernel, TF_OpKernelContext *ctx) {
  (void)kernel;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *in[2] = {NULL, NULL}, *y = NULL;
  int64_t dims[4], pooled[4];
  get_inputs(ctx, in, 2, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (!pool_dims(in[0], dims, pooled, "DeepID2MaxPool2x2BiasRelu", status)) {
    goto done;
  }
  const int64_t nb = TF_NumDims(in[1]) == 1 ? TF_Dim(in[1], 0) : -1;
  if (nb != 0 && nb != dims[3]) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2MaxPool2x2BiasRelu: bias must be [C] of x's "
                 "[N, H, W, C], or [0] for none");
    goto done;
  }
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

/* dx has x's shape, dz y's. */
static void pool_bias_relu_grad_shape(TF_ShapeInferenceContext *ctx,
                                      TF_Status *status) {
  same_shape(ctx, 0, 0, status);
  if (TF_GetCode(status) == TF_OK) same_shape(ctx, 1, 1, status);
}

/* y: left unknown to shape inference (the kernel checks x and sizes y;
 * eager execution, the only caller, does not infer shapes). */
static void pool_bias_relu_shape(TF_ShapeInferenceContext *ctx,
                                 TF_Status *status) {
  TF_ShapeInferenceContextSetUnknownShape(ctx, status);
}

typedef void (*shape_fn)(TF_ShapeInferenceContext *, TF_Status *);
typedef void (*compute_fn)(void *, TF_OpKernelContext *);

/* Registers op `name` (inputs, outputs: "name: float" each) and its CPU
 * kernel; 1 on success, else prints why. */
static int register_op(const char *name, const char *const *inputs,
                       const char *const *outputs, shape_fn shape,
                       compute_fn compute) {
  TF_Status *status = TF_NewStatus();
  TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(name);
  for (; *inputs; inputs++) TF_OpDefinitionBuilderAddInput(op, *inputs);
  for (; *outputs; outputs++) TF_OpDefinitionBuilderAddOutput(op, *outputs);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, shape);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    char builder[128];
    snprintf(builder, sizeof builder, "%sCPU", name);
    TF_KernelBuilder *k = TF_NewKernelBuilder(name, "CPU", NULL, compute, NULL);
    TF_RegisterKernelBuilder(builder, k, status);
  }
  const int ok = TF_GetCode(status) == TF_OK;
  if (!ok) {
    fprintf(stderr, "deepid2_kernels: registering %s failed: %s\n", name,
            TF_Message(status));
  }
  TF_DeleteStatus(status);
  return ok;
}

__attribute__((constructor)) static void register_kernels(void) {
  static const char *const pool_grad_in[] = {"x: float", "dy: float", NULL};
  static const char *const pool_grad_out[] = {"dx: float", NULL};
  static const char *const fwd_in[] = {"x: float", "bias: float", NULL};
  static const char *const fwd_out[] = {"y: float", NULL};
  static const char *const grad_in[] = {"x: float", "y: float", "dy: float",
                                        NULL};
  static const char *const grad_out[] = {"dx: float", "dz: float", NULL};
  registered =
      register_op("DeepID2MaxPool2x2Grad", pool_grad_in, pool_grad_out,
                  pool_grad_shape, pool_grad_compute) &&
      register_op("DeepID2MaxPool2x2BiasRelu", fwd_in, fwd_out,
                  pool_bias_relu_shape, pool_bias_relu_compute) &&
      register_op("DeepID2MaxPool2x2BiasReluGrad", grad_in, grad_out,
                  pool_bias_relu_grad_shape, pool_grad_compute);
}

/* For the loader (Deno.dlopen): 1 when the kernels are registered. */
__attribute__((visibility("default"))) int32_t deepid2_kernels_registered(void) {
  return registered;
}

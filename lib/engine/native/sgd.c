/*
 * DeepID2Sgd: one SGD step with momentum and weight decay on every
 * parameter at once, in place on TensorFlow resource variables (registered
 * by deepid2_kernels.c; lib/engine/native_sgd.ts calls it).
 *
 * DeepID2Sgd(params: N * resource, velocities: N * resource,
 *            grads: N * float, hp: float [3] = (lr, momentum, weight decay);
 *            N: int, decay: list(bool) of length N)
 *
 * For every element of parameter i, in float32 with each operation rounded
 * on its own (no fused multiply-add; -std=c11 keeps GCC from contracting):
 *
 *   gd = decay[i] ? g + wd * p : g
 *   v  = mu * v - lr * gd
 *   p  = p + v
 *
 * which is the tfjs update of lib/engine/native_sgd.ts's momentumStep
 * (the other backends'), operation for operation, so the two give the same
 * bits. TensorFlow's own ops took one ResourceApplyKerasMomentum per
 * parameter and one ResourceApplyGradientDescent more per decayed one (the
 * decay folded into the velocity: the same update in exact arithmetic, an
 * ulp or two apart in float32), about 30 eager dispatches and two passes
 * over the decayed weights; this is one dispatch and one pass, split
 * between the threads of runtime.c's pool by element ranges.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "deepid2_kernels.h"
#include "tensorflow/c/kernels_experimental.h"

#define MAX_PARAMS 64
#define SGD_CHUNK (16 * 1024) /* elements per unit */

struct sgd_attrs {
  int32_t n;
  unsigned char decay[MAX_PARAMS];
};

static void *sgd_create(TF_OpKernelConstruction *ctx) {
  struct sgd_attrs *a = calloc(1, sizeof *a);
  TF_Status *status = TF_NewStatus();
  TF_OpKernelConstruction_GetAttrInt32(ctx, "N", &a->n, status);
  if (TF_GetCode(status) == TF_OK && (a->n < 1 || a->n > MAX_PARAMS)) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2Sgd: N must be 1 to 64 parameters");
  }
  if (TF_GetCode(status) == TF_OK) {
    TF_Bool flags[MAX_PARAMS];
    TF_OpKernelConstruction_GetAttrBoolList(ctx, "decay", flags, a->n,
                                            status);
    for (int i = 0; i < a->n; i++) a->decay[i] = flags[i];
  }
  if (TF_GetCode(status) != TF_OK) TF_OpKernelConstruction_Failure(ctx, status);
  TF_DeleteStatus(status);
  return a;
}

static void sgd_delete(void *a) { free(a); }

/* Copies made so far (for the tests: training should make none). */
static atomic_int_fast64_t copies;

/* Copy-on-write of a variable whose buffer is shared, which TensorFlow
 * calls before handing out the buffer to write. TensorFlow's C API
 * (PrepareToUpdateVariable) never frees its references to the two
 * tensors it passes here, so the copy is never freed and the variable's
 * buffer stays shared: once one copy is made, every later update makes
 * another. lib/engine/native_sgd.ts keeps variables' buffers unshared, so
 * that none is made. */
static void copy_tensor(TF_OpKernelContext *ctx, TF_Tensor *source,
                        TF_Tensor *dest) {
  (void)ctx;
  atomic_fetch_add(&copies, 1);
  memcpy(TF_TensorData(dest), TF_TensorData(source), TF_TensorByteSize(source));
}

/* For the tests: how many variables DeepID2Sgd had to copy first. */
__attribute__((visibility("default"))) int64_t deepid2_sgd_copies(void) {
  return atomic_load(&copies);
}

struct sgd_job {
  int32_t n;
  float *p[MAX_PARAMS], *v[MAX_PARAMS];
  const float *g[MAX_PARAMS];
  int64_t size[MAX_PARAMS], first[MAX_PARAMS + 1]; /* unit ranges */
  const unsigned char *decay;
  float lr, mu, wd;
};

/* Unit u: SGD_CHUNK elements of one parameter. */
static void sgd_unit(void *arg, int64_t u) {
  const struct sgd_job *j = arg;
  int i = 0;
  while (u >= j->first[i + 1]) i++;
  const int64_t e0 = (u - j->first[i]) * SGD_CHUNK;
  const int64_t e1 = e0 + SGD_CHUNK < j->size[i] ? e0 + SGD_CHUNK : j->size[i];
  float *restrict p = j->p[i], *restrict v = j->v[i];
  const float *restrict g = j->g[i];
  const float lr = j->lr, mu = j->mu, wd = j->wd;
  if (j->decay[i]) {
    for (int64_t e = e0; e < e1; e++) {
      const float wp = wd * p[e];
      const float gd = g[e] + wp;
      const float mv = mu * v[e];
      const float lg = lr * gd;
      v[e] = mv - lg;
      p[e] = p[e] + v[e];
    }
  } else {
    for (int64_t e = e0; e < e1; e++) {
      const float mv = mu * v[e];
      const float lg = lr * g[e];
      v[e] = mv - lg;
      p[e] = p[e] + v[e];
    }
  }
}

static void sgd_compute(void *kernel, TF_OpKernelContext *ctx) {
  const struct sgd_attrs *at = kernel;
  const int n = at->n;
  TF_Status *status = TF_NewStatus();
  TF_Tensor *p[MAX_PARAMS] = {0}, *v[MAX_PARAMS] = {0}, *g[MAX_PARAMS] = {0};
  TF_Tensor *hp = NULL;
  struct sgd_job job = {.n = n, .decay = at->decay};
  for (int i = 0; i < n && TF_GetCode(status) == TF_OK; i++) {
    TF_GetInputTensorFromVariable(ctx, i, 0, 0, 0, copy_tensor, &p[i], status);
    if (TF_GetCode(status) == TF_OK) {
      TF_GetInputTensorFromVariable(ctx, n + i, 0, 0, 0, copy_tensor, &v[i],
                                    status);
    }
    if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 2 * n + i, &g[i], status);
  }
  if (TF_GetCode(status) == TF_OK) TF_GetInput(ctx, 3 * n, &hp, status);
  if (TF_GetCode(status) != TF_OK) goto done;
  if (TF_TensorElementCount(hp) != 3 || TF_TensorType(hp) != TF_FLOAT) {
    TF_SetStatus(status, TF_INVALID_ARGUMENT,
                 "DeepID2Sgd: hp must be float [3]: lr, momentum, weight decay");
    goto done;
  }
  const float *h = TF_TensorData(hp);
  job.lr = h[0];
  job.mu = h[1];
  job.wd = h[2];
  job.first[0] = 0;
  for (int i = 0; i < n; i++) {
    const int64_t size = TF_TensorElementCount(p[i]);
    if (TF_TensorType(p[i]) != TF_FLOAT || TF_TensorType(v[i]) != TF_FLOAT ||
        TF_TensorType(g[i]) != TF_FLOAT ||
        TF_TensorElementCount(v[i]) != size ||
        TF_TensorElementCount(g[i]) != size) {
      char msg[160];
      snprintf(msg, sizeof msg,
               "DeepID2Sgd: parameter %d, its velocity and its gradient must "
               "be float32 of one size",
               i);
      TF_SetStatus(status, TF_INVALID_ARGUMENT, msg);
      goto done;
    }
    job.p[i] = TF_TensorData(p[i]);
    job.v[i] = TF_TensorData(v[i]);
    job.g[i] = TF_TensorData(g[i]);
    job.size[i] = size;
    job.first[i + 1] = job.first[i] + (size + SGD_CHUNK - 1) / SGD_CHUNK;
  }
  deepid2_parallel_for(job.first[n], sgd_unit, &job,
                       8.0 * (double)job.first[n] * SGD_CHUNK);

done:
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(ctx, status);
  for (int i = 0; i < n; i++) {
    TF_DeleteTensor(p[i]);
    TF_DeleteTensor(v[i]);
    TF_DeleteTensor(g[i]);
  }
  TF_DeleteTensor(hp);
  TF_DeleteStatus(status);
}

static void sgd_shape(TF_ShapeInferenceContext *ctx, TF_Status *status) {
  (void)ctx;
  (void)status;
}

int deepid2_register_sgd(void) {
  static const char *const in[] = {"params: N * resource",
                                   "velocities: N * resource",
                                   "grads: N * float", "hp: float", NULL};
  static const char *const out[] = {NULL};
  static const char *const attrs[] = {"N: int >= 1", "decay: list(bool)",
                                      NULL};
  const struct deepid2_op op = {
      .name = "DeepID2Sgd", .inputs = in, .outputs = out, .attrs = attrs,
      .shape = sgd_shape, .create = sgd_create, .compute = sgd_compute,
      .destroy = sgd_delete, .stateful = 1};
  return deepid2_register_op(&op);
}

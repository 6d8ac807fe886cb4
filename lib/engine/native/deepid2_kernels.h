/*
 * What the files of libdeepid2_kernels share: TensorFlow's C kernel and op
 * API, and the registration of each file's ops (called by the library's
 * constructor in deepid2_kernels.c).
 */
#ifndef DEEPID2_KERNELS_H
#define DEEPID2_KERNELS_H

#include <stdint.h>
#include <stdio.h>

#include "tensorflow/c/kernels.h"
/* ops.h declares its handle types C++-style (struct X;): name them for C. */
typedef struct TF_DimensionHandle TF_DimensionHandle;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
#include "tensorflow/c/ops.h"

/* runtime.c: a pool of worker threads (the CPUs this process may run on,
 * at most 8, or DEEPID2_KERNEL_THREADS (1-8); started on first use) shared
 * by every kernel of the library.
 * deepid2_parallel_for runs fn(ctx, u) once for each u in [0, units), on
 * the calling thread and the pool's; `flops` (the call's work) keeps small
 * calls on the calling thread. Kernels give each unit outputs of its own,
 * computed in a fixed order, so the split never changes a result. */
typedef void (*deepid2_unit_fn)(void *ctx, int64_t unit);
void deepid2_parallel_for(int64_t units, deepid2_unit_fn fn, void *ctx,
                          double flops);

/* An op and its CPU kernel: NULL-terminated lists of "name: type" inputs
 * and outputs and of attrs (attrs may be NULL); create/destroy may be NULL
 * (a kernel without attrs). */
struct deepid2_op {
  const char *name;
  const char *const *inputs, *const *outputs, *const *attrs;
  void (*shape)(TF_ShapeInferenceContext *, TF_Status *);
  void *(*create)(TF_OpKernelConstruction *);
  void (*compute)(void *, TF_OpKernelContext *);
  void (*destroy)(void *);
  int stateful;
};

/* runtime.c: registers an op and its kernel in the loaded TensorFlow; 1 on
 * success, else prints why. */
int deepid2_register_op(const struct deepid2_op *op);

/* pooling.c: the pooling ops; 1 on success. */
int deepid2_register_pooling(void);

/* products.c: DeepID2LocallyShared and its gradient; 1 on success. */
int deepid2_register_products(void);

/* products.c: the vector path its products run ("avx512", "avx2" or
 * "scalar"; every path gives the same bits). */
const char *deepid2_products_isa(void);

/* runtime.c: the widest vector instructions the kernels may use: 2
 * AVX-512, 1 AVX2 with FMA, 0 neither; what the CPU has, capped by
 * DEEPID2_KERNEL_ISA (avx512, avx2 or base). No path changes a result. */
int deepid2_isa_level(void);

/* runtime.c: the same, from the CPU alone (no cap). */
int deepid2_cpu_level(void);

/* sgd.c: DeepID2Sgd; 1 on success. */
int deepid2_register_sgd(void);

#endif

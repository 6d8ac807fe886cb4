/*
 * deepid2_kernels: TensorFlow CPU kernels of our own, registered through
 * TensorFlow's C kernel and op API (tensorflow/c/kernels.h, ops.h) when
 * lib/engine/native_kernels.ts loads this library (Deno.dlopen; its
 * constructor registers them in the process's libtensorflow). Built by
 * lib/engine/native/build.sh next to libtensorflow (deps/lib/), from this
 * file, which includes the others (one translation unit: TensorFlow 2.18's
 * kernels.h defines a constant, TF_InputRange_Args_STRUCT_SIZE, in the
 * header itself, which two units including it would both define):
 *
 *   runtime.c   the thread pool, the vector path, op registration
 *   pooling.c   DeepID2MaxPool2x2Grad, DeepID2MaxPool2x2BiasRelu[Grad]
 *   products.c  DeepID2LocallyShared[Grad]: our GEMM and the layers on it
 *   sgd.c       DeepID2Sgd: one SGD step on every parameter
 */
#include "runtime.c"
#include "pooling.c"
#include "products.c"
#include "sgd.c"

/* 1 once every op and its CPU kernel are registered. */
static int registered = 0;

__attribute__((constructor)) static void register_kernels(void) {
  registered = deepid2_register_pooling() && deepid2_register_products() &&
               deepid2_register_sgd();
}

/* For the loader (Deno.dlopen): 1 when the kernels are registered. */
__attribute__((visibility("default"))) int32_t deepid2_kernels_registered(void) {
  return registered;
}

/* For the loader: the vector path of the products (products.c). */
__attribute__((visibility("default"))) const char *deepid2_kernels_isa(void) {
  return deepid2_products_isa();
}

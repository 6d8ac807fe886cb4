/*
 * What the kernels of the library (deepid2_kernels.c) share: the thread pool
 * they split their work over, the vector path they may use, and the
 * registration of an op and its kernel with the loaded TensorFlow.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepid2_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ------------------------------------------------------------------ */
/* A pool of worker threads, started once, shared by every call.       */

#define MAX_THREADS 8

typedef deepid2_unit_fn unit_fn;

/* One parallel call. Workers that join it take units from `next`; the
 * caller takes units too, and never waits for a worker that has not joined
 * (a sleeping worker's wake-up can take longer than the work): it runs
 * what is left itself, waits for the units already taken, withdraws the
 * job and waits for the workers that joined to leave it. */
struct pool_job {
  unit_fn fn;
  void *ctx;
  int64_t units;
  atomic_int_fast64_t next; /* the next unit to take */
  atomic_int_fast64_t done; /* units finished */
  int joined;               /* workers in this job (under pool.m) */
};

static struct {
  pthread_mutex_t busy; /* one parallel call at a time */
  pthread_mutex_t m;
  pthread_cond_t wake, left, finished;
  int workers;          /* started */
  atomic_uint_fast64_t generation;
  struct pool_job *job;      /* the call on offer, or NULL (under m) */
} pool = {
    .busy = PTHREAD_MUTEX_INITIALIZER,
    .m = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .left = PTHREAD_COND_INITIALIZER,
    .finished = PTHREAD_COND_INITIALIZER,
};

static void run_units(struct pool_job *j) {
  int64_t u;
  while ((u = atomic_fetch_add(&j->next, 1)) < j->units) {
    j->fn(j->ctx, u);
    if (atomic_fetch_add(&j->done, 1) + 1 == j->units) {
      pthread_mutex_lock(&pool.m);
      pthread_cond_broadcast(&pool.finished);
      pthread_mutex_unlock(&pool.m);
    }
  }
}

static void *worker(void *arg) {
  (void)arg;
  uint64_t seen = 0;
#if defined(__x86_64__)
  /* Denormals flushed to zero, as TensorFlow runs every kernel (its
   * ScopedFlushDenormal, on the calling thread too): a unit gives the same
   * bits on any thread, and tiny values do not take the slow path. */
  _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ | DAZ */
#endif
  for (;;) {
    /* Spin a little first: calls come in bursts (a training step). */
    uint64_t g = atomic_load(&pool.generation);
    for (int spin = 0; g == seen && spin < 2000; spin++) {
#if defined(__x86_64__)
      _mm_pause();
#endif
      g = atomic_load(&pool.generation);
    }
    pthread_mutex_lock(&pool.m);
    while ((g = atomic_load(&pool.generation)) == seen) {
      pthread_cond_wait(&pool.wake, &pool.m);
    }
    seen = g;
    struct pool_job *j = pool.job;
    if (j) j->joined++;
    pthread_mutex_unlock(&pool.m);
    if (!j) continue;
    run_units(j);
    pthread_mutex_lock(&pool.m);
    if (--j->joined == 0) pthread_cond_signal(&pool.left);
    pthread_mutex_unlock(&pool.m);
  }
  return NULL;
}

static int cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void start_pool(void) {
  int threads = cpus();
  const char *asked = getenv("DEEPID2_KERNEL_THREADS");
  if (asked && atoi(asked) >= 1 && atoi(asked) <= MAX_THREADS) {
    threads = atoi(asked);
  }
  const int want = threads - 1;
  for (int i = 0; i < want; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, NULL) == 0) pool.workers++;
    pthread_attr_destroy(&attr);
  }
}

void deepid2_parallel_for(int64_t units, unit_fn fn, void *ctx, double flops) {
  pthread_once(&pool_once, start_pool);
  if (units <= 1 || flops < 2e5 || pool.workers == 0 ||
      pthread_mutex_trylock(&pool.busy) != 0) {
    for (int64_t u = 0; u < units; u++) fn(ctx, u);
    return;
  }
  struct pool_job j = {.fn = fn, .ctx = ctx, .units = units};
  atomic_init(&j.next, 0);
  atomic_init(&j.done, 0);
  pthread_mutex_lock(&pool.m);
  pool.job = &j;
  atomic_fetch_add(&pool.generation, 1);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.m);
  run_units(&j);
  /* Every unit is taken: wait for those still running elsewhere, briefly
   * spinning, then asleep (a worker can be descheduled mid-unit: spinning
   * on would keep it from its core). */
  for (int spin = 0; atomic_load(&j.done) < units && spin < 2000; spin++) {
#if defined(__x86_64__)
    _mm_pause();
#endif
  }
  pthread_mutex_lock(&pool.m);
  while (atomic_load(&j.done) < units) {
    pthread_cond_wait(&pool.finished, &pool.m);
  }
  pool.job = NULL;
  while (j.joined > 0) pthread_cond_wait(&pool.left, &pool.m);
  pthread_mutex_unlock(&pool.m);
  pthread_mutex_unlock(&pool.busy);
}

/* ------------------------------------------------------------------ */
/* The vector path and the registration.                               */

int deepid2_cpu_level(void) {
  int l = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = 1;
  if (l == 1 && __builtin_cpu_supports("avx512f")) l = 2;
#endif
  return l;
}

int deepid2_isa_level(void) {
  static int level = -1;
  if (level >= 0) return level;
  int l = deepid2_cpu_level();
  const char *cap = getenv("DEEPID2_KERNEL_ISA");
  if (cap) {
    const int c = strcmp(cap, "avx512") == 0 ? 2 : strcmp(cap, "avx2") == 0 ? 1 : 0;
    if (c < l) l = c;
  }
  level = l;
  return level;
}

int deepid2_register_op(const struct deepid2_op *spec) {
  TF_Status *status = TF_NewStatus();
  TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(spec->name);
  for (const char *const *i = spec->inputs; *i; i++) {
    TF_OpDefinitionBuilderAddInput(op, *i);
  }
  for (const char *const *o = spec->outputs; *o; o++) {
    TF_OpDefinitionBuilderAddOutput(op, *o);
  }
  for (const char *const *a = spec->attrs; a && *a; a++) {
    TF_OpDefinitionBuilderAddAttr(op, *a);
  }
  if (spec->stateful) TF_OpDefinitionBuilderSetIsStateful(op, 1);
  TF_OpDefinitionBuilderSetShapeInferenceFunction(op, spec->shape);
  TF_RegisterOpDefinition(op, status);
  if (TF_GetCode(status) == TF_OK) {
    char builder[128];
    snprintf(builder, sizeof builder, "%sCPU", spec->name);
    TF_KernelBuilder *k = TF_NewKernelBuilder(
        spec->name, "CPU", spec->create, spec->compute, spec->destroy);
    TF_RegisterKernelBuilder(builder, k, status);
  }
  const int ok = TF_GetCode(status) == TF_OK;
  if (!ok) {
    fprintf(stderr, "deepid2_kernels: registering %s failed: %s\n",
            spec->name, TF_Message(status));
  }
  TF_DeleteStatus(status);
  return ok;
}


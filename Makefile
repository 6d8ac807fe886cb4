# deepid2 — entry points. Uses `deno` from PATH, or installs the pinned Deno
# from the npm package `deno` into .tools/ (ignored) on first use.
DENO_VERSION := 2.9.6
DENO := $(shell command -v deno 2>/dev/null || echo .tools/node_modules/.bin/deno)
ARGS ?=

.PHONY: reproduce tables test bench fmt lint check deno tensorflow tensorflow-gpu slurm-test

# The native backend first where it can be built (quietly; wasm otherwise).
reproduce: deno
	@if $(MAKE) --no-print-directory tensorflow >/dev/null 2>&1; then \
	  echo "reproduce: native TensorFlow backend ready (.tensorflow/)"; \
	else \
	  echo "reproduce: the native TensorFlow backend could not be built (log: .tensorflow/build-cpu.log); running on wasm"; \
	fi
	$(DENO) task reproduce $(ARGS)
	$(DENO) task tables

tables: deno
	$(DENO) task tables

test: deno
	$(DENO) install --frozen
	$(DENO) task test

bench: deno
	$(DENO) task bench $(ARGS)

fmt lint: deno
	$(DENO) $@

check: deno
	$(DENO) check lib datasets experiments

deno:
	@if [ ! -x "$(DENO)" ]; then \
	  echo "installing deno $(DENO_VERSION) from npm into .tools/"; \
	  mkdir -p .tools && npm install --prefix .tools --no-audit --no-fund --silent deno@$(DENO_VERSION); \
	fi

# The native TensorFlow backend (--backend tensorflow / tensorflow-gpu) in
# .tensorflow/ (ignored), idempotent: the CPU backend with libtensorflow
# 2.18.0 from TensorFlow's wheel on PyPI and our own kernels
# (lib/engine/native/); `make tensorflow LIBTENSORFLOW=2.9.1` builds it
# against 2.9.1 (the package's own install where its download host is
# reachable, else the 2.9.1 wheel) instead. The GPU backend runs 2.9.1
# (docs/real_data_gpu.md, "The native TensorFlow backend").
LIBTENSORFLOW ?= 2.18.0
tensorflow: deno
	LIBTENSORFLOW=$(LIBTENSORFLOW) DENO=$(DENO) bash lib/engine/native/build.sh cpu

tensorflow-gpu: deno
	DENO=$(DENO) bash lib/engine/native/build.sh gpu

# The sweep as a Slurm job array on a real one-node Slurm started on this
# machine (as root; installs slurm-wlm and munge with apt where missing):
# the smoke profile's array with one task killed and resubmitted, every
# result CSV compared byte for byte with a local run (docs/cluster.md).
# Not part of `make test`.
slurm-test: deno
	DENO=$(DENO) bash experiments/slurm_cluster_test.sh

#!/usr/bin/env bash
# Installs the native TensorFlow backend (@tensorflow/tfjs-node or -gpu) into
# .tensorflow/<kind>/ for `--backend tensorflow|tensorflow-gpu` (lib/engine/native.ts).
#
#   lib/engine/native/build.sh cpu|gpu        (what `make tensorflow[-gpu]` runs)
#   LIBTENSORFLOW=2.9.1 lib/engine/native/build.sh cpu   (`make tensorflow LIBTENSORFLOW=2.9.1`)
#
# The CPU backend runs libtensorflow 2.18.0 by default, the GPU backend 2.9.1
# (the last release whose C library tfjs-node-gpu 4.22 was built for, CUDA
# 11). LIBTENSORFLOW=2.9.1 builds the CPU backend against 2.9.1 instead.
#
# 2.9.1, route 1, the package's own: `npm install` with its install script,
# which downloads libtensorflow 2.9.1 and the prebuilt addon from
# storage.googleapis.com. Route 2, when that fails (or NATIVE_ROUTE=wheel):
# the C library and headers of the same TensorFlow 2.9.1 from its Python wheel
# on PyPI (pip download, no Python install: a wheel is a zip), then the addon
# built from the package's sources with node-gyp against them. In the 2.9
# wheels the C and eager C API (TF_*, TFE_*) is exported by
# tensorflow/python/_pywrap_tensorflow_internal.so (versioned @@tensorflow,
# beside libtensorflow_framework.so.2); that object leaves its Python C API
# references (Py*, 187 of them) to the interpreter, so a generated stub
# library that defines them (and aborts if one is ever called: the C API
# never does) is linked into the addon.
#
# 2.18.0 (CPU only) always takes route 2 (the install script only knows
# 2.9.1), from the 2.18.0 wheel. There the C and eager C API live in
# tensorflow/libtensorflow_cc.so.2, which needs no Python, so no stub.
# tfjs-node 4.22's binding builds against its headers and the test suite
# passes on it. A model's cache key names the library when it is not 2.9.1.
#
# For gpu, the CUDA 11 / cuDNN 8 runtime libraries come from NVIDIA's PyPI wheels
# too (CUDA_LIBS=pip, the default; CUDA_LIBS=system to use the machine's).
#
# Idempotent: a finished install writes .tensorflow/<kind>.json; a second run with
# the same recipe (versions, hashes, this script) only re-checks the links into
# the project's node_modules and, until it has passed once, the Deno check.
# Environment: NATIVE_ROUTE=auto|npm|wheel (default auto: the install script
# unless its host is unreachable), CUDA_LIBS=pip|system, DENO (deno for the final
# check), JOBS (compile jobs, default 2). Log: .tensorflow/build-<kind>.log.
set -euo pipefail

KIND=${1:-cpu}
if [ "$KIND" = gpu ]; then TF_VERSION=${LIBTENSORFLOW:-2.9.1}; else TF_VERSION=${LIBTENSORFLOW:-2.18.0}; fi
case "$KIND" in
  cpu) PKG=tfjs-node WHEEL_NAME=tensorflow-cpu NAME=tensorflow ;;
  gpu) PKG=tfjs-node-gpu WHEEL_NAME=tensorflow NAME=tensorflow-gpu ;;
  *) echo "usage: [LIBTENSORFLOW=2.18.0|2.9.1] $0 cpu|gpu" >&2; exit 2 ;;
esac
# Per library: the wheel's sha256, and which of its objects exports the C API.
case "$KIND/$TF_VERSION" in
  cpu/2.9.1) WHEEL_SHA256=6666ddeae45e1f41da788cb4bdea3435aba16edb0bc17b7ac00631c7c9eb052e
             CAPI_LIB=python/_pywrap_tensorflow_internal.so ;;
  gpu/2.9.1) WHEEL_SHA256=add2f4e55fd7209a5cb01d815364adc9827184d74a83c2f1616c72be2e85c8b7
             CAPI_LIB=python/_pywrap_tensorflow_internal.so ;;
  cpu/2.18.0) WHEEL_SHA256=9f98466fde4a307d39b71309b1a9a8a4f1bb972e70d36b1ead0817405cc518f2
              CAPI_LIB=libtensorflow_cc.so.2 ;;
  *) echo "$0: no recipe for libtensorflow $TF_VERSION ($KIND): LIBTENSORFLOW=2.18.0 (cpu) or 2.9.1 (cpu, gpu)" >&2
     exit 2 ;;
esac
CAPI_NAME=$(basename "$CAPI_LIB")

# Pinned recipe. tfjs-node 4.22.0 is built for libtensorflow 2.9.1
# (scripts/deps-constants.js LIBTENSORFLOW_VERSION); the wheel is the same release.
TFJS_VERSION=4.22.0
WHEEL_PY=3.10 WHEEL_ABI=cp310 WHEEL_PLATFORM=manylinux2014_x86_64
WHEEL_FILE=${WHEEL_NAME//-/_}-$TF_VERSION-$WHEEL_ABI-$WHEEL_ABI-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
NAPI_BUILD_VERSION=8 # highest of the package's binary.napi_versions; lib/napi-v8/
# GPU: TensorFlow 2.9 was built against CUDA 11.2 and cuDNN 8.1 and dlopens the
# CUDA 11 runtime libraries (libcudart.so.11.0, libcublas.so.11, libcublasLt.so.11,
# libcufft.so.10, libcurand.so.10, libcusolver.so.11, libcusparse.so.11,
# libcudnn.so.8), searching its own folder first. With CUDA_LIBS=pip (the default
# for gpu) they come from NVIDIA's wheels on PyPI (CUDA 11.8 and cuDNN 8.6, which
# CUDA's and cuDNN's minor-version compatibility allow for an 11.2/8.1 build) into
# deps/lib, so only the NVIDIA driver is needed (>= 450.80.02, the CUDA 11 minimum;
# >= 520 recommended for 11.8); CUDA_LIBS=system uses the machine's CUDA 11.2+ and
# cuDNN 8.1+ libraries (LD_LIBRARY_PATH or the system loader path).
CUDA_LIBS=${CUDA_LIBS:-pip}
CUDA_WHEELS="
nvidia_cuda_runtime_cu11-11.8.89-py3-none-manylinux2014_x86_64.whl 92d04069a987e1fbc9213f8376d265df0f7bb42617d44f5eda1f496acea7f2d1
nvidia_cublas_cu11-11.11.3.6-py3-none-manylinux2014_x86_64.whl 60252822adea5d0b10cd990a7dc7bedf7435f30ae40083c7a624a85a43225abc
nvidia_cufft_cu11-10.9.0.58-py3-none-manylinux2014_x86_64.whl e21037259995243cc370dd63c430d77ae9280bedb68d5b5a18226bfc92e5d748
nvidia_curand_cu11-10.3.0.86-py3-none-manylinux2014_x86_64.whl cd4cffbf78bb06580206b4814d5dc696d1161c902aae37b2bba00056832379e6
nvidia_cusolver_cu11-11.4.1.48-py3-none-manylinux2014_x86_64.whl ea9fb1ad8c644ca9ed55af13cc39af3b7ba4c3eb5aef18471fe1fe77d94383cb
nvidia_cusparse_cu11-11.7.5.86-py3-none-manylinux2014_x86_64.whl 8d7cf1628fd8d462b5d2ba6678fae34733a48ecb80495b9c68672ec6a6dde5ef
nvidia_cudnn_cu11-8.6.0.163-py3-none-manylinux1_x86_64.whl add207b5fb149cfa02919b8f413364ff4ed348a202f6ae3d7922ae5303fa38a3
"
ROUTE=${NATIVE_ROUTE:-auto}
[ "$TF_VERSION" = 2.9.1 ] || ROUTE=wheel
JOBS=${JOBS:-2}

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TFDIR=$ROOT/.tensorflow
PREFIX=$TFDIR/$KIND
PKGDIR=$PREFIX/node_modules/@tensorflow/$PKG
STAMP=$TFDIR/$KIND.json
LOG=$TFDIR/build-$KIND.log
RECIPE="tfjs=$TFJS_VERSION tf=$TF_VERSION wheel=$WHEEL_FILE sha256=$WHEEL_SHA256 script=$(sha256sum "$0" | cut -c1-16)"
if [ "$KIND" = gpu ]; then RECIPE="$RECIPE cuda=$CUDA_LIBS"; fi

say() { echo "[make $NAME] $*" >&2; }
die() { say "FAILED: $*"; say "log: $LOG"; exit 1; }

mkdir -p "$TFDIR/cache"
# One build at a time per kind.
if command -v flock >/dev/null; then
  exec 9>"$TFDIR/.lock-$KIND"
  flock 9
fi

# Link the @tensorflow packages the project itself imports (deno.json, same
# version) to the project's node_modules, so that tfjs-node registers its backend
# and kernels in the very tfjs-core instance the project uses (no duplicates).
link_shared() {
  local dir=$PREFIX/node_modules/@tensorflow p
  for p in $(grep -o "npm:@tensorflow/tfjs[a-z-]*@$TFJS_VERSION" "$ROOT/deno.json" |
    sed 's|npm:@tensorflow/||; s|@.*||' | sort -u); do
    case $p in tfjs-node*) continue ;; esac
    [ -e "$dir/$p" ] || [ -L "$dir/$p" ] || continue # not a dependency of tfjs-node
    if [ "$(readlink "$dir/$p" || true)" != "../../../../node_modules/@tensorflow/$p" ]; then
      rm -rf "$dir/$p"
      ln -s "../../../../node_modules/@tensorflow/$p" "$dir/$p"
    fi
  done
}

installed() {
  [ -f "$STAMP" ] && grep -qF "\"recipe\": \"$RECIPE\"" "$STAMP" &&
    [ -f "$PKGDIR/lib/napi-v$NAPI_BUILD_VERSION/tfjs_binding.node" ]
}

# The last step, and the only one a finished install repeats until it passes:
# the backend under Deno, through the project's own selection (lib/engine/backend.ts).
deno_check() {
  if grep -q '"checked": true' "$STAMP"; then return 0; fi
  if [ "$KIND" = gpu ] && [ ! -e /proc/driver/nvidia/version ]; then
    say "no NVIDIA driver on this machine: built, but not checked on a GPU"
    return 0
  fi
  if [ -z "${DENO:-}" ] || ! (cd "$ROOT" && command -v "$DENO" >/dev/null); then
    say "no deno (DENO=...): built, but not checked under Deno"
    return 0
  fi
  (cd "$ROOT" && "$DENO" run -A lib/engine/native/check.ts "$NAME") >&2 ||
    die "the Deno check (deno run -A lib/engine/native/check.ts $NAME); the build itself is done"
  sed -i 's/"checked": false/"checked": true/' "$STAMP"
}

# Our own CPU kernels (lib/engine/native/deepid2_kernels.c and the files it
# includes, loaded by lib/engine/native_kernels.ts) as a library beside
# libtensorflow, compiled against its C kernel API; rebuilt when a source
# changes. Optional: where it cannot be built, the backend runs TensorFlow's
# stock kernels instead.
build_kernels() {
  [ "$KIND" = cpu ] || return 0
  local dir=$ROOT/lib/engine/native lib=$PKGDIR/deps/lib
  local out=$lib/libdeepid2_kernels.so sum
  sum=$(cat "$dir"/*.c "$dir"/*.h | sha256sum | cut -c1-16)
  if [ -f "$out" ] && [ "$(cat "$out.source" 2>/dev/null)" = "$sum" ]; then return 0; fi
  # -z nodelete: never unloaded, even when Deno closes its handle (a test
  # worker ending), as TensorFlow's registries keep pointers into it and a
  # reload would register its ops twice (fatal in TensorFlow).
  # One translation unit (deepid2_kernels.c includes the others). No
  # -march: the kernels pick their AVX-512 / AVX2 / SSE paths at load time,
  # so the library runs on any x86-64 host it is copied to. IS_SLIM_BUILD:
  # 2.18's kernels.h otherwise includes a rendezvous API we neither use nor
  # extract.
  if cc -shared -fPIC -O2 -std=c11 -D_GNU_SOURCE -DIS_SLIM_BUILD -Wall -I"$PKGDIR/deps/include" -L"$lib" \
    -Wl,-z,nodelete -o "$out.tmp" "$dir/deepid2_kernels.c" -ltensorflow -ltensorflow_framework -lpthread -lm >>"$LOG" 2>&1; then
    mv "$out.tmp" "$out"
    echo "$sum" >"$out.source"
    say "built our own kernels ($(basename "$out"))"
  else
    rm -f "$out.tmp" "$out" "$out.source"
    say "could not compile lib/engine/native/*.c (log: $LOG): TensorFlow's stock kernels run instead"
  fi
}

if installed; then
  link_shared
  build_kernels
  if grep -q '"checked": true' "$STAMP"; then
    say "already installed ($(sed -n 's/.*"route": "\(.*\)".*/\1/p' "$STAMP") route); nothing to do"
  fi
  deno_check
  exit 0
fi

START=$(date +%s)
: >"$LOG"
rm -f "$STAMP"
rm -rf "$PREFIX/node_modules" # a clean tree (its links only point into the project)
mkdir -p "$PREFIX"
cat >"$PREFIX/package.json" <<EOF
{ "private": true, "dependencies": { "@tensorflow/$PKG": "$TFJS_VERSION" } }
EOF
NPM="npm --prefix $PREFIX --no-audit --no-fund --no-update-notifier"

used=""
# The install script has no timeouts: probe its host first (10 s), unless a
# proxy or mirror (TFJS_NODE_CDN_STORAGE, TFJS_NODE_BASE_URI) is configured.
if [ "$ROUTE" = auto ] && [ -z "${HTTPS_PROXY:-}${https_proxy:-}${TFJS_NODE_CDN_STORAGE:-}${TFJS_NODE_BASE_URI:-}" ]; then
  probe=$(node -e "
    const r = require('https').request({ host: 'storage.googleapis.com', method: 'HEAD', path: '/', timeout: 10000 },
      () => process.exit(0));
    r.on('timeout', () => { console.log('timeout after 10 s'); process.exit(1); });
    r.on('error', (e) => { console.log(e.message); process.exit(1); });
    r.end();" 2>&1) || {
    say "route 1 skipped: storage.googleapis.com (libtensorflow's download host) is unreachable: $probe"
    ROUTE=wheel
  }
fi
if [ "$ROUTE" != wheel ]; then
  say "route 1: npm install @tensorflow/$PKG@$TFJS_VERSION with its install script (downloads libtensorflow $TF_VERSION)"
  if timeout 900 $NPM install >>"$LOG" 2>&1 && [ -f "$PKGDIR/lib/napi-v$NAPI_BUILD_VERSION/tfjs_binding.node" ]; then
    used=npm
  else
    err=$(grep -m1 -E 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|Error:' "$LOG" || echo "see log")
    say "route 1 failed: ${err#npm error }"
    [ "$ROUTE" = npm ] && die "route 1 (npm install script) failed"
  fi
fi

if [ -z "$used" ]; then
  say "route 2: libtensorflow from the $WHEEL_NAME==$TF_VERSION wheel (PyPI), addon built with node-gyp"
  $NPM install --ignore-scripts >>"$LOG" 2>&1 || die "npm install --ignore-scripts @tensorflow/$PKG@$TFJS_VERSION"

  wheel=$TFDIR/cache/$WHEEL_FILE
  if [ ! -f "$wheel" ] || ! echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status; then
    say "downloading $WHEEL_FILE"
    pip=$(command -v pip3 || command -v pip || true)
    [ -n "$pip" ] || die "pip is needed to fetch the wheel (python3 -m ensurepip, or apt install python3-pip)"
    "$pip" download --no-deps --only-binary=:all: --python-version "$WHEEL_PY" \
      --implementation cp --abi "$WHEEL_ABI" --platform "$WHEEL_PLATFORM" \
      -d "$TFDIR/cache" "$WHEEL_NAME==$TF_VERSION" >>"$LOG" 2>&1 ||
      die "pip download $WHEEL_NAME==$TF_VERSION"
    echo "$WHEEL_SHA256  $wheel" | sha256sum -c --status ||
      die "sha256 of $wheel is not the pinned $WHEEL_SHA256"
  fi

  say "extracting the C API headers and libraries"
  tmp=$TFDIR/tmp-$KIND
  rm -rf "$tmp" "$PKGDIR/deps"
  mkdir -p "$tmp" "$PKGDIR/deps/lib" "$PKGDIR/deps/include"
  python3 - "$wheel" "$tmp" "$CAPI_LIB" <<'EOF' || die "unpacking the wheel"
import sys, zipfile
names = ["tensorflow/libtensorflow_framework.so.2", "tensorflow/" + sys.argv[3]]
# The C headers; ctstring.h moved to tsl/ after 2.9 (and xla/tsl/c/ holds
# headers the 2.18 C API includes).
heads = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/ctstring",
         "tensorflow/include/tsl/platform/ctstring", "tensorflow/include/tsl/c/", "tensorflow/include/xla/tsl/c/",
         "tensorflow/include/tsl/platform/platform.h")
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n in names or n.startswith(heads):
            z.extract(n, sys.argv[2])
EOF
  for d in tensorflow tsl xla; do
    if [ -d "$tmp/tensorflow/include/$d" ]; then mv "$tmp/tensorflow/include/$d" "$PKGDIR/deps/include/"; fi
  done
  mv "$tmp/tensorflow/libtensorflow_framework.so.2" "$tmp/tensorflow/$CAPI_LIB" "$PKGDIR/deps/lib/"
  rm -rf "$tmp"
  lib=$PKGDIR/deps/lib
  ln -s libtensorflow_framework.so.2 "$lib/libtensorflow_framework.so"
  ln -s "$CAPI_NAME" "$lib/libtensorflow.so" # binding.gyp: -ltensorflow

  # Which object exports the C API the binding calls: check, don't assume.
  nm -D --defined-only "$lib/$CAPI_NAME" >"$lib/exports.txt"
  for s in TF_NewStatus TF_Version TFE_NewContext TFE_Execute TFE_TensorHandleResolve TF_LoadSessionFromSavedModel; do
    grep -q " T $s@@tensorflow$" "$lib/exports.txt" || die "$s is not exported by $CAPI_NAME"
  done
  rm "$lib/exports.txt"

  # The 2.9 object leaves its Python C API references to the interpreter.
  stub_flags=""
  # (grep without -q reads all of nm's output: no SIGPIPE under pipefail.)
  if nm -D --undefined-only "$lib/$CAPI_NAME" | grep -E ' _?Py' >/dev/null; then
    say "generating the Python C API stub (libtfjs_pystub.so)"
    {
      echo '#include <stdio.h>'
      echo '#include <stdlib.h>'
      echo 'static void die(const char *n) { fprintf(stderr, "libtfjs_pystub: Python C API %s called outside Python\n", n); abort(); }'
      nm -D --undefined-only "$lib/$CAPI_NAME" | awk '{print $2}' | sed 's/@.*//' |
        grep -E '^_?Py' | sort -u | awk '
          /^PyExc_/ || /_Type$/ || /^_Py_.*Struct$/ { printf "__attribute__((visibility(\"default\"))) char %s[1024];\n", $1; next }
          { printf "__attribute__((visibility(\"default\"))) void %s(void) { die(\"%s\"); }\n", $1, $1 }'
    } >"$lib/pystub.c"
    cc -shared -fPIC -O1 -Wl,-soname,libtfjs_pystub.so -o "$lib/libtfjs_pystub.so" "$lib/pystub.c" >>"$LOG" 2>&1 ||
      die "compiling the Python stub"
    # Nothing NEEDs the stub yet, so check through a preload that it covers all.
    left=$(LD_PRELOAD=$lib/libtfjs_pystub.so LD_LIBRARY_PATH=$lib ldd -r "$lib/$CAPI_NAME" 2>&1 |
      grep 'undefined symbol' || true)
    [ -z "$left" ] || die "symbols still undefined: $left"
    stub_flags="-Wl,--no-as-needed -ltfjs_pystub"
  fi

  say "building the addon with node-gyp"
  gyp=""
  npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
  for c in "$npm_dir/node_modules/node-gyp/bin/node-gyp.js" "$PREFIX/node_modules/node-gyp/bin/node-gyp.js"; do
    [ -f "$c" ] && { gyp=$c; break; }
  done
  if [ -z "$gyp" ]; then
    $NPM install --no-save node-gyp@12.4.0 >>"$LOG" 2>&1 || die "npm install node-gyp"
    gyp=$PREFIX/node_modules/node-gyp/bin/node-gyp.js
  fi
  # Node-API headers: the installed Node's own when present, else node-gyp downloads them.
  nodedir=""
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  [ -f "$node_prefix/include/node/node_api.h" ] && nodedir="--nodedir=$node_prefix"
  (cd "$PKGDIR" &&
    LDFLAGS="-L$lib $stub_flags" node "$gyp" rebuild $nodedir --jobs "$JOBS" \
      --napi_build_version=$NAPI_BUILD_VERSION --module_name=tfjs_binding \
      --module_path="$PKGDIR/lib/napi-v$NAPI_BUILD_VERSION") >>"$LOG" 2>&1 || die "node-gyp rebuild"
  rm -rf "$PKGDIR/build/Release/obj.target"
  binding=$PKGDIR/lib/napi-v$NAPI_BUILD_VERSION/tfjs_binding.node
  left=$(ldd -r "$binding" 2>&1 | grep -E 'not found|undefined symbol: (TF|TFE|Py)' || true)
  [ -z "$left" ] || die "the addon does not resolve: $left"
  used=wheel
fi

if [ "$KIND" = gpu ] && [ "$CUDA_LIBS" = pip ]; then
  say "CUDA 11.8 + cuDNN 8.6 runtime libraries from NVIDIA's PyPI wheels into deps/lib (1.7 GB download)"
  lib=$PKGDIR/deps/lib
  mkdir -p "$TFDIR/cache/cuda"
  pip=$(command -v pip3 || command -v pip || true)
  while read -r file sha; do
    [ -n "$file" ] || continue
    f=$TFDIR/cache/cuda/$file
    if [ ! -f "$f" ] || ! echo "$sha  $f" | sha256sum -c --status; then
      spec=$(echo "$file" | sed -E 's/^([a-z0-9_]+)-([0-9.]+)-.*/\1==\2/; s/_/-/g')
      [ -n "$pip" ] || die "pip is needed to fetch $spec"
      "$pip" download --no-deps --only-binary=:all: --python-version "$WHEEL_PY" \
        --implementation cp --abi "$WHEEL_ABI" --platform "$WHEEL_PLATFORM" \
        -d "$TFDIR/cache/cuda" "$spec" >>"$LOG" 2>&1 || die "pip download $spec"
      echo "$sha  $f" | sha256sum -c --status || die "sha256 of $f is not the pinned $sha"
    fi
    python3 -c '
import os, re, shutil, sys, zipfile
want = re.compile(r"^nvidia/[^/]+/lib/(libcudart\.so\.11\.0|libcublas(Lt)?\.so\.11|libcufft\.so\.10|"
                  r"libcurand\.so\.10|libcusolver\.so\.11|libcusparse\.so\.11|libcudnn(_[a-z_]+)?\.so\.8)$")
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        m = want.match(n)
        if m:
            with z.open(n) as src, open(os.path.join(sys.argv[2], m.group(1)), "wb") as dst:
                shutil.copyfileobj(src, dst)
' "$f" "$lib" || die "unpacking $file"
  done <<<"$CUDA_WHEELS"
  for s in libcudart.so.11.0 libcublas.so.11 libcublasLt.so.11 libcufft.so.10 libcurand.so.10 \
    libcusolver.so.11 libcusparse.so.11 libcudnn.so.8 libcudnn_cnn_infer.so.8 libcudnn_ops_infer.so.8; do
    [ -f "$lib/$s" ] || die "$s missing after unpacking the CUDA wheels"
  done
  left=$(for f in "$lib"/libcu*.so.*; do ldd "$f" | grep 'not found' || true; done)
  [ -z "$left" ] || die "CUDA libraries do not resolve: $left"
fi

# The addon must load with the package's own JS under Node before it is linked
# to the project's packages.
(cd "$PREFIX" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
  const tf = require('@tensorflow/$PKG');
  const v = tf.backend().binding.TF_Version;
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0];
  if (v !== '$TF_VERSION' || y !== 11) throw new Error('check failed: ' + v + ' ' + y);
  console.log('node: @tensorflow/$PKG runs libtensorflow ' + v);
") >>"$LOG" 2>&1 || die "loading the addon under Node"
link_shared

cat >"$STAMP.tmp" <<EOF
{
  "kind": "$KIND",
  "package": "@tensorflow/$PKG",
  "packageDir": "$KIND/node_modules/@tensorflow/$PKG",
  "tfjs": "$TFJS_VERSION",
  "libtensorflow": "$TF_VERSION",
  "route": "$used",
  "recipe": "$RECIPE",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": $(($(date +%s) - START)),
  "checked": false
}
EOF
mv "$STAMP.tmp" "$STAMP"
build_kernels
say "installed @tensorflow/$PKG $TFJS_VERSION with libtensorflow $TF_VERSION ($used route) in $(($(date +%s) - START)) s"

deno_check

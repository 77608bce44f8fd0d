#!/usr/bin/env bash
# Cross-builds the runtime library, its C API tests and the plain-C example for
# aarch64 and armhf (cmake/*.cmake toolchains, Debian's cross compilers) and
# runs them under qemu-user against the fixtures of an x86 build: every zoo
# model's int8 logits must be bit-identical to x86's (tests/runtime/).
#
#   scripts/cross_test.sh [X86_BUILD_DIR]   # default build/ci; needs scripts/setup.sh --with-cross
#
# The ARM builds have the generic (portable) int8 kernels only; the x86 SIMD
# translation units are not compiled for them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
x86="${1:-build/ci}"
start=$SECONDS
fixtures="$x86/tests/runtime/models"
if [ ! -f "$fixtures/gru.expected.bin" ]; then
  cmake --build "$x86" --target qualm_runtime_models >/dev/null
  mkdir -p "$fixtures"
  "$x86/tests/runtime/qualm_runtime_models" "$fixtures"
fi
fixtures="$(cd "$fixtures" && pwd)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
for target in aarch64-linux-gnu:qemu-aarch64 arm-linux-gnueabihf:qemu-arm; do
  triple="${target%%:*}"; qemu="${target##*:}"
  t0=$SECONDS
  dir="build/cross-$triple"
  echo "== $triple: build (runtime, C API tests, example) =="
  cmake -S runtime -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/$triple.cmake" -DQUALM_WERROR=ON \
    "${launcher[@]}" >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null
  file "$dir/qualm_tests_runtime" | grep -qi "ARM" || { echo "$dir/qualm_tests_runtime is not an ARM binary"; exit 1; }
  # The target's libc and libstdc++ from the cross toolchain; zlib from multiarch.
  runner="$qemu -L /usr/$triple"
  echo "== $triple: under $qemu =="
  QUALM_RUNTIME_MODELS="$fixtures" $runner "$dir/qualm_tests_runtime" 2>&1 | tail -3
  # (peak_rss_kb under qemu is qemu's own, not the program's: not shown)
  QUALM_RUNNER="$runner" bash tests/runtime/run_example.sh "$dir/qualm_example_classify" "$fixtures" \
    | sed 's/; peak_rss_kb.*//'
  echo "$triple: int8 logits bit-identical to x86 on every zoo model ($((SECONDS - t0)) s build + run)"
done
echo "cross_test.sh: done in $((SECONDS - start)) s"

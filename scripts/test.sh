#!/usr/bin/env bash
# README command (2): installs what is missing, builds with warnings as errors,
# and runs the whole test suite (ctest). Then builds the layers that may use
# oneDNN without it (-DQUALM_WITH_ONEDNN=OFF, as constrained targets do) and
# runs their tests again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh ci
ctest --preset ci -j "$(nproc)" --timeout 900 --no-tests=error

echo "== without oneDNN =="
cmake --preset no-onednn -DQUALM_WERROR=ON -DQUALM_BUILD_BENCH=OFF >/dev/null
cmake --build --preset no-onednn -j "$(nproc)" --target qualm_tests_kernels qualm_tests_engine
ctest --preset no-onednn -j "$(nproc)" --timeout 900 --no-tests=error -R '^(kernels|engine):'

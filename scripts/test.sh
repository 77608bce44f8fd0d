#!/usr/bin/env bash
# README command (2): installs what is missing, builds with warnings as errors,
# and runs the whole test suite (ctest). Then runs README command (1) in its
# short --smoke form on the same build, twice (the second run must keep every
# result), so both README commands stay true. Then builds the layers that may
# use oneDNN without it (-DQUALM_WITH_ONEDNN=OFF, as constrained targets do)
# and runs their tests again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$SECONDS
bash scripts/setup.sh
bash scripts/build.sh ci
ctest --preset ci -j "$(nproc)" --timeout 900 --no-tests=error

echo "== README command (1): scripts/main.sh --smoke, then again (resume) =="
smoke="$(mktemp -d)"
trap 'rm -rf "$smoke"' EXIT
QUALM_PRESET=ci QUALM_RUN_DIR="$smoke" bash scripts/main.sh --smoke -q >"$smoke/first.log" 2>&1 || {
  tail -40 "$smoke/first.log"; echo "main.sh --smoke failed"; exit 1; }
QUALM_PRESET=ci QUALM_RUN_DIR="$smoke" bash scripts/main.sh --smoke -q >"$smoke/second.log" 2>&1 || {
  tail -40 "$smoke/second.log"; echo "main.sh --smoke (rerun) failed"; exit 1; }
smoke_checks=0
smoke_fail() { echo "FAIL: main.sh --smoke: $1"; tail -20 "$smoke/second.log"; exit 1; }
grep -q "keeping it" "$smoke/second.log" || smoke_fail "the rerun did not keep the trained models"
smoke_checks=$((smoke_checks + 1))
if grep -q ": training$\|: quantizing$" "$smoke/second.log"; then smoke_fail "the rerun trained or quantized again"; fi
smoke_checks=$((smoke_checks + 1))
grep -q "no layer quantized" "$smoke/summary.md" || smoke_fail "lenet1 weight-only-int8 is not marked as quantizing nothing"
smoke_checks=$((smoke_checks + 1))
for a in lenet1 gru; do
  for s in int8 dynamic weight-only-int8 fp16-weights bf16-weights; do
    grep -q "^| $a | $s |" "$smoke/summary.md" || smoke_fail "no row for $a $s in summary.md"
    smoke_checks=$((smoke_checks + 1))
  done
done
echo "smoke: $smoke_checks passed, 0 failed"

echo "== without oneDNN =="
cmake --preset no-onednn -DQUALM_WERROR=ON -DQUALM_BUILD_BENCH=OFF >/dev/null
cmake --build --preset no-onednn -j "$(nproc)" --target qualm_tests_kernels qualm_tests_engine
ctest --preset no-onednn -j "$(nproc)" --timeout 900 --no-tests=error -R '^(kernels|engine):'
echo "test.sh: done in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"

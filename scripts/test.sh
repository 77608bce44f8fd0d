#!/usr/bin/env bash
# README command (2): installs what is missing, builds with warnings as errors,
# and runs the whole test suite (ctest). Then runs README command (1) in its
# short --smoke form (the quick study) on the same build, twice (the second run
# must compute nothing), checks the study folder's consistency from its files
# (tests/study/check_study.py), and reruns the same study as a 2-task Slurm job
# array plus merge on a single-node Slurm started for the test, whose tables
# must equal the unsharded run's byte for byte, and opens the quick study's
# report.html in headless Chromium (tests/report). Then builds everything again
# with clang, without oneDNN (-DQUALM_WITH_ONEDNN=OFF, as constrained targets
# do) and under ASan+UBSan, runs the suite there (but for the whole-run tests
# listed below) and each fuzz target. The runtime library is also cross-built for
# aarch64 and armhf and run under qemu-user (scripts/cross_test.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$SECONDS
# Each stage's start, with the time so far: the run's budget is 60 minutes on 2 cores.
stage() { echo "== [$(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s] $* =="; }
stage "install, build (build/ci), the suite"
bash scripts/setup.sh
bash scripts/build.sh ci
ctest --preset ci -j "$(nproc)" --timeout 900 --no-tests=error

stage "the runtime on aarch64 and armhf under qemu-user, against x86's logits"
bash scripts/setup.sh --with-cross
bash scripts/cross_test.sh build/ci

stage "README command (1): scripts/main.sh --smoke (the quick study), then again (resume)"
smoke="$(mktemp -d)"
trap 'rm -rf "$smoke"' EXIT
# One thread: the Slurm check below reruns the study as two 1-thread shards,
# and the training key includes the thread count.
QUALM_PRESET=ci QUALM_RUN_DIR="$smoke/run" bash scripts/main.sh --smoke -q --threads 1 >"$smoke/first.log" 2>&1 || {
  tail -40 "$smoke/first.log"; echo "main.sh --smoke failed"; exit 1; }
grep "qualm study: .* cells: " "$smoke/first.log"
QUALM_PRESET=ci QUALM_RUN_DIR="$smoke/run" bash scripts/main.sh --smoke -q --threads 1 >"$smoke/second.log" 2>&1 || {
  tail -40 "$smoke/second.log"; echo "main.sh --smoke (rerun) failed"; exit 1; }
smoke_fail() { echo "FAIL: main.sh --smoke: $1"; tail -20 "$smoke/second.log"; exit 1; }
grep -q "cells: 0 computed" "$smoke/second.log" || smoke_fail "the rerun computed cells again"
grep -q "^Report: " "$smoke/second.log" || smoke_fail "main.sh did not say where the results are"
build/ci/qualm study status "$smoke/run" | grep -q "finished" || smoke_fail "study status does not say finished"
echo "smoke: 3 passed, 0 failed"
python3 tests/study/check_study.py "$smoke/run"

stage "the quick study through Slurm: 2-task array + merge, against the unsharded run"
bash scripts/setup.sh --with-test-tools
bash tests/slurm/slurm_study_test.sh build/ci/qualm "$smoke/run" -- --preset quick --threads 1

stage "the quick study's report in headless Chromium"
bash tests/report/report_screenshot_test.sh build/ci/qualm "$smoke/run"

stage "without oneDNN, under ASan+UBSan: the suite (clang, build/sanitize, warnings as errors), then each fuzz target for 20 s"
# One build serves three checks: everything compiles and passes without oneDNN
# (-DQUALM_WITH_ONEDNN=OFF, as constrained targets build it), under clang with
# warnings as errors, and under the sanitizers. oneDNN's own code was never
# instrumented, so the sanitizers lose little by its absence; the oneDNN
# backend's bit-exactness is tested in the suite above. Every sanitizer report
# is fatal (-fno-sanitize-recover=all). fuzz/run.sh fails on any finding
# (fuzz/README.md).
bash scripts/setup.sh --with-test-tools
cmake --preset sanitize -DQUALM_WERROR=ON >/dev/null
cmake --build --preset sanitize -j "$(nproc)"
# Left out of the sanitized run, because they ran unsanitized in the suite above:
# the tests that repeat whole trainings or studies to check end-to-end
# properties (crash safety under SIGKILL, the same weights under every ISA,
# retraining, backend matrices, accuracy trends under shift, PGD). Their code
# (the runner, evaluation, shifts, PGD, file writes) is run under the
# sanitizers by the smaller tests, and by "study run: records, tables, resume,
# seeds and shards agree", which stays in. Measured on 2 cores (Zen 5): the
# left-out tests were ~2/3 of the sanitized suite's CPU time (ASan + UBSan +
# coverage instrumentation make the training loops 5-20x slower).
san_skip='SIGKILL at each write step|trains to the same weights under QUALM_ISA|retrain run: only the new cells'
san_skip+='|backend matrix|study probes: a tiny study|loses accuracy on spam:test|accuracy falls as severity rises'
san_skip+='|resists PGD better'
san_start=$SECONDS
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset sanitize -j "$(nproc)" --timeout 1800 --no-tests=error -E "$san_skip"
echo "sanitized suite: $(( SECONDS - san_start )) s ($(ctest --preset sanitize -N -R "$san_skip" | grep -c 'Test *#') tests left out, listed in scripts/test.sh)"
fuzz_out="$(mktemp -d)"
# Two fuzzers at a time, one per core (each target's run is its own process and
# seed, so this changes no target's inputs).
FUZZ_SEED=1 bash fuzz/run.sh build/sanitize 20 "$fuzz_out/a" model_file idx mail >"$fuzz_out/a.log" 2>&1 &
fuzz_a=$!
FUZZ_SEED=1 bash fuzz/run.sh build/sanitize 20 "$fuzz_out/b" image text onnx >"$fuzz_out/b.log" 2>&1 &
fuzz_b=$!
fuzz_ok=1
wait "$fuzz_a" || fuzz_ok=0
wait "$fuzz_b" || fuzz_ok=0
cat "$fuzz_out/a.log" "$fuzz_out/b.log"
[ "$fuzz_ok" = 1 ] || { echo "fuzzing found something: $fuzz_out"; exit 1; }
rm -rf "$fuzz_out"
echo "test.sh: done in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"

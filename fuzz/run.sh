#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/README.md) for SECONDS each, one after the
# other, with the limits that make bombs and quadratic paths findings:
#   -rss_limit_mb=2048  memory (a parser that inflates or decodes past its
#                       limits blows this)
#   -timeout=10         one input (a quadratic path on a max_len input)
#   -max_len            per target (below)
# New inputs go to a scratch corpus seeded from fuzz/corpus/<target> (the
# checked-in corpus is never modified); crashes go to OUT/<target>/ and fail
# the script. Prints each target's executions, coverage and features.
# FUZZ_SEED=<n> fixes libFuzzer's random seed (scripts/test.sh uses 1, so a CI
# run replays the same mutation sequence, as far as it gets in its time;
# exploring is the long runs' job); unset, each run draws its own.
# Usage: fuzz/run.sh BUILD_DIR SECONDS OUT_DIR [target...]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:?build dir (configured with QUALM_FUZZ=ON, e.g. build/sanitize)}"
SECONDS_EACH="${2:?seconds per target}"
OUT="${3:?output dir}"
shift 3
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model_file idx mail image text onnx)
declare -A max_len=([onnx]=65536 [model_file]=65536 [idx]=8192 [mail]=65536 [image]=16384 [text]=16384)
declare -A dict=([onnx]=onnx.dict [model_file]=model_file.dict [mail]=mail.dict [text]=text.dict)
status=0
mkdir -p "$OUT"
for t in "${targets[@]}"; do
  bin="$BUILD/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: $bin not built (ninja -C $BUILD fuzz_$t)"; status=1; continue; }
  work="$OUT/$t"
  mkdir -p "$work/corpus" "$work/crashes"
  args=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len="${max_len[$t]}"
        -print_final_stats=1 -artifact_prefix="$work/crashes/" -close_fd_mask=3)
  [ -n "${dict[$t]:-}" ] && args+=(-dict="$ROOT/fuzz/${dict[$t]}")
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    "$bin" "${args[@]}" "$work/corpus" "$ROOT/fuzz/corpus/$t" >"$work/log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+' "$work/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  crashes=$(find "$work/crashes" -type f | wc -l)
  echo "fuzz_$t: ${SECONDS_EACH}s, ${execs:-?} executions, coverage ${cov:-?} edges, ${ft:-?} features, $crashes finding(s), exit $rc"
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    status=1
    grep -E 'ERROR|SUMMARY|runtime error|fuzz property|Test unit written' "$work/log" | head -5
  fi
done
exit $status

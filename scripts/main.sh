#!/usr/bin/env bash
# README command (1), the main job: install what is missing, build, train and
# evaluate the default model set, quantize every model into every scheme and
# count its disagreements with the float original, and print the report
# (runs/default/summary.md). Resumable: run it again after an interruption and
# finished models and results are kept, an unfinished model resumes from its
# last epoch.
#
#   scripts/main.sh [--smoke] [extra `qualm zoo` options, e.g. --archs lenet5,lstm]
#
# --smoke runs the same pipeline end to end on a tiny model set (lenet1 and the
# GRU, two epochs, at most 1,000 samples per data set) in about a minute, into
# runs/smoke; the test suite (scripts/test.sh) runs it so this command stays
# true. Environment: QUALM_PRESET (CMake preset to build, default release; the
# program is build/<preset>/qualm), QUALM_RUN_DIR (output folder).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then SMOKE=1; shift; fi
PRESET="${QUALM_PRESET:-release}"

bash scripts/setup.sh
bash scripts/build.sh "$PRESET"
QUALM="$ROOT/build/$PRESET/qualm"
test -x "$QUALM" || { echo "main.sh: the build did not produce $QUALM" >&2; exit 1; }

if [ "$SMOKE" = 1 ]; then
  OUT="${QUALM_RUN_DIR:-$ROOT/runs/smoke}"
  set -- --archs lenet1,gru --epochs 2 --limit 1000 "$@"
else
  OUT="${QUALM_RUN_DIR:-$ROOT/runs/default}"
fi
"$QUALM" cpu
"$QUALM" zoo --output "$OUT" "$@"
# The report must hold both stages; a run that silently skipped one is a failure.
grep -q '^## Float models' "$OUT/summary.md" && grep -q '^## Quantized variants' "$OUT/summary.md" || {
  echo "main.sh: $OUT/summary.md lacks a stage of the report" >&2; exit 1; }
echo
echo "Report: $OUT/summary.md"

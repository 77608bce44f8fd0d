#!/usr/bin/env bash
# README command (1), the main job: install what is missing, build, and run the
# default study (`qualm study --preset default`): train every model of the grid
# (architectures x training strategies x seeds), quantize each into every
# variant, evaluate float and quantized models on the clean test set and every
# shifted set, and write the report. It prints progress (cells done / total,
# elapsed, ETA) and ends by printing where the results are. Resumable: run it
# again after an interruption and only unfinished cells are computed.
#
#   scripts/main.sh [--smoke] [extra `qualm study` options, e.g. --threads 1]
#
# --smoke runs the quick preset instead (LeNet-1 and the harder text task, one
# seed, a subset of shifts and of the test sets, every strategy and variant; a
# few minutes) into runs/smoke; the test suite (scripts/test.sh) runs it so this
# command stays true. Environment: QUALM_PRESET (CMake preset to build, default
# release; the program is build/<preset>/qualm), QUALM_RUN_DIR (output folder).
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
  STUDY=quick
  OUT="${QUALM_RUN_DIR:-$ROOT/runs/smoke}"
else
  STUDY=default
  OUT="${QUALM_RUN_DIR:-$ROOT/runs/study-default}"
fi
"$QUALM" cpu
"$QUALM" study --preset "$STUDY" --out "$OUT" "$@"
# The report must hold its tables; a run that silently skipped a stage is a failure.
grep -q '^## Float models' "$OUT/results.md" && grep -q '^## Disagreements' "$OUT/results.md" || {
  echo "main.sh: $OUT/results.md lacks a table of the report" >&2; exit 1; }
echo
echo "Report: $OUT/results.md (per-input records: $OUT/records.json)"

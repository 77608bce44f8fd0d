#!/usr/bin/env bash
# The main job: install what is missing, build, train and evaluate the default
# model set, quantize every model into every scheme and count its disagreements
# with the float original, and print the summary report. Resumable: run it again after an
# interruption and finished models are kept, an unfinished one resumes from its
# last epoch.
#   scripts/main.sh [extra `qualm zoo` options, e.g. --archs lenet5,lstm]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh release
OUT="${QUALM_RUN_DIR:-$ROOT/runs/default}"
./build/release/qualm cpu
./build/release/qualm zoo --out "$OUT" "$@"
echo
echo "Report: $OUT/summary.md"

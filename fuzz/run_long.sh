#!/usr/bin/env bash
# Long fuzzing runs: every target (or the ones named) for MINUTES each
# (default 30), corpora and findings kept under OUT (default fuzz-runs/,
# ignored by git). Build first: cmake --preset sanitize && ninja -C build/sanitize
# fuzz_model_file fuzz_idx fuzz_mail fuzz_image fuzz_text
# Usage: fuzz/run_long.sh [MINUTES] [OUT] [target...]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES="${1:-30}"
OUT="${2:-$ROOT/fuzz-runs}"
shift $(( $# > 2 ? 2 : $# ))
exec bash "$ROOT/fuzz/run.sh" "$ROOT/build/sanitize" $(( MINUTES * 60 )) "$OUT" "$@"

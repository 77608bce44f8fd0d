#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release). Used by main.sh and test.sh.
#   scripts/build.sh [preset] [extra cmake configure args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${1:-release}"
shift || true
cd "$ROOT"
cmake --preset "$PRESET" "$@" >/dev/null
JOBS="${QUALM_BUILD_JOBS:-$(nproc)}"
cmake --build --preset "$PRESET" -j "$JOBS"

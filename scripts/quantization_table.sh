#!/usr/bin/env bash
# Recomputes the clean-test-set table of study/results/2026-11-26-quantization.md
# from the committed float models (every model in every scheme against its
# float original) and prints its rows; with --check, compares them with the
# committed table and fails on any difference. The table is the regression
# check for changes that must keep every result bit-identical.
#   scripts/quantization_table.sh [--check] [--archs lenet1,lenet5,...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
Q="${QUALM:-$ROOT/build/release/qualm}"
M="$ROOT/study/results/models-2026-11-25"
TABLE="$ROOT/study/results/2026-11-26-quantization.md"
CHECK=0
ARCHS="lenet1,lenet5,resnet20,nin,lstm,gru"
while [ $# -gt 0 ]; do
  case "$1" in
    --check) CHECK=1 ;;
    --archs) ARCHS="$2"; shift ;;
    *) echo "usage: $0 [--check] [--archs A,B]" >&2; exit 2 ;;
  esac
  shift
done
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
rows="$T/rows.md"
: >"$rows"
for a in ${ARCHS//,/ }; do
  for s in int8 dynamic "weight-only-int8 0" "weight-only-int8" fp16-weights bf16-weights; do
    set -- $s
    scheme="$1"; label="$scheme"; extra=()
    if [ "$scheme" = weight-only-int8 ]; then
      if [ $# -gt 1 ]; then extra=(--skip-smaller-than 0); label="weight-only-int8 --skip-smaller-than 0"
      else label="weight-only-int8 (default: layers < 2048 weights stay float)"; fi
    fi
    "$Q" quantize "$M/$a.qm" --scheme "$scheme" "${extra[@]}" -q -o "$T/q.qm" >/dev/null 2>&1
    j="$("$Q" compare "$M/$a.qm" "$T/q.qm" --json)"
    fa="$(field "['a']['accuracy']" <<<"$j")"; qa="$(field "['b']['accuracy']" <<<"$j")"
    n="$(field "['disagreements']" <<<"$j")"; r="$(field "['disagreement_rate']" <<<"$j")"
    awk -v a="$a" -v l="$label" -v fa="$fa" -v qa="$qa" -v n="$n" -v r="$r" 'BEGIN {
      printf "| %s | %s | %.2f | %.2f | %+.2f | %d | %.2f %% |\n", a, l, fa * 100, qa * 100, (qa - fa) * 100, n, r * 100 }' \
      | sed 's/| -0.00 |/| +0.00 |/' | tee -a "$rows"
  done
done
if [ "$CHECK" = 1 ]; then
  # Every recomputed row must stand in the committed table, letter for letter.
  differ=0
  while IFS= read -r row; do
    if ! grep -qFx -- "$row" "$TABLE"; then
      echo "not in the committed table: $row" >&2
      grep -F -- "$(cut -d'|' -f1-3 <<<"$row")|" "$TABLE" | head -1 | sed 's/^/  committed: /' >&2
      differ=$((differ + 1))
    fi
  done <"$rows"
  if [ "$differ" -eq 0 ]; then echo "quantization table: $(wc -l <"$rows") rows identical to $TABLE"
  else echo "quantization table: $differ of $(wc -l <"$rows") rows differ from $TABLE" >&2; exit 1; fi
fi

#!/usr/bin/env bash
# qualm bench --quick: the table's shape (never its speed), LeNet-5 and the
# float GRU rows, an unknown model refused; and --backend onednn end to end: an int8 model gives the same
# predictions as on the reference path (bit-identical int8 arithmetic), or,
# in a build without oneDNN, a clear "not available" error.
# Usage: cli_bench_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
M="$(dirname "${BASH_SOURCE[0]}")/../../study/results/models-2026-11-25/lenet5.qm"

run "$Q" bench --quick --model lenet5
check "bench --quick exits 0" test "$rc" = 0
check "bench prints the table header" contains "$out" "| dtype | model | layer | batch | threads | qualm | oneDNN | qualm / oneDNN |"
check "bench records the CPU and the peaks" contains "$out" "peak_vnni_gops_per_core"
check "bench: 5 LeNet-5 layers x 2 dtypes x batch 1, 64 (1 thread) = 20 rows of 10 cells" python3 -c "
import sys
rows = [l for l in sys.argv[1].splitlines() if l.startswith('| f32 ') or l.startswith('| s8 ')]
assert len(rows) == 20, len(rows)
for r in rows:
    cells = [c.strip() for c in r.strip().strip('|').split('|')]
    assert len(cells) == 10, r
    assert cells[1] == 'lenet5' and cells[3] in ('1', '64') and cells[4] == '1', r
    float(cells[5].split()[0])  # qualm always runs
    assert cells[0] == 's8' or cells[8] == '-', r  # the s32 column is int8 only
" "$out"
if contains "$out" "onednn: oneDNN"; then
  check "bench: every row has a qualm / oneDNN ratio" python3 -c "
import re, sys
rows = [l for l in sys.argv[1].splitlines() if l.startswith('| f32 ') or l.startswith('| s8 ')]
assert all(re.fullmatch(r'[0-9.]+x', [c.strip() for c in r.strip().strip('|').split('|')][7]) for r in rows)
" "$out"
else
  check "bench without oneDNN says so" contains "$out" "not available in this build"
fi
run "$Q" bench --quick --model gru
check "bench --model gru: float only, batch 1 and 64 (the int8 RNN peers are bench_rnn_s8's)" python3 -c "
import sys
rows = [l for l in sys.argv[1].splitlines() if l.startswith('| f32 ') or l.startswith('| s8 ')]
assert len(rows) == 2, rows
for r in rows:
    cells = [c.strip() for c in r.strip().strip('|').split('|')]
    assert cells[0] == 'f32' and cells[1] == 'gru' and cells[2] == 'gru 128->75 T200', r
    float(cells[5].split()[0])
" "$out"
if contains "$out" "onednn: oneDNN"; then
  check "bench --model gru: oneDNN's linear-before-reset GRU runs" contains "$out" "lbr_gru "
fi
run "$Q" bench --quick --model alexnet
check "bench: unknown model is a usage error" test "$rc" = 2

"$Q" quantize "$M" --scheme int8 -q -o "$T/l8.qm" >/dev/null 2>&1
run "$Q" eval "$T/l8.qm" --data fashion-mnist:test --limit 300 --backend onednn --threads 2 --json
if [ "$rc" = 0 ]; then
  "$Q" eval "$T/l8.qm" --data fashion-mnist:test --limit 300 --backend onednn --threads 2 -q --predictions "$T/d.json" >/dev/null
  "$Q" eval "$T/l8.qm" --data fashion-mnist:test --limit 300 --backend reference -q --predictions "$T/r.json" >/dev/null
  check "eval --backend onednn names its path" contains "$out" '"path": "int8 onednn (conv2d/dense: oneDNN'
  check "int8 on oneDNN (s32 + qualm requant) = reference: every prediction and probability" python3 -c "
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert len(a['predictions']) == 300
assert a['predictions'] == b['predictions'] and a['probabilities'] == b['probabilities']
" "$T/d.json" "$T/r.json"
else
  check "eval --backend onednn without oneDNN: a clear error" contains "$out" "not available in this build"
fi
finish "cli bench"

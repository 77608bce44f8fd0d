#!/usr/bin/env bash
# qualm matrix and qualm attribute on the committed LeNet-5 (a slice of the
# test set): JSON shapes, the reference/fast zero, symmetry, and attribution
# counts that add up. Usage: cli_matrix_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
M="$(dirname "${BASH_SOURCE[0]}")/../../study/results/models-2026-11-25/lenet5.qm"

j="$("$Q" matrix "$M" --samples 500 --threads 2 --json -o "$T/m.json")"
check "matrix writes its JSON file" test -s "$T/m.json"
check "matrix: 8 rows" test "$(field "['labels'].__len__()" <<<"$j")" = 8
check "matrix: oneDNN listed as unavailable" contains "$(field "['unavailable']" <<<"$j")" "onednn"
check "matrix: symmetric, zero diagonal, reference = fast per mode" python3 -c "
import json, sys
d = json.loads(sys.argv[1]); c = d['counts']; L = d['labels']
assert all(c[i][i] == 0 for i in range(len(L)))
assert all(c[i][j] == c[j][i] for i in range(len(L)) for j in range(len(L)))
for m in ('gemmlowp', 'single', 'fp32'):
    assert c[L.index('int8/%s/reference' % m)][L.index('int8/%s/fast' % m)] == 0
" "$j"
check "matrix text output shows the table" contains "$("$Q" matrix "$M" --samples 200 -q)" "int8/single/fast"

# With a QAT model: its forward pass must agree with its int8 model on every
# input and path (measured here, not assumed).
"$Q" train --arch lenet5 --init-from "$M" --qat --epochs 1 --limit 1000 --threads 2 -q -o "$T/qat.qm" >/dev/null
j="$("$Q" matrix "$M" --qat-model "$T/qat.qm" --samples 500 --threads 2 --json)"
check "matrix with a QAT model: 12 rows" test "$(field "['labels'].__len__()" <<<"$j")" = 12
check "QAT forward pass = its int8 model on both paths" python3 -c "
import json, sys
d = json.loads(sys.argv[1]); c = d['counts']; L = d['labels']
f = L.index('qat/forward')
assert c[f][L.index('qat/int8/reference')] == 0 and c[f][L.index('qat/int8/fast')] == 0
" "$j"

"$Q" quantize "$M" --scheme int8 --threads 2 -q -o "$T/q.qm" >/dev/null
a="$("$Q" attribute "$M" "$T/q.qm" --limit 1000 --threads 2 --json)"
check "attribute: no sweep mismatch" test "$(field "['sweep_mismatches']" <<<"$a")" = 0
check "attribute: culprits add up to the disagreements" python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert d['disagreements'] == len(d['flips'])
assert sum(l['first_culprit'] for l in d['layers']) + d['culprit_lowering'] == d['disagreements']
" "$a"
run "$Q" attribute "$T/q.qm" "$M" --limit 100
check "attribute with the models swapped: exit 1" test "$rc" -eq 1

finish "cli-matrix"

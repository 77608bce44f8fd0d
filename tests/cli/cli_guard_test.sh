#!/usr/bin/env bash
# The disagreement guard end to end: quantize --guard fits a margin threshold on
# the validation split and stores it; eval flags the inputs at or under it (the
# count checked against the probabilities it writes); bad recalls are usage
# errors. On the committed LeNet-5. Usage: cli_guard_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
M="$(dirname "${BASH_SOURCE[0]}")/../../study/results/models-2026-11-25/lenet5.qm"

j="$("$Q" quantize "$M" --scheme int8 --guard 0.9 --threads 2 --json -o "$T/g.qm")"
check "quantize --guard writes a model" test -s "$T/g.qm"
vin="$(field "['guard']['validation_inputs']" <<<"$j")"
vdis="$(field "['guard']['validation_disagreements']" <<<"$j")"
t="$(field "['guard']['margin_threshold']" <<<"$j")"
vfrac="$(field "['guard']['validation_flagged_fraction']" <<<"$j")"
echo "guard: threshold $t, $vdis validation disagreements of $vin, flags $vfrac of the validation set"
check "the guard is fitted on the 5,000 validation images" test "$vin" = 5000
check "there are validation disagreements to fit on ($vdis)" test "$vdis" -gt 0
check "the threshold $t is a margin in (0, 1)" awk -v t="$t" 'BEGIN { exit !(t > 0 && t < 1) }'
check "the guard flags a minority of the validation set ($vfrac)" awk -v f="$vfrac" 'BEGIN { exit !(f > 0 && f < 0.5) }'
check "the margin is the quantized model's" test "$(field "['guard']['margin']" <<<"$j")" = quantized

# eval: how many and which inputs are at risk.
e="$("$Q" eval "$T/g.qm" --limit 2000 --threads 2 --json --predictions "$T/p.json")"
flagged="$(field "['guard']['flagged']" <<<"$e")"
listed="$(field "['guard']['at_risk'].__len__()" <<<"$e")"
check "eval reports flagged inputs ($flagged)" test "$flagged" -gt 0
check "one index per flagged input" test "$flagged" = "$listed"
check "eval reports the stored threshold" test "$(field "['guard']['margin_threshold']" <<<"$e")" = "$t"
# Recount from the written probabilities (top-1 minus top-2 <= threshold).
recount="$(python3 - "$T/p.json" "$t" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); t = float(sys.argv[2])
def margin(row):
    s = sorted(row, reverse=True)
    return s[0] - s[1]
print(sum(1 for r in d["probabilities"] if margin(r) <= t))
PY
)"
check "the flagged count ($flagged) matches a recount from the probabilities ($recount)" test "$flagged" = "$recount"
check "the predictions file lists the at-risk inputs" \
  test "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['guard']['at_risk']))" "$T/p.json")" = "$flagged"
check "the text output says how many are at risk" contains "$("$Q" eval "$T/g.qm" --limit 500 -q)" "flagged as at risk"

# The guard's recall of the true test disagreements (float vs this int8 model).
c="$("$Q" compare "$M" "$T/g.qm" --limit 2000 --threads 2 --json)"
recall="$(python3 -c "
import json, sys
c = json.loads(sys.argv[1]); e = json.loads(sys.argv[2])
dis = set(c['indices']); risk = set(e['guard']['at_risk'])
print('%d %d %.4f' % (len(dis), len(dis & risk), len(dis & risk) / max(1, len(dis))))" "$c" "$e")"
echo "test (2,000 images): disagreements, flagged disagreements, recall: $recall; flagged $flagged"
check "the guard catches most test disagreements ($recall)" awk -v r="${recall##* }" 'BEGIN { exit !(r >= 0.6) }'

# A model without a guard says nothing about one.
e2="$("$Q" eval "$M" --limit 200 --json)"
check "no guard, no guard field" bash -c "! grep -q '\"guard\"' <<<'$e2'"
# Bad recalls are usage errors.
run "$Q" quantize "$M" --guard 0 -o "$T/x.qm"
check "--guard 0: usage error (exit 2)" test "$rc" -eq 2
run "$Q" quantize "$M" --guard 1.5 -o "$T/x.qm"
check "--guard 1.5: usage error (exit 2)" test "$rc" -eq 2
check "nothing written on error" test ! -e "$T/x.qm"

finish "cli-guard"

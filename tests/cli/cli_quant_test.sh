#!/usr/bin/env bash
# End-to-end test of quantization on the command line, on small slices of the
# real data: quantize into every scheme, eval and compare quantized models,
# QAT fine-tuning whose int8 model agrees with the QAT forward pass, and clear
# errors. Usage: cli_quant_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$Q" train --arch lenet1 --epochs 2 --limit 2000 --seed 3 --threads 2 -q -o "$T/f.qm" >/dev/null
check "float model trained" test -s "$T/f.qm"

for s in int8 dynamic weight-only-int8 fp16-weights bf16-weights; do
  "$Q" quantize "$T/f.qm" --scheme "$s" -o "$T/$s.qm" --samples 50 --threads 2 >/dev/null
  check "quantize --scheme $s writes a model" test -s "$T/$s.qm"
  check "info shows scheme $s" contains "$("$Q" info "$T/$s.qm")" "quantization: $s"
  j="$("$Q" compare "$T/f.qm" "$T/$s.qm" --limit 1000 --threads 2 --json)"
  rate="$(field "['disagreement_rate']" <<<"$j")"
  acc="$(field "['b']['accuracy']" <<<"$j")"
  n="$(field "['disagreements']" <<<"$j")"
  idx="$(field "['indices'].__len__()" <<<"$j")"
  check "$s: disagreement rate $rate is small" awk -v r="$rate" 'BEGIN { exit !(r < 0.05) }'
  check "$s: quantized accuracy $acc is sane" awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }'
  check "$s: one index per disagreement" test "$n" = "$idx"
done
"$Q" quantize "$T/f.qm" --scheme int8 --weights per-tensor --samples 50 -o "$T/pt.qm" >/dev/null
check "per-tensor weights are recorded" contains "$("$Q" info "$T/pt.qm")" "weights: per-tensor"
out="$("$Q" quantize "$T/f.qm" --weights per-row -o "$T/x.qm" 2>&1)"; rc=$?
check "bad --weights: usage error (exit 2)" test $rc -eq 2
j="$("$Q" compare "$T/f.qm" "$T/f.qm" --limit 500 --json)"
check "a model agrees with itself" test "$(field "['disagreements']" <<<"$j")" = 0
check "eval runs an int8 model on the fast int8 path" contains "$("$Q" eval "$T/int8.qm" --limit 300 -q)" "int8 fast"
check "eval --backend reference runs the int8 reference" \
  contains "$("$Q" eval "$T/int8.qm" --limit 300 -q --backend reference)" "int8 reference"
a="$("$Q" eval "$T/int8.qm" --limit 300 --json)"
b="$("$Q" eval "$T/int8.qm" --limit 300 --json --backend reference)"
check "fast and reference int8 paths give the same accuracy" \
  test "$(field "['accuracy']" <<<"$a")" = "$(field "['accuracy']" <<<"$b")"

# QAT fine-tuning of the float model: the saved int8 model must agree with
# the QAT forward pass on every input and every layer.
j="$("$Q" train --arch lenet1 --init-from "$T/f.qm" --qat --epochs 1 --limit 1000 --threads 2 -q --json \
      --qat-check-data fashion-mnist:test -o "$T/qat.qm")"
check "QAT writes an int8 model" contains "$("$Q" info "$T/qat.qm")" "quantization: int8"
check "QAT: 0 disagreements with its int8 model" test "$(field "['qat_check']['disagreements']" <<<"$j")" = 0
check "QAT: per-layer difference 0" test "$(field "['qat_check']['max_layer_units']" <<<"$j")" = 0
check "QAT: checked 1000 inputs" test "$(field "['qat_check']['samples']" <<<"$j")" = 1000

# Errors.
out="$("$Q" quantize "$T/f.qm" --scheme int4 -o "$T/x.qm" 2>&1)"; rc=$?
check "unknown scheme: usage error (exit 2) and lists the schemes" bash -c "[ $rc -eq 2 ] && grep -q 'weight-only-int8' <<<'$out'"
out="$("$Q" quantize "$T/int8.qm" --scheme int8 -o "$T/x.qm" 2>&1)"; rc=$?
check "re-quantizing a quantized model is refused" bash -c "[ $rc -eq 1 ] && grep -q 'already quantized' <<<'$out'"
check "nothing written on error" test ! -e "$T/x.qm"
out="$("$Q" compare "$T/f.qm" "$T/missing.qm" 2>&1)"; rc=$?
check "compare with a missing file: exit 1" test $rc -eq 1

finish "cli-quant"

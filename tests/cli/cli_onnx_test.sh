#!/usr/bin/env bash
# End-to-end test of `qualm import` / `qualm export` on a model trained on a
# slice of the real data: float and int8 round trips through ONNX give the
# same predictions on the test split (compare: 0 disagreements), and bad input
# gives a clear error. Usage: cli_onnx_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$Q" train --arch lenet5 --epochs 1 --limit 1500 --seed 5 --threads 2 -q -o "$T/f.qm" >/dev/null
check "float model trained" test -s "$T/f.qm"
"$Q" quantize "$T/f.qm" --scheme int8 --samples 50 -o "$T/i8.qm" >/dev/null
check "int8 model written" test -s "$T/i8.qm"
for m in f i8; do
  run "$Q" export "$T/$m.qm" -o "$T/$m.onnx"
  check "$m: export succeeds ($out)" test $rc -eq 0
  check "$m: export says the checker passed" contains "$out" "passed onnx::checker"
  run "$Q" import "$T/$m.onnx" -o "$T/$m.back.qm"
  check "$m: import succeeds ($out)" test $rc -eq 0
  j="$("$Q" compare "$T/$m.qm" "$T/$m.back.qm" --limit 2000 --threads 2 --json)"
  check "$m: round trip gives identical predictions" test "$(field "['disagreements']" <<<"$j")" = 0
done
check "int8 stays int8 through ONNX" contains "$("$Q" info "$T/i8.back.qm")" "quantization: int8"
run "$Q" import "$T/f.onnx" -o "$T/raw.qm" --input-scale 1 --input-offset 0
check "import --input-scale adds the preprocessing node" contains "$("$Q" info "$T/raw.qm")" "onnx.input_preprocess"
printf 'not an onnx file' > "$T/bad.onnx"
run "$Q" import "$T/bad.onnx" -o "$T/bad.qm"
check "garbage: exit 1" test $rc -eq 1
check "garbage: message names the file" contains "$out" "bad.onnx"
check "garbage: no model written" test ! -e "$T/bad.qm"
"$Q" quantize "$T/f.qm" --scheme dynamic -o "$T/dyn.qm" >/dev/null
run "$Q" export "$T/dyn.qm" -o "$T/dyn.onnx"
check "dynamic export declined (exit 1)" test $rc -eq 1
check "dynamic export: says why" contains "$out" "dynamic"
finish cli_onnx_test

#!/usr/bin/env bash
# The command line refuses bad input with a clear message, before any work,
# and never overwrites what it was given; the defaults come from what a model
# file records; JSON output has the documented shapes (docs/cli-json.md).
# Usage: cli_input_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
M="$ROOT/study/results/models-2026-11-25"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# A data folder that does not exist: a command that reads data before checking
# its options fails with this path in its message instead of the option's.
NODATA="$T/no-such-folder"

# ---- numbers that make no sense are usage errors (exit 2), nothing is written
for e in -1 0; do
  run "$Q" train --arch lenet1 --epochs "$e" -o "$T/e.qm"
  check "train --epochs $e: exit 2" test $rc -eq 2
  check "train --epochs $e: says why" contains "$out" "--epochs: must be at least 1"
done
check "train with bad epochs wrote nothing" test ! -e "$T/e.qm"
for t in 0 -3 999; do
  for cmd in "train --arch lenet1 -o $T/t.qm" "eval $M/lenet1.qm" "quantize $M/lenet1.qm -o $T/t.qm" \
             "compare $M/lenet1.qm $M/lenet5.qm" "zoo -o $T/zoo"; do
    run "$Q" $cmd --threads "$t"
    check "$cmd --threads $t: exit 2" test $rc -eq 2
    check "$cmd --threads $t: says why" contains "$out" "--threads: "
  done
done
check "no output from refused commands" bash -c "[ ! -e '$T/t.qm' ] && [ ! -e '$T/zoo' ]"
run "$Q" quantize "$M/lenet1.qm" --samples 0 -o "$T/s.qm"
check "quantize --samples 0: exit 2" test $rc -eq 2
run "$Q" eval "$M/lenet1.qm" --limit 0
check "eval --limit 0: exit 2" test $rc -eq 2
run "$Q" train --arch lenet1 --lr -0.1 -o "$T/l.qm"
check "train --lr -0.1: exit 2" test $rc -eq 2

# ---- options are checked before any data is read
run "$Q" train --arch lenet55 --fashion-dir "$NODATA" -o "$T/a.qm"
check "a typo in --arch is reported, not the data" bash -c "[ $rc -eq 2 ] && grep -q -- '--arch' <<<'$out' && ! grep -q no-such-folder <<<'$out'"
run "$Q" zoo --archs lenet1,lenet55 --fashion-dir "$NODATA" -o "$T/zoo"
check "a typo in zoo --archs is reported, not the data" bash -c "[ $rc -eq 1 ] && grep -q lenet55 <<<'$out' && ! grep -q no-such-folder <<<'$out'"
"$Q" quantize "$M/lenet1.qm" --scheme dynamic -o "$T/dyn.qm" -q >/dev/null
run "$Q" quantize "$T/dyn.qm" --fashion-dir "$NODATA" -o "$T/x.qm"
check "quantizing a quantized model is refused before calibration data is read" \
  bash -c "[ $rc -eq 1 ] && grep -q 'already quantized' <<<'$out' && ! grep -q no-such-folder <<<'$out'"
run "$Q" train --arch lenet1 --init-from "$T/dyn.qm" --fashion-dir "$NODATA" -o "$T/x.qm"
check "fine-tuning a quantized model is refused before the data is read" \
  bash -c "[ $rc -eq 1 ] && grep -q 'already quantized' <<<'$out' && ! grep -q no-such-folder <<<'$out'"
run "$Q" quantize "$M/lenet1.qm" --observer entropie -o "$T/x.qm"
check "an unknown observer is a usage error" bash -c "[ $rc -eq 2 ] && grep -q -- '--observer' <<<'$out'"
check "nothing written by refused commands" test ! -e "$T/x.qm"

# ---- an output is never one of the inputs
cp "$M/lenet1.qm" "$T/m.qm"
before="$(cksum <"$T/m.qm")"
run "$Q" quantize "$T/m.qm" -o "$T/m.qm"
check "quantize -o INPUT: exit 1" test $rc -eq 1
check "quantize -o INPUT: says so" contains "$out" "is the input"
run "$Q" quantize "$T/m.qm" -o "$T/./sub/../m.qm"
check "quantize -o INPUT by another path: refused" test $rc -eq 1
ln -s "$T/m.qm" "$T/link.qm"
run "$Q" quantize "$T/m.qm" -o "$T/link.qm"
check "quantize -o a link to INPUT: refused" test $rc -eq 1
run "$Q" train --arch lenet1 --init-from "$T/m.qm" -o "$T/m.qm"
check "train -o its --init-from: refused" test $rc -eq 1
run "$Q" compare "$T/m.qm" "$M/lenet1.qm" -o "$T/m.qm"
check "compare -o one of its models: refused" test $rc -eq 1
run "$Q" eval "$T/m.qm" --predictions "$T/m.qm"
check "eval --predictions INPUT: refused" test $rc -eq 1
check "the input is unchanged" test "$(cksum <"$T/m.qm")" = "$before"

# ---- comparing models that read different inputs
run "$Q" compare "$M/lstm.qm" "$M/lenet5.qm"
check "text vs image model: exit 1" test $rc -eq 1
check "text vs image model: names both kinds" bash -c "grep -q 'text model' <<<'$out' && grep -q 'image model' <<<'$out'"
check "text vs image model: does not talk of vocabularies" bash -c "! grep -q vocabular <<<'$out'"

# ---- data folders from the environment (README: QUALM_FASHION_MNIST_DIR, QUALM_DATA_DIR)
run env QUALM_FASHION_MNIST_DIR="$NODATA" "$Q" eval "$M/lenet1.qm" --limit 10
check "QUALM_FASHION_MNIST_DIR is honoured" bash -c "[ $rc -eq 1 ] && grep -q no-such-folder <<<'$out'"
run env QUALM_FASHION_MNIST_DIR="$NODATA" "$Q" eval "$M/lenet1.qm" --limit 10 --fashion-dir /usr/share/datasets/fashion-mnist
check "--fashion-dir wins over the environment" test $rc -eq 0
run env QUALM_DATA_DIR="$NODATA" "$Q" eval "$M/gru.qm" --limit 10
check "QUALM_DATA_DIR is honoured" bash -c "[ $rc -eq 1 ] && grep -q 'no-such-folder/spam-assassin' <<<'$out'"

# ---- calibration defaults to the model's own recorded training data. A model
# trained on an IDX pair (200 Fashion-MNIST images, written here) calibrates on
# that pair's training split, never on fashion-mnist:train.
F=/usr/share/datasets/fashion-mnist
{ printf '\x00\x00\x08\x03\x00\x00\x00\xc8\x00\x00\x00\x1c\x00\x00\x00\x1c'
  zcat "$F/train-images-idx3-ubyte.gz" | tail -c +17 | head -c $((200 * 784)); } >"$T/img.idx"
{ printf '\x00\x00\x08\x01\x00\x00\x00\xc8'
  zcat "$F/train-labels-idx1-ubyte.gz" | tail -c +9 | head -c 200; } >"$T/lab.idx"
"$Q" train --arch lenet1 --data "idx:$T/img.idx,$T/lab.idx" --epochs 1 -q -o "$T/u.qm" >/dev/null
check "trained on an IDX pair" test -s "$T/u.qm"
j="$("$Q" quantize "$T/u.qm" --fashion-dir "$NODATA" --samples 50 -o "$T/u8.qm" --json)"
check "calibration data is the model's training split" \
  test "$(field "['info']['calibration.data']" <<<"$j")" = "idx:$T/img.idx,$T/lab.idx:train"

# ---- a variant that quantizes nothing says so
j="$("$Q" quantize "$M/lenet1.qm" --scheme weight-only-int8 -o "$T/w.qm" --json)"
check "weight-only-int8 on lenet1 quantizes no layer" test "$(field "['quantized_layers']" <<<"$j")" = 0
check "... and warns" contains "$(field "['warning']" <<<"$j")" "no layer was quantized"
run "$Q" quantize "$M/lenet1.qm" --scheme weight-only-int8 -o "$T/w2.qm"
check "... also without --json" contains "$out" "warning: no layer was quantized"
j="$("$Q" quantize "$M/lenet5.qm" --scheme weight-only-int8 -o "$T/w5.qm" --json)"
check "weight-only-int8 on lenet5 quantizes some layers" awk -v n="$(field "['quantized_layers']" <<<"$j")" 'BEGIN { exit !(n > 0) }'

# ---- JSON shapes
j="$("$Q" quantize "$M/lenet1.qm" --scheme bf16-weights -o "$T/b.qm" --json)"
check "quantize --json: bf16 has no requant mode" test "$(field "['mode']" <<<"$j")" = None
check "quantize --json: int8 has one" test "$(field "['mode']" <<<"$("$Q" quantize "$M/lenet1.qm" --samples 20 -o "$T/i.qm" --json)")" = gemmlowp
j="$("$Q" info "$M/lenet1.qm" --json)"
check "info --json: train.config is an object" test "$(field "['metadata']['train.config'].__class__.__name__" <<<"$j")" = dict
check "info --json: train.history is a list of epochs" test "$(field "['metadata']['train.history'][0]['epoch']" <<<"$j")" = 1
check "info --json: the vocabulary is summarized" \
  awk -v n="$(field "['metadata']['text.vocabulary']['tokens']" <<<"$("$Q" info "$M/gru.qm" --json)")" 'BEGIN { exit !(n > 1000) }'
"$Q" eval "$M/lenet1.qm" --limit 7 -q --predictions "$T/p.json" >/dev/null
check "--predictions: one probability row per input" test "$(field "['probabilities'].__len__()" <"$T/p.json")" = 7
check "--predictions: each row has one entry per class" test "$(field "['probabilities'][6].__len__()" <"$T/p.json")" = 10

# ---- one vocabulary: -o/--output, --backend, and the --data help lists every spec form
for c in train quantize compare zoo; do
  check "$c --help has -o,--output" contains "$("$Q" $c --help)" "-o,--output"
done
help="$("$Q" eval --help)"
check "eval --help lists text: specs" contains "$help" "text:<dir>"
check "eval --help lists idx: specs" contains "$help" "idx:<images>"
check "--backend help says it picks int8 kernels too" contains "$("$Q" eval --help)" "float and int8 alike"

# ---- an interrupted training run says how to resume
timeout --preserve-status -s INT 4 "$Q" train --arch lenet5 --epochs 1 -o "$T/int.qm" >"$T/int.out" 2>"$T/int.err"; rc=$?
check "interrupted train exits 130" test $rc -eq 130
check "interrupted train says how to resume" contains "$(cat "$T/int.err")" "run the same command again to resume"

# ---- --input-limit (docs/LIMITS.md): a limit lowered below the data is an
# error naming the file and the limit, checked before decoding; a bad name is
# a usage error
IMG="$T/images"
python3 - "$IMG" <<'PY'
import os, struct, sys
for c in range(10):  # one 28x28 grey 24-bit BMP per class
    d = os.path.join(sys.argv[1], str(c)); os.makedirs(d)
    row = bytes([c * 20] * 3 * 28)
    pixels = row * 28
    header = b'BM' + struct.pack('<IHHI', 54 + len(pixels), 0, 0, 54)
    info = struct.pack('<IiiHHIIiiII', 40, 28, 28, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    open(os.path.join(d, 'a.bmp'), 'wb').write(header + info + pixels)
PY
run "$Q" eval "$M/lenet1.qm" --data "images:$IMG" -q
check "eval on a 10-image folder within the limits: exit 0 ($out)" test $rc -eq 0
run "$Q" eval "$M/lenet1.qm" --data "images:$IMG" --input-limit max_image_pixels=100 -q
check "max_image_pixels=100: exit 1" test $rc -eq 1
check "max_image_pixels=100: names the limit" contains "$out" "max_image_pixels=100"
check "max_image_pixels=100: names the file" contains "$out" "a.bmp"
run "$Q" eval "$M/lenet1.qm" --data "images:$IMG" --input-limit max_image_pixels=784 -q
check "max_image_pixels=784 (exactly 28x28): exit 0" test $rc -eq 0
run "$Q" eval "$M/lenet1.qm" --input-limit no_such_limit=5
check "--input-limit with an unknown name: exit 2" test $rc -eq 2
check "--input-limit with an unknown name: says which" contains "$out" "no_such_limit"

finish "cli-input"

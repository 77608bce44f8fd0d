#!/usr/bin/env bash
# End-to-end test of the `qualm` command line on small slices of the real data:
# train, interrupt and resume (bit-identical to an uninterrupted run), eval,
# info, and clear errors on bad input. Usage: cli_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check "version" "$Q" --version

# Uninterrupted run: 2 epochs on 640 images.
"$Q" train --arch lenet1 --epochs 2 --limit 640 --seed 5 --threads 2 -q -o "$T/a.qm" >/dev/null
check "train writes a model" test -s "$T/a.qm"
check "no checkpoint left after a finished run" test ! -e "$T/a.qm.ckpt"

# Same run, stopped after epoch 1, then resumed.
"$Q" train --arch lenet1 --epochs 2 --limit 640 --seed 5 --threads 2 -q --stop-after 1 -o "$T/b.qm" >/dev/null
check "stopped run leaves a checkpoint" test -s "$T/b.qm.ckpt"
check "stopped run writes no model" test ! -e "$T/b.qm"
out="$("$Q" train --arch lenet1 --epochs 2 --limit 640 --seed 5 --threads 2 -o "$T/b.qm" 2>&1)"
check "resume says so" contains "$out" "resuming after epoch 1"
"$Q" eval "$T/a.qm" --data fashion-mnist:test --limit 300 --threads 2 -q --predictions "$T/a.json" >/dev/null
"$Q" eval "$T/b.qm" --data fashion-mnist:test --limit 300 --threads 2 -q --predictions "$T/b.json" >/dev/null
# Predictions files differ only in the model name; compare the numbers.
check "resumed run is bit-identical to the uninterrupted one" \
  cmp <(sed 's/"model":"[^"]*"//' "$T/a.json") <(sed 's/"model":"[^"]*"//' "$T/b.json")

# A changed configuration refuses to resume from a stale checkpoint.
"$Q" train --arch lenet1 --epochs 3 --limit 640 -q --stop-after 1 -o "$T/c.qm" >/dev/null
out="$("$Q" train --arch lenet1 --epochs 3 --lr 0.01 --limit 640 -q -o "$T/c.qm" 2>&1)"; rc=$?
check "stale checkpoint is refused" test $rc -eq 1
check "stale checkpoint message" contains "$out" "different configuration"

json="$("$Q" eval "$T/a.qm" --data fashion-mnist:test --limit 500 --json)"
check "eval --json has accuracy" contains "$json" '"accuracy"'
acc="$(sed -n 's/^  "accuracy": \([0-9.]*\).*/\1/p' <<<"$json")"
check "a 2-epoch lenet1 beats chance by far (accuracy $acc)" awk -v a="$acc" 'BEGIN { exit !(a > 0.5) }'

info="$("$Q" info "$T/a.qm")"
check "info names the architecture" contains "$info" "arch lenet1"
check "info records the seed" contains "$info" "train.seed: 5"
check "info --json" contains "$("$Q" info "$T/a.qm" --json)" '"format_version"'

# Bad files: clear errors, exit code 1, never a crash.
cp "$T/a.qm" "$T/bad.qm"
printf 'X' | dd of="$T/bad.qm" bs=1 seek=2000 conv=notrunc status=none
out="$("$Q" eval "$T/bad.qm" 2>&1)"; rc=$?
check "corrupt model: exit 1" test $rc -eq 1
check "corrupt model: names the file and the problem" contains "$out" "bad.qm.*checksum"
head -c 100 "$T/a.qm" > "$T/short.qm"
out="$("$Q" info "$T/short.qm" 2>&1)"; rc=$?
check "truncated model: exit 1 and says truncated" bash -c "[ $rc -eq 1 ] && grep -q truncated <<<'$out'"
out="$("$Q" eval "$T/missing.qm" 2>&1)"; rc=$?
check "missing model: exit 1" test $rc -eq 1
out="$("$Q" train --arch vgg -o "$T/x.qm" 2>&1)"; rc=$?
check "unknown architecture: usage error (exit 2) naming --arch" bash -c "[ $rc -eq 2 ] && grep -q -- '--arch: vgg not in' <<<'$out'"
out="$("$Q" eval "$T/a.qm" --data spam:test 2>&1)"; rc=$?
check "image model on text data: clear error" bash -c "[ $rc -eq 1 ] && grep -q 'token ids' <<<'$out'"

finish "cli"

#!/usr/bin/env bash
# run_example.sh CLASSIFY FIXTURES: runs the plain-C example on every zoo model's
# fixture inputs and compares its logits with the engine's byte for byte; also
# without an input file. Prints each model's peak resident memory (ru_maxrss).
# An optional runner (qemu-aarch64 ...) comes from $QUALM_RUNNER.
set -euo pipefail
classify="$1"; dir="$2"
runner=(${QUALM_RUNNER:-})
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for arch in lenet1 lenet5 resnet20 nin lstm gru; do
  out="$("${runner[@]}" "$classify" "$dir/$arch.int8.qm" "$dir/$arch.input.bin" "$tmp/$arch.logits.bin")"
  grep -q "^sample 3: class [0-9]" <<<"$out" || { echo "$arch: unexpected output:"; echo "$out"; exit 1; }
  cmp "$tmp/$arch.logits.bin" "$dir/$arch.expected.bin" || { echo "$arch: logits differ from the engine's"; exit 1; }
  echo "$arch: logits identical to the engine's; $(grep peak_rss_kb <<<"$out")"
  "${runner[@]}" "$classify" "$dir/$arch.int8.qm" > "$tmp/pattern.txt"
  grep -q "^sample 0: class" "$tmp/pattern.txt"
done
# Errors reach the caller: a missing file and a float model.
if "${runner[@]}" "$classify" "$dir/missing.qm" 2> "$tmp/err.txt"; then echo "a missing model succeeded"; exit 1; fi
grep -q "not found" "$tmp/err.txt"
if "${runner[@]}" "$classify" "$dir/lenet5.float.qm" 2> "$tmp/err.txt"; then echo "a float model succeeded"; exit 1; fi
grep -q "unimplemented" "$tmp/err.txt"
echo "plain-C example: all zoo models OK"

#!/usr/bin/env bash
# Crash safety as a test (issue 12): a training run, a quantization and a study are
# killed with SIGKILL at each write step -- after the temporary file is
# fsynced, after it is renamed, before the checkpoint is removed (the
# QUALM_TEST_KILL_AT hook, frontends/atomic_file.h) -- for every write the run
# makes, and at random times. The rerun must finish with the same weights as
# an uninterrupted run (the data section of the model file, where every tensor
# is; the header also records wall-clock seconds), the quantization
# byte-identical output, and no temporary file may be left. A full disk
# (ulimit -f) must give a clear error and leave the previous file intact.
# Usage: cli_kill_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The tensors of a model file: the bytes between the aligned header end and the CRC.
weights() {
  python3 - "$1" <<'PY'
import struct, sys, hashlib
b = open(sys.argv[1], 'rb').read()
start = (32 + struct.unpack('<Q', b[24:32])[0] + 63) // 64 * 64
print(hashlib.sha256(b[start:-4]).hexdigest())
PY
}
no_temporaries() { [ -z "$(find "$1" -name '*.tmp.*' -print -quit)" ]; }

TRAIN=(train --arch lenet1 --epochs 3 --limit 320 --seed 5 --threads 1 -q)
"$Q" "${TRAIN[@]}" -o "$T/ref.qm" >/dev/null
ref="$(weights "$T/ref.qm")"
QUANT=(quantize --samples 16 --threads 1)
"$Q" "${QUANT[@]}" "$T/ref.qm" -o "$T/ref-int8.qm" >/dev/null 2>&1
check "reference quantization written" test -s "$T/ref-int8.qm"

# Every write step, every occurrence, until the run no longer reaches it.
matrix=""
for step in after_fsync after_rename before_checkpoint_removal; do
  for n in 1 2 3 4 5 6; do
    d="$T/train-$step-$n"
    mkdir -p "$d"
    QUALM_TEST_KILL_AT="$step:$n" "$Q" "${TRAIN[@]}" -o "$d/m.qm" >/dev/null 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then rm -rf "$d"; break; fi  # the run has fewer than n such steps
    check "train killed at $step:$n (exit $rc)" test $rc -eq 137
    "$Q" "${TRAIN[@]}" -o "$d/m.qm" >/dev/null 2>&1
    check "train rerun after $step:$n finishes" test -s "$d/m.qm"
    check "train rerun after $step:$n has the uninterrupted weights" test "$(weights "$d/m.qm")" = "$ref"
    check "no checkpoint left after $step:$n" test ! -e "$d/m.qm.ckpt"
    check "no temporary file left after $step:$n" no_temporaries "$d"
    matrix+=" train:$step:$n"
  done
done
for step in after_fsync after_rename; do
  d="$T/quant-$step"
  mkdir -p "$d"
  QUALM_TEST_KILL_AT="$step" "$Q" "${QUANT[@]}" "$T/ref.qm" -o "$d/q.qm" >/dev/null 2>&1
  rc=$?
  check "quantize killed at $step (exit $rc)" test $rc -eq 137
  "$Q" "${QUANT[@]}" "$T/ref.qm" -o "$d/q.qm" >/dev/null 2>&1
  check "quantize rerun after $step is byte-identical" cmp -s "$d/q.qm" "$T/ref-int8.qm"
  check "no temporary file left after quantize $step" no_temporaries "$d"
  matrix+=" quantize:$step"
done

# Random times: SIGKILL somewhere in the run (seeded from $RANDOM, printed).
for k in 1 2 3; do
  d="$T/random-$k"
  mkdir -p "$d"
  delay="0.$(( RANDOM % 9 + 1 ))$(( RANDOM % 10 ))"
  "$Q" "${TRAIN[@]}" -o "$d/m.qm" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  "$Q" "${TRAIN[@]}" -o "$d/m.qm" >/dev/null 2>&1
  check "train killed after ${delay}s: rerun has the uninterrupted weights" test "$(weights "$d/m.qm")" = "$ref"
  check "train killed after ${delay}s: no temporary file left" no_temporaries "$d"
  matrix+=" train:random:${delay}s"
done

# A study: a tiny grid (LeNet-1, one epoch on 600 images, int8 + dynamic,
# one shift at one severity, 200 inputs per set) killed after the n-th fsync
# and the n-th rename of the run (each cell writes its outputs, then cell.json
# last) and then resumed; the tables must be byte-identical to an
# uninterrupted run's and no temporary file may remain.
cat >"$T/tiny.json" <<'JSON'
{"name": "kill", "tasks": [{"arch": "lenet1", "epochs": 1, "train_limit": 600}], "strategies": ["standard"],
 "seeds": [3], "variants": ["int8", "dynamic"], "eval_limit": 200, "image_shifts": ["gaussian-noise"],
 "text_shifts": [], "severities": [3], "natural_shifts": false}
JSON
STUDY=(study --spec "$T/tiny.json" --threads 1 --no-reuse -q)
"$Q" "${STUDY[@]}" -o "$T/study-ref" >/dev/null 2>&1
check "uninterrupted tiny study finished" test -s "$T/study-ref/results.json"
for step in after_fsync after_rename; do
  for n in 1 4 9; do
    d="$T/study-$step-$n"
    QUALM_TEST_KILL_AT="$step:$n" "$Q" "${STUDY[@]}" -o "$d" >/dev/null 2>&1
    rc=$?
    check "study killed at $step:$n (exit $rc)" test $rc -eq 137
    "$Q" "${STUDY[@]}" -o "$d" >/dev/null 2>&1
    for f in results.md results.json records.json; do
      check "study resumed after $step:$n: $f byte-identical" cmp -s "$d/$f" "$T/study-ref/$f"
    done
    check "study resumed after $step:$n: no temporary file left" no_temporaries "$d"
    matrix+=" study:$step:$n"
  done
done

# A full disk: the file size limit (SIGXFSZ ignored, so the write fails with EFBIG).
d="$T/full"
mkdir -p "$d"
cp "$T/ref.qm" "$d/q.qm"
out="$( (trap '' XFSZ; ulimit -f 4; "$Q" "${QUANT[@]}" "$T/ref.qm" -o "$d/q.qm") 2>&1)"
rc=$?
check "full disk: quantize fails (exit $rc)" test $rc -ne 0
check "full disk: the error says why ($out)" contains "$out" "File too large"
check "full disk: the error names the file" contains "$out" "$d/q.qm"
check "full disk: the previous file is intact" cmp -s "$d/q.qm" "$T/ref.qm"
check "full disk: no temporary file left" no_temporaries "$d"

echo "kill matrix:$matrix"
finish "cli kill"

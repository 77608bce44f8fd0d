#!/usr/bin/env bash
# The same float bits on every machine (kernels/README.md, "Float
# determinism"), through the command line as a user runs it: LeNet-5 trained
# for one epoch on 320 Fashion-MNIST images with QUALM_ISA capped at scalar,
# avx2 and avx512, each with 1 and 2 threads, writes byte-identical data
# sections (the weights; the header's metadata records the path, threads and
# seconds, and the CRC-32 after the data covers it); then the same for two
# steps of ResNet-20 (batch norm, residual adds). A cap above what the CPU has runs the best path it does have, so on
# a smaller CPU some runs repeat a path (the test says which ran).
# Usage: cli_determinism_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# weights FILE: the data section (the file ends with it and a 4-byte CRC-32).
weights() {
  local n
  n="$(grep -ao '"data_bytes":[0-9]*' "$1" | head -1 | cut -d: -f2)"
  [ -n "$n" ] && [ "$n" -gt 0 ] && tail -c $((n + 4)) "$1" | head -c "$n"
}
same_weights() { cmp -s <(weights "$1") <(weights "$2"); }

ref=""
for isa in scalar avx2 avx512; do
  for threads in 1 2; do
    f="$T/lenet5_${isa}_t${threads}.qm"
    QUALM_ISA=$isa "$Q" train --arch lenet5 --epochs 1 --limit 320 --batch 32 --seed 3 --threads $threads \
      --no-validation -q -o "$f" >/dev/null
    check "train with QUALM_ISA=$isa, $threads threads writes a model" test -s "$f"
    echo "QUALM_ISA=$isa threads=$threads: $(QUALM_ISA=$isa "$Q" cpu 2>&1 | sed -n "s/^float gemm path: //p")"
    if [ -z "$ref" ]; then
      ref="$f"
    else
      check "QUALM_ISA=$isa, $threads threads: the same weights as QUALM_ISA=scalar, 1 thread" same_weights "$ref" "$f"
    fi
  done
done
# ResNet-20 (batch norm with batch statistics, ReLU, residual adds: the fast
# training kernels of fast/norm_eltwise_f32*.cpp and the executor's assigned
# gradients), 2 steps of 32 images with its flip + shift augmentation, under
# the same caps and thread counts: byte-identical weights and running statistics.
rref=""
for isa in scalar avx2 avx512; do
  for threads in 1 2; do
    f="$T/resnet20_${isa}_t${threads}.qm"
    QUALM_ISA=$isa "$Q" train --arch resnet20 --epochs 1 --limit 64 --batch 32 --seed 3 --threads $threads \
      --no-validation -q -o "$f" >/dev/null
    check "resnet20: train with QUALM_ISA=$isa, $threads threads writes a model" test -s "$f"
    echo "QUALM_ISA=$isa threads=$threads: $(QUALM_ISA=$isa "$Q" cpu 2>&1 | sed -n "s/^float batchnorm\/elementwise path: //p")"
    if [ -z "$rref" ]; then
      rref="$f"
    else
      check "resnet20: QUALM_ISA=$isa, $threads threads: the same weights as QUALM_ISA=scalar, 1 thread" \
        same_weights "$rref" "$f"
    fi
  done
done
QUALM_ISA=avx512 "$Q" train --arch resnet20 --epochs 1 --limit 64 --batch 32 --seed 4 --threads 2 --no-validation -q \
  -o "$T/resnet20_other_seed.qm" >/dev/null
check "resnet20: the data section is found" test "$(weights "$rref" | wc -c)" -gt 1000000

# The comparison can fail: the data section is there, and another seed changes it.
QUALM_ISA=avx512 "$Q" train --arch lenet5 --epochs 1 --limit 320 --batch 32 --seed 4 --threads 2 --no-validation -q \
  -o "$T/other_seed.qm" >/dev/null
check "the data section is found" test "$(weights "$ref" | wc -c)" -gt 200000
differ() { ! same_weights "$1" "$2"; }
check "another seed gives other weights" differ "$ref" "$T/other_seed.qm"
check "resnet20: another seed gives other weights" differ "$rref" "$T/resnet20_other_seed.qm"
finish "cli determinism"

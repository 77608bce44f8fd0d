#!/usr/bin/env bash
# qualm train --strategy: bad values are usage errors (exit 2), the strategy is
# recorded in the model's configuration, and a stopped run resumes.
set -uo pipefail
Q="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for bad in "--adv-eps 0" "--adv-step -1" "--adv-iterations 0" "--adv-fraction 0" "--adv-fraction 1.5" \
           "--mixup-alpha 0" "--strategy fgsm" "--strategy mixup --qat"; do
  # shellcheck disable=SC2086
  run "$Q" train --arch lenet1 -o "$T/bad.qm" $bad
  check "usage error: $bad" test "$rc" = 2
done
run "$Q" train --arch lenet1 -o "$T/bad.qm" --strategy mixup --qat
check "--qat with a strategy says why" contains "$out" "does not combine"

if [ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  run "$Q" train --arch lenet1 --strategy adversarial --adv-eps 0.05 --adv-step 0.02 --adv-iterations 2 --epochs 2 \
      --stop-after 1 --limit 500 --threads 1 -q -o "$T/adv.qm"
  check "adversarial: stops after one epoch" test "$rc" = 0 -a -e "$T/adv.qm.ckpt"
  j="$("$Q" train --arch lenet1 --strategy adversarial --adv-eps 0.05 --adv-step 0.02 --adv-iterations 2 --epochs 2 \
      --limit 500 --threads 1 --json -o "$T/adv.qm" 2>"$T/err")"
  check "adversarial: resumes from the checkpoint" contains "$(cat "$T/err")" "resuming after epoch 1"
  check "adversarial: strategy in the config" test "$(field "['config']['strategy']" <<<"$j")" = adversarial
  check "adversarial: eps in the config" test "$(field "['config']['adversarial']['eps']" <<<"$j")" = 0.05000000074505806
  check "adversarial: iterations in the config" test "$(field "['config']['adversarial']['iterations']" <<<"$j")" = 2
  # Another strategy must not resume this run's checkpoint.
  run "$Q" train --arch lenet1 --strategy adversarial --adv-eps 0.05 --adv-step 0.02 --adv-iterations 2 --epochs 2 \
      --stop-after 1 --limit 500 --threads 1 -q -o "$T/other.qm"
  run "$Q" train --arch lenet1 --strategy mixup --epochs 2 --limit 500 --threads 1 -q -o "$T/other.qm" --checkpoint "$T/other.qm.ckpt"
  check "a checkpoint of another strategy is refused" test "$rc" = 1
  j="$("$Q" train --arch lenet1 --strategy mixup --mixup-alpha 0.4 --epochs 1 --limit 500 --threads 1 -q --json \
      -o "$T/mix.qm")"
  check "mixup: strategy in the config" test "$(field "['config']['strategy']" <<<"$j")" = mixup
  check "mixup: alpha in the config" test "$(field "['config']['mixup']['alpha']" <<<"$j")" = 0.4000000059604645
  check "mixup: the model records its strategy" contains "$("$Q" info "$T/mix.qm")" "mixup"
fi
finish "cli strategy"

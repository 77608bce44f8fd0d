#!/usr/bin/env bash
# The numbers of study/results/2026-12-03-text-tasks.md: LSTM and GRU trained
# on spam-brief (seeds 1, 2), quantized int8 and dynamic, compared with their
# float originals on the clean test set, the natural shifts and the synthetic
# text shifts at severities 1, 3, 5; and the committed spam models on the
# synthetic shifts. Usage: scripts/text_tasks.sh QUALM OUTDIR
set -euo pipefail
QUALM=${1:?path to the qualm binary}
OUT=${2:?output folder}
mkdir -p "$OUT"
acc() {  # model data [extra eval args] -> "acc bal spam_recall"
  "$QUALM" eval "$1" --data "$2" "${@:3}" --json -q --threads 2 | python3 -c '
import json, sys
j = json.load(sys.stdin); pc = j["per_class"]
rec = [c["accuracy"] for c in pc if c["count"] > 0]
print("%.2f %.2f %.2f" % (100 * j["accuracy"], 100 * sum(rec) / len(rec), 100 * pc[1]["accuracy"]))'
}
dis() {  # a b data [extra compare args] -> disagreements
  "$QUALM" compare "$1" "$2" --data "$3" "${@:4}" --json --threads 2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["disagreements"])'
}
echo "## spam-brief: float, int8, dynamic"
echo "| model | seed | best epoch / run | set | float acc | balanced | spam recall | int8 acc | int8 dis | dynamic acc | dynamic dis |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for arch in lstm gru; do
  for seed in 1 2; do
    m="$OUT/$arch-brief-s$seed"
    "$QUALM" train --arch "$arch" --data spam-brief --seed "$seed" --threads 2 --no-resume -q -o "$m.qm" >/dev/null
    "$QUALM" quantize "$m.qm" --scheme int8 -q -o "$m-int8.qm" >/dev/null
    "$QUALM" quantize "$m.qm" --scheme dynamic -q -o "$m-dynamic.qm" >/dev/null
    es=$("$QUALM" info "$m.qm" --json | python3 -c '
import json, sys
j = json.load(sys.stdin); md = j.get("metadata", {})
e = md["train.early_stopping"]; e = json.loads(e) if isinstance(e, str) else e; print("%d / %d" % (e["best_epoch"], e["epochs_run"]))')
    for set in spam-brief:test spam-brief:hard-ham spam-brief:later; do
      read -r fa fb fs <<<"$(acc "$m.qm" "$set")"
      read -r ia _ _ <<<"$(acc "$m-int8.qm" "$set")"
      read -r da _ _ <<<"$(acc "$m-dynamic.qm" "$set")"
      echo "| $arch | $seed | $es | ${set#spam-brief:} | $fa | $fb | $fs | $ia | $(dis "$m.qm" "$m-int8.qm" "$set") | $da | $(dis "$m.qm" "$m-dynamic.qm" "$set") |"
    done
  done
done
echo
echo "## spam-brief: disagreements on the synthetic shifts of spam-brief:test (seed 1 of the shift)"
echo "| model | seed | shift | float acc | int8 dis | dynamic dis |"
echo "|---|---|---|---|---|---|"
for arch in lstm gru; do
  for seed in 1 2; do
    m="$OUT/$arch-brief-s$seed"
    for t in typos drop-words insert-words shuffle-window strip-format; do
      for s in 1 3 5; do
        read -r fa _ _ <<<"$(acc "$m.qm" spam-brief:test --text-shift "$t:$s")"
        echo "| $arch | $seed | $t:$s | $fa | $(dis "$m.qm" "$m-int8.qm" spam-brief:test --text-shift "$t:$s") | $(dis "$m.qm" "$m-dynamic.qm" spam-brief:test --text-shift "$t:$s") |"
      done
    done
  done
done

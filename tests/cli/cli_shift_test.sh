#!/usr/bin/env bash
# `qualm shift`: the list, a shifted image folder that `--data images:DIR`
# reads back with the same classes and labels, same seed same files, a --limit
# prefix gives a prefix, folders that are not ours are never replaced, the
# contact sheet, and bad type / severity as usage errors (exit 2).
# Usage: cli_shift_test.sh <path-to-qualm>
set -uo pipefail
Q="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
M="$ROOT/study/results/models-2026-11-25"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- the list
run "$Q" shift --list
check "list: exit 0" test $rc -eq 0
check "list names fog" contains "$out" "^fog "
check "list names canny-edges" contains "$out" "^canny-edges "
run "$Q" shift --list --json
check "list --json: at least 20 types with 5 severities" \
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert len(d)>=20 and all(t['severities']==5 for t in d)" "$out"

# ---- usage errors: exit 2 with a message, nothing written
run "$Q" shift snowstorm --severity 2 --limit 20 -o "$T/x"
check "unknown type: exit 2" test $rc -eq 2
check "unknown type: says so and lists the types" contains "$out" "unknown shift type 'snowstorm' (known: gaussian-noise"
for s in 0 6 -1; do
  run "$Q" shift fog --severity "$s" --limit 20 -o "$T/x"
  check "severity $s: exit 2" test $rc -eq 2
  check "severity $s: names the option" contains "$out" "--severity"
done
run "$Q" shift fog --limit 20 -o "$T/x"
check "no severity: exit 2" test $rc -eq 2
check "no severity: says so" contains "$out" "give --severity 1..5"
run "$Q" shift fog --severity 2 --limit 20
check "no output folder: exit 2" test $rc -eq 2
run "$Q" shift fog --list
check "two modes at once: exit 2" test $rc -eq 2
check "refused commands wrote nothing" test ! -e "$T/x"
if [ -d "$ROOT/data/spam-assassin/package/data" ]; then
  run "$Q" shift fog --severity 2 --data spam:test --spam-dir "$ROOT/data/spam-assassin/package/data" --limit 20 -o "$T/x"
  check "text data: an error, not a crash" test $rc -eq 1
  check "text data: says images are needed" contains "$out" "is not a set of images"
fi

# ---- a shifted folder, read back by eval
run "$Q" shift fog --severity 3 --limit 200 --seed 4 -o "$T/fog"
check "shift: exit 0" test $rc -eq 0
check "shift: names the set" contains "$out" "fashion-mnist:test~fog@3: 200 images"
check "shift: 10 class folders" test "$(find "$T/fog" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq 10
check "shift: 200 PNGs" test "$(find "$T/fog" -name '*.png' | wc -l)" -eq 200
check "shift: class folders keep ids and names" test -d "$T/fog/0-T-shirt-top" -a -d "$T/fog/9-Ankle-boot"
check "shift: provenance marker" contains "$(cat "$T/fog/.qualm-shift.json")" '"severity": 3'
run "$Q" eval "$M/lenet5.qm" --data "images:$T/fog" --json
check "eval images:DIR: exit 0" test $rc -eq 0
shifted="$out"
run "$Q" eval "$M/lenet5.qm" --data fashion-mnist:test --limit 200 --json
clean="$out"
check "read back: 200 images" test "$(field "['count']" <<<"$shifted")" -eq 200
check "read back: the same labels per class" test \
  "$(python3 -c "import json,sys; print([c['count'] for c in json.load(sys.stdin)['per_class']])" <<<"$shifted")" = \
  "$(python3 -c "import json,sys; print([c['count'] for c in json.load(sys.stdin)['per_class']])" <<<"$clean")"
check "read back: the same class names" test \
  "$(python3 -c "import json,sys; print([c['name'].split('-')[0] for c in json.load(sys.stdin)['per_class']])" <<<"$shifted")" = \
  "['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']"
check "fog lowers accuracy" python3 -c "import json,sys; assert json.loads(sys.argv[1])['accuracy'] < json.loads(sys.argv[2])['accuracy']" "$shifted" "$clean"

# ---- determinism, seeds and prefixes
"$Q" shift fog --severity 3 --limit 200 --seed 4 -o "$T/fog2" >/dev/null
check "same seed: the same files" diff -r "$T/fog" "$T/fog2"
"$Q" shift fog --severity 3 --limit 200 --seed 5 -o "$T/fog3" >/dev/null
check "another seed: other images" bash -c "! diff -rq -x .qualm-shift.json '$T/fog' '$T/fog3' >/dev/null"
"$Q" shift fog --severity 3 --limit 50 --seed 4 -o "$T/fog50" >/dev/null
prefix_ok=1
while IFS= read -r f; do cmp -s "$T/fog50/$f" "$T/fog/$f" || prefix_ok=0; done < <(cd "$T/fog50" && find . -name '*.png')
check "--limit 50 gives the first 50 images of --limit 200" test $prefix_ok -eq 1

# ---- replacing: our own earlier output yes, anything else no
run "$Q" shift rotate --severity 1 --limit 200 -o "$T/fog"
check "an earlier output is replaced" test $rc -eq 0
check "replaced by the new set" contains "$(cat "$T/fog/.qualm-shift.json")" '"type": "rotate"'
check "no temporary folders left" test -z "$(find "$T" -maxdepth 1 -name '.fog.*')"
mkdir -p "$T/mine" && echo keep >"$T/mine/notes.txt"
run "$Q" shift fog --severity 1 --limit 200 -o "$T/mine"
check "a foreign folder: an error" test $rc -eq 1
check "a foreign folder: says why" contains "$out" "not written by"
check "a foreign folder: left as it was" test "$(ls -A "$T/mine")" = "notes.txt"
run "$Q" shift fog --severity 1 --limit 3 -o "$T/few"
check "too few images for every class: an error" bash -c "[ $rc -eq 1 ] && grep -q 'no image of class' <<<'$out' && [ ! -e '$T/few' ]"

# ---- the severity table refuses to write over its model
cp "$M/lenet1.qm" "$T/m.qm"
run "$Q" shift --severity-table --model "$T/m.qm" --limit 10 -o "$T/m.qm"
check "severity table: the output is the model: an error" bash -c "[ $rc -eq 1 ] && cmp -s '$M/lenet1.qm' '$T/m.qm'"

# ---- the contact sheet
run "$Q" shift --contact-sheet "$T/sheet.png" --limit 5 --index 2 --zoom 2
check "contact sheet: exit 0" test $rc -eq 0
check "contact sheet: a PNG" test "$(head -c 4 "$T/sheet.png" | tail -c 3)" = "PNG"
run "$Q" shift --contact-sheet "$T/sheet2.png" --limit 5 --index 7
check "contact sheet: a sample that is not there is an error" bash -c "[ $rc -eq 1 ] && [ ! -e '$T/sheet2.png' ]"

finish "cli_shift_test"

# Shared by the command-line tests (sourced): a check counter and small helpers.
# The sourcing script sets Q (the qualm program) and ends with `finish NAME`.
failures=0
passes=0
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
check() {  # check "name" command...
  local name="$1"; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $name"; failures=$((failures + 1)); fi
}
contains() { grep -q -- "$2" <<<"$1"; }
# field "['a']['b']" < json: prints that member.
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
# run command...: sets $out (stdout and stderr) and $rc.
run() { out="$("$@" 2>&1)"; rc=$?; }
# The closing line ctest logs show, and the exit code.
finish() {
  echo "$1: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}

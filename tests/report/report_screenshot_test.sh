#!/usr/bin/env bash
# The study report in a real browser: regenerates DIR's report with `qualm
# report`, opens report.html in headless Chromium (Debian `chromium`, installed
# by scripts/setup.sh --with-test-tools), takes a 1280 x 4000 screenshot and
# checks that it is not blank, that the DOM Chromium built has the expected
# headings and SVG charts, and that the page logged no console error.
# Usage: report_screenshot_test.sh QUALM STUDY_DIR  (e.g. the quick preset's folder)
# REPORT_SCREENSHOT=path keeps a copy of the screenshot.
set -uo pipefail
Q="${1:?usage: report_screenshot_test.sh QUALM STUDY_DIR}"
DIR="${2:?usage: report_screenshot_test.sh QUALM STUDY_DIR}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../cli/lib.sh"
DIR="$(cd "$DIR" && pwd)"

mkdir -p "$T/empty"
run "$Q" report "$T/empty"
check "a folder without records.json is an error (exit 1)" [ "$rc" -eq 1 ]
check "the error names records.json" contains "$out" "records.json"
run "$Q" report "$T/no-such-folder"
check "a missing folder is a usage error (exit 2)" [ "$rc" -eq 2 ]

run "$Q" report "$DIR"
check "qualm report exits 0" [ "$rc" -eq 0 ]
check "qualm report names the report" contains "$out" "report.html"
check "report.html written" test -s "$DIR/report.html"
check "report.md, analysis.json and tables written" test -s "$DIR/report.md" -a -s "$DIR/analysis.json" -a -s "$DIR/tables/findings.csv"
html="$(cat "$DIR/report.html" 2>/dev/null)"
check "no script element" bash -c '! grep -qi "<script" "$1"' _ "$DIR/report.html"
check "no network resource" bash -c '! grep -qiE "(src|href)=\"(https?:)?//" "$1"' _ "$DIR/report.html"

CHROME="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROME" ]; then
  echo "FAIL: chromium is not installed (scripts/setup.sh --with-test-tools installs it)"
  failures=$((failures + 1))
  finish "report check"
  exit 1
fi
URL="file://$DIR/report.html"
FLAGS=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$T/profile"
       --enable-logging=stderr --v=0)

timeout 180 "$CHROME" "${FLAGS[@]}" --screenshot="$T/shot.png" --window-size=1280,4000 "$URL" >"$T/shot.out" 2>"$T/shot.log"
check "chromium took a screenshot" test -s "$T/shot.png"
if [ -s "$T/shot.png" ]; then
  [ -n "${REPORT_SCREENSHOT:-}" ] && cp "$T/shot.png" "$REPORT_SCREENSHOT"
  read -r w h ink < <(python3 "$HERE/png_ink.py" "$T/shot.png")
  echo "screenshot ${w}x${h}, ink fraction $ink"
  check "screenshot is 1280 x 4000" [ "$w" = 1280 -a "$h" = 4000 ]
  # A blank page has no ink; a page of text and charts has a few percent.
  check "screenshot is not blank" python3 -c "import sys; sys.exit(0 if 0.01 < float('$ink') < 0.6 else 1)"
fi

timeout 180 "$CHROME" "${FLAGS[@]}" --dump-dom "$URL" >"$T/dom.html" 2>"$T/dom.log"
dom="$(cat "$T/dom.html")"
for heading in "Findings" "Configuration" "RQ1: disagreements under shift" "RQ2: training strategies" \
               "RQ3: which inputs disagree" "Backend disagreement matrix" "Flip attribution" \
               "Disagreement guard" "RQ4: retraining"; do
  check "heading $heading" contains "$dom" "<h2>$heading</h2>"
done
charts="$(grep -o '<svg class="chart"' "$T/dom.html" | wc -l)"
echo "charts in the DOM: $charts"
# At least a severity chart, a strategy chart, the three RQ3 charts and a guard chart.
check "at least 6 charts" [ "$charts" -ge 6 ]
check "verdicts shown" contains "$dom" 'class="verdict'
for log in "$T/shot.log" "$T/dom.log"; do
  # The page has no script, so any console message (a failed resource, a parse error) is a fault.
  errors="$(grep -E 'CONSOLE\(|Uncaught|Failed to load resource|net::ERR_' "$log" || true)"
  check "no console errors ($(basename "$log"))" [ -z "$errors" ]
  [ -n "$errors" ] && echo "$errors" | head -5
done
finish "report check"

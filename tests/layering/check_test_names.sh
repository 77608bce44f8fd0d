#!/usr/bin/env bash
# doctest_discover_tests registers every TEST_CASE as a ctest entry whose
# name is a CMake list item: a ';' in a case name cuts it there, and the
# entry then runs doctest with a filter that matches no case and "passes"
# having run nothing (7 cases were silently skipped that way). Refuse such names.
# Usage: check_test_names.sh <source dir>
set -uo pipefail
bad=$(grep -rnE 'TEST_CASE\("[^"]*;' "$1/tests" --include='*.cpp' --include='*.h')
if [ -n "$bad" ]; then
  echo "test case names with ';' (ctest would run nothing for them):"
  echo "$bad"
  exit 1
fi
echo "no test case name contains ';'"

#!/usr/bin/env bash
# The layers form one downward stack:
#   kernels (0) <- engine (1) <- frontends (2) <- study (3) <- cli (4)
# A file of a layer may include qualm headers of its own layer or of a layer
# below it, never of one above. This script lists every upward include and
# fails if there is one. Usage: check_includes.sh [source root]
set -uo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# runtime/ (the int8 runtime library and its C API) sits on frontends, beside study.
declare -A rank=([kernels]=0 [status]=0 [engine]=1 [frontends]=2 [study]=3 [runtime]=3 [cli]=4)
bad=0
checked=0
for layer in kernels engine frontends study runtime cli; do
  [ -d "$ROOT/$layer" ] || { echo "missing layer folder $ROOT/$layer"; exit 1; }
  while IFS= read -r -d '' f; do
    checked=$((checked + 1))
    while IFS= read -r line; do
      # '#include "qualm/<target>/...' or '#include "qualm/status.h"'
      target="$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]qualm\/\([a-z_]*\)[/.].*/\1/p' <<<"$line")"
      [ -n "$target" ] || continue
      if [ -z "${rank[$target]+x}" ]; then
        echo "$f: unknown qualm header family '$target': $line"; bad=$((bad + 1)); continue
      fi
      if [ "${rank[$target]}" -gt "${rank[$layer]}" ]; then
        echo "$f: $layer includes $target (a layer above it): $line"; bad=$((bad + 1))
      fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$f")
  done < <(find "$ROOT/$layer" -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cc' -o -name '*.hpp' \) -print0)
done
# The CLI's own headers are private to it: no library layer may reach into cli/.
if grep -rEn '#[[:space:]]*include[[:space:]]*"(\.\./)*cli/' "$ROOT"/{kernels,engine,frontends,study} 2>/dev/null; then
  bad=$((bad + 1))
fi
# The runtime library holds no study code: it may not include study headers either.
if grep -rEn '#[[:space:]]*include[[:space:]]*[<"]qualm/study/' "$ROOT/runtime" 2>/dev/null; then
  bad=$((bad + 1))
fi
echo "checked $checked files: $bad upward include(s)"
[ "$bad" -eq 0 ]

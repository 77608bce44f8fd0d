#!/usr/bin/env bash
# check_runtime_symbols.sh STATIC_LIB SHARED_LIB [ENGINE_LIB]: the runtime holds int8
# inference only. Fails if either library defines or references a symbol of
# the float / hybrid executors, float kernels and their backward passes,
# training, calibration, PTQ / QAT, the study, oneDNN, Eigen or OpenMP; if the
# static library leaves a qualm symbol undefined (a consumer could not link
# it); or if the shared library exports anything but the qualm_* C functions.
# (The model file's checkpoint codec -- trainer state as data -- is part of
# the reader's translation units; the shared library drops it as unreferenced.)
set -uo pipefail
static="$1"; shared="$2"
bad=0
# Symbol names (demangled), without address and type.
names() { nm -C "$1" 2>/dev/null | sed -E 's/^[0-9a-f ]* [A-Za-z] //'; }
forbidden='^(Eigen::|dnnl|GOMP_|omp_|qualm::Trainer::[A-Z][A-Za-z]*\(|qualm::Executor::|qualm::QuantizeModel|qualm::Calibrate|qualm::study::|qualm::LowerForInt8|qualm::Make[A-Za-z]*Exec\(|qualm::kernels::(ref|fast)::[a-z0-9_]*(_f32|_hybrid)\(|qualm::[A-Za-z:]*(Adam|Sgd|Qat)[A-Za-z]*)'
for lib in "$static" "$shared"; do
  hits="$(names "$lib" | grep -E "$forbidden" | grep -v 'S8Exec(' | sort -u)"
  if [ -n "$hits" ]; then echo "$lib: forbidden symbols:"; head -10 <<<"$hits"; bad=1; fi
done
undefined="$(comm -23 <(nm -C "$static" 2>/dev/null | sed -n 's/^ *U //p' | sort -u) \
                      <(nm -C --defined-only "$static" 2>/dev/null | sed -E 's/^[0-9a-f]* [A-Za-z] //' | sort -u) | grep 'qualm')"
if [ -n "$undefined" ]; then echo "$static: qualm symbols left undefined:"; head -10 <<<"$undefined"; bad=1; fi
dynamic="$(nm -D --defined-only "$shared" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}')"
exported="$(grep -v '^qualm_' <<<"$dynamic")"
if [ -n "$exported" ]; then echo "$shared exports more than the C API:"; head -10 <<<"$exported"; bad=1; fi
grep -qx 'qualm_run' <<<"$dynamic" || { echo "$shared does not export qualm_run"; bad=1; }
static_names="$(names "$static")"
grep -q '^qualm::Int8Executor::Forward' <<<"$static_names" || { echo "$static has no int8 executor"; bad=1; }
# The check can fail: the full engine library must trip it.
if [ -n "${3:-}" ] && ! grep -qE "$forbidden" <<<"$(names "$3")"; then
  echo "$3: the forbidden-symbol pattern finds nothing in the full engine: the check is broken"; bad=1
fi
[ "$bad" -eq 0 ] && echo "runtime libraries: int8 inference only, C API exported"
exit "$bad"

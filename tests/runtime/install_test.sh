#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR FIXTURES: `cmake --install` the runtime
# into a fresh prefix, check what it placed, then build the examples project
# (examples/) against it twice -- with find_package(qualm) and with pkg-config
# (shared and static) -- and run each build on a fixture model, comparing the
# logits with the engine's byte for byte.
# In a sanitized build the consumers are built with the same instrumentation
# (QUALM_CONSUMER_CC / QUALM_CONSUMER_FLAGS, set by tests/runtime/CMakeLists.txt):
# an instrumented libqualm_runtime needs the sanitizer runtimes in the program.
set -euo pipefail
build="$1"; src="$2"; fixtures="$3"
cc="${QUALM_CONSUMER_CC:-cc}"
read -r -a cflags <<< "${QUALM_CONSUMER_FLAGS:-}"
read -r -a ldflags <<< "${QUALM_CONSUMER_LDFLAGS:-}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
libdir="$(cd "$prefix" && ls -d lib*/ | head -1)"; libdir="${libdir%/}"
for f in include/qualm.h "$libdir/libqualm_runtime.a" "$libdir/libqualm_runtime.so" \
         "$libdir/cmake/qualm/qualmConfig.cmake" "$libdir/cmake/qualm/qualmConfigVersion.cmake" \
         "$libdir/cmake/qualm/qualmTargets.cmake" "$libdir/pkgconfig/qualm.pc"; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; find "$prefix"; exit 1; }
done
# Only the runtime: no engine headers or libraries.
if find "$prefix" -name '*engine*' -o -name 'libqualm_kernels*' | grep -q .; then echo "installed more than the runtime"; exit 1; fi

model="$fixtures/lenet5.int8.qm"
check() {  # check NAME PROGRAM: runs it on the fixture and compares logits
  "$2" "$model" "$fixtures/lenet5.input.bin" "$tmp/$1.bin" > "$tmp/$1.txt"
  cmp "$tmp/$1.bin" "$fixtures/lenet5.expected.bin" || { echo "$1: logits differ"; exit 1; }
  echo "$1: ok ($(head -1 "$tmp/$1.txt"))"
}

# (1) CMake: find_package(qualm), qualm::runtime and qualm::runtime_static.
cmake -S "$src/examples" -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="${cflags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${cflags[*]} ${ldflags[*]}" > "$tmp/configure.log"
cmake --build "$tmp/consumer" > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
check find_package_shared "$tmp/consumer/classify"
check find_package_static "$tmp/consumer/classify_static"
if ldd "$tmp/consumer/classify_static" | grep -q qualm; then echo "the static build loads a qualm library"; exit 1; fi

# (2) pkg-config, shared and static.
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
[ "$(pkg-config --modversion qualm)" = "0.1.0" ]
$cc "${cflags[@]}" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "$src/examples/c/classify.c" -o "$tmp/pc_shared" \
   $(pkg-config --cflags --libs qualm) -Wl,-rpath,"$prefix/$libdir" "${ldflags[@]}"
check pkg_config_shared "$tmp/pc_shared"
$cc "${cflags[@]}" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "$src/examples/c/classify.c" -o "$tmp/pc_static" \
   $(pkg-config --cflags qualm) "$prefix/$libdir/libqualm_runtime.a" $(pkg-config --static --libs-only-l qualm | sed 's/-lqualm_runtime//') "${ldflags[@]}"
check pkg_config_static "$tmp/pc_static"
echo "install + consumer builds: OK"

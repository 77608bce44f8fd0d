# Cross toolchain: Debian's g++-aarch64-linux-gnu (scripts/setup.sh --with-cross).
# Target libraries (zlib) come from the arm64 multiarch packages under
# /usr/lib/aarch64-linux-gnu; the binaries run under qemu-aarch64 (qemu-user).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(QUALM_CROSS_RUNNER qemu-aarch64 CACHE STRING "runs the target's binaries")

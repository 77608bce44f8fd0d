# Cross toolchain: Debian's g++-arm-linux-gnueabihf (armv7-a, hard float, NEON
# not assumed; scripts/setup.sh --with-cross). Target libraries (zlib) come
# from the armhf multiarch packages; the binaries run under qemu-arm.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(QUALM_CROSS_RUNNER qemu-arm CACHE STRING "runs the target's binaries")
# GCC's note that passing some std::map iterators "changed in GCC 7.1" on ARM
# (-Wpsabi) concerns linking with code built by GCC < 7.1; everything here is
# built by one GCC 12.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")

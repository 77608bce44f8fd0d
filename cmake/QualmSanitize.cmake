# QUALM_SANITIZE: the whole build (libraries, tests, CLI) under AddressSanitizer
# and UndefinedBehaviorSanitizer, every report fatal (-fno-sanitize-recover=all)
# so that UB which does not crash still fails a test. Used by the `sanitize`
# preset (clang; build/sanitize) that scripts/test.sh runs the suite in.
#
# QUALM_FUZZ: also instrument everything for libFuzzer's coverage
# (-fsanitize=fuzzer-no-link) and build the targets in fuzz/. Needs clang. The
# sanitize preset turns both on, so one build directory serves the sanitized
# suite and the fuzzers (coverage instrumentation makes the suite ~20% slower,
# cheaper than a second full build). The preset compiles with -gline-tables-only:
# file and line in every report, at a fraction of full debug info's build time.
option(QUALM_SANITIZE "Build everything with -fsanitize=address,undefined" OFF)
option(QUALM_FUZZ "Build the libFuzzer targets in fuzz/ (clang)" OFF)
if(QUALM_SANITIZE OR QUALM_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(QUALM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "QUALM_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

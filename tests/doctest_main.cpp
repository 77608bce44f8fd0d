// The test binaries' main: doctest's, after one setting.
//
// QUALM_THREAD_MIN_WORK=0: the fast kernels use every thread they are given,
// however small the work (qualm/kernels/context.h, ThreadsForWork). In
// production small layers run on one thread; the suites' thread tests (1, 2,
// 3 threads give the same bits) use small shapes, and they must keep
// exercising the splits. An explicit value in the environment wins.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("QUALM_THREAD_MIN_WORK", "0", /*overwrite=*/0);
  return doctest::Context(argc, argv).run();
}

// qualm/kernels/context.h: what a fast (non-reference) kernel may use.
//
// Kernels never allocate. The engine asks each fast op how much scratch it needs
// (the <op>_scratch_floats / <op>_scratch_int16 functions, kernels/NAMING.md),
// allocates one buffer at prepare time, and hands it in through a context on
// every call. Reference kernels take no context: they are single-threaded, and
// the few that need scratch take it as an argument.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qualm::kernels {

// How many of `threads` a fast kernel uses for `work` multiply-adds (or
// comparable element operations): all of them only when each gets at least
// MinWorkPerThread(), else fewer (1 for small work). A fork / join of the
// OpenMP team costs microseconds with spinning threads and tens of
// microseconds with sleeping ones (OMP_WAIT_POLICY=PASSIVE, or a loaded
// machine), more than a batch-1 layer's whole product: at batch 1 a 2-thread
// int8 ResNet-20 ran 9-22x SLOWER than 1 thread before this rule
// (bench_whole_model, Xeon 2026-12-03 / Zen 5 2026-12-03). Results never
// depend on it: every fast kernel gives the same bits on any thread count.
// MinWorkPerThread() is QUALM_THREAD_MIN_WORK if set (0: always use every
// thread, which the test suites set to keep exercising the thread splits on
// small shapes), else kDefaultMinWorkPerThread.
inline constexpr double kDefaultMinWorkPerThread = 2.0 * 1024 * 1024;
double MinWorkPerThread();
int ThreadsForWork(int threads, double work);  // ThreadsForWorkWith(threads, work, MinWorkPerThread())
// The rule itself: `threads` when work >= threads * min_per_thread (or
// min_per_thread <= 0), else floor(work / min_per_thread), and 1 below two
// threads' worth.
int ThreadsForWorkWith(int threads, double work, double min_per_thread);

struct KernelContext {
  int threads = 1;              // worker threads a kernel may use (>= 1)
  float* scratch = nullptr;     // 64-byte aligned, at least scratch_floats long
  std::size_t scratch_floats = 0;
};

// The fast int8 kernels' context (fast::conv2d_s8, fast::dense_s8): threads and
// int16 scratch (the im2col tiles, 64-byte alignment recommended, at least
// <op>_s8_scratch_int16 elements).
struct KernelContextS8 {
  int threads = 1;
  std::int16_t* scratch = nullptr;
  std::size_t scratch_int16 = 0;
};

// How a fast backward kernel that takes it writes an input gradient dx.
// kAccumulate is the reference contract (dx += term). kAssign writes
// dx = 0.0f + term: the same bits as kAccumulate into a dx of zeros, without
// the caller zeroing dx or the kernel reading it (the training executor uses it
// where the kernel is the only writer of dx; engine/src/executor.cpp).
enum class GradOut { kAccumulate, kAssign };

}  // namespace qualm::kernels

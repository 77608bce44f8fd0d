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

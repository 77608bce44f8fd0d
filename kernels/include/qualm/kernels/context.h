// qualm/kernels/context.h: what a fast (non-reference) kernel may use.
//
// Kernels never allocate. The engine asks each fast op how much scratch it needs
// (the *_scratch_floats functions), allocates one buffer at prepare time, and
// hands it in through this context on every call. Reference kernels take no
// context: they are single-threaded and need no scratch by design.
#pragma once

#include <cstddef>

namespace qualm::kernels {

struct KernelContext {
  int threads = 1;              // worker threads a kernel may use (>= 1)
  float* scratch = nullptr;     // 64-byte aligned, at least scratch_floats long
  std::size_t scratch_floats = 0;
};

}  // namespace qualm::kernels

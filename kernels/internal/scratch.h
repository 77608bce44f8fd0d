// internal/scratch.h: carving a fast kernel's scratch buffer into regions.
//
// Each fast op describes its regions once, in a function run twice: with a
// null base to compute *_scratch_floats, and with ctx.scratch to get the
// pointers. Regions are rounded up to 16 floats, so with a 64-byte aligned base
// every region is 64-byte aligned too.
#pragma once

#include <cstddef>

namespace qualm::kernels::internal {

class ScratchCursor {
 public:
  explicit ScratchCursor(float* base) : base_(base) {}
  // A region of n floats (null when only measuring).
  float* Take(std::size_t n) {
    float* p = base_ ? base_ + used_ : nullptr;
    used_ += (n + 15) / 16 * 16;
    return p;
  }
  std::size_t used() const { return used_; }

 private:
  float* base_;
  std::size_t used_ = 0;
};

}  // namespace qualm::kernels::internal

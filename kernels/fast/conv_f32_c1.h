// fast/conv_f32_c1.h (private): the one-input-channel branch of
// fast::conv2d_f32 (conv_f32_c1.cpp; kernels in detail/conv_c1_variants.h),
// kept apart from conv2d.cpp so that the general path and this one change
// independently.
#pragma once

#include <cstddef>

#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::fast::internal_f32 {

// Floats of scratch the one-channel path needs for `threads` threads (0 when
// the conv does not have one input channel and one group).
std::size_t ConvF32C1ScratchFloats(const Conv2dParams& p, int threads);

// Runs the forward conv on the one-channel path and returns true, or returns
// false (and does nothing) when the conv or the active gemm_f32 variant has
// no such path.
bool RunConvF32C1(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w, const float* bias,
                  float* y);

}  // namespace qualm::kernels::fast::internal_f32

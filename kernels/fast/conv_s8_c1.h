// fast/conv_s8_c1.h (private): the one-input-channel branch of fast::conv2d_s8
// (conv_s8_c1.cpp; kernels in detail/conv_c1_variants.h), kept apart from
// conv2d_s8.cpp so that the general path and this one change independently.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/conv2d_s8.h"

namespace qualm::kernels::fast::internal_s8 {

// in_c == 1, groups == 1 and more than one output channel (one channel is a
// depthwise conv, which has its own kernel).
bool IsConvS8C1(const Conv2dParams& p);

// Scratch (int16 units) the one-channel path needs for `threads` threads.
std::size_t ConvS8C1ScratchInt16(const PreparedConv2dS8& pp, int threads);

// Runs the conv on the one-channel path and returns true, or returns false
// (and does nothing) when the conv or the active int8 variant has no such path.
bool RunConvS8C1(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
                 const std::int8_t* x, const std::int32_t* bias, std::int8_t* y);

}  // namespace qualm::kernels::fast::internal_s8

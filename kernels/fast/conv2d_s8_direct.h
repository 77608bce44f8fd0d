// fast/conv2d_s8_direct.h (private): the implicit-GEMM (direct) path of
// fast::conv2d_s8 for the u8 x s8 variants (conv2d_s8_direct.cpp; the
// micro-kernels are detail::U8S8ConvFn, conv_s8_direct_<isa>.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::fast::internal_s8 {

// Whether conv2d_s8 runs the implicit GEMM when the active variant has one:
// one group and in_c % 4 == 0 (a 4-byte quad of K never straddles two taps,
// so every quad is 4 contiguous bytes of one input pixel), and a padded
// image small enough for int32 byte offsets. Any kernel size, stride,
// dilation and padding.
bool UsesDirectConv(const Conv2dParams& p);

// int16 elements of scratch the direct path needs for `threads` threads at
// p.batch (monotone in the batch, so the prepared batch's size covers a
// smaller run batch).
std::size_t DirectConvScratchInt16(const Conv2dParams& p, int threads);

// conv2d_s8 through v.conv_u8s8 (non-null; UsesDirectConv(pp.shape)); w holds
// the u8 x s8 panels.
void DirectConv(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
                const std::int8_t* x, const std::int32_t* bias, std::int8_t* y, const detail::Int8GemmVariant& v);

}  // namespace qualm::kernels::fast::internal_s8

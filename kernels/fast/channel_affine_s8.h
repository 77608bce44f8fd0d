// fast/channel_affine_s8.h (private): the per-channel affine of the int8 path,
// i.e. a pure depthwise 1x1 conv with stride 1 and no padding (what int8
// lowering makes of a batch norm: engine/src/quant/lower.cpp), run as a table
// lookup.
//
// Why a table is exact: such a conv computes, for every element,
//   y[p][c] = OutputStage_c(w[c] * (x[p][c] - zp_in) + bias[c]),
// a function of (c, x[p][c]) alone, and x takes 256 values. So
//   T[u][c] = the same kernel's output for x = u - 128 in channel c
// made by running the dispatched depthwise kernel itself (bit-exact to
// ref::conv2d_s8, int8_fast_test.cpp) on a 256-pixel image whose pixel u holds
// u - 128 in every channel, gives y[p][c] = T[x[p][c] + 128][c] for every
// pixel: the same integer by construction. Built per call in ctx.scratch
// (the bias is an execute-time argument), so it pays only when the call has
// many more pixels than the table: kMinAffinePixels.
#pragma once

#include <cstdint>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::fast::internal_s8 {

constexpr std::int64_t kAffineTableRows = 256;
// Pixels (batch * h * w) from which the table path runs: building the table
// is a 256-pixel depthwise call, so below ~4x that the direct kernel wins.
constexpr std::int64_t kMinAffinePixels = 4 * kAffineTableRows;

inline bool IsChannelAffine(const Conv2dParams& p) {
  return p.in_c == p.groups && p.out_c == p.groups && p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 &&
         p.stride_w == 1 && p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}

// Bytes of scratch the table path needs for c channels: the synthetic input
// and the table, [256][c] each, plus 4 bytes a 32-bit gather may read past
// the table's end.
inline std::int64_t AffineTableBytes(std::int64_t c) { return 2 * kAffineTableRows * c + 4; }

// y[p][c] = table[(x[p][c] + 128) * C + c] for pixels [pix0, pix1).
void LookupChannels(const std::int8_t* table, std::int64_t C, const std::int8_t* x, std::int64_t pix0,
                    std::int64_t pix1, std::int8_t* y);
// The same with AVX2 gathers (channel_affine_s8_avx2.cpp); only where AVX2 is available.
void LookupChannels_avx2(const std::int8_t* table, std::int64_t C, const std::int8_t* x, std::int64_t pix0,
                         std::int64_t pix1, std::int8_t* y);

// The affine computed instead of looked up, 16 channels of a pixel per step on
// AVX-512 lanes, for output pixels [t.pix0, t.pix1) of the 1x1 depthwise tile t
// (channel_affine_s8_avx512.cpp; only where AVX-512 F/BW/VL is available). It
// needs no table, so it runs at any pixel count; conv2d_s8 takes it under the
// AVX-512 VNNI GEMM variant.
void ChannelAffine_avx512(const detail::S8DepthwiseTile& t);

}  // namespace qualm::kernels::fast::internal_s8

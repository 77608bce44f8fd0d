// qualm/kernels/int8_gemm.h: the int8 GEMM under the fast conv2d_s8 and
// dense_s8 (fast::conv2d_s8 in conv2d_s8.h, fast::dense_s8 in dense_s8.h): the
// packed weight format and the dispatched variant. The fast kernels are
// BIT-EXACT to the frozen references ref::conv2d_s8 / ref::dense_s8 on every ISA.
//
// Why bit-exact is possible: the reference's only rounding is the output stage
// (RequantizeToRange, requant.h). Everything before it is an exact int32 sum
//   acc = sum w * (x - zp_in) + bias,   |acc| <= K * 255 * 127 + |bias| < 2^31
// (Prepare checks the bound), so ANY order of summation gives the same acc, and
// every partial sum is bounded by the same total: no overflow, whatever the
// blocking. The fast path keeps that exactness on purpose:
//   * operands are widened to int16 (x - zp_in in [-255, 255], w in [-127, 127])
//     and multiplied with exact int16 x int16 -> int32 pair sums (vpmaddwd on
//     AVX2: |a0 b0 + a1 b1| <= 2 * 255 * 127 = 64770), or, on AVX-512 VNNI,
//     taken as u8 x s8 with u = x + 128 in [0, 255] and summed four at a time
//     by the non-saturating vpdpbusd (exact: |quad| <= 4 * 255 * 127), the
//     accumulator starting at -(zp_in + 128) * sum_k w so that it ends at
//     sum_k w (x - zp_in) exactly; every partial sum is within 255 * sum_k |w|
//     <= K * 255 * 127, the same bound. The u8 x s8 -> saturating int16 trick
//     (vpmaddubsw) and the saturating vpdpbusds, which make other engines'
//     results depend on the CPU, are never used;
//   * padding taps of the im2col buffer hold x - zp_in = 0 (int16), or
//     zp_in + 128 (u8), whose product the correction cancels: exactly what the
//     reference's skipped taps contribute;
//   * the output stage is RequantizeToRange itself (generic variant), or an
//     AVX2 version of it for all three RequantModes (and a 512-bit one for the
//     AVX-512 VNNI variant, fast/int8_gemm_avx512.h) that tests/kernels/int8_fast_gemm_test.cpp
//     proves identical output by output (edge and random
//     accumulators over every shift, every mode, both zero-point ends).
//
// The same variants also serve the hybrid kernels (fast::conv2d_hybrid,
// fast::dense_hybrid: hybrid_quant.h) in raw mode, returning the exact int32
// accumulators instead of requantized int8 (the tiles' y32).
//
// Dispatch: the variant (detail/int8_gemm_variants.h) is chosen once, at first
// use, by CPU detection capped by QUALM_ISA (cpu.h), exactly like gemm_f32.
// Int8GemmPathName() names it. Threads: rows of the output (pixels, or batch
// rows for dense) are split into contiguous tiles shared among ctx.threads
// OpenMP threads; integer results do not depend on the split.
#pragma once

#include <cstdint>
#include <vector>

namespace qualm::kernels {

// Weights rearranged once for the fast kernels. Two layouts:
//  kPanels (dense, and every conv that is not pure depthwise): per group, the
//    group's n output channels in panels of kS8PanelCols = 16 columns; inside a
//    panel, for each pair of reduction indices (k, k+1), 16 columns x 2 int16
//    [col0: w[k], w[k+1]][col1: ...] (one AVX2 register per 8 columns, ready for
//    vpmaddwd against a broadcast pair of activations). Columns past n and the
//    odd k past K are zero.
//    When a variant the process may run takes u8 x s8 operands (AVX-512 VNNI,
//    detail::S8Operands::kU8S8), the same weights are also packed as int8
//    panels for vpdpbusd: per group, panels of 16 columns, inside a panel for
//    each quad of reduction indices (k..k+3) 16 columns x 4 int8 (one zmm),
//    zero past n and past K; plus per column the int32 correction
//    col_offset[c] = -(zp_in + 128) * sum_k w[c][k] that turns
//    sum_k w * (x + 128) back into sum_k w * (x - zp_in) (int8_gemm_variants.h).
//  kDepthwise (conv with in_c == out_c == groups): [taps][channels rounded up to
//    16] int16, channel-contiguous like NHWC, zero in the padded channels.
struct PackedS8Weights {
  enum class Layout : std::uint8_t { kPanels, kDepthwise };
  Layout layout = Layout::kPanels;
  int groups = 1;
  int n = 0;         // output channels per group (GEMM columns)
  int k = 0;         // reduction length per group (kh * kw * in_c / groups, or in_features)
  int k_padded = 0;  // k rounded up to even (pairs)
  int panels = 0;    // panels per group: ceil(n / 16)
  int channels_padded = 0;  // kDepthwise: out_c rounded up to 16
  std::vector<std::int16_t> data;
  // The u8 x s8 panels (empty unless a runnable variant uses them).
  int k_padded4 = 0;                     // k rounded up to a multiple of 4 (quads)
  std::int32_t zp_in = 0;                // the input zero point col_offset was made for
  std::vector<std::int8_t> data_u8s8;    // [groups][panels][k_padded4 / 4][16][4]
  std::vector<std::int32_t> col_offset;  // [groups][panels * 16], 0 past n
  // The implicit-GEMM conv's own u8 x s8 panels, for one-group convs whose
  // in_c makes its quad layout differ from data_u8s8's (in_c % 4 != 0; the
  // layout is in kernels/fast/conv2d_s8_direct.h); empty otherwise. Same col_offset.
  std::vector<std::int8_t> direct_u8s8;
};

// The variant the dispatcher chose, e.g. "s8u8_gemm_8x32c4__avx512vnni", "s8s16_gemm_4x16c2__avx2".
const char* Int8GemmPathName();
// Its ISA ("avx512vnni", "avx2", "scalar").
const char* Int8GemmPathIsa();

}  // namespace qualm::kernels

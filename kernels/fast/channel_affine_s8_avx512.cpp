// The int8 per-channel affine (fast/channel_affine_s8.h: a 1x1 stride-1
// unpadded depthwise conv, what int8 lowering makes of a batch norm) computed
// on AVX-512 lanes instead of looked up (this file gets the avx512 flags).
//
// Why not the table here: the table path costs one 8-lane gather per 8
// outputs. On Zen 5 that measured ~1.5 cycles per output, and the 10 affines
// were 19 % of the int8 ResNet-20 forward pass at batch 64 (bench_whole_model
// --profile, 1 thread), more than all its adds. Here 16 outputs (16 channels of
// one pixel) cost one widening load, one vpmulld, one add and the 512-bit
// output stage of the VNNI GEMM (fast/int8_gemm_avx512.h), about 20 vector
// instructions, with no table to build, so it also serves batch 1.
//
// Exactness: the reference computes, per output, acc = w[c] * (x - zp_in) +
// bias[c] in int32 (no overflow: PrepareConv2dS8 bounds it), then
// RequantizeToRange. Here acc = init[c] + w[c] * x with init[c] = bias[c] -
// w[c] * zp_in formed modulo 2^32 (BuildStage's col_offset + bias): the same
// int32, since modular addition and multiplication agree with the exact value
// whenever that value fits. The output stage is the GEMM's, checked output by
// output against requant.h in every mode (see its header), and this kernel is
// checked against ref::conv2d_s8 (tests/kernels/int8_fast_test.cpp).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "fast/channel_affine_s8.h"
#include "fast/int8_gemm_avx512.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qualm::kernels::fast::internal_s8 {
namespace {

namespace d = ::qualm::kernels::detail;

// Pixels per block: channel panels are the middle loop, so the block's input
// (about 16 KB) is read once per panel from L1, and each panel's stage is
// built once per block (a few hundred scalar operations per 16 x block outputs).
std::int64_t PixelBlock(std::int64_t C) { return std::max<std::int64_t>(64, 16384 / C); }

template <RequantMode kMode>
void Affine(const d::S8DepthwiseTile& t) {
  const std::int64_t C = t.shape->out_c;
  const std::int64_t block = PixelBlock(C);
  d::Stage16 s;
  alignas(64) std::int32_t w32[d::kCols];
  alignas(64) std::int32_t col_offset[d::kCols];
  for (std::int64_t b0 = t.pix0; b0 < t.pix1; b0 += block) {
    const std::int64_t b1 = std::min(b0 + block, t.pix1);
    for (std::int64_t c0 = 0; c0 < C; c0 += d::kCols) {
      const int nc = static_cast<int>(std::min<std::int64_t>(d::kCols, C - c0));
      for (int j = 0; j < d::kCols; ++j) {
        w32[j] = j < nc ? t.w[c0 + j] : 0;
        // -w * zp_in, modulo 2^32 (see the top); BuildStage adds the bias.
        col_offset[j] = static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(w32[j]) *
                                                            static_cast<std::uint32_t>(t.zp_in));
      }
      d::BuildStage<kMode>(t.out, col_offset, static_cast<int>(c0), nc, &s);
      const __m512i w = d::Load16(w32);
      const __m512i init = d::Load16(s.init);
      const __mmask16 lanes = static_cast<__mmask16>(nc == d::kCols ? 0xFFFFu : (1u << nc) - 1u);
      const bool any_left = s.any_left;
      const std::int8_t* xp = t.x + b0 * C + c0;
      std::int8_t* yp = t.y + b0 * C + c0;
      if constexpr (kMode == RequantMode::kGemmlowp) {
        if (!any_left) {
          // The common case (multipliers below 1): the constants stay in registers.
          const d::GemmlowpRegs r = d::LoadGemmlowp(s);
          for (std::int64_t pix = b0; pix < b1; ++pix, xp += C, yp += C) {
            const __m512i x = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, xp));
            d::Store16(d::GemmlowpFromShifted(_mm512_add_epi32(init, _mm512_mullo_epi32(x, w)), r), yp, nc);
          }
          continue;
        }
      }
      for (std::int64_t pix = b0; pix < b1; ++pix, xp += C, yp += C) {
        const __m512i x = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, xp));
        d::Store16(d::Requant16<kMode>(_mm512_add_epi32(init, _mm512_mullo_epi32(x, w)), s, any_left), yp, nc);
      }
    }
  }
}

}  // namespace

void ChannelAffine_avx512(const detail::S8DepthwiseTile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Affine<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Affine<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Affine<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::fast::internal_s8

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

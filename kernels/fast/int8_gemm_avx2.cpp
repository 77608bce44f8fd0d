// The int8 micro-kernels compiled with AVX2 (this file gets -mavx2 -mfma -mf16c
// from qualm_isa_sources). Contract: detail/int8_gemm_variants.h.
//
// Products: vpmaddwd of a broadcast pair of int16 activations (x - zp_in) and
// 8 columns x 2 int16 weights gives 8 exact int32 sums a0 w0 + a1 w1 (at most
// 64770 in magnitude); vpaddd accumulates them. Exact, so the order does not
// matter (int8_gemm.h). The tile is 4 rows x 16 columns: 8 accumulators, two
// weight registers, one broadcast.
//
// Output stage: fast/int8_gemm_avx2.h (shared with the AVX-512 VNNI variant).
#include "fast/int8_gemm_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

// R (<= 4) rows of a 16-column panel: the exact products, then the output
// stage (or, kRaw, the accumulators stored as they are: t.y32).
template <RequantMode kMode, bool kRaw, int R>
void GemmRows(const S8GemmTile& t, std::int64_t r0, int c0, const std::int16_t* panel, const Lanes& l,
              const Bounds& b, int nc) {
  const std::int16_t* a = t.a + r0 * t.lda;
  __m256i acc[R][2];
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const int pairs = t.k_padded / 2;
  for (int q = 0; q < pairs; ++q) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + q * 2 * kCols));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + q * 2 * kCols + kCols));
    for (int i = 0; i < R; ++i) {
      std::int32_t pair;
      std::memcpy(&pair, a + i * t.lda + 2 * q, sizeof pair);
      const __m256i av = _mm256_set1_epi32(pair);
      acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(av, b0));
      acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(av, b1));
    }
  }
  for (int i = 0; i < R; ++i) {
    if constexpr (kRaw) {
      Store16Raw(acc[i][0], acc[i][1], t.y32 + (r0 + i) * t.ldy + c0, nc);
    } else {
      Store16(Requant8<kMode>(acc[i][0], l, 0, b), Requant8<kMode>(acc[i][1], l, 8, b), t.y + (r0 + i) * t.ldy + c0,
              nc);
    }
  }
}

template <RequantMode kMode, bool kRaw = false>
void Gemm(const S8GemmTile& t) {
  const std::int64_t panel_size = std::int64_t{t.k_padded} * kCols;
  const Bounds b = kRaw ? Bounds{} : MakeBounds(t.out);
  Lanes l;
  for (int c0 = 0; c0 < t.n; c0 += kCols) {
    const int nc = std::min(kCols, t.n - c0);
    if constexpr (!kRaw) BuildLanes<kMode>(t.out, c0, nc, &l);
    const std::int16_t* panel = t.b + (c0 / kCols) * panel_size;
    int r0 = 0;
    for (; r0 + kS8TileRows <= t.m; r0 += kS8TileRows) GemmRows<kMode, kRaw, kS8TileRows>(t, r0, c0, panel, l, b, nc);
    switch (t.m - r0) {
      case 3: GemmRows<kMode, kRaw, 3>(t, r0, c0, panel, l, b, nc); break;
      case 2: GemmRows<kMode, kRaw, 2>(t, r0, c0, panel, l, b, nc); break;
      case 1: GemmRows<kMode, kRaw, 1>(t, r0, c0, panel, l, b, nc); break;
      default: break;
    }
  }
}

// Depthwise: 16 channels at a time (channel blocks outer, so each block's
// Lanes are built once), pixels inner. (x - zp_in) * w fits int16 exactly
// (|.| <= 255 * 127 = 32385), so vpmullw then widening adds are exact.
template <RequantMode kMode>
void Depthwise(const S8DepthwiseTile& t) {
  const Conv2dParams& p = *t.shape;
  const std::int64_t oh = p.out_h(), ow = p.out_w(), C = p.out_c;
  const __m256i zp16 = _mm256_set1_epi16(static_cast<std::int16_t>(t.zp_in));
  const Bounds b = MakeBounds(t.out);
  Lanes l;
  for (int c0 = 0; c0 < C; c0 += kCols) {
    const int nc = static_cast<int>(std::min<std::int64_t>(kCols, C - c0));
    BuildLanes<kMode>(t.out, c0, nc, &l);
    std::int64_t n = t.pix0 / (oh * ow), oy = t.pix0 / ow % oh, ox = t.pix0 % ow;
    for (std::int64_t pix = t.pix0; pix < t.pix1; ++pix) {
      __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
      for (int ky = 0; ky < p.kernel_h; ++ky) {
        const std::int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int kx = 0; kx < p.kernel_w; ++kx) {
          const std::int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          if (ix < 0 || ix >= p.in_w) continue;
          const std::int8_t* xp = t.x + ((n * p.in_h + iy) * p.in_w + ix) * C + c0;
          __m128i xv;
          if (nc == kCols) {
            xv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xp));
          } else {
            alignas(16) std::int8_t buf[kCols] = {};
            std::memcpy(buf, xp, static_cast<std::size_t>(nc));
            xv = _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
          }
          const __m256i d = _mm256_sub_epi16(_mm256_cvtepi8_epi16(xv), zp16);
          const __m256i w = _mm256_loadu_si256(
              reinterpret_cast<const __m256i*>(t.w + std::int64_t{ky * p.kernel_w + kx} * t.channels_padded + c0));
          const __m256i prod = _mm256_mullo_epi16(d, w);
          acc0 = _mm256_add_epi32(acc0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(prod)));
          acc1 = _mm256_add_epi32(acc1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(prod, 1)));
        }
      }
      Store16(Requant8<kMode>(acc0, l, 0, b), Requant8<kMode>(acc1, l, 8, b), t.y + pix * C + c0, nc);
      if (++ox == ow) {
        ox = 0;
        if (++oy == oh) oy = 0, ++n;
      }
    }
  }
}

}  // namespace

void s8s16_gemm_4x16c2__avx2(const S8GemmTile& t) {
  if (t.y32) return Gemm<RequantMode::kGemmlowp, true>(t);  // the mode is unused when raw
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Gemm<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Gemm<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Gemm<RequantMode::kFloat>(t);
  }
}

void s8s16_depthwise_16c__avx2(const S8DepthwiseTile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Depthwise<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Depthwise<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Depthwise<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

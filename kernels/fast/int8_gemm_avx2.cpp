// The int8 micro-kernels compiled with AVX2 (this file gets -mavx2 -mfma -mf16c
// from qualm_isa_sources). Contract: detail/int8_gemm_variants.h.
//
// Products: vpmaddwd of a broadcast pair of int16 activations (x - zp_in) and
// 8 columns x 2 int16 weights gives 8 exact int32 sums a0 w0 + a1 w1 (at most
// 64770 in magnitude); vpaddd accumulates them. Exact, so the order does not
// matter (int8_gemm.h). The tile is 4 rows x 16 columns: 8 accumulators, two
// weight registers, one broadcast.
//
// Output stage: RequantizeToRange (requant.h) transcribed lane by lane, one
// template per RequantMode, with per-column constants (Lanes) derived from the
// same Requant once per 16-column panel. Equalities it relies on (each
// checked output by output against the scalar function in
// tests/kernels/int8_fast_test.cpp):
//  * clamp(int64(y) + zp, act_min, act_max) == clamp(y, act_min - zp,
//    act_max - zp) + zp, so everything after the requantization stays int32;
//  * kGemmlowp: SRDHM(a, M) with M >= 0 (QuantizeMultiplier's range, never
//    INT32_MIN) is floor((a * M + 2^30) / 2^31) for both signs (gemmlowp's
//    nudge 1 - 2^30 plus truncation toward zero is that floor), and its low 32
//    bits are bits 31..62 of the 64-bit sum, which a logical shift also gives;
//    x * 2^left saturates where x > INT32_MAX >> left or x < INT32_MIN >> left;
//  * kSingle: the int64 arithmetic shift is ((p ^ s) >> t) ^ s with s the sign
//    mask (AVX2 has no 64-bit arithmetic shift), clamped in 64 bits;
//  * kFloat: (float)acc (vcvtdq2ps, the same MXCSR rounding as the scalar
//    cast) times the float scale, rounded half to even by vroundps with an
//    explicit mode (what RoundHalfToEven computes), clamped to +-256 before
//    the exact conversion (outside that, the int8 clamp decides anyway).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kCols = kS8PanelCols;
static_assert(kCols == 16, "two AVX2 registers of int32 per panel row");

// Output-stage constants of 16 columns, in the form the vector code reads.
struct alignas(32) Lanes {
  std::int32_t bias[kCols];
  std::int32_t multiplier[kCols];
  std::int32_t left[kCols], sat_hi[kCols], sat_lo[kCols];  // kGemmlowp
  std::int32_t right[kCols], mask[kCols], half[kCols];     // kGemmlowp
  std::int32_t t[kCols];                                   // kSingle: 31 - shift
  float scale[kCols];                                      // kFloat
};

// Columns past nc get M = 0, shift 0, scale 0, bias 0: harmless, never stored.
template <RequantMode kMode>
void BuildLanes(const S8OutputStage& o, int c0, int nc, Lanes* l) {
  for (int j = 0; j < kCols; ++j) {
    const bool real = j < nc;
    const Requant r = real ? o.requant[c0 + j] : Requant{};
    QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
    l->bias[j] = real && o.bias ? o.bias[c0 + j] : 0;
    l->multiplier[j] = r.multiplier;
    if constexpr (kMode == RequantMode::kGemmlowp) {
      const int left = std::max(r.shift, 0), right = std::max(-r.shift, 0);
      l->left[j] = left;
      l->sat_hi[j] = std::numeric_limits<std::int32_t>::max() >> left;
      l->sat_lo[j] = std::numeric_limits<std::int32_t>::min() >> left;
      l->right[j] = right;
      l->mask[j] = static_cast<std::int32_t>((std::int64_t{1} << right) - 1);
      l->half[j] = l->mask[j] >> 1;
    } else if constexpr (kMode == RequantMode::kSingle) {
      l->t[j] = 31 - r.shift;
    } else {
      l->scale[j] = r.scale;
    }
  }
}

// The clamp bounds relative to the zero point, and the zero point.
struct Bounds {
  __m256i lo, hi, zp;
  std::int64_t lo64, hi64;
};

Bounds MakeBounds(const S8OutputStage& o) {
  const std::int32_t lo = o.act_min - o.zp_out, hi = o.act_max - o.zp_out;
  return {_mm256_set1_epi32(lo), _mm256_set1_epi32(hi), _mm256_set1_epi32(o.zp_out), lo, hi};
}

inline __m256i Load8(const std::int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }

// kSingle on the 4 lanes held in the low halves of x's 64-bit lanes (m, t alike):
// clamp((x * M + 2^(t-1)) >> t, lo, hi) as int64.
inline __m256i SingleHalf(__m256i x, __m256i m, __m256i t, const Bounds& b) {
  const __m256i one = _mm256_set1_epi64x(1);
  __m256i p = _mm256_mul_epi32(x, m);
  p = _mm256_add_epi64(p, _mm256_sllv_epi64(one, _mm256_sub_epi64(t, one)));
  const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i r = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, s), t), s);
  const __m256i lo = _mm256_set1_epi64x(b.lo64), hi = _mm256_set1_epi64x(b.hi64);
  r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
  return _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
}

// RequantizeToRange(acc + bias) of 8 columns starting at column j of l.
template <RequantMode kMode>
inline __m256i Requant8(__m256i acc, const Lanes& l, int j, const Bounds& b) {
  acc = _mm256_add_epi32(acc, Load8(l.bias + j));
  __m256i q;
  if constexpr (kMode == RequantMode::kGemmlowp) {
    const __m256i shifted = _mm256_sllv_epi32(acc, Load8(l.left + j));
    const __m256i over = _mm256_cmpgt_epi32(acc, Load8(l.sat_hi + j));
    const __m256i under = _mm256_cmpgt_epi32(Load8(l.sat_lo + j), acc);
    __m256i x = _mm256_blendv_epi8(shifted, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), over);
    x = _mm256_blendv_epi8(x, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min()), under);
    // SRDHM: even lanes from the low halves, odd lanes shifted down first.
    const __m256i m = Load8(l.multiplier + j);
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t{1} << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    // RDBPOT: (h >> right) + (rem > (mask >> 1) + (h < 0)).
    const __m256i rem = _mm256_and_si256(h, Load8(l.mask + j));
    const __m256i threshold = _mm256_sub_epi32(Load8(l.half + j), _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
    q = _mm256_sub_epi32(_mm256_srav_epi32(h, Load8(l.right + j)), _mm256_cmpgt_epi32(rem, threshold));
  } else if constexpr (kMode == RequantMode::kSingle) {
    const __m256i m = Load8(l.multiplier + j), t = Load8(l.t + j);
    const __m256i re = SingleHalf(acc, m, _mm256_and_si256(t, _mm256_set1_epi64x(0xFFFFFFFF)), b);
    const __m256i ro = SingleHalf(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(m, 32), _mm256_srli_epi64(t, 32), b);
    q = _mm256_blend_epi32(re, _mm256_slli_epi64(ro, 32), 0xAA);
  } else {
    const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_load_ps(l.scale + j));
    __m256 r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-256.0f)), _mm256_set1_ps(256.0f));
    q = _mm256_cvttps_epi32(r);
  }
  q = _mm256_min_epi32(_mm256_max_epi32(q, b.lo), b.hi);
  return _mm256_add_epi32(q, b.zp);
}

// Stores the first nc of 16 int32 (already in [-128, 127]) as int8.
inline void Store16(__m256i v0, __m256i v1, std::int8_t* y, int nc) {
  __m256i s16 = _mm256_packs_epi32(v0, v1);                   // [v0 0-3, v1 0-3 | v0 4-7, v1 4-7]
  s16 = _mm256_permute4x64_epi64(s16, _MM_SHUFFLE(3, 1, 2, 0));  // [v0 0-7 | v1 0-7]
  const __m128i s8 = _mm_packs_epi16(_mm256_castsi256_si128(s16), _mm256_extracti128_si256(s16, 1));
  if (nc == kCols) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), s8);
  } else {
    alignas(16) std::int8_t buf[kCols];
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), s8);
    std::memcpy(y, buf, static_cast<std::size_t>(nc));
  }
}

// R (<= 4) rows of a 16-column panel: the exact products, then the output stage.
template <RequantMode kMode, int R>
void GemmRows(const S8GemmTile& t, const std::int16_t* a, const std::int16_t* panel, const Lanes& l,
              const Bounds& b, std::int8_t* y, int nc) {
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
  for (int i = 0; i < R; ++i)
    Store16(Requant8<kMode>(acc[i][0], l, 0, b), Requant8<kMode>(acc[i][1], l, 8, b), y + i * t.ldy, nc);
}

template <RequantMode kMode>
void Gemm(const S8GemmTile& t) {
  const std::int64_t panel_size = std::int64_t{t.k_padded} * kCols;
  const Bounds b = MakeBounds(t.out);
  Lanes l;
  for (int c0 = 0; c0 < t.n; c0 += kCols) {
    const int nc = std::min(kCols, t.n - c0);
    BuildLanes<kMode>(t.out, c0, nc, &l);
    const std::int16_t* panel = t.b + (c0 / kCols) * panel_size;
    int r0 = 0;
    for (; r0 + kS8TileRows <= t.m; r0 += kS8TileRows)
      GemmRows<kMode, kS8TileRows>(t, t.a + r0 * t.lda, panel, l, b, t.y + r0 * t.ldy + c0, nc);
    const std::int16_t* a = t.a + r0 * t.lda;
    std::int8_t* y = t.y + r0 * t.ldy + c0;
    switch (t.m - r0) {
      case 3: GemmRows<kMode, 3>(t, a, panel, l, b, y, nc); break;
      case 2: GemmRows<kMode, 2>(t, a, panel, l, b, y, nc); break;
      case 1: GemmRows<kMode, 1>(t, a, panel, l, b, y, nc); break;
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

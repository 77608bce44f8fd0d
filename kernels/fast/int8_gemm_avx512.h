// fast/int8_gemm_avx512.h (private): the 512-bit output stage of the AVX-512
// VNNI int8 micro-kernels (int8_gemm_avx512vnni.cpp: s8u8_gemm_8x32c4,
// conv_s8_direct_avx512vnni.cpp: s8u8_igemm_24x16c4). One zmm of 16 int32
// accumulators (one 16-column panel row) in, 16 int8 out, with no 256-bit
// halves and no extracts. Everything has internal linkage (an unnamed
// namespace), like fast/int8_gemm_avx2.h, so each TU compiles its own copy
// with its own flags; a TU includes one of the two headers, never both.
//
// Output stage: RequantizeToRange(acc + bias, requant[c], mode, zp_out,
// act_min, act_max) of requant.h, per column, with per-column constants
// (Stage16) derived from the same Requant once per panel. Checked output by
// output against the scalar function through both kernels' entry points
// (tests/kernels/int8_fast_gemm_test.cpp, int8_direct_conv_test.cpp: every
// shift, edge multipliers, ties, the whole int32 range, all modes, zero points
// at both ends, clamps). Why each step is exact:
//  * bias: added to the accumulators' start value (init = col_offset + bias)
//    instead of after the sum; int32 addition is modular and associative, so
//    the final int32 is acc + bias as before (Prepare bounds it anyway).
//  * 64-bit products stay in zmm: vpmuldq multiplies the even int32 lanes
//    (columns 0, 2, ..) by M; the odd lanes are first moved down by vpshufd,
//    with a second multiplier vector holding the odd columns' M. Each product
//    and everything added to it stays below 2^63 (|x M| < 2^62, the constants
//    < 2^62), and one vpsravq (AVX-512's 64-bit arithmetic shift) divides.
//  * kGemmlowp, left = max(shift, 0), e = max(-shift, 0): x * 2^left
//    saturates where x > INT32_MAX >> left or x < INT32_MIN >> left (only run
//    when some column of the panel has left > 0). With M >= 0 (never
//    INT32_MIN) SRDHM(a, M) = h = floor((p + 2^30) / 2^31), p = a M, and for
//    e >= 1 RDBPOT(h, e) = floor((h + 2^(e-1) - [h < 0]) / 2^e) (ties away
//    from zero: requant.h's rem > threshold test, case by case). Nested floors
//    of integer divisions merge, so
//      y = (p + 2^30 + 2^(30+e) - [p < -2^30] 2^31) >> (31 + e)
//    ([h < 0] <=> p + 2^30 < 0), and y = (p + 2^30) >> 31 when e == 0: one
//    compare into a mask, two adds and one shift per 8 columns. The "add" and
//    "below" constants carry e per column (below = INT64_MIN disables the
//    correction where e == 0).
//  * kSingle: (x M + 2^(t-1)) >> t in int64 (vpsravq), clamped to the
//    zero-point-relative bounds in int64 (vpmaxsq / vpminsq), which is
//    saturate-to-int32 then clamp, since the bounds are int32.
//  * kFloat: (float)acc (vcvtdq2ps, MXCSR round to nearest like the scalar
//    cast) times the float scale (no FMA), clamped to +-256 in float, then
//    converted with an embedded round-to-nearest-even (vcvtps2dq {rn-sae}),
//    which is RoundHalfToEven: outside [-256, 256] the int8 clamp decides
//    anyway, and clamping to an integer bound before rounding changes nothing.
//  * zero point and clamp: clamp(int64(y) + zp, act_min, act_max) ==
//    clamp(y, act_min - zp, act_max - zp) + zp, so everything stays int32;
//    the result is in [-128, 127], so vpmovdb (truncating) stores it exactly,
//    and a column tail is a byte-masked store (never touches columns >= nc).
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__)
#error "fast/int8_gemm_avx512.h is for translation units compiled with AVX-512 F/BW/VL"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>

#include "qualm/kernels/detail/int8_gemm_variants.h"

// GCC 12 (bug 105593) warns -Wmaybe-uninitialized on the undefined
// pass-through operand that most unmasked AVX-512 intrinsics are written
// with, at every inlined use; nothing here reads an uninitialized value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qualm::kernels::detail {
namespace {

constexpr int kCols = kS8PanelCols;
static_assert(kCols == 16, "one zmm of int32 per panel row");

// Output-stage constants of one 16-column panel, as the vector code reads
// them. "even" / "odd" 64-bit vectors hold, in lane j, the constant of column
// 2j / 2j + 1 (the two vpmuldq products).
struct alignas(64) Stage16 {
  std::int32_t init[kCols];        // col_offset + bias: the accumulators' start
  std::int32_t mult_even[kCols];   // M of column 2j in the low half of 64-bit lane j
  std::int32_t mult_odd[kCols];    // M of column 2j + 1 likewise
  std::int32_t left[kCols], sat_hi[kCols], sat_lo[kCols];  // kGemmlowp x * 2^left
  std::int64_t add_even[8], add_odd[8];      // kGemmlowp 2^30 + 2^(30+e); kSingle 2^(t-1)
  std::int64_t below_even[8], below_odd[8];  // kGemmlowp -2^30, or INT64_MIN where e == 0
  std::int64_t shift_even[8], shift_odd[8];  // kGemmlowp 31 + e; kSingle t = 31 - shift
  float scale[kCols];                        // kFloat
  // The clamp bounds relative to the zero point, and the zero point (see above);
  // the bounds also as int64 for kSingle; the other constants the stage reads.
  std::int32_t lo[kCols], hi[kCols], zp[kCols];
  std::int64_t lo64[8], hi64[8], two31[8];
  float minus256[kCols], plus256[kCols];
  bool any_left = false;  // kGemmlowp: some column has shift > 0
};

// Columns past nc get M = 0, shift 0, scale 0, bias 0 and init 0: harmless,
// never stored. col_offset: the panel's first column (null: 0).
template <RequantMode kMode>
void BuildStage(const S8OutputStage& o, const std::int32_t* col_offset, int c0, int nc, Stage16* s) {
  s->any_left = false;
  std::fill(std::begin(s->lo), std::end(s->lo), o.act_min - o.zp_out);
  std::fill(std::begin(s->hi), std::end(s->hi), o.act_max - o.zp_out);
  std::fill(std::begin(s->zp), std::end(s->zp), o.zp_out);
  std::fill(std::begin(s->lo64), std::end(s->lo64), o.act_min - o.zp_out);
  std::fill(std::begin(s->hi64), std::end(s->hi64), o.act_max - o.zp_out);
  std::fill(std::begin(s->two31), std::end(s->two31), std::int64_t{1} << 31);
  std::fill(std::begin(s->minus256), std::end(s->minus256), -256.0f);
  std::fill(std::begin(s->plus256), std::end(s->plus256), 256.0f);
  std::fill(std::begin(s->mult_even), std::end(s->mult_even), 0);
  std::fill(std::begin(s->mult_odd), std::end(s->mult_odd), 0);
  for (int j = 0; j < kCols; ++j) {
    const bool real = j < nc;
    const Requant r = real ? o.requant[c0 + j] : Requant{};
    QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
    // Modular, as the accumulation itself (see above).
    const std::uint32_t init = static_cast<std::uint32_t>(real && col_offset ? col_offset[j] : 0) +
                               static_cast<std::uint32_t>(real && o.bias ? o.bias[c0 + j] : 0);
    s->init[j] = static_cast<std::int32_t>(init);
    const int lane = j / 2;
    s->scale[j] = r.scale;
    std::int32_t* mult = j % 2 ? s->mult_odd : s->mult_even;
    std::int64_t* add = j % 2 ? s->add_odd : s->add_even;
    std::int64_t* below = j % 2 ? s->below_odd : s->below_even;
    std::int64_t* shift = j % 2 ? s->shift_odd : s->shift_even;
    mult[2 * lane] = r.multiplier;
    const int left = std::max(r.shift, 0), e = std::max(-r.shift, 0);
    s->left[j] = left;
    s->sat_hi[j] = std::numeric_limits<std::int32_t>::max() >> left;
    s->sat_lo[j] = std::numeric_limits<std::int32_t>::min() >> left;
    s->any_left = s->any_left || left > 0;
    if constexpr (kMode == RequantMode::kSingle) {
      const int t = 31 - r.shift;  // [1, 62]
      add[lane] = std::int64_t{1} << (t - 1);
      below[lane] = std::numeric_limits<std::int64_t>::min();
      shift[lane] = t;
    } else {
      add[lane] = (std::int64_t{1} << 30) + (e > 0 ? std::int64_t{1} << (30 + e) : 0);
      below[lane] = e > 0 ? -(std::int64_t{1} << 30) : std::numeric_limits<std::int64_t>::min();
      shift[lane] = 31 + e;
    }
  }
}

inline __m512i Load16(const void* p) { return _mm512_load_si512(p); }

// kGemmlowp's y (see above) of the 8 columns whose x is in the low halves of
// the 64-bit lanes of x.
inline __m512i GemmlowpHalf(__m512i x, __m512i mult, __m512i add, __m512i below, __m512i shift, __m512i two31) {
  __m512i p = _mm512_mul_epi32(x, mult);
  const __mmask8 neg = _mm512_cmplt_epi64_mask(p, below);
  p = _mm512_add_epi64(p, add);
  p = _mm512_mask_sub_epi64(p, neg, p, two31);
  return _mm512_srav_epi64(p, shift);
}

// The low halves of the 64-bit lanes of even (columns 0, 2, ..) and odd
// (columns 1, 3, ..) interleaved back into 16 int32 columns.
inline __m512i Interleave(__m512i even, __m512i odd) {
  return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CCAA);
}

// kGemmlowp's constants of one panel in registers (a kernel that requantizes
// many rows of one panel loads them once; folded into memory operands, they
// were 10 loads per 16 outputs), and the stage from x = acc * 2^left on.
struct GemmlowpRegs {
  __m512i mult_even, mult_odd, add_even, add_odd, below_even, below_odd, shift_even, shift_odd, two31, lo, hi, zp;
};

inline GemmlowpRegs LoadGemmlowp(const Stage16& s) {
  return {Load16(s.mult_even),  Load16(s.mult_odd),   Load16(s.add_even),   Load16(s.add_odd),
          Load16(s.below_even), Load16(s.below_odd),  Load16(s.shift_even), Load16(s.shift_odd),
          Load16(s.two31),      Load16(s.lo),         Load16(s.hi),         Load16(s.zp)};
}

// kGemmlowp's y of all 16 lanes of x (the even lanes through the *_even
// constants, the odd ones through *_odd), before the zero point and clamp.
inline __m512i Gemmlowp16(__m512i x, __m512i mult_even, __m512i mult_odd, __m512i add_even, __m512i add_odd,
                          __m512i below_even, __m512i below_odd, __m512i shift_even, __m512i shift_odd,
                          __m512i two31) {
  const __m512i even = GemmlowpHalf(x, mult_even, add_even, below_even, shift_even, two31);
  const __m512i odd = GemmlowpHalf(_mm512_shuffle_epi32(x, _MM_PERM_DDBB), mult_odd, add_odd, below_odd, shift_odd, two31);
  return Interleave(even, odd);
}

inline __m512i GemmlowpFromShifted(__m512i x, const GemmlowpRegs& r) {
  const __m512i y = Gemmlowp16(x, r.mult_even, r.mult_odd, r.add_even, r.add_odd, r.below_even, r.below_odd,
                               r.shift_even, r.shift_odd, r.two31);
  return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(y, r.lo), r.hi), r.zp);
}

// kGemmlowp's x * 2^left per lane, saturating: lanes above sat_hi = INT32_MAX
// >> left go to INT32_MAX, below sat_lo = INT32_MIN >> left to INT32_MIN.
inline __m512i SaturatingShiftLeft(__m512i x, __m512i left, __m512i sat_hi, __m512i sat_lo) {
  const __mmask16 over = _mm512_cmpgt_epi32_mask(x, sat_hi);
  const __mmask16 under = _mm512_cmplt_epi32_mask(x, sat_lo);
  __m512i y = _mm512_sllv_epi32(x, left);
  y = _mm512_mask_mov_epi32(y, over, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max()));
  return _mm512_mask_mov_epi32(y, under, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min()));
}

// kSingle's result, clamped in int64 to [lo, hi] (zero-point relative).
inline __m512i SingleHalf(__m512i x, const std::int32_t* mult, const std::int64_t* add, const std::int64_t* shift,
                          const Stage16& s) {
  __m512i p = _mm512_add_epi64(_mm512_mul_epi32(x, Load16(mult)), Load16(add));
  p = _mm512_srav_epi64(p, Load16(shift));
  return _mm512_min_epi64(_mm512_max_epi64(p, Load16(s.lo64)), Load16(s.hi64));
}

// RequantizeToRange of the 16 columns of acc (bias already in it, via init):
// int32 in [act_min, act_max]. any_left is s.any_left, passed by callers that
// keep it in a register across stores (which may alias s).
template <RequantMode kMode>
inline __m512i Requant16(__m512i acc, const Stage16& s, bool any_left) {
  __m512i q;
  if constexpr (kMode == RequantMode::kGemmlowp) {
    const __m512i x = any_left ? SaturatingShiftLeft(acc, Load16(s.left), Load16(s.sat_hi), Load16(s.sat_lo)) : acc;
    return GemmlowpFromShifted(x, LoadGemmlowp(s));
  } else if constexpr (kMode == RequantMode::kSingle) {
    const __m512i even = SingleHalf(acc, s.mult_even, s.add_even, s.shift_even, s);
    const __m512i odd = SingleHalf(_mm512_shuffle_epi32(acc, _MM_PERM_DDBB), s.mult_odd, s.add_odd, s.shift_odd, s);
    q = Interleave(even, odd);
  } else {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_load_ps(s.scale));
    f = _mm512_min_ps(_mm512_max_ps(f, _mm512_load_ps(s.minus256)), _mm512_load_ps(s.plus256));
    q = _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_epi32(_mm512_max_epi32(q, Load16(s.lo)), Load16(s.hi));
  }
  return _mm512_add_epi32(q, Load16(s.zp));
}

template <RequantMode kMode>
inline __m512i Requant16(__m512i acc, const Stage16& s) {
  return Requant16<kMode>(acc, s, s.any_left);
}

// Stores the first nc of 16 int32 (already in [-128, 127]) as int8.
inline void Store16(__m512i v, std::int8_t* y, int nc) {
  const __m128i s8 = _mm512_cvtepi32_epi8(v);
  if (nc >= kCols) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), s8);
  } else {
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << nc) - 1u), s8);
  }
}

}  // namespace
}  // namespace qualm::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

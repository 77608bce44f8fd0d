// The int8 residual add on AVX-512 lanes (this file gets the avx512 flags):
// s8_add_u16__avx512 of fast/eltwise_s8_variants.h, the add of the
// "s8_eltwise__avx512" row, whose other kernels are the AVX2 row's.
//
// Why: the AVX2 add looks every element up in the op's 64 KB table (one
// vpgatherdd per 8 outputs). The table does not fit in a 48 KB L1, and on
// Zen 5 the lookups measured ~1.5 cycles per output: the 9 adds were 17 % of
// the int8 ResNet-20 forward pass at batch 64 (bench_whole_model --profile).
// Here kGemmlowp's three MultiplyByQuantizedMultiplier calls run on 16 int32
// lanes through fast/int8_gemm_avx512.h's kGemmlowp step (GemmlowpHalf: the
// merged SRDHM + RDBPOT in 64-bit lanes, checked over the whole int32 range
// by the GEMM's output-stage tests), with no table and no gather. kSingle and
// kFloat keep the AVX2 kernel (and its table when prepared).
//
// Exactness, per element (eltwise_s8.h's ADD):
//   a' = MBQM((a - zp_a) 2^20, requant_a)   (|.| < 2^28: the shift is exact)
//   b' = MBQM((b - zp_b) 2^20, requant_b)
//   y  = clamp(MBQM(a' + b', requant_out) + zp_out, act_min, act_max)
// MBQM(x, r) = RDBPOT(SRDHM(sat(x 2^left), M), e), left = max(shift, 0),
// e = max(-shift, 0) (requant.h); sat(x 2^left) is done as in Requant16 (x
// above INT32_MAX >> left saturates to INT32_MAX, below INT32_MIN >> left to
// INT32_MIN), then GemmlowpHalf on the even and odd lanes. a' + b' < 2^28 in
// magnitude, so the int32 sum is exact. The clamp is done zero-point-relative
// in int32, as the GEMM's stage: the result is in [-128, 127], stored by vpmovdb.
// Tested against ref::add_s8 in tests/kernels/int8_eltwise_fast_test.cpp
// (every input shift, edge multipliers, saturating input stages, 1-3 threads).
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "fast/eltwise_s8_variants.h"
#include "fast/int8_gemm_avx512.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qualm::kernels::detail {
namespace {

// One Requant's kGemmlowp constants in every lane (the even and odd halves
// share them: the op has one multiplier per stage).
struct Mbqm {
  __m512i mult, add, below, shift, left, sat_hi, sat_lo;
  bool any_left = false;
};

Mbqm MakeMbqm(const Requant& r) {
  Mbqm m;
  const int left = r.shift > 0 ? r.shift : 0;
  const int e = r.shift > 0 ? 0 : -r.shift;
  m.any_left = left > 0;
  m.left = _mm512_set1_epi32(left);
  m.mult = _mm512_set1_epi64(r.multiplier);  // M >= 0 in the low half of each 64-bit lane
  m.add = _mm512_set1_epi64((std::int64_t{1} << 30) + (e > 0 ? std::int64_t{1} << (30 + e) : 0));
  m.below = _mm512_set1_epi64(e > 0 ? -(std::int64_t{1} << 30) : std::numeric_limits<std::int64_t>::min());
  m.shift = _mm512_set1_epi64(31 + e);
  m.sat_hi = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max() >> left);
  m.sat_lo = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min() >> left);
  return m;
}

inline __m512i Apply(__m512i x, const Mbqm& m, __m512i two31) {
  if (m.any_left) x = SaturatingShiftLeft(x, m.left, m.sat_hi, m.sat_lo);
  return Gemmlowp16(x, m.mult, m.mult, m.add, m.add, m.below, m.below, m.shift, m.shift, two31);
}

void AddGemmlowp(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                 std::int8_t* y) {
  const Mbqm ma = MakeMbqm(p.requant_a), mb = MakeMbqm(p.requant_b), mo = MakeMbqm(p.requant_out);
  const __m512i two31 = _mm512_set1_epi64(std::int64_t{1} << 31);
  const __m512i zpa = _mm512_set1_epi32(p.zero_point_a), zpb = _mm512_set1_epi32(p.zero_point_b);
  const __m512i zp = _mm512_set1_epi32(p.output_zero_point);
  const __m512i lo = _mm512_set1_epi32(p.act_min - p.output_zero_point);
  const __m512i hi = _mm512_set1_epi32(p.act_max - p.output_zero_point);
  auto step = [&](__mmask16 lanes, std::int64_t i) {
    const __m512i av = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, a + i));
    const __m512i bv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(lanes, b + i));
    const __m512i sum = _mm512_add_epi32(Apply(_mm512_slli_epi32(_mm512_sub_epi32(av, zpa), kAddS8LeftShift), ma, two31),
                                         Apply(_mm512_slli_epi32(_mm512_sub_epi32(bv, zpb), kAddS8LeftShift), mb, two31));
    const __m512i q = _mm512_min_epi32(_mm512_max_epi32(Apply(sum, mo, two31), lo), hi);
    _mm_mask_storeu_epi8(y + i, lanes, _mm512_cvtepi32_epi8(_mm512_add_epi32(q, zp)));
  };
  std::int64_t i = 0;
  for (; i + 16 <= count; i += 16) step(0xFFFF, i);
  if (i < count) step(static_cast<__mmask16>((1u << (count - i)) - 1u), i);
}

}  // namespace

void s8_add_u16__avx512(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                        std::int8_t* y) {
  if (p.mode != RequantMode::kGemmlowp) return s8_add_u32__avx2(p, count, a, b, y);
  AddGemmlowp(p, count, a, b, y);
}

}  // namespace qualm::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// QuantizeSampleDynamic (hybrid_quant.h) with AVX2 (this file gets -mavx2
// -mfma -mf16c from qualm_isa_sources): f32_qs8_dynamic_u8__avx2,
// detail/hybrid_quant_variants.h. Why every output equals the scalar one:
//
// Range pass. The scalar loop keeps lo = (v < lo) ? v : lo from lo = +0 (and
// hi alike) and returns {(1, 0), not finite} at the first NaN or infinity,
// writing no q. Here each lane keeps lo = vminps(v, lo), which is by
// definition (v < lo) ? v : lo, the scalar statement itself, so lo only ever
// takes a strictly smaller value: never -0 (-0 < +0 is false), and the
// minimum of a set of floats is the same value in any order (the only
// ambiguity, zeros of two signs, cannot arise). The lanes and the tail are
// combined with the same strict rule. Non-finite: exponent bits all ones,
// OR-ed over the sample and tested once at the end; the scalar early return
// writes nothing either, so both return the same (q untouched).
//
// Parameters: DynamicRangeParams, the scalar function itself.
//
// Values: QuantizeValue(x, s, zp, -128, 127, kHalfAwayFromZero) is
//   v = x / s (one IEEE float division); rv = std::round(v) (ties away from
//   zero); q = clamp(rv + zp in double, -128, 127).
// Here: v = vdivps(x, s), the same correctly rounded division (same MXCSR
// rounding as the scalar divss). t = trunc(v) (vroundps toward zero); f = v - t
// is exact (the fraction of a float is representable: it needs no more
// significand bits than v, and is 0 from 2^23 on); rv = t + copysign(1, v)
// where |f| >= 0.5, else t, which is round-half-away-from-zero, exact since
// |t| < 2^23 whenever f != 0. v is never NaN (x finite, s normal and > 0);
// for |v| beyond the int8 range the clamp decides alone, so rv is clamped to
// [-256, 256] before the exact float -> int32 conversion, then zp is added
// and the result clamped to [-128, 127] in int32: the same integer as the
// double arithmetic (rv + zp is exact in both).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "qualm/kernels/detail/hybrid_quant_variants.h"

namespace qualm::kernels::detail {
namespace {

// lo = (v < lo) ? v : lo, hi = (v > hi) ? v : hi: the scalar loop's rule.
inline void Extend(float v, float& lo, float& hi) {
  if (v < lo) lo = v;
  if (v > hi) hi = v;
}

// 8 quantized values as int32 in [-128, 127].
inline __m256i Quantize8(__m256 x, __m256 s, __m256i zp) {
  const __m256 v = _mm256_div_ps(x, s);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 f_abs = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign_mask), _mm256_set1_ps(1.0f));  // copysign(1, v)
  const __m256 step = _mm256_and_ps(_mm256_cmp_ps(f_abs, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away);
  __m256 rv = _mm256_add_ps(t, step);
  rv = _mm256_min_ps(_mm256_max_ps(rv, _mm256_set1_ps(-256.0f)), _mm256_set1_ps(256.0f));
  const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(rv), zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(-128)), _mm256_set1_epi32(127));
}

}  // namespace

DynamicQuant f32_qs8_dynamic_u8__avx2(const float* x, std::int64_t n, std::int8_t* q) {
  const __m256i exp_mask = _mm256_set1_epi32(0x7F800000);
  __m256 lo8 = _mm256_setzero_ps(), hi8 = _mm256_setzero_ps();
  __m256i bad = _mm256_setzero_si256();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), exp_mask), exp_mask));
    lo8 = _mm256_min_ps(v, lo8);  // (v < lo) ? v : lo
    hi8 = _mm256_max_ps(v, hi8);  // (v > hi) ? v : hi
  }
  float lo = 0.0f, hi = 0.0f;
  bool finite = _mm256_testz_si256(bad, bad) != 0;
  for (std::int64_t j = i; j < n && finite; ++j) {
    if (!std::isfinite(x[j])) finite = false;
    Extend(x[j], lo, hi);
  }
  if (!finite) return {QuantParams{}, false};
  alignas(32) float lanes_lo[8], lanes_hi[8];
  _mm256_store_ps(lanes_lo, lo8);
  _mm256_store_ps(lanes_hi, hi8);
  for (int l = 0; l < 8; ++l) {
    Extend(lanes_lo[l], lo, hi);
    Extend(lanes_hi[l], lo, hi);
  }

  DynamicQuant d;
  if (DynamicRangeParams(lo, hi, &d.params)) {
    std::memset(q, 0, static_cast<std::size_t>(n));
    return d;
  }
  const __m256 s = _mm256_set1_ps(d.params.scale);
  const __m256i zp = _mm256_set1_epi32(d.params.zero_point);
  i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i a = Quantize8(_mm256_loadu_ps(x + i), s, zp);
    const __m256i b = Quantize8(_mm256_loadu_ps(x + i + 8), s, zp);
    const __m256i c = Quantize8(_mm256_loadu_ps(x + i + 16), s, zp);
    const __m256i e = Quantize8(_mm256_loadu_ps(x + i + 24), s, zp);
    // packs work within 128-bit halves: [a0-3 b0-3 | a4-7 b4-7], then bytes
    // [a0-3 b0-3 c0-3 e0-3 | a4-7 b4-7 c4-7 e4-7]; the dword permute restores order.
    const __m256i ab = _mm256_packs_epi32(a, b), ce = _mm256_packs_epi32(c, e);
    const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, ce),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), bytes);
  }
  for (; i < n; ++i) {
    q[i] = static_cast<std::int8_t>(
        QuantizeValue(x[i], d.params.scale, d.params.zero_point, kInt8Min, kInt8Max, RoundingMode::kHalfAwayFromZero));
  }
  return d;
}

}  // namespace qualm::kernels::detail

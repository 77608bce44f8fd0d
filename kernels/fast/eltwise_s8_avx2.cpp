// The int8 elementwise kernels compiled with AVX2 (this file gets -mavx2 -mfma
// -mf16c from qualm_isa_sources): add, rescale, quantize, dequantize, 32
// elements per step. Contracts: the reference kernels (ref/eltwise_s8.cpp,
// ref/quantize_s8.cpp), which these equal bit for bit; the table is
// fast/eltwise_s8_variants.h.
//
// Every lane is independent, so a tail of fewer than 32 elements is copied to a
// zeroed 32-element buffer, run as a full step, and copied back.
//
// add / rescale: the int32 arithmetic of the reference on 8 lanes at a time,
// every requantization through internal/requant_avx2.h (one template per
// RequantMode, chosen once per call); add's two input requantizations are
// tables of the 256 int8 values, built by that code once per call (see Add).
// With a prepared whole-op table (fast::PrepareAddS8Table, which runs Add on
// all 65536 pairs) add is one gather per 8 elements instead (AddByTable).
//
// quantize (QuantizeValue of requant.h): v = x / s by vdivps (the same IEEE
// division as the scalar code, never a reciprocal), NaN lanes set to 0 (they
// quantize to zp), v clamped to [-512, 512] (rounding to an integer commutes
// with clamping to integer bounds, and anything outside ends at -128 / 127
// after + zp: this also takes the infinities), then rounded: kHalfToEven by
// vroundps (nearest-even mode, = RoundHalfToEven), kHalfAwayFromZero as
// std::round: t = trunc(v), and t + sign(v) where |v - t| >= 0.5 (v - t is
// exact). Then + zp and the int8 clamp in int32, which is the reference's
// double arithmetic on values that are all exact integers.
// dequantize: s * (float)(q - zp), one vmulps per lane (no FMA), as the scalar.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "fast/eltwise_s8_variants.h"
#include "internal/requant_avx2.h"

namespace qualm::kernels::detail {
namespace {

using internal::avx2::MakeOutputVec;
using internal::avx2::MakeRequantVec;
using internal::avx2::MultiplyByQuantizedMultiplier8;
using internal::avx2::OutputVec;
using internal::avx2::RequantizeToRange8;
using internal::avx2::RequantVec;

constexpr std::int64_t kStep = 32;

// 8 int8 -> 8 int32.
inline __m256i Widen8(const std::int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

// 4 x 8 int32 already in [-128, 127] -> 32 int8 in order.
inline void Store32(__m256i v0, __m256i v1, __m256i v2, __m256i v3, std::int8_t* y) {
  const __m256i a = _mm256_packs_epi32(v0, v1);  // [v0 0-3, v1 0-3 | v0 4-7, v1 4-7]
  const __m256i b = _mm256_packs_epi32(v2, v3);
  const __m256i c = _mm256_packs_epi16(a, b);  // 4-byte groups [v0 v1 v2 v3 (0-3) | v0 v1 v2 v3 (4-7)]
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm256_permutevar8x32_epi32(c, order));
}

// step(x, y) on kStep elements over [0, count); the tail through zeroed buffers.
template <typename In, typename Out, typename Step>
void Unary(std::int64_t count, const In* x, Out* y, const Step& step) {
  std::int64_t i = 0;
  for (; i + kStep <= count; i += kStep) step(x + i, y + i);
  const auto rest = static_cast<std::size_t>(count - i);
  if (rest == 0) return;
  alignas(32) In xb[kStep] = {};
  alignas(32) Out yb[kStep];
  std::memcpy(xb, x + i, rest * sizeof(In));
  step(xb, yb);
  std::memcpy(y + i, yb, rest * sizeof(Out));
}

template <typename Step>
void Binary(std::int64_t count, const std::int8_t* a, const std::int8_t* b, std::int8_t* y, const Step& step) {
  std::int64_t i = 0;
  for (; i + kStep <= count; i += kStep) step(a + i, b + i, y + i);
  const auto rest = static_cast<std::size_t>(count - i);
  if (rest == 0) return;
  alignas(32) std::int8_t ab[kStep] = {}, bb[kStep] = {}, yb[kStep];
  std::memcpy(ab, a + i, rest);
  std::memcpy(bb, b + i, rest);
  step(ab, bb, yb);
  std::memcpy(y + i, yb, rest);
}

// The input stage by table: a' = MultiplyByQuantizedMultiplier((a - zp_a) *
// 2^20, requant_a) depends on the int8 a alone, so its 256 values are computed
// once per call (32 steps of the same lane code, which equals the scalar
// function for every int32: internal/requant_avx2.h) and every element's a' and
// b' is a gather from that table. This replaces two of the three
// requantizations per element (the profile of the int8 ResNet-20 forward pass
// had add as its largest non-conv cost, bench/results/2026-12-03-whole-model-xeon.md);
// the output requantization of a' + b' stays in lanes. Building both tables
// costs about as much as 512 elements of the lane code.
struct AddInputTable {
  alignas(32) std::int32_t values[256];  // values[v + 128] = a' of the int8 v
};

template <RequantMode kMode>
void FillAddInputTable(std::int32_t zero_point, const RequantVec& r, AddInputTable& t) {
  const __m256i zp = _mm256_set1_epi32(zero_point);
  for (int v = 0; v < 256; v += 8) {
    const __m256i x = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(v - 128));
    const __m256i shifted = _mm256_slli_epi32(_mm256_sub_epi32(x, zp), kAddS8LeftShift);  // exact, as below
    _mm256_store_si256(reinterpret_cast<__m256i*>(t.values + v), MultiplyByQuantizedMultiplier8<kMode>(shifted, r));
  }
}

template <RequantMode kMode>
void Add(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b, std::int8_t* y) {
  // (v - zp) * 2^20 is exact (|v - zp| <= 255): a left shift of the difference.
  AddInputTable ta, tb;
  FillAddInputTable<kMode>(p.zero_point_a, MakeRequantVec(p.requant_a), ta);
  FillAddInputTable<kMode>(p.zero_point_b, MakeRequantVec(p.requant_b), tb);
  const RequantVec ro = MakeRequantVec(p.requant_out);
  const OutputVec o = MakeOutputVec(p.output_zero_point, p.act_min, p.act_max);
  // Base at entry 128, so the sign-extended int8 is the (signed) gather index.
  const int* base_a = ta.values + 128;
  const int* base_b = tb.values + 128;
  auto one = [&](const std::int8_t* ap, const std::int8_t* bp) {
    const __m256i sum = _mm256_add_epi32(_mm256_i32gather_epi32(base_a, Widen8(ap), 4),
                                         _mm256_i32gather_epi32(base_b, Widen8(bp), 4));
    return RequantizeToRange8<kMode>(sum, ro, o);
  };
  Binary(count, a, b, y, [&](const std::int8_t* ap, const std::int8_t* bp, std::int8_t* yp) {
    Store32(one(ap, bp), one(ap + 8, bp + 8), one(ap + 16, bp + 16), one(ap + 24, bp + 24), yp);
  });
}

// The whole op by one lookup (PreparedAddS8::table, built at prepare by
// fast::PrepareAddS8Table from Add above): y = table[(a + 128) * 256 + b + 128].
// The index is formed in int32 from the sign-extended bytes, a * 256 + b, with
// the base pointer at entry 32896 = 128 * 256 + 128; the 4-byte gather at
// entry i reads i .. i + 3 (the table has 4 bytes of padding after entry
// 65535) and only its low byte is kept (shifted up and back, sign-extended).
// The output requantization and both input stages are gone from the loop: one
// gather per 8 elements instead of two plus the lane requantization.
void AddByTable(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                std::int8_t* y) {
  const int* base = reinterpret_cast<const int*>(p.table.data() + 128 * 256 + 128);
  auto one = [&](const std::int8_t* ap, const std::int8_t* bp) {
    const __m256i idx = _mm256_add_epi32(_mm256_slli_epi32(Widen8(ap), 8), Widen8(bp));
    return _mm256_srai_epi32(_mm256_slli_epi32(_mm256_i32gather_epi32(base, idx, 1), 24), 24);
  };
  Binary(count, a, b, y, [&](const std::int8_t* ap, const std::int8_t* bp, std::int8_t* yp) {
    Store32(one(ap, bp), one(ap + 8, bp + 8), one(ap + 16, bp + 16), one(ap + 24, bp + 24), yp);
  });
}

template <RequantMode kMode>
void Rescale(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  const RequantVec r = MakeRequantVec(p.requant);
  const OutputVec o = MakeOutputVec(p.output_zero_point, p.act_min, p.act_max);
  const __m256i zp = _mm256_set1_epi32(p.input_zero_point);
  auto one = [&](const std::int8_t* xp) {
    return RequantizeToRange8<kMode>(_mm256_sub_epi32(Widen8(xp), zp), r, o);
  };
  Unary(p.count, x, y, [&](const std::int8_t* xp, std::int8_t* yp) {
    Store32(one(xp), one(xp + 8), one(xp + 16), one(xp + 24), yp);
  });
}

// A rescale that is a plain clamp (IsPlainClamp, eltwise_s8.h: every int8 ReLU
// PTQ builds after a conv, 19 of the int8 ResNet-20's nodes) is a byte min / max.
void Clamp(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  // act_min <= act_max, both in [-128, 127] (PrepareRescaleS8 checks it).
  const __m256i lo = _mm256_set1_epi8(static_cast<char>(p.act_min));
  const __m256i hi = _mm256_set1_epi8(static_cast<char>(p.act_max));
  Unary(p.count, x, y, [&](const std::int8_t* xp, std::int8_t* yp) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(yp), _mm256_min_epi8(_mm256_max_epi8(v, lo), hi));
  });
}

// QuantizeValue(x, s, zp, -128, 127, rounding) of 8 floats (see the top).
template <RoundingMode kRounding>
inline __m256i Quantize8(const float* xp, __m256 scale, __m256i zp) {
  __m256 v = _mm256_div_ps(_mm256_loadu_ps(xp), scale);
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));  // NaN -> +0
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-512.0f)), _mm256_set1_ps(512.0f));
  __m256 r;
  if constexpr (kRounding == RoundingMode::kHalfToEven) {
    r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));  // |v - t|, exact
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, sign));  // copysign(1, v)
    r = _mm256_add_ps(t, _mm256_and_ps(one, _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ)));
  }
  const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(r), zp);
  return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(kInt8Min)), _mm256_set1_epi32(kInt8Max));
}

template <RoundingMode kRounding>
void Quantize(const QuantizeS8Params& p, const float* x, std::int8_t* y) {
  const __m256 scale = _mm256_set1_ps(p.q.scale);
  const __m256i zp = _mm256_set1_epi32(p.q.zero_point);
  Unary(p.count, x, y, [&](const float* xp, std::int8_t* yp) {
    Store32(Quantize8<kRounding>(xp, scale, zp), Quantize8<kRounding>(xp + 8, scale, zp),
            Quantize8<kRounding>(xp + 16, scale, zp), Quantize8<kRounding>(xp + 24, scale, zp), yp);
  });
}

}  // namespace

void s8_add_u32__avx2(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b,
                      std::int8_t* y) {
  if (p.table.size() >= kAddS8TableBytes) return AddByTable(p, count, a, b, y);
  switch (p.mode) {
    case RequantMode::kGemmlowp: return Add<RequantMode::kGemmlowp>(p, count, a, b, y);
    case RequantMode::kSingle: return Add<RequantMode::kSingle>(p, count, a, b, y);
    case RequantMode::kFloat: return Add<RequantMode::kFloat>(p, count, a, b, y);
  }
}

void s8_rescale_u32__avx2(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  if (IsPlainClamp(p)) return Clamp(p, x, y);
  switch (p.mode) {
    case RequantMode::kGemmlowp: return Rescale<RequantMode::kGemmlowp>(p, x, y);
    case RequantMode::kSingle: return Rescale<RequantMode::kSingle>(p, x, y);
    case RequantMode::kFloat: return Rescale<RequantMode::kFloat>(p, x, y);
  }
}

void s8_quantize_u32__avx2(const QuantizeS8Params& p, const float* x, std::int8_t* y) {
  if (p.rounding == RoundingMode::kHalfToEven) return Quantize<RoundingMode::kHalfToEven>(p, x, y);
  Quantize<RoundingMode::kHalfAwayFromZero>(p, x, y);
}

void s8_dequantize_u32__avx2(const QuantizeS8Params& p, const std::int8_t* x, float* y) {
  const __m256 scale = _mm256_set1_ps(p.q.scale);
  const __m256i zp = _mm256_set1_epi32(p.q.zero_point);
  Unary(p.count, x, y, [&](const std::int8_t* xp, float* yp) {
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_ps(yp + 8 * k, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_sub_epi32(Widen8(xp + 8 * k), zp))));
  });
}

}  // namespace qualm::kernels::detail

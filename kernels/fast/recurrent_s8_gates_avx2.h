// fast/recurrent_s8_gates_avx2.h (private): the steps of the AVX2 gate stage
// of fast::lstm_s8 / fast::gru_s8 (detail/recurrent_s8_variants.h; the AVX-512
// stage has its own zmm steps, fast/recurrent_s8_gates_avx512.h), for
// translation units compiled with AVX2 flags or more. Internal linkage
// (unnamed namespace), so each TU compiles its own copy with its own flags.
// Bit-exact to the generic stage and the references, lane by lane:
//  * the per-row requantization RQ(acc + bias) is int8_gemm_avx2.h's output
//    stage without its int8 clamp (per-lane shifts, the same three mode
//    transcriptions); kFloat keeps the full int32 range like requant_avx2.h:
//    vcvttps2dq gives INT32_MIN below -2^31 (right), and lanes >= 2^31 are set
//    to INT32_MAX;
//  * pre = sat16(ax + rh) is computed in int32 after clamping rh to +-2^17:
//    |ax| <= 2^15, so the clamp never changes which side saturates, and the
//    int32 sum cannot overflow (the reference adds in int64);
//  * int16 x int16 products are formed exactly as int32 by vpmullw/vpmulhw and
//    unpacking; "Widen" / "Narrow" (vpunpck*wd / vpackssdw) are inverse
//    in-lane permutations, and vpackssdw's saturation is sat16;
//  * sigmoid / tanh are fast/fixedpoint_avx2.h (exhaustively tested);
//  * the hidden output is internal/requant_avx2.h's RequantizeToRange8.
// Padding lanes (units H .. Hp-1, rows G .. Gp-1) compute garbage that is never
// read back into a real lane: every operation here is lane-wise.
#pragma once

#if !defined(__AVX2__)
#error "fast/recurrent_s8_gates_avx2.h is for translation units compiled with AVX2 (or more)"
#endif

#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "internal/requant_avx2.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"

namespace qualm::kernels::detail {
namespace {


using Index = std::int64_t;
namespace rqv = internal::avx2;

inline __m256i Load8(const std::int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i Load16(const std::int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void Store16(std::int16_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }

// kSingle on the lanes in the low halves of the 64-bit lanes: clamp to int32 of
// (x * M + 2^(t-1)) >> t (arithmetic, as ((p ^ s) >>> t) ^ s).
inline __m256i SingleHalf(__m256i x, __m256i m, __m256i t) {
  const __m256i one = _mm256_set1_epi64x(1);
  __m256i p = _mm256_mul_epi32(x, m);
  p = _mm256_add_epi64(p, _mm256_sllv_epi64(one, _mm256_sub_epi64(t, one)));
  const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i r = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, s), t), s);
  const __m256i lo = _mm256_set1_epi64x(std::numeric_limits<std::int32_t>::min());
  const __m256i hi = _mm256_set1_epi64x(std::numeric_limits<std::int32_t>::max());
  r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
  return _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
}

// MultiplyByQuantizedMultiplier(acc[r] + bias[r], requant[r]) for rows r .. r+7.
// kLeft: some row has a left shift (M >= 1). Without one (the usual case:
// every multiplier below 1), x * 2^0 never saturates and the step is skipped.
template <RequantMode kMode, bool kLeft = true>
inline __m256i RowRequant8(__m256i acc, const RnnS8RowRequant& q, Index r) {
  const std::size_t u = static_cast<std::size_t>(r);
  acc = _mm256_add_epi32(acc, Load8(q.bias.data() + u));
  if constexpr (kMode == RequantMode::kGemmlowp) {
    __m256i x = acc;
    if constexpr (kLeft) {
      const __m256i shifted = _mm256_sllv_epi32(acc, Load8(q.left.data() + u));
      const __m256i over = _mm256_cmpgt_epi32(acc, Load8(q.sat_hi.data() + u));
      const __m256i under = _mm256_cmpgt_epi32(Load8(q.sat_lo.data() + u), acc);
      x = _mm256_blendv_epi8(shifted, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), over);
      x = _mm256_blendv_epi8(x, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min()), under);
    }
    const __m256i m = Load8(q.multiplier.data() + u);
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t{1} << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    const __m256i rem = _mm256_and_si256(h, Load8(q.mask.data() + u));
    const __m256i threshold =
        _mm256_sub_epi32(Load8(q.half.data() + u), _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, Load8(q.right.data() + u)), _mm256_cmpgt_epi32(rem, threshold));
  } else if constexpr (kMode == RequantMode::kSingle) {
    const __m256i m = Load8(q.multiplier.data() + u), t = Load8(q.t.data() + u);
    const __m256i re = SingleHalf(acc, m, _mm256_and_si256(t, _mm256_set1_epi64x(0xFFFFFFFF)));
    const __m256i ro = SingleHalf(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(m, 32), _mm256_srli_epi64(t, 32));
    return _mm256_blend_epi32(re, _mm256_slli_epi64(ro, 32), 0xAA);
  } else {
    const __m256 f = _mm256_round_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(q.scale.data() + u)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i too_big = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ));
    return _mm256_blendv_epi8(_mm256_cvttps_epi32(f), _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()),
                              too_big);
  }
}

// 16 int16 lanes as two int32 vectors in unpack order, and back (vpackssdw: sat16).
struct Wide {
  __m256i lo, hi;
};
inline Wide Widen(__m256i x) {
  const __m256i sign = _mm256_srai_epi16(x, 15);
  return {_mm256_unpacklo_epi16(x, sign), _mm256_unpackhi_epi16(x, sign)};
}
inline __m256i Narrow(Wide w) { return _mm256_packs_epi32(w.lo, w.hi); }
// The exact int32 products a * b, in unpack order.
inline Wide MulWide(__m256i a, __m256i b) {
  const __m256i lo = _mm256_mullo_epi16(a, b), hi = _mm256_mulhi_epi16(a, b);
  return {_mm256_unpacklo_epi16(lo, hi), _mm256_unpackhi_epi16(lo, hi)};
}

// RoundingDivideByPOT<int32_t>(x, e) with e in a register (requant.h's formula).
struct Pot {
  __m128i count;
  __m256i mask, half;
};
inline Pot MakePot(int e) {
  const auto mask = static_cast<std::int32_t>((std::int64_t{1} << e) - 1);
  return {_mm_cvtsi32_si128(e), _mm256_set1_epi32(mask), _mm256_set1_epi32(mask >> 1)};
}
inline __m256i RoundingDivideByPOT32(__m256i x, const Pot& p) {
  const __m256i rem = _mm256_and_si256(x, p.mask);
  const __m256i threshold = _mm256_sub_epi32(p.half, _mm256_cmpgt_epi32(_mm256_setzero_si256(), x));
  return _mm256_sub_epi32(_mm256_sra_epi32(x, p.count), _mm256_cmpgt_epi32(rem, threshold));
}
// fixedpoint::MulRoundingShift16 of 16 lanes.
inline __m256i MulRoundingShift16(__m256i a, __m256i b, const Pot& p) {
  const Wide w = MulWide(a, b);
  return Narrow({RoundingDivideByPOT32(w.lo, p), RoundingDivideByPOT32(w.hi, p)});
}

// RequantizeToRange(v, requant_out, mode, zp_h, -128, 127) of 16 int32 (unpack
// order), stored as 16 int8 in natural order.
template <RequantMode kMode>
inline void StoreHidden(Wide v, const rqv::RequantVec& rq, const rqv::OutputVec& out, std::int8_t* h) {
  const __m256i q16 = Narrow({rqv::RequantizeToRange8<kMode>(v.lo, rq, out), rqv::RequantizeToRange8<kMode>(v.hi, rq, out)});
  const __m256i q8 = _mm256_permute4x64_epi64(_mm256_packs_epi16(q16, q16), _MM_SHUFFLE(3, 1, 2, 0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm256_castsi256_si128(q8));
}

// Pass 1 of a step: work[r] = sat16(ax[r] + rh[r]) and work[Gp + r] = sat16(rh[r]),
// rh = RQ(acc_h + bias_h), for every row (padded).
template <RequantMode kMode, bool kLeft>
void RecurrentRowsImpl(const RnnS8StepRow& row) {
  const RnnS8RowRequant& q = *row.rq_h;
  const Index Gp = RnnS8Padded(q.rows);
  const __m256i lim_hi = _mm256_set1_epi32(1 << 17), lim_lo = _mm256_set1_epi32(-(1 << 17));
  for (Index r = 0; r < Gp; r += 16) {
    // Two blocks of 8 rows, clamped; then put in unpack order to meet Widen(ax).
    __m256i q0 = RowRequant8<kMode, kLeft>(Load8(row.acc_h + r), q, r);
    __m256i q1 = RowRequant8<kMode, kLeft>(Load8(row.acc_h + r + 8), q, r + 8);
    q0 = _mm256_min_epi32(_mm256_max_epi32(q0, lim_lo), lim_hi);
    q1 = _mm256_min_epi32(_mm256_max_epi32(q1, lim_lo), lim_hi);
    // Natural order -> rows 0-15 as int16 (saturated): packs + a qword permute.
    const __m256i rh16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0));
    Store16(row.work + Gp + r, rh16);
    // sat16(ax + rh) in int32: rows of ax widened in natural order.
    const __m256i ax = Load16(row.ax + r);
    const __m256i a0 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(ax));
    const __m256i a1 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(ax, 1));
    const __m256i pre = _mm256_packs_epi32(_mm256_add_epi32(a0, q0), _mm256_add_epi32(a1, q1));
    Store16(row.work + r, _mm256_permute4x64_epi64(pre, _MM_SHUFFLE(3, 1, 2, 0)));
  }
}

template <RequantMode kMode>
void RecurrentRows(const RnnS8StepRow& row) {
  if (row.rq_h->any_left) {
    RecurrentRowsImpl<kMode, true>(row);
  } else {
    RecurrentRowsImpl<kMode, false>(row);
  }
}

template <RequantMode kMode, bool kLeft>
void RequantXImpl(const RnnS8RowRequant& q, const std::int32_t* acc, std::int16_t* ax) {
  const Index Gp = RnnS8Padded(q.rows);
  for (Index r = 0; r < Gp; r += 16) {
    const __m256i q0 = RowRequant8<kMode, kLeft>(Load8(acc + r), q, r);
    const __m256i q1 = RowRequant8<kMode, kLeft>(Load8(acc + r + 8), q, r + 8);
    Store16(ax + r, _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), _MM_SHUFFLE(3, 1, 2, 0)));
  }
}

template <RequantMode kMode>
void RequantX(const RnnS8RowRequant& q, const std::int32_t* acc, std::int16_t* ax) {
  if (q.any_left) {
    RequantXImpl<kMode, true>(q, acc, ax);
  } else {
    RequantXImpl<kMode, false>(q, acc, ax);
  }
}

// The activations come from a policy Act, on 32 units as two 16-lane halves
// (in place): Act::Sigmoid / Act::Tanh (Q3.12 -> Q0.15) and Act::Cell(bits),
// TanhInt16 with `bits` integer bits; AVX2 runs them half by half
// (fast/recurrent_s8_avx2.cpp).
template <class Act, RequantMode kMode>
void LstmStep(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  RecurrentRows<kMode>(row);
  const Index H = p.shape.hidden_size, Hp = RnnS8Padded(H);
  const typename Act::CellFn cell = Act::Cell(15 + p.cell_exponent);
  const Pot pot15 = MakePot(15), pot_ig = MakePot(30 + p.cell_exponent);
  const rqv::RequantVec rq = rqv::MakeRequantVec(p.requant_out);
  const rqv::OutputVec out = rqv::MakeOutputVec(p.hidden_zero_point, -128, 127);
  const std::int16_t* pre = row.work;
  for (Index j = 0; j < Hp; j += 32) {
    __m256i i0 = Load16(pre + j), i1 = Load16(pre + j + 16);
    __m256i f0 = Load16(pre + H + j), f1 = Load16(pre + H + j + 16);
    __m256i g0 = Load16(pre + 2 * H + j), g1 = Load16(pre + 2 * H + j + 16);
    __m256i o0 = Load16(pre + 3 * H + j), o1 = Load16(pre + 3 * H + j + 16);
    Act::Sigmoid(i0, i1);
    Act::Sigmoid(f0, f1);
    Act::Tanh(g0, g1);
    Act::Sigmoid(o0, o1);
    const __m256i c0 = _mm256_adds_epi16(MulRoundingShift16(f0, Load16(row.state + j), pot15),
                                         MulRoundingShift16(i0, g0, pot_ig));
    const __m256i c1 = _mm256_adds_epi16(MulRoundingShift16(f1, Load16(row.state + j + 16), pot15),
                                         MulRoundingShift16(i1, g1, pot_ig));
    Store16(row.state + j, c0);
    Store16(row.state + j + 16, c1);
    __m256i t0 = c0, t1 = c1;
    cell(t0, t1);
    StoreHidden<kMode>(MulWide(o0, t0), rq, out, row.h + j);
    StoreHidden<kMode>(MulWide(o1, t1), rq, out, row.h + j + 16);
  }
}

// s' = sat16(n + RDBPOT(z * (s - n), 15)) of 16 units, stored; h' from it.
template <RequantMode kMode>
inline void GruBlend(__m256i zg, __m256i ng, std::int16_t* state, std::int8_t* h, const Pot& pot15,
                     const rqv::RequantVec& rq, const rqv::OutputVec& out) {
  const Wide s = Widen(Load16(state)), n = Widen(ng), z = Widen(zg);
  const __m256i blend_lo =
      _mm256_add_epi32(n.lo, RoundingDivideByPOT32(_mm256_mullo_epi32(z.lo, _mm256_sub_epi32(s.lo, n.lo)), pot15));
  const __m256i blend_hi =
      _mm256_add_epi32(n.hi, RoundingDivideByPOT32(_mm256_mullo_epi32(z.hi, _mm256_sub_epi32(s.hi, n.hi)), pot15));
  const __m256i s_new = Narrow({blend_lo, blend_hi});
  Store16(state, s_new);
  StoreHidden<kMode>(Widen(s_new), rq, out, h);
}

template <class Act, RequantMode kMode>
void GruStep(const PreparedGruS8& p, const RnnS8StepRow& row) {
  RecurrentRows<kMode>(row);
  const Index H = p.shape.hidden_size, Hp = RnnS8Padded(H), Gp = RnnS8Padded(3 * H);
  const Pot pot15 = MakePot(15);
  const rqv::RequantVec rq = rqv::MakeRequantVec(p.requant_out);
  const rqv::OutputVec out = rqv::MakeOutputVec(p.hidden_zero_point, -128, 127);
  const std::int16_t* pre = row.work;
  const std::int16_t* hn = row.work + Gp + 2 * H;  // sat16(RQ(acc_h)) of the n rows
  for (Index j = 0; j < Hp; j += 32) {
    __m256i z0 = Load16(pre + j), z1 = Load16(pre + j + 16);
    __m256i r0 = Load16(pre + H + j), r1 = Load16(pre + H + j + 16);
    Act::Sigmoid(z0, z1);
    Act::Sigmoid(r0, r1);
    __m256i n0 = _mm256_adds_epi16(Load16(row.ax + 2 * H + j), MulRoundingShift16(r0, Load16(hn + j), pot15));
    __m256i n1 =
        _mm256_adds_epi16(Load16(row.ax + 2 * H + j + 16), MulRoundingShift16(r1, Load16(hn + j + 16), pot15));
    Act::Tanh(n0, n1);
    GruBlend<kMode>(z0, n0, row.state + j, row.h + j, pot15, rq, out);
    GruBlend<kMode>(z1, n1, row.state + j + 16, row.h + j + 16, pot15, rq, out);
  }
}

// The exported entry points' mode switch.
template <class Act>
void LstmStepAnyMode(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  switch (p.mode) {
    case RequantMode::kGemmlowp: return LstmStep<Act, RequantMode::kGemmlowp>(p, row);
    case RequantMode::kSingle: return LstmStep<Act, RequantMode::kSingle>(p, row);
    case RequantMode::kFloat: return LstmStep<Act, RequantMode::kFloat>(p, row);
  }
}

template <class Act>
void GruStepAnyMode(const PreparedGruS8& p, const RnnS8StepRow& row) {
  switch (p.mode) {
    case RequantMode::kGemmlowp: return GruStep<Act, RequantMode::kGemmlowp>(p, row);
    case RequantMode::kSingle: return GruStep<Act, RequantMode::kSingle>(p, row);
    case RequantMode::kFloat: return GruStep<Act, RequantMode::kFloat>(p, row);
  }
}

inline void RequantXAnyMode(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax) {
  switch (rq.mode) {
    case RequantMode::kGemmlowp: return RequantX<RequantMode::kGemmlowp>(rq, acc, ax);
    case RequantMode::kSingle: return RequantX<RequantMode::kSingle>(rq, acc, ax);
    case RequantMode::kFloat: return RequantX<RequantMode::kFloat>(rq, acc, ax);
  }
}

}  // namespace
}  // namespace qualm::kernels::detail

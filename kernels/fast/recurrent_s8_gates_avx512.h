// fast/recurrent_s8_gates_avx512.h (private): the steps of the AVX-512 gate
// stage of fast::lstm_s8 / fast::gru_s8 (detail/recurrent_s8_variants.h) on
// zmm only: 16 int32 rows or 32 int16 units per register, no 256-bit halves.
// For translation units compiled with AVX-512 F/BW/VL/DQ
// (fast/recurrent_s8_avx512.cpp); internal linkage, like the AVX2 header.
// Bit-exact to the generic stage and the references, lane by lane:
//  * per-row requantization RQ(acc + bias) (RowRequant16): the output stage of
//    fast/int8_gemm_avx512.h (its proofs) without the int8 clamp and zero
//    point. kGemmlowp: x * 2^left saturated, then the merged one-shift formula
//      y = (p + 2^30 + 2^(30+e) - [p < -2^30] 2^31) >> (31 + e),  p = x M
//    in int64 (vpmuldq on the even int32 lanes and on the odd ones moved down,
//    vpsravq), with the per-row constants of RnnS8RowRequant's 64-bit lane
//    form, made at pack time. y fits int32 (|h| <= 2^31 - 1 and e >= 0).
//    kSingle: (x M + 2^(t-1)) >> t in int64. kFloat: (float)x * scale.
//    Every caller then narrows to a range inside int32 (+-2^17 for the
//    recurrent term, int16 for the input term: sat16(rh) = sat16(clamp(rh))),
//    so the result is clamped straight to that range: kSingle in int64
//    (saturating to int32 first changes nothing, the bounds are int32);
//    kFloat in float before rounding (round-to-nearest-even, vcvtps2dq {rn},
//    is monotone and the bounds are integers, so clamp(round(f)) =
//    round(clamp(f)); and the reference's >= 2^31 -> INT32_MAX rule never
//    matters inside the bounds).
//  * sat16(ax + rh) in int32, then vpackssdw (sat16) and one qword permute
//    back to natural order;
//  * MulRoundingShift16 / the GRU blend: exact int32 products of int16 lanes
//    by vpmullw / vpmulhw and vpunpck*wd (in-lane; vpackssdw, also in-lane, is
//    their inverse and saturates to int16). RDBPOT(x, s) for s >= 1 is
//    floor((x + 2^(s-1) - [x < 0]) / 2^s) = (x + 2^(s-1) + (x >> 31)) >> s
//    (requant.h's rem > threshold test, the same case split as the GEMM
//    header's); no overflow: |x| <= 2^30 for an int16 product, and the GRU's
//    z (s - n) = z s - z n (two exact products, their int32 difference exact
//    since |z (s - n)| <= 2^15 (2^16 - 1) < 2^31 - 2^14);
//  * sigmoid / tanh: fast/fixedpoint_avx512.h (exhaustively tested); the cell
//    tanh's integer bits are a template parameter (one loop per count);
//  * the hidden output RequantizeToRange(v, requant_out, mode, zp_h, -128,
//    127), per tensor: clamp(y + zp, -128, 127) = clamp(y, lo, hi) + zp with
//    lo = -128 - zp, hi = 127 - zp in [-255, 255]; kGemmlowp's int32 y goes
//    through vpackssdw first (sat16 then a clamp inside int16 is the clamp),
//    kSingle / kFloat are clamped to [lo, hi] before narrowing as above; then
//    + zp in int16 and vpmovwb (truncating, exact in [-128, 127]).
// Padding lanes (units H .. Hp-1, rows G .. Gp-1) compute garbage that is
// never read back into a real lane: every operation is lane-wise.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512DQ__)
#error "fast/recurrent_s8_gates_avx512.h is for translation units compiled with AVX-512 F/BW/VL/DQ"
#endif

#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "fast/fixedpoint_avx512.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"

// GCC 12 (bug 105593) warns -Wmaybe-uninitialized on the undefined
// pass-through operand of most unmasked AVX-512 intrinsics (as
// fast/int8_gemm_avx512.h); nothing here reads an uninitialized value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qualm::kernels::detail {
namespace {

using Index = std::int64_t;
namespace fpz = fixedpoint::avx512;

inline __m512i LoadZ(const void* p) { return _mm512_loadu_si512(p); }
inline void StoreZ(void* p, __m512i v) { _mm512_storeu_si512(p, v); }

// The low halves of the 64-bit lanes of even (rows 0, 2, ..) and odd (rows 1,
// 3, ..) interleaved back into 16 int32 lanes.
inline __m512i Interleave(__m512i even, __m512i odd) {
  return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CCAA);
}
// The odd int32 lanes moved into the low halves of the 64-bit lanes.
inline __m512i OddDown(__m512i x) { return _mm512_shuffle_epi32(x, _MM_PERM_DDBB); }

// 32 int16 (vpackssdw: sat16) of rows 0-15 in a and 16-31 in b, natural order.
inline __m512i PackNatural(__m512i a, __m512i b) {
  return _mm512_permutexvar_epi64(_mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0), _mm512_packs_epi32(a, b));
}

// The range a caller narrows RQ to (see the top), in the three forms.
struct Limits {
  __m512i lo32, hi32, lo64, hi64;
  __m512 lof, hif;
};
inline Limits MakeLimits(std::int32_t lo, std::int32_t hi) {
  return {_mm512_set1_epi32(lo),           _mm512_set1_epi32(hi),
          _mm512_set1_epi64(lo),           _mm512_set1_epi64(hi),
          _mm512_set1_ps(static_cast<float>(lo)), _mm512_set1_ps(static_cast<float>(hi))};
}

// kGemmlowp's merged formula on the values in the low halves of x's 64-bit
// lanes, before the int64 shift.
inline __m512i MergedHalf(__m512i x, __m512i mul, __m512i add, __m512i below, __m512i two31) {
  __m512i p = _mm512_mul_epi32(x, mul);
  const __mmask8 neg = _mm512_cmplt_epi64_mask(p, below);
  p = _mm512_add_epi64(p, add);
  return _mm512_mask_sub_epi64(p, neg, p, two31);
}

// RnnS8RowRequant's arrays as plain pointers, read once per call (the
// vectors' data pointers would otherwise be reloaded after every store,
// which may alias them).
struct RowPtrs {
  const std::int32_t *bias, *left, *sat_hi, *sat_lo;
  const std::int64_t *mul, *add, *below, *shift;
  const float* scale;
};
inline RowPtrs MakeRowPtrs(const RnnS8RowRequant& q) {
  return {q.bias.data(), q.left.data(), q.sat_hi.data(), q.sat_lo.data(), q.mul64.data(),
          q.add64.data(), q.below64.data(), q.shift64.data(), q.scale.data()};
}

// clamp(RQ(acc[r] + bias[r]), lim) of rows r .. r+15 (r a multiple of 16).
// kLeft: some row has a left shift (otherwise x * 2^0 is skipped). kGemmlowp
// skips the clamp when !kClamp (the caller's vpackssdw is the clamp).
template <RequantMode kMode, bool kLeft, bool kClamp = true>
inline __m512i RowRequant16(__m512i acc, const RowPtrs& q, Index r, const Limits& lim) {
  acc = _mm512_add_epi32(acc, LoadZ(q.bias + r));
  if constexpr (kMode == RequantMode::kFloat) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(q.scale + r));
    f = _mm512_min_ps(_mm512_max_ps(f, lim.lof), lim.hif);
    return _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    const __m512i two31 = _mm512_set1_epi64(std::int64_t{1} << 31);
    __m512i x = acc;
    if constexpr (kMode == RequantMode::kGemmlowp && kLeft) {
      const __mmask16 over = _mm512_cmpgt_epi32_mask(acc, LoadZ(q.sat_hi + r));
      const __mmask16 under = _mm512_cmplt_epi32_mask(acc, LoadZ(q.sat_lo + r));
      x = _mm512_sllv_epi32(acc, LoadZ(q.left + r));
      x = _mm512_mask_mov_epi32(x, over, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max()));
      x = _mm512_mask_mov_epi32(x, under, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min()));
    }
    const std::int64_t* mul = q.mul + r;
    const std::int64_t* add = q.add + r;
    const std::int64_t* shift = q.shift + r;
    __m512i even, odd;
    if constexpr (kMode == RequantMode::kGemmlowp) {
      const std::int64_t* below = q.below + r;
      even = MergedHalf(x, LoadZ(mul), LoadZ(add), LoadZ(below), two31);
      odd = MergedHalf(OddDown(x), LoadZ(mul + 8), LoadZ(add + 8), LoadZ(below + 8), two31);
    } else {
      even = _mm512_add_epi64(_mm512_mul_epi32(x, LoadZ(mul)), LoadZ(add));
      odd = _mm512_add_epi64(_mm512_mul_epi32(OddDown(x), LoadZ(mul + 8)), LoadZ(add + 8));
    }
    even = _mm512_srav_epi64(even, LoadZ(shift));
    odd = _mm512_srav_epi64(odd, LoadZ(shift + 8));
    if constexpr (kMode == RequantMode::kGemmlowp) {  // y fits int32
      if constexpr (!kClamp) return Interleave(even, odd);
      return _mm512_min_epi32(_mm512_max_epi32(Interleave(even, odd), lim.lo32), lim.hi32);
    } else {  // up to 2^61: clamped in int64
      even = _mm512_min_epi64(_mm512_max_epi64(even, lim.lo64), lim.hi64);
      odd = _mm512_min_epi64(_mm512_max_epi64(odd, lim.lo64), lim.hi64);
      return Interleave(even, odd);
    }
  }
}

// Pass 1 of a step: work[r] = sat16(ax[r] + rh[r]) and (kStoreRh, the GRU's
// n rows) work[Gp + r] = sat16(rh[r]), rh = RQ(acc_h + bias_h), every row (padded).
template <RequantMode kMode, bool kLeft, bool kStoreRh>
void RecurrentRowsZ(const RnnS8StepRow& row) {
  const Index Gp = RnnS8Padded(row.rq_h->rows);
  const RowPtrs q = MakeRowPtrs(*row.rq_h);
  const std::int32_t* acc = row.acc_h;
  const std::int16_t* ax = row.ax;
  std::int16_t* work = row.work;
  const Limits lim = MakeLimits(-(1 << 17), 1 << 17);
  for (Index r = 0; r < Gp; r += 32) {
    const __m512i q0 = RowRequant16<kMode, kLeft>(LoadZ(acc + r), q, r, lim);
    const __m512i q1 = RowRequant16<kMode, kLeft>(LoadZ(acc + r + 16), q, r + 16, lim);
    if constexpr (kStoreRh) StoreZ(work + Gp + r, PackNatural(q0, q1));
    const __m512i a0 = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ax + r)));
    const __m512i a1 = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(ax + r + 16)));
    StoreZ(work + r, PackNatural(_mm512_add_epi32(a0, q0), _mm512_add_epi32(a1, q1)));
  }
}

template <RequantMode kMode, bool kStoreRh>
void RecurrentRowsZ(const RnnS8StepRow& row) {
  if (row.rq_h->any_left) {
    RecurrentRowsZ<kMode, true, kStoreRh>(row);
  } else {
    RecurrentRowsZ<kMode, false, kStoreRh>(row);
  }
}

// ax[r] = sat16(RQ(acc[r] + bias[r])) of every row (padded).
template <RequantMode kMode, bool kLeft>
void RequantXZ(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax) {
  const Index Gp = RnnS8Padded(rq.rows);
  const RowPtrs q = MakeRowPtrs(rq);
  const Limits lim = MakeLimits(std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::int16_t>::max());
  for (Index r = 0; r < Gp; r += 32) {
    const __m512i q0 = RowRequant16<kMode, kLeft, false>(LoadZ(acc + r), q, r, lim);
    const __m512i q1 = RowRequant16<kMode, kLeft, false>(LoadZ(acc + r + 16), q, r + 16, lim);
    StoreZ(ax + r, PackNatural(q0, q1));
  }
}

// 32 int16 lanes as two int32 vectors in unpack order, and the exact products.
struct WideZ {
  __m512i lo, hi;
};
inline WideZ WidenZ(__m512i x) {
  const __m512i sign = _mm512_srai_epi16(x, 15);
  return {_mm512_unpacklo_epi16(x, sign), _mm512_unpackhi_epi16(x, sign)};
}
inline WideZ MulWideZ(__m512i a, __m512i b) {
  const __m512i lo = _mm512_mullo_epi16(a, b), hi = _mm512_mulhi_epi16(a, b);
  return {_mm512_unpacklo_epi16(lo, hi), _mm512_unpackhi_epi16(lo, hi)};
}

// RoundingDivideByPOT<int32_t>(x, kShift), kShift >= 1, for |x| + 2^(kShift-1) < 2^31 (see the top).
template <int kShift>
inline __m512i RoundingShift32(__m512i x) {
  static_assert(kShift >= 1 && kShift <= 30);
  const __m512i half = _mm512_set1_epi32(1 << (kShift - 1));
  return _mm512_srai_epi32(_mm512_add_epi32(_mm512_add_epi32(x, half), _mm512_srai_epi32(x, 31)), kShift);
}

// fixedpoint::MulRoundingShift16(a, b, kShift) of 32 lanes.
template <int kShift>
inline __m512i MulRoundingShift32x16(__m512i a, __m512i b) {
  const WideZ w = MulWideZ(a, b);
  return _mm512_packs_epi32(RoundingShift32<kShift>(w.lo), RoundingShift32<kShift>(w.hi));
}

// requant_out, zp_h and the int8 clamp, broadcast once per call (see the top).
struct HiddenZ {
  __m512i mul, add, below, two31, sat_hi, sat_lo, int32_max, int32_min;
  __m128i left, shift;
  bool any_left;
  __m512 scale;
  Limits lim;          // [-128 - zp, 127 - zp]
  __m512i lo16, hi16, zp16;
};

inline HiddenZ MakeHiddenZ(const Requant& r, RequantMode mode, std::int32_t zp) {
  QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
  const int left = r.shift > 0 ? r.shift : 0, e = r.shift > 0 ? 0 : -r.shift;
  HiddenZ h;
  h.mul = _mm512_set1_epi64(r.multiplier);
  h.two31 = _mm512_set1_epi64(std::int64_t{1} << 31);
  if (mode == RequantMode::kSingle) {
    const int t = 31 - r.shift;
    h.add = _mm512_set1_epi64(std::int64_t{1} << (t - 1));
    h.below = _mm512_set1_epi64(std::numeric_limits<std::int64_t>::min());
    h.shift = _mm_cvtsi32_si128(t);
  } else {
    h.add = _mm512_set1_epi64((std::int64_t{1} << 30) + (e > 0 ? std::int64_t{1} << (30 + e) : 0));
    h.below = _mm512_set1_epi64(e > 0 ? -(std::int64_t{1} << 30) : std::numeric_limits<std::int64_t>::min());
    h.shift = _mm_cvtsi32_si128(31 + e);
  }
  h.left = _mm_cvtsi32_si128(left);
  h.any_left = left > 0;
  h.sat_hi = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max() >> left);
  h.sat_lo = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min() >> left);
  h.int32_max = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max());
  h.int32_min = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min());
  h.scale = _mm512_set1_ps(r.scale);
  h.lim = MakeLimits(-128 - zp, 127 - zp);
  h.lo16 = _mm512_set1_epi16(static_cast<std::int16_t>(-128 - zp));
  h.hi16 = _mm512_set1_epi16(static_cast<std::int16_t>(127 - zp));
  h.zp16 = _mm512_set1_epi16(static_cast<std::int16_t>(zp));
  return h;
}

// RQ(x) of 16 int32 lanes, in an int32 whose sat16-then-[lo, hi] clamp is the
// reference's clamp (kGemmlowp: y itself; the others: already in [lo, hi]).
template <RequantMode kMode>
inline __m512i HiddenRequant16(__m512i x, const HiddenZ& h) {
  if constexpr (kMode == RequantMode::kFloat) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), h.scale);
    f = _mm512_min_ps(_mm512_max_ps(f, h.lim.lof), h.lim.hif);
    return _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    if constexpr (kMode == RequantMode::kGemmlowp) {
      if (h.any_left) {
        const __mmask16 over = _mm512_cmpgt_epi32_mask(x, h.sat_hi);
        const __mmask16 under = _mm512_cmplt_epi32_mask(x, h.sat_lo);
        x = _mm512_sll_epi32(x, h.left);
        x = _mm512_mask_mov_epi32(x, over, h.int32_max);
        x = _mm512_mask_mov_epi32(x, under, h.int32_min);
      }
    }
    if constexpr (kMode == RequantMode::kGemmlowp) {
      const __m512i even = _mm512_sra_epi64(MergedHalf(x, h.mul, h.add, h.below, h.two31), h.shift);
      const __m512i odd = _mm512_sra_epi64(MergedHalf(OddDown(x), h.mul, h.add, h.below, h.two31), h.shift);
      return Interleave(even, odd);
    } else {
      __m512i even = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(x, h.mul), h.add), h.shift);
      __m512i odd = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(OddDown(x), h.mul), h.add), h.shift);
      even = _mm512_min_epi64(_mm512_max_epi64(even, h.lim.lo64), h.lim.hi64);
      odd = _mm512_min_epi64(_mm512_max_epi64(odd, h.lim.lo64), h.lim.hi64);
      return Interleave(even, odd);
    }
  }
}

// RequantizeToRange(v, requant_out, mode, zp_h, -128, 127) of 32 int32 (unpack
// order), stored as 32 int8 in natural order.
template <RequantMode kMode>
inline void StoreHiddenZ(WideZ v, const HiddenZ& h, std::int8_t* out) {
  __m512i q = _mm512_packs_epi32(HiddenRequant16<kMode>(v.lo, h), HiddenRequant16<kMode>(v.hi, h));
  q = _mm512_add_epi16(_mm512_min_epi16(_mm512_max_epi16(q, h.lo16), h.hi16), h.zp16);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi16_epi8(q));
}

// The units j .. j + 32 kN - 1 of an LSTM step. The sigmoid / tanh are long
// dependency chains (polynomial, three Newton steps), so kN = 2 blocks side by
// side give the core independent chains to overlap (8 gates, then 2 cells).
template <RequantMode kMode, int kBits, int kN>
inline void LstmUnits(const std::int16_t* pre, Index H, std::int16_t* state, std::int8_t* h, const HiddenZ& hid,
                      Index j) {
  __m512i ig[kN], fg[kN], gg[kN], og[kN], c[kN];
  for (int k = 0; k < kN; ++k) {
    const Index u = j + 32 * k;
    ig[k] = fpz::Logistic32<3>(LoadZ(pre + u));
    fg[k] = fpz::Logistic32<3>(LoadZ(pre + H + u));
    gg[k] = fpz::Tanh32<3>(LoadZ(pre + 2 * H + u));
    og[k] = fpz::Logistic32<3>(LoadZ(pre + 3 * H + u));
  }
  for (int k = 0; k < kN; ++k) {
    const Index u = j + 32 * k;
    c[k] = _mm512_adds_epi16(MulRoundingShift32x16<15>(fg[k], LoadZ(state + u)),
                             MulRoundingShift32x16<15 + kBits>(ig[k], gg[k]));
    StoreZ(state + u, c[k]);
  }
  for (int k = 0; k < kN; ++k) c[k] = fpz::Tanh32<kBits>(c[k]);
  for (int k = 0; k < kN; ++k) StoreHiddenZ<kMode>(MulWideZ(og[k], c[k]), hid, h + j + 32 * k);
}

// One LSTM step of one batch row; kBits = 15 + cell_exponent (the cell tanh's
// integer bits), so the input-gate shift 30 + e is 15 + kBits.
// flatten: GCC otherwise keeps the sigmoid / tanh calls out of line (zmm
// arguments through memory, no interleaving of the independent gates).
template <RequantMode kMode, int kBits>
__attribute__((flatten)) void LstmStepZ(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  RecurrentRowsZ<kMode, false>(row);
  const Index H = p.shape.hidden_size, Hp = RnnS8Padded(H);
  const HiddenZ hid = MakeHiddenZ(p.requant_out, kMode, p.hidden_zero_point);
  Index j = 0;
  for (; j + 64 <= Hp; j += 64) LstmUnits<kMode, kBits, 2>(row.work, H, row.state, row.h, hid, j);
  if (j < Hp) LstmUnits<kMode, kBits, 1>(row.work, H, row.state, row.h, hid, j);
}

struct GruPtrs {
  const std::int16_t* pre;  // sat16(ax + rh) of the z and r rows
  const std::int16_t* hn;   // sat16(RQ(acc_h)) of the n rows
  const std::int16_t* xn;   // sat16(RQ(acc_x)) of the n rows
  std::int16_t* state;
  std::int8_t* h;
};

// The units j .. j + 32 kN - 1 of a GRU step (kN blocks side by side, as LstmUnits).
template <RequantMode kMode, int kN>
inline void GruUnits(const GruPtrs& g, Index H, const HiddenZ& hid, Index j) {
  __m512i zg[kN], rg[kN], ng[kN];
  for (int k = 0; k < kN; ++k) {
    const Index u = j + 32 * k;
    zg[k] = fpz::Logistic32<3>(LoadZ(g.pre + u));
    rg[k] = fpz::Logistic32<3>(LoadZ(g.pre + H + u));
  }
  for (int k = 0; k < kN; ++k) {
    const Index u = j + 32 * k;
    ng[k] = fpz::Tanh32<3>(_mm512_adds_epi16(LoadZ(g.xn + u), MulRoundingShift32x16<15>(rg[k], LoadZ(g.hn + u))));
  }
  for (int k = 0; k < kN; ++k) {
    const Index u = j + 32 * k;
    const WideZ zs = MulWideZ(zg[k], LoadZ(g.state + u)), zn = MulWideZ(zg[k], ng[k]), n = WidenZ(ng[k]);
    const __m512i lo = _mm512_add_epi32(n.lo, RoundingShift32<15>(_mm512_sub_epi32(zs.lo, zn.lo)));
    const __m512i hi = _mm512_add_epi32(n.hi, RoundingShift32<15>(_mm512_sub_epi32(zs.hi, zn.hi)));
    const __m512i s_new = _mm512_packs_epi32(lo, hi);
    StoreZ(g.state + u, s_new);
    StoreHiddenZ<kMode>(WidenZ(s_new), hid, g.h + u);
  }
}

// One GRU step of one batch row: s' = sat16(n + RDBPOT(z (s - n), 15)), h' from it.
template <RequantMode kMode>
__attribute__((flatten)) void GruStepZ(const PreparedGruS8& p, const RnnS8StepRow& row) {
  RecurrentRowsZ<kMode, true>(row);
  const Index H = p.shape.hidden_size, Hp = RnnS8Padded(H), Gp = RnnS8Padded(3 * H);
  const HiddenZ hid = MakeHiddenZ(p.requant_out, kMode, p.hidden_zero_point);
  const GruPtrs g{row.work, row.work + Gp + 2 * H, row.ax + 2 * H, row.state, row.h};
  Index j = 0;
  for (; j + 64 <= Hp; j += 64) GruUnits<kMode, 2>(g, H, hid, j);
  if (j < Hp) GruUnits<kMode, 1>(g, H, hid, j);
}

}  // namespace
}  // namespace qualm::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

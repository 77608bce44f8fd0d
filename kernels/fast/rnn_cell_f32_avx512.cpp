// The float LSTM / GRU cells with AVX-512F (this file gets the avx512 flags
// from qualm_isa_sources in kernels/CMakeLists.txt): 16 hidden units per zmm,
// the tail through mask registers. The bodies are fast/rnn_cell_f32_body.h and
// detail/det_math.h; why they equal the reference cell bit for bit is in
// detail/rnn_cell_f32_variants.h. Every operation below is one IEEE operation
// per lane (no FMA intrinsic; -ffp-contract=off), and min / max / compare /
// blend have the scalar traits' exact semantics (det_math.h).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/detail/det_math.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

// GCC 12 (bug 105593) warns -Wmaybe-uninitialized on the undefined
// pass-through operand of unmasked AVX-512 intrinsics (min, max, shifts) at
// every inlined use; nothing here reads an uninitialized value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qualm::kernels::detail {
namespace {

struct Avx512 {
  using V = __m512;
  using I = __m512i;
  using M = __mmask16;
  static constexpr int kW = 16;
  static M Mask(int lanes) { return static_cast<M>((1u << lanes) - 1u); }
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V LoadN(const float* p, int lanes) { return _mm512_maskz_loadu_ps(Mask(lanes), p); }
  static void StoreN(float* p, V v, int lanes) { _mm512_mask_storeu_ps(p, Mask(lanes), v); }
  static V Set(float v) { return _mm512_set1_ps(v); }
  static I ISet(std::int32_t v) { return _mm512_set1_epi32(v); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Div(V a, V b) { return _mm512_div_ps(a, b); }
  static V MinOf(V a, V b) { return _mm512_min_ps(a, b); }  // a < b ? a : b
  static V MaxOf(V a, V b) { return _mm512_max_ps(a, b); }  // a > b ? a : b
  static I AsInt(V v) { return _mm512_castps_si512(v); }
  static V AsFloat(I i) { return _mm512_castsi512_ps(i); }
  static V Abs(V v) { return AsFloat(_mm512_and_si512(AsInt(v), _mm512_set1_epi32(0x7fffffff))); }
  static V SignOf(V v) {
    return AsFloat(_mm512_and_si512(AsInt(v), _mm512_set1_epi32(static_cast<std::int32_t>(0x80000000u))));
  }
  static V OrBits(V a, V b) { return AsFloat(_mm512_or_si512(AsInt(a), AsInt(b))); }
  static M Less(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static V Select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
  static I IAdd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I ISub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I ISra1(I a) { return _mm512_srai_epi32(a, 1); }
  static I IShl23(I a) { return _mm512_slli_epi32(a, 23); }
};

#include "fast/rnn_cell_f32_body.h"

}  // namespace

RnnCellF32Variant RnnCellF32Avx512() { return body::MakeVariant<Avx512>(Isa::kAvx512, "f32_rnn_cell_16c__avx512"); }

}  // namespace qualm::kernels::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

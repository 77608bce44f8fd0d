// The float LSTM / GRU cells with AVX2 (this file gets the avx2 flags from
// qualm_isa_sources in kernels/CMakeLists.txt): 8 hidden units per ymm, the
// tail through vmaskmovps. The bodies are fast/rnn_cell_f32_body.h and
// detail/det_math.h; why they equal the reference cell bit for bit is in
// detail/rnn_cell_f32_variants.h. Every operation below is one IEEE operation
// per lane (no FMA intrinsic; -ffp-contract=off), and min / max / compare /
// blend have the scalar traits' exact semantics (det_math.h).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/detail/det_math.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

struct Avx2 {
  using V = __m256;
  using I = __m256i;
  using M = __m256;  // all-ones / all-zeros lanes
  static constexpr int kW = 8;
  static __m256i Mask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V LoadN(const float* p, int lanes) { return _mm256_maskload_ps(p, Mask(lanes)); }
  static void StoreN(float* p, V v, int lanes) { _mm256_maskstore_ps(p, Mask(lanes), v); }
  static V Set(float v) { return _mm256_set1_ps(v); }
  static I ISet(std::int32_t v) { return _mm256_set1_epi32(v); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V Div(V a, V b) { return _mm256_div_ps(a, b); }
  static V MinOf(V a, V b) { return _mm256_min_ps(a, b); }  // a < b ? a : b
  static V MaxOf(V a, V b) { return _mm256_max_ps(a, b); }  // a > b ? a : b
  static I AsInt(V v) { return _mm256_castps_si256(v); }
  static V AsFloat(I i) { return _mm256_castsi256_ps(i); }
  static V Abs(V v) { return AsFloat(_mm256_and_si256(AsInt(v), _mm256_set1_epi32(0x7fffffff))); }
  static V SignOf(V v) {
    return AsFloat(_mm256_and_si256(AsInt(v), _mm256_set1_epi32(static_cast<std::int32_t>(0x80000000u))));
  }
  static V OrBits(V a, V b) { return AsFloat(_mm256_or_si256(AsInt(a), AsInt(b))); }
  static M Less(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static V Select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
  static I IAdd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I ISub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I ISra1(I a) { return _mm256_srai_epi32(a, 1); }
  static I IShl23(I a) { return _mm256_slli_epi32(a, 23); }
};

#include "fast/rnn_cell_f32_body.h"

}  // namespace

RnnCellF32Variant RnnCellF32Avx2() { return body::MakeVariant<Avx2>(Isa::kAvx2, "f32_rnn_cell_8c__avx2"); }

}  // namespace qualm::kernels::detail

// Fast float batch-norm and elementwise kernels with AVX2 (this file gets the
// avx2 flags from qualm_isa_sources in kernels/CMakeLists.txt; no FMA
// intrinsic is used, and -ffp-contract=off keeps mul + add two roundings): 8
// channels per ymm, partial vectors through vmaskmovps. The bodies are
// fast/norm_eltwise_f32_body.h; why they equal the reference bit for bit is in
// detail/norm_eltwise_f32_variants.h.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int kW = 8;
  static __m256i Mask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V LoadN(const float* p, int lanes) { return _mm256_maskload_ps(p, Mask(lanes)); }
  static void StoreN(float* p, V v, int lanes) { _mm256_maskstore_ps(p, Mask(lanes), v); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V PositiveOr0(V x, V v) { return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), v); }
};

#include "fast/norm_eltwise_f32_body.h"

}  // namespace

NormEltwiseF32Variant NormEltwiseF32Avx2() {
  return body::MakeVariant<Avx2>(Isa::kAvx2, "f32_norm_eltwise_8c__avx2");
}

}  // namespace qualm::kernels::detail

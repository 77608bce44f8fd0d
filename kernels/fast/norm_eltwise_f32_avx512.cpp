// Fast float batch-norm and elementwise kernels with AVX-512F (this file gets
// the avx512 flags from qualm_isa_sources in kernels/CMakeLists.txt): 16
// channels per zmm, partial vectors through mask registers. The bodies are
// fast/norm_eltwise_f32_body.h; why they equal the reference bit for bit is in
// detail/norm_eltwise_f32_variants.h.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int kW = 16;
  static __mmask16 Mask(int lanes) { return static_cast<__mmask16>((1u << lanes) - 1u); }
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V LoadN(const float* p, int lanes) { return _mm512_maskz_loadu_ps(Mask(lanes), p); }
  static void StoreN(float* p, V v, int lanes) { _mm512_mask_storeu_ps(p, Mask(lanes), v); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V PositiveOr0(V x, V v) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  }
};

#include "fast/norm_eltwise_f32_body.h"

}  // namespace

NormEltwiseF32Variant NormEltwiseF32Avx512() {
  return body::MakeVariant<Avx512>(Isa::kAvx512, "f32_norm_eltwise_16c__avx512");
}

}  // namespace qualm::kernels::detail

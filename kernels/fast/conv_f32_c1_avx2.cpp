// The one-channel float conv with AVX2 + FMA: 8 pixels per ymm, 8 ymm per
// 64-pixel block (fast/conv_f32_c1_body.h; this file gets the avx2 flags from
// qualm_isa_sources). Stride-1 taps are vmaskmovps loads, which neither read
// nor fault on the masked-out lanes, blended into the padding zeros.
#include <immintrin.h>

#include "fast/conv_f32_c1_body.h"

namespace qualm::kernels::detail {
namespace {

struct VecAvx2 {
  static constexpr int kL = 8;
  using T = __m256;
  static T Zero() { return _mm256_setzero_ps(); }
  static T Set1(float f) { return _mm256_set1_ps(f); }
  static T Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static T Add(T a, T b) { return _mm256_add_ps(a, b); }
  static T Fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T LoadLanes(T v, int lo, int hi, const float* p) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1)),
                                        _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
    return _mm256_blendv_ps(v, _mm256_maskload_ps(p, in), _mm256_castsi256_ps(in));
  }
};

}  // namespace

void conv_f32_c1_64p__avx2(const ConvF32C1Tile& t) { ConvF32C1<VecAvx2>::Run(t); }

}  // namespace qualm::kernels::detail

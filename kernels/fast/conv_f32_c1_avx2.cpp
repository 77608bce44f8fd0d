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
  static void StoreFirst(float* p, T v, int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane), v);
  }
  // 4 x 4 transposes inside each 128-bit half, then the halves exchanged.
  static void Transpose(T* r) {
    T t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {  // u[4i + k], half L: pixel 4L + k of rows 4i .. 4i + 3
      u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
      r[k + 4] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
    }
  }
};

}  // namespace

void conv_f32_c1_64p__avx2(const ConvF32C1Tile& t) { ConvF32C1<VecAvx2>::Run(t); }

}  // namespace qualm::kernels::detail

// The one-channel float conv with AVX-512F: 16 pixels per zmm, 4 zmm per
// 64-pixel block (fast/conv_f32_c1_body.h; this file gets the avx512 flags
// from qualm_isa_sources). Stride-1 taps are masked loads (vmovups with a
// lane mask), which neither read nor fault on the padding lanes.
#include <immintrin.h>

#include "fast/conv_f32_c1_body.h"

namespace qualm::kernels::detail {
namespace {

struct VecAvx512 {
  static constexpr int kL = 16;
  using T = __m512;
  static T Zero() { return _mm512_setzero_ps(); }
  static T Set1(float f) { return _mm512_set1_ps(f); }
  static T Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static T Add(T a, T b) { return _mm512_add_ps(a, b); }
  static T Fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T LoadLanes(T v, int lo, int hi, const float* p) {
    const auto m = static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u));
    return _mm512_mask_loadu_ps(v, m, p);
  }
  static void StoreFirst(float* p, T v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v); }
  // The shuffles in their maskz forms with a full mask: GCC 12 warns
  // (-Wmaybe-uninitialized) on the undefined source inside the plain ones.
  static constexpr __mmask16 kAll = 0xFFFF;
  template <int kImm>
  static T Shuffle128(T a, T b) {
    return _mm512_maskz_shuffle_f32x4(kAll, a, b, kImm);
  }
  // 4 x 4 transposes inside each 128-bit lane, then the 4 x 4 transpose of the lanes.
  static void Transpose(T* r) {
    T t[16], u[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_maskz_unpacklo_ps(kAll, r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_maskz_unpackhi_ps(kAll, r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {  // u[4i + k], lane L: pixel 4L + k of rows 4i .. 4i + 3
      u[4 * i + 0] = _mm512_maskz_shuffle_ps(kAll, t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm512_maskz_shuffle_ps(kAll, t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm512_maskz_shuffle_ps(kAll, t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm512_maskz_shuffle_ps(kAll, t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int k = 0; k < 4; ++k) {
      const T a = Shuffle128<0x88>(u[k], u[4 + k]), b = Shuffle128<0xDD>(u[k], u[4 + k]);
      const T c = Shuffle128<0x88>(u[8 + k], u[12 + k]), d = Shuffle128<0xDD>(u[8 + k], u[12 + k]);
      r[k] = Shuffle128<0x88>(a, c);
      r[k + 8] = Shuffle128<0xDD>(a, c);
      r[k + 4] = Shuffle128<0x88>(b, d);
      r[k + 12] = Shuffle128<0xDD>(b, d);
    }
  }
};

}  // namespace

void conv_f32_c1_64p__avx512(const ConvF32C1Tile& t) { ConvF32C1<VecAvx512>::Run(t); }

}  // namespace qualm::kernels::detail

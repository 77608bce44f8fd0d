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
};

}  // namespace

void conv_f32_c1_64p__avx512(const ConvF32C1Tile& t) { ConvF32C1<VecAvx512>::Run(t); }

}  // namespace qualm::kernels::detail

// The int8 micro-kernels for the x86-64 baseline (QUALM_ISA=scalar or no
// AVX2). The products use SSE2 (part of every x86-64 CPU, so of the baseline
// flags): pmaddwd of a broadcast activation pair and 4 columns x 2 int16
// weights, exact as on AVX2. The output stage is requant.h's
// RequantizeToRange itself, called per output. Contract:
// detail/int8_gemm_variants.h.
//
// Why intrinsics here: left to itself, GCC 12.2 -O3 turned the plain C++ loop
// nest into shuffle-heavy code slower than the reference kernel, and with 2
// to 4 rows per tile it even produced loads past the last activation row (a
// crash at the end of an allocation; reproduced standalone, and the
// guard-page test in tests/kernels/int8_fast_gemm_test.cpp checks every variant
// for it). One row at a time with explicit SSE2 is both fast and safe.
//
// Other architectures (the aarch64 / armhf runtime builds) compile the plain
// C++ row below instead, one row at a time as well: the same int32 sums of the
// same int16 products (integer adds, so the order does not matter), hence the
// same bits as the SSE2 row and the reference (the cross-built runtime tests
// compare its logits with x86's). Every x86-64 compiler defines __SSE2__.
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "internal/conv_taps.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

std::int8_t Output(std::int32_t acc, const S8OutputStage& o, int c) {
  if (o.bias) acc += o.bias[c];
  return static_cast<std::int8_t>(RequantizeToRange(acc, o.requant[c], o.mode, o.zp_out, o.act_min, o.act_max));
}

#if defined(__SSE2__)
// One row of one 16-column panel: 4 registers of 4 int32 accumulators.
void Sums(const S8GemmTile& t, int r, const std::int16_t* panel, std::int32_t* sums) {
  __m128i acc[4] = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()};
  const std::int16_t* a = t.a + r * t.lda;
  const int pairs = t.k_padded / 2;
  for (int q = 0; q < pairs; ++q) {
    std::int32_t pair;
    std::memcpy(&pair, a + 2 * q, sizeof pair);
    const __m128i av = _mm_set1_epi32(pair);
    const std::int16_t* bq = panel + static_cast<std::int64_t>(q) * kS8PanelCols * 2;
    for (int v = 0; v < 4; ++v)
      acc[v] = _mm_add_epi32(acc[v], _mm_madd_epi16(av, _mm_loadu_si128(reinterpret_cast<const __m128i*>(bq + 8 * v))));
  }
  for (int v = 0; v < 4; ++v) _mm_storeu_si128(reinterpret_cast<__m128i*>(sums + 4 * v), acc[v]);
}
#else
// The portable row: sums[j] = sum over k of a[k] * panel column j.
void Sums(const S8GemmTile& t, int r, const std::int16_t* panel, std::int32_t* sums) {
  const std::int16_t* a = t.a + r * t.lda;
  for (int j = 0; j < kS8PanelCols; ++j) sums[j] = 0;
  for (int kk = 0; kk < t.k_padded; ++kk) {
    const std::int32_t av = a[kk];
    const std::int16_t* bq = panel + static_cast<std::int64_t>(kk / 2) * kS8PanelCols * 2 + kk % 2;
    for (int j = 0; j < kS8PanelCols; ++j) sums[j] += av * bq[2 * j];
  }
}
#endif

// One row of one 16-column panel.
void Row(const S8GemmTile& t, int r, const std::int16_t* panel, int c0, int nc) {
  alignas(16) std::int32_t sums[kS8PanelCols];
  Sums(t, r, panel, sums);
  if (t.y32) {  // raw accumulators (one branch per row and panel: negligible next to the k loop)
    std::memcpy(t.y32 + r * t.ldy + c0, sums, static_cast<std::size_t>(nc) * sizeof(std::int32_t));
    return;
  }
  std::int8_t* y = t.y + r * t.ldy + c0;
  for (int j = 0; j < nc; ++j) y[j] = Output(sums[j], t.out, c0 + j);
}

}  // namespace

void s8s16_gemm_1x16c2__generic(const S8GemmTile& t) {
  const std::int64_t panel_size = std::int64_t{t.k_padded} * kS8PanelCols;
  for (int c0 = 0; c0 < t.n; c0 += kS8PanelCols) {
    const std::int16_t* panel = t.b + (c0 / kS8PanelCols) * panel_size;
    const int nc = std::min(kS8PanelCols, t.n - c0);
    for (int r = 0; r < t.m; ++r) Row(t, r, panel, c0, nc);
  }
}

void s8s16_depthwise_1c__generic(const S8DepthwiseTile& t) {
  const Conv2dParams& p = *t.shape;
  const std::int64_t oh = p.out_h(), ow = p.out_w(), C = p.out_c;
  for (std::int64_t pix = t.pix0; pix < t.pix1; ++pix) {
    const std::int64_t n = pix / (oh * ow), oy = pix / ow % oh, ox = pix % ow;
    const std::int8_t* xn = t.x + n * p.in_h * p.in_w * C;
    std::int8_t* y = t.y + pix * C;
    for (std::int64_t c = 0; c < C; ++c) {
      std::int32_t acc = 0;
      internal::ForEachConvTap(p, oy, ox, [&](std::int64_t tap, std::int64_t pixel) {
        const std::int32_t xv = xn[pixel * C + c];
        acc += t.w[tap * t.channels_padded + c] * (xv - t.zp_in);
      });
      y[c] = Output(acc, t.out, static_cast<int>(c));
    }
  }
}

}  // namespace qualm::kernels::detail

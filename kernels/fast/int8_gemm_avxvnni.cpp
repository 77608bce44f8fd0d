// The int8 GEMM compiled with AVX-VNNI (this file gets -mavxvnni -mavx2 -mfma
// -mf16c from qualm_isa_sources): the 256-bit, VEX-encoded vpdpbusd of CPUs
// that have VNNI without AVX-512 (Alder Lake and later client cores; Zen 5
// has both). Contract: detail/int8_gemm_variants.h (S8Operands::kU8S8), the
// same operands and packed panels as s8u8_gemm_8x32c4__avx512vnni.
//
// Products: _mm256_dpbusd_avx_epi32, the NON-saturating VEX form (never
// vpdpbusds, never vpmaddubsw): per 32-bit lane, u0 w0 + u1 w1 + u2 w2 + u3 w3
// of a broadcast u8 quad u = x + 128 and 8 columns x 4 int8 weights, added to
// the accumulator. Each product is exact (|u w| <= 255 * 127), and so is
// every partial sum, which starts at col_offset[c] = -(zp_in + 128) * sum_k w
// (the argument of int8_gemm_avx512vnni.cpp, word for word: the lane width
// does not enter it). The result is the reference's int32 accumulator.
//
// Tile: up to 6 rows x one 16-column panel: 12 ymm accumulators, two weight
// registers and one broadcast, 15 of the 16 ymm registers VEX code can name.
// The output stage is fast/int8_gemm_avx2.h, the code the tests prove equal to
// RequantizeToRange.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/int8_gemm_avx2.h"
#include "fast/vnni_dot.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kRows = 6;  // rows per micro-tile
constexpr int kQuadBytes = kCols * 4;

// R (<= 6) rows of the panel at column c0: the exact sums, then the output
// stage (or, kRaw, the accumulators as they are into t.y32, masked for a
// column tail so nothing past column n is written).
template <RequantMode kMode, bool kRaw, int R>
void Rows(const U8S8GemmTile& t, std::int64_t r0, int c0, const std::int8_t* panel, const Lanes& l,
          const Bounds& b) {
  // Fewer than 3 rows: quad q into partial sum q % S, added at the end (the
  // exact int32 sums do not depend on the order; int8_gemm_avx512vnni.cpp).
  constexpr int S = R == 1 ? 4 : (R == 2 ? 2 : 1);
  const std::uint8_t* a = t.a + r0 * t.lda;
  const __m256i o0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_offset + c0));
  const __m256i o1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_offset + c0 + 8));
  __m256i acc[S][R][2];
  for (int i = 0; i < R; ++i) {
    acc[0][i][0] = o0, acc[0][i][1] = o1;
    for (int s = 1; s < S; ++s) acc[s][i][0] = acc[s][i][1] = _mm256_setzero_si256();
  }
  const int quads = t.k_padded / 4;
  auto step = [&](int q, int s) __attribute__((always_inline)) {
    const std::int8_t* wq = panel + std::int64_t{q} * kQuadBytes;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 32));
    for (int i = 0; i < R; ++i) {
      std::int32_t quad;
      std::memcpy(&quad, a + i * t.lda + 4 * q, sizeof quad);
      const __m256i u = _mm256_set1_epi32(quad);
      acc[s][i][0] = vnni::DpbusdVex(acc[s][i][0], u, w0);
      acc[s][i][1] = vnni::DpbusdVex(acc[s][i][1], u, w1);
    }
  };
  int q = 0;
  for (; q + S <= quads; q += S)
    for (int s = 0; s < S; ++s) step(q + s, s);
  for (; q < quads; ++q) step(q, 0);
  for (int s = 1; s < S; ++s)
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < 2; ++v) acc[0][i][v] = _mm256_add_epi32(acc[0][i][v], acc[s][i][v]);
  const int nc = std::min(kCols, t.n - c0);
  for (int i = 0; i < R; ++i) {
    if constexpr (kRaw) {
      Store16Raw(acc[0][i][0], acc[0][i][1], t.y32 + (r0 + i) * t.ldy + c0, nc);
    } else {
      const __m256i lo = Requant8<kMode>(acc[0][i][0], l, 0, b);
      const __m256i hi = Requant8<kMode>(acc[0][i][1], l, 8, b);
      Store16(lo, hi, t.y + (r0 + i) * t.ldy + c0, nc);
    }
  }
}

template <RequantMode kMode, bool kRaw = false>
void Gemm(const U8S8GemmTile& t) {
  const Bounds b = kRaw ? Bounds{} : MakeBounds(t.out);
  const std::int64_t panel_size = std::int64_t{t.k_padded} * kCols;
  Lanes l;
  for (int c0 = 0; c0 < t.n; c0 += kCols) {
    if constexpr (!kRaw) BuildLanes<kMode>(t.out, c0, std::min(kCols, t.n - c0), &l);
    const std::int8_t* panel = t.b + (c0 / kCols) * panel_size;
    int r0 = 0;
    for (; r0 + kRows <= t.m; r0 += kRows) Rows<kMode, kRaw, kRows>(t, r0, c0, panel, l, b);
    switch (t.m - r0) {
      case 5: Rows<kMode, kRaw, 5>(t, r0, c0, panel, l, b); break;
      case 4: Rows<kMode, kRaw, 4>(t, r0, c0, panel, l, b); break;
      case 3: Rows<kMode, kRaw, 3>(t, r0, c0, panel, l, b); break;
      case 2: Rows<kMode, kRaw, 2>(t, r0, c0, panel, l, b); break;
      case 1: Rows<kMode, kRaw, 1>(t, r0, c0, panel, l, b); break;
      default: break;
    }
  }
}

}  // namespace

void s8u8_gemm_6x16c4__avxvnni(const U8S8GemmTile& t) {
  if (t.y32) return Gemm<RequantMode::kGemmlowp, true>(t);  // the mode is unused when raw
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Gemm<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Gemm<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Gemm<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

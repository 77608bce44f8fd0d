// The int8 GEMM compiled with AVX-512 VNNI (this file gets -mavx512f -mavx512bw
// -mavx512dq -mavx512vl -mavx512vnni -mavx2 -mfma -mf16c from qualm_isa_sources).
// Contract: detail/int8_gemm_variants.h (S8Operands::kU8S8).
//
// Products: vpdpbusd (the NON-saturating form; never vpdpbusds, never
// vpmaddubsw) of a broadcast quad of u8 activations u = x + 128 and 16 columns
// x 4 int8 weights adds, per 32-bit lane, u0 w0 + u1 w1 + u2 w2 + u3 w3 to the
// accumulator. Each product is exact (|u w| <= 255 * 127 = 32385) and the
// quad sum (|.| <= 129540) and its addition are exact int32 arithmetic, modulo
// 2^32 like vpaddd. Accumulators start at col_offset[c] = -(zp_in + 128) *
// sum_k w[c][k], so after the last quad they hold
//   sum_k w (u - (zp_in + 128)) = sum_k w (x - zp_in),
// the reference's accumulator exactly (a padding tap holds u = zp_in + 128 and
// contributes 0). Every partial sum is bounded by 255 * sum_k |w| <= K * 255 *
// 127 < 2^31 (Prepare's bound; kernels/ARITHMETIC.md), and even without it the
// modular sum of an in-range result is that result.
//
// Tile: up to 8 rows x 2 panels (32 columns): 16 zmm accumulators, two weight
// loads and 8 broadcasts per quad. One panel at a time when only one is left
// (the 16-channel layers). The output stage is the 512-bit one of
// fast/int8_gemm_avx512.h (the bias folded into the accumulators' start
// value), which the tests prove equal to RequantizeToRange through this
// kernel's entry point.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/int8_gemm_avx512.h"
#include "fast/vnni_dot.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kRows = 8;  // rows per micro-tile
constexpr int kQuadBytes = kCols * 4;

// R (<= 8) rows x NP (1 or 2) panels from row r0, column c0: the exact sums,
// then the output stage (or, kRaw, the accumulators as they are: t.y32, with
// a masked store for a column tail, which writes nothing past column n).
// Never inlined: inlined next to the Stage16 arrays, GCC 12 spilled the
// accumulators inside the vpdpbusd loop (as in conv_s8_direct_avx512vnni.cpp).
template <RequantMode kMode, bool kRaw, int R, int NP>
__attribute__((noinline)) void Rows(const U8S8GemmTile& t, std::int64_t r0, int c0, const std::int8_t* panel, std::int64_t panel_size,
          const Stage16* st) {
  // Fewer than 3 rows (batch 1 dense and RNN steps) would leave one dependent
  // vpdpbusd chain per accumulator, bound by its latency: quad q goes into
  // partial sum q % S instead, and the S partials are added at the end. The
  // same int32 result: the sums are exact (or modulo 2^32), so their order
  // does not matter.
  constexpr int S = R == 1 ? 4 : (R == 2 ? 2 : 1);
  const std::uint8_t* a = t.a + r0 * t.lda;
  __m512i acc[S][R][NP];
  for (int p = 0; p < NP; ++p) {
    __m512i o;
    if constexpr (kRaw) o = _mm512_loadu_si512(t.col_offset + c0 + p * kCols);
    else o = _mm512_load_si512(st[p].init);
    for (int i = 0; i < R; ++i) {
      acc[0][i][p] = o;
      for (int s = 1; s < S; ++s) acc[s][i][p] = _mm512_setzero_si512();
    }
  }
  const int quads = t.k_padded / 4;
  // One quad into partial sum s.
  auto step = [&](int q, int s) __attribute__((always_inline)) {
    __m512i w[NP];
    for (int p = 0; p < NP; ++p) w[p] = _mm512_loadu_si512(panel + p * panel_size + std::int64_t{q} * kQuadBytes);
    for (int i = 0; i < R; ++i) {
      std::int32_t quad;
      std::memcpy(&quad, a + i * t.lda + 4 * q, sizeof quad);
      const __m512i u = _mm512_set1_epi32(quad);
      for (int p = 0; p < NP; ++p) acc[s][i][p] = vnni::Dpbusd(acc[s][i][p], u, w[p]);
    }
  };
  int q = 0;
  for (; q + S <= quads; q += S)
    for (int s = 0; s < S; ++s) step(q + s, s);
  for (; q < quads; ++q) step(q, 0);
  for (int s = 1; s < S; ++s)
    for (int i = 0; i < R; ++i)
      for (int p = 0; p < NP; ++p) acc[0][i][p] = _mm512_add_epi32(acc[0][i][p], acc[s][i][p]);
  for (int p = 0; p < NP; ++p) {
    const int nc = std::min(kCols, t.n - c0 - p * kCols);
    for (int i = 0; i < R; ++i) {
      if constexpr (kRaw) {
        const __mmask16 mask = static_cast<__mmask16>(nc >= kCols ? 0xFFFF : (1u << nc) - 1u);
        _mm512_mask_storeu_epi32(t.y32 + (r0 + i) * t.ldy + c0 + p * kCols, mask, acc[0][i][p]);
      } else {
        Store16(Requant16<kMode>(acc[0][i][p], st[p]), t.y + (r0 + i) * t.ldy + c0 + p * kCols, nc);
      }
    }
  }
}

template <RequantMode kMode, bool kRaw, int NP>
void Panels(const U8S8GemmTile& t, int c0, const Stage16* st) {
  const std::int64_t panel_size = std::int64_t{t.k_padded} * kCols;
  const std::int8_t* panel = t.b + (c0 / kCols) * panel_size;
  int r0 = 0;
  for (; r0 + kRows <= t.m; r0 += kRows) Rows<kMode, kRaw, kRows, NP>(t, r0, c0, panel, panel_size, st);
  switch (t.m - r0) {
    case 7: Rows<kMode, kRaw, 7, NP>(t, r0, c0, panel, panel_size, st); break;
    case 6: Rows<kMode, kRaw, 6, NP>(t, r0, c0, panel, panel_size, st); break;
    case 5: Rows<kMode, kRaw, 5, NP>(t, r0, c0, panel, panel_size, st); break;
    case 4: Rows<kMode, kRaw, 4, NP>(t, r0, c0, panel, panel_size, st); break;
    case 3: Rows<kMode, kRaw, 3, NP>(t, r0, c0, panel, panel_size, st); break;
    case 2: Rows<kMode, kRaw, 2, NP>(t, r0, c0, panel, panel_size, st); break;
    case 1: Rows<kMode, kRaw, 1, NP>(t, r0, c0, panel, panel_size, st); break;
    default: break;
  }
}

template <RequantMode kMode, bool kRaw = false>
void Gemm(const U8S8GemmTile& t) {
  Stage16 st[2];
  int c0 = 0;
  for (; c0 + kCols < t.n; c0 += 2 * kCols) {  // two panels, the second possibly partial
    if constexpr (!kRaw) {
      BuildStage<kMode>(t.out, t.col_offset + c0, c0, kCols, &st[0]);
      BuildStage<kMode>(t.out, t.col_offset + c0 + kCols, c0 + kCols, std::min(kCols, t.n - c0 - kCols), &st[1]);
    }
    Panels<kMode, kRaw, 2>(t, c0, st);
  }
  if (c0 < t.n) {
    if constexpr (!kRaw) BuildStage<kMode>(t.out, t.col_offset + c0, c0, t.n - c0, &st[0]);
    Panels<kMode, kRaw, 1>(t, c0, st);
  }
}

}  // namespace

void s8u8_gemm_8x32c4__avx512vnni(const U8S8GemmTile& t) {
  if (t.y32) return Gemm<RequantMode::kGemmlowp, true>(t);  // the mode is unused when raw
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Gemm<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Gemm<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Gemm<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

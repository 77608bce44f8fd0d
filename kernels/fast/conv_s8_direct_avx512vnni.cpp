// The implicit-GEMM (direct) int8 conv compiled with AVX-512 VNNI (this file
// gets -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -mavx2 -mfma
// -mf16c from qualm_isa_sources). Contract: detail/int8_gemm_variants.h
// (U8S8ConvTile); the driver (padded u8 input, row starts, quad offsets,
// threads) is fast/conv2d_s8_direct.cpp.
//
// Arithmetic: that of s8u8_gemm_8x32c4__avx512vnni (int8_gemm_avx512vnni.cpp,
// which argues it): vpdpbusd, the non-saturating form, of a broadcast u8 quad
// and 16 columns x 4 int8 weights, accumulators starting at col_offset; only
// where a quad is read from differs (the padded input instead of an im2col
// row holding the same bytes). The output stage is the 512-bit one of
// fast/int8_gemm_avx512.h (one zmm in, 16 int8 out; the bias is folded into
// the accumulators' start value), which the tests prove equal to
// RequantizeToRange through this kernel's entry point.
//
// Tile: 24 accumulators, shaped by the number of 16-column panels left:
// 6 rows x 4 panels (64 channels: 4 weight loads and 6 broadcasts feed 24
// vpdpbusd), 12 x 2, or 24 x 1 (the 16-channel layers, where the 8x32 GEMM
// had only 8 accumulators, fewer than vpdpbusd's latency x throughput needs).
// A tile's rows are any output pixels (each has its own start pointer), so
// tiles run across output rows and images without waste; a last partial tile
// repeats its last row's pointer and stores only the real rows.
// signed_rows (an unpadded conv read in place): each broadcast quad is
// xor-ed with 0x80808080 (x + 128), one vpxord with an embedded broadcast.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/int8_gemm_avx512.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kQuadBytes = kCols * 4;
constexpr int kAccumulators = 24;

// Rows [r0, r0 + mr) (mr <= R) x NP panels from column c0.
// Never inlined: inlined into Panels (next to its Stage16 array), GCC 12
// spilled the accumulators inside the vpdpbusd loop, whatever the output stage.
template <RequantMode kMode, bool kSigned, int R, int NP>
__attribute__((noinline)) void Tile(const U8S8ConvTile& t, int r0, int mr, int c0, const std::int8_t* panel, std::int64_t panel_size,
          const Stage16* st) {
  const std::uint8_t* rows[R];
  for (int i = 0; i < R; ++i) rows[i] = t.rows[r0 + std::min(i, mr - 1)];
  __m512i acc[R][NP];
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    const __m512i o = _mm512_load_si512(st[p].init);
#pragma GCC unroll 32
    for (int i = 0; i < R; ++i) acc[i][p] = o;
  }
  for (int q = 0; q < t.quads; ++q) {
    const std::int64_t off = t.koff[q];
    __m512i w[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) w[p] = _mm512_loadu_si512(panel + p * panel_size + std::int64_t{q} * kQuadBytes);
#pragma GCC unroll 32
    for (int i = 0; i < R; ++i) {
      std::int32_t quad;
      std::memcpy(&quad, rows[i] + off, sizeof quad);
      // kSigned: int8 rows, flipped to u8 (x ^ 0x80 == x + 128) here instead of in a copy.
      const __m512i u = kSigned ? _mm512_xor_si512(_mm512_set1_epi32(quad), _mm512_set1_epi32(INT32_MIN | 0x00808080))
                                : _mm512_set1_epi32(quad);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) acc[i][p] = _mm512_dpbusd_epi32(acc[i][p], u, w[p]);
    }
  }
  // GCC keeps acc in registers only when every loop over it is unrolled.
  // The int8 stores may alias anything (a char type), so what the loop reads
  // after one is copied into locals first: without that, GCC reloaded t.y,
  // t.ldy, t.n and any_left and re-tested them around every store, which cost
  // more than the requantization itself when K is short (1x1 convs).
  std::int8_t* const y = t.y + std::int64_t{r0} * t.ldy + c0;
  const std::int64_t ldy = t.ldy;
  const int n_left = t.n - c0;
#pragma GCC unroll 4
  for (int p = 0; p < NP; ++p) {
    const int nc = std::min(kCols, n_left - p * kCols);
    const bool any_left = st[p].any_left;
    std::int8_t* const yp = y + p * kCols;
    if constexpr (kMode == RequantMode::kGemmlowp) {
      if (mr == R && nc == kCols && !any_left) {  // a whole tile, the constants in registers (LoadGemmlowp)
        const GemmlowpRegs regs = LoadGemmlowp(st[p]);
#pragma GCC unroll 32
        for (int i = 0; i < R; ++i) Store16(GemmlowpFromShifted(acc[i][p], regs), yp + i * ldy, kCols);
        continue;
      }
    }
    if (mr == R && nc == kCols) {  // a whole tile: no row or column tests
#pragma GCC unroll 32
      for (int i = 0; i < R; ++i) Store16(Requant16<kMode>(acc[i][p], st[p], any_left), yp + i * ldy, kCols);
    } else {
#pragma GCC unroll 32
      for (int i = 0; i < R; ++i) {
        if (i >= mr) break;
        Store16(Requant16<kMode>(acc[i][p], st[p], any_left), yp + i * ldy, nc);
      }
    }
  }
}

// All rows x NP panels from column c0.
template <RequantMode kMode, bool kSigned, int NP>
void Panels(const U8S8ConvTile& t, int c0) {
  constexpr int R = kAccumulators / NP;
  const std::int64_t panel_size = std::int64_t{t.quads} * kQuadBytes;
  Stage16 st[NP];
  for (int p = 0; p < NP; ++p) {
    const int cp = c0 + p * kCols;
    BuildStage<kMode>(t.out, t.col_offset + cp, cp, std::min(kCols, t.n - cp), &st[p]);
  }
  const std::int8_t* panel = t.b + (c0 / kCols) * panel_size;
  for (int r0 = 0; r0 < t.m; r0 += R)
    Tile<kMode, kSigned, R, NP>(t, r0, std::min(R, t.m - r0), c0, panel, panel_size, st);
}

template <RequantMode kMode, bool kSigned>
void Conv(const U8S8ConvTile& t) {
  int c0 = 0;
  // 4 panels left, the last may be partial
  for (; t.n - c0 > 3 * kCols; c0 += 4 * kCols) Panels<kMode, kSigned, 4>(t, c0);
  for (; t.n - c0 > kCols; c0 += 2 * kCols) Panels<kMode, kSigned, 2>(t, c0);
  if (c0 < t.n) Panels<kMode, kSigned, 1>(t, c0);
}

template <bool kSigned>
void ConvMode(const U8S8ConvTile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Conv<RequantMode::kGemmlowp, kSigned>(t);
    case RequantMode::kSingle: return Conv<RequantMode::kSingle, kSigned>(t);
    case RequantMode::kFloat: return Conv<RequantMode::kFloat, kSigned>(t);
  }
}

}  // namespace

void s8u8_igemm_24x16c4__avx512vnni(const U8S8ConvTile& t) {
  if (t.signed_rows) return ConvMode<true>(t);
  ConvMode<false>(t);
}

}  // namespace qualm::kernels::detail

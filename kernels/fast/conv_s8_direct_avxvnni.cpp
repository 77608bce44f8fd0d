// The implicit-GEMM (direct) int8 conv compiled with AVX-VNNI (this file gets
// -mavxvnni -mavx2 -mfma -mf16c from qualm_isa_sources): the 256-bit,
// VEX-encoded vpdpbusd of CPUs with VNNI but no AVX-512. Contract:
// detail/int8_gemm_variants.h (U8S8ConvTile); the driver is
// fast/conv2d_s8_direct.cpp; the arithmetic is that of
// s8u8_gemm_6x16c4__avxvnni (int8_gemm_avxvnni.cpp), only the place a quad is
// read from differs, and the output stage is fast/int8_gemm_avx2.h.
//
// Tile: 6 rows x one 16-column panel (12 ymm accumulators, two weight
// registers and the broadcast: 15 of the 16 registers VEX code can name), as
// in the GEMM; a last partial tile repeats its last row's pointer and stores
// only the real rows.
// signed_rows (an unpadded conv read in place): each broadcast quad is
// xor-ed with 0x80808080 (x + 128) after loading it.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/int8_gemm_avx2.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kRows = 6;
constexpr int kQuadBytes = kCols * 4;

// Rows [r0, r0 + mr) (mr <= kRows) of the panel at column c0.
template <RequantMode kMode, bool kSigned>
void Tile(const U8S8ConvTile& t, int r0, int mr, int c0, const std::int8_t* panel, const Lanes& l, const Bounds& b) {
  const std::uint8_t* rows[kRows];
  for (int i = 0; i < kRows; ++i) rows[i] = t.rows[r0 + std::min(i, mr - 1)];
  const __m256i o0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_offset + c0));
  const __m256i o1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.col_offset + c0 + 8));
  __m256i acc[kRows][2];
  for (int i = 0; i < kRows; ++i) acc[i][0] = o0, acc[i][1] = o1;
  for (int q = 0; q < t.quads; ++q) {
    const std::int64_t off = t.koff[q];
    const std::int8_t* wq = panel + std::int64_t{q} * kQuadBytes;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 32));
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      std::int32_t quad;
      std::memcpy(&quad, rows[i] + off, sizeof quad);
      // kSigned: int8 rows, flipped to u8 (x ^ 0x80 == x + 128) here instead of in a copy.
      const __m256i u = kSigned ? _mm256_xor_si256(_mm256_set1_epi32(quad), _mm256_set1_epi32(INT32_MIN | 0x00808080))
                                : _mm256_set1_epi32(quad);
      acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], u, w0);
      acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], u, w1);
    }
  }
  // The int8 stores may alias anything (a char type): what the loop reads
  // after one is copied into locals first (as in the AVX-512 kernel).
  const int nc = std::min(kCols, t.n - c0);
  std::int8_t* const y = t.y + std::int64_t{r0} * t.ldy + c0;
  const std::int64_t ldy = t.ldy;
  for (int i = 0; i < mr; ++i) {
    const __m256i lo = Requant8<kMode>(acc[i][0], l, 0, b);
    const __m256i hi = Requant8<kMode>(acc[i][1], l, 8, b);
    Store16(lo, hi, y + i * ldy, nc);
  }
}

template <RequantMode kMode, bool kSigned>
void Conv(const U8S8ConvTile& t) {
  const Bounds b = MakeBounds(t.out);
  const std::int64_t panel_size = std::int64_t{t.quads} * kQuadBytes;
  Lanes l;
  for (int c0 = 0; c0 < t.n; c0 += kCols) {
    BuildLanes<kMode>(t.out, c0, std::min(kCols, t.n - c0), &l);
    const std::int8_t* panel = t.b + (c0 / kCols) * panel_size;
    for (int r0 = 0; r0 < t.m; r0 += kRows) Tile<kMode, kSigned>(t, r0, std::min(kRows, t.m - r0), c0, panel, l, b);
  }
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

void s8u8_igemm_6x16c4__avxvnni(const U8S8ConvTile& t) {
  if (t.signed_rows) return ConvMode<true>(t);
  ConvMode<false>(t);
}

}  // namespace qualm::kernels::detail

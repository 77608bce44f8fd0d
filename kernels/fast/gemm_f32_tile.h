// fast/gemm_f32_tile.h: what the per-ISA float GEMM translation units
// (gemm_f32_generic.cpp, gemm_f32_avx2.cpp, gemm_f32_avx512.cpp) share: the
// block sizes, the per-thread packing scratch and the tile a micro-kernel
// computes. Plain data only (no inline code), so including it in TUs compiled
// with different -m flags cannot create an ODR clash; the driver that uses it
// (gemm_f32_driver.h) lives in each TU's anonymous namespace.
//
// Determinism (the contract in gemm.h): a micro-kernel keeps one accumulator
// per output element and walks k in increasing order with one FMA per term.
// K blocking stores that accumulator as a float in `acc` and reloads it for
// the next block, which is exactly what keeping it in a register would give,
// so neither kKc nor the tile sizes nor the thread split change any bit.
#pragma once

#include <cstddef>

namespace qualm::kernels::detail::gemm_f32_internal {

constexpr int kKc = 256;     // k per packed block of B (a kKc x kNr panel is 32 KB for kNr = 32)
constexpr int kNc = 256;     // columns per packed block of B; a multiple of every kNr
constexpr int kMcMax = 128;  // rows per block sharing one packed B block (acc rows), max over variants
constexpr int kMrMax = 8;    // largest micro-kernel row count

// Per-thread scratch: a static thread_local object (gemm.cpp), so gemm_f32
// never allocates. About 400 KB per thread that ever calls gemm_f32.
struct Scratch {
  alignas(64) float bpack[kKc * kNc];    // one packed block of op(B): kNc / kNr panels of kKc x kNr
  alignas(64) float acc[kMcMax * kNc];   // partial accumulators while K > kKc
  alignas(64) float apack[kKc * kMrMax]; // the rows of a partial row tile, zero-padded to kMr
};
Scratch& ThreadScratch();

// One micro-kernel call: rows [0, kMr) x columns [0, kNr) of a tile over one K block.
struct Tile {
  const float* a;          // op(A)(row r, k q) at a[r * a_row + q * a_k]; kMr readable rows
  std::ptrdiff_t a_row, a_k;
  const float* b;          // packed panel: kc rows of kNr floats (columns >= nr are zero)
  int kc, mr, nr;          // rows / columns actually stored (mr <= kMr, nr <= kNr)
  float* acc;              // kMr rows of kNr partial accumulators, row stride ld_acc
  std::ptrdiff_t ld_acc;
  bool load_acc;           // start from acc (a later K block) instead of 0
  bool last;               // last K block: epilogue into C; else store the accumulators into acc
  float* c;                // C(row r, column j) at c[r * ldc + j]
  std::ptrdiff_t ldc;
  float alpha, beta;
};

// One micro-kernel call for a single row of op(A) (M <= kMr / 2: dense layers
// and RNN steps at batch 1, where the kMr-row tile would compute mostly zero
// rows): `panels` consecutive packed panels over one K block, each output
// still one FMA chain in increasing k, so the bits are the tile path's.
constexpr int kRowPanels = 4;  // panels per call: 4 x 2 vectors = 8 independent FMA chains
struct RowTile {
  const float* a;          // op(A)(row, k q) at a[q * a_k]
  std::ptrdiff_t a_k;
  const float* b;          // first panel; panel p at b + p * panel_stride (kc rows of kNr floats)
  std::ptrdiff_t panel_stride;
  int kc, panels, nr;      // nr: columns stored, counted from the first panel (<= panels * kNr)
  float* acc;              // panels * kNr partial accumulators (contiguous)
  bool load_acc, last;     // as in Tile
  float* c;                // C(row, column j) at c[j]
  float alpha, beta;
};

}  // namespace qualm::kernels::detail::gemm_f32_internal

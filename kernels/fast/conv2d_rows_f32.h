// fast/conv2d_rows_f32.h: the micro-kernel interface of the implicit-GEMM
// float conv (conv2d_implicit_f32.cpp), shared by its per-ISA translation
// units (conv2d_rows_f32_generic.cpp, _avx2.cpp, _avx512.cpp). Plain data and
// declarations only, so TUs built with different -m flags cannot clash.
//
// A "rows" call computes output pixels straight from the (padded) input, with
// no im2col buffer: row r of the GEMM's A is the receptive field of one output
// pixel, read as `taps` runs of `run` contiguous floats starting at
// rows[r] + taps[t]. For NHWC input a run is one kernel row's kernel_w * in_c
// floats (groups == 1, no horizontal dilation) or one tap's in_c / groups
// floats, and A(r, t * run + u) = rows[r][taps[t] + u] is exactly Im2Col's
// (ky, kx, ci) order.
//
// Determinism (the reason this can replace im2col + gemm_f32 bit for bit):
// every output is
//     acc = 0; for k = 0 .. K-1: acc = fma(A(r, k), B(k, j), acc)
//     c = acc (+ bias[j], one rounded add)
// which is gemm_f32's contract (gemm.h) with alpha 1 and beta 0, followed by
// the old path's separate `y += bias` pass. Padding positions are real zeros
// in the padded copy, so the zero-products are performed too (they can turn
// a -0 accumulator into +0, or a NaN/inf weight into NaN, exactly as before).
#pragma once

#include <cstddef>

#include "qualm/kernels/cpu.h"

namespace qualm::kernels::detail::conv_rows_internal {

// Largest panel width over the variants (AVX-512's), for scratch sizing.
constexpr int kNrMax = 32;

struct RowsTile {
  const float* const* rows;    // mr row base pointers
  const std::ptrdiff_t* taps;  // ntaps offsets (floats) added to every row pointer
  int ntaps, run;              // K = ntaps * run
  const float* b;              // packed panel: K rows of kNr floats (columns >= nr are zero)
  int mr, nr;                  // rows and columns to compute (any mr >= 1; nr <= kNr)
  float* c;                    // output (row r, column j) at c[r * ldc + j]
  std::ptrdiff_t ldc;
  const float* bias;           // nr floats added to every row, or null
};

using RowsFn = void (*)(const RowsTile& t);

struct RowsVariant {
  Isa isa;
  const char* name;
  int nr;  // panel width kNr the packed weights must use
  RowsFn fn;
};

void conv2d_rows_f32_4x8__generic(const RowsTile& t);
void conv2d_rows_f32_6x16__avx2(const RowsTile& t);
void conv2d_rows_f32_8x32__avx512(const RowsTile& t);

}  // namespace qualm::kernels::detail::conv_rows_internal

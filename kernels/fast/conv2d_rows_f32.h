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
#include <cstdint>

#include "qualm/kernels/conv2d.h"
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

// The weight gradient of one im2col tile without the im2col buffer (and
// without gemm_f32's copy of it into B panels):
//     c(oc, j) = c(oc, j) + acc,  acc = 0; for q = 0 .. m-1:
//                                    acc = fma(dy[q * ld_dy + oc], pix[q][off + j], acc)
// for oc < rows, j < width: exactly gemm_f32's trans_a / beta 1 product
// dW_tile += dY_tile^T * Col_tile (conv2d.cpp) for the `width` columns of Col
// that are floats [off, off + width) of every pixel's window, i.e. a piece of
// one run (conv2d_rows_f32.h above). Lanes span those columns.
struct DwTile {
  const float* dy;            // dY(q, oc) at dy[q * ld_dy + oc]
  std::ptrdiff_t ld_dy;
  int rows;                   // output channels (rows of c)
  const float* const* pix;    // m window base pointers, in tile row order
  std::ptrdiff_t off;         // first float of the column piece in each window
  int m, width;               // pixels summed; columns (<= the variant's nr)
  float* c;                   // c(oc, j) at c[oc * ldc + j], read and written
  std::ptrdiff_t ldc;
};

using DwFn = void (*)(const DwTile& t);

// The input gradient of `rows` input pixels without the dCol buffer: for each
// pixel r and lane j < width,
//     for each contribution c in order:  acc = 0; for oc = 0 .. ocg-1:
//         acc = fma(dy[dy_base[r] + dy_off[c] + oc], w[w_off[c] + oc * w_oc + j], acc)
//       dx[dx_base[r] + j] = dx[dx_base[r] + j] + acc
// i.e. the dCol element gemm_f32 computes (dY_tile * W_g, beta 0) and the add
// col2im makes, in the order col2im makes them (conv2d.cpp: output pixels in
// increasing order). The rows of one call are pixels whose windows use the
// same taps (same input row and stride class, any image), so one list of
// contributions serves them all. Lanes span input channels.
struct DxTile {
  const float* dy;
  const std::ptrdiff_t* dy_base;  // per pixel
  const std::ptrdiff_t* dy_off;   // per contribution: the output pixel's dY row, relative to dy_base
  const float* w;
  const std::ptrdiff_t* w_off;    // per contribution: W_g(oc 0, tap, lane 0)
  std::ptrdiff_t w_oc;            // W step between output channels (K)
  int ncontrib, ocg, rows, width;
  float* dx;
  const std::ptrdiff_t* dx_base;  // per pixel
};

using DxFn = void (*)(const DxTile& t);

struct RowsVariant {
  Isa isa;
  const char* name;
  int nr;  // panel width kNr the packed weights must use
  RowsFn fn;
  int dw_nr;  // widest column piece DwFn takes
  DwFn dw;
  int dx_nr;  // widest lane block DxFn takes
  DxFn dx;
};

void conv2d_rows_f32_4x8__generic(const RowsTile& t);
void conv2d_rows_f32_6x16__avx2(const RowsTile& t);
void conv2d_rows_f32_8x32__avx512(const RowsTile& t);
void conv2d_dw_f32_4x8__generic(const DwTile& t);
void conv2d_dw_f32_6x16__avx2(const DwTile& t);
void conv2d_dw_f32_8x32__avx512(const DwTile& t);
void conv2d_dx_f32_4x8__generic(const DxTile& t);
void conv2d_dx_f32_6x16__avx2(const DxTile& t);
void conv2d_dx_f32_8x32__avx512(const DxTile& t);

}  // namespace qualm::kernels::detail::conv_rows_internal

namespace qualm::kernels::fast::detail {

// conv2d_backward_f32's dW for one im2col tile (rows [row0, row0 + rows) of
// group grp; conv2d.cpp): target ([ocg][K]) += dY_tile^T * Col_tile with the
// bits of gemm_f32, read straight from x (copied with its zero padding into
// buf when the conv is padded). Returns false, having done nothing, when the
// tile does not fit buf (buf_floats) or the stack table of its pixels; the
// caller then runs im2col + gemm_f32, which gives the same bits.
bool Conv2dDwTileImplicit(const Conv2dParams& p, const float* x, const float* dy, int grp, std::int64_t row0,
                          std::int64_t rows, float* target, float* buf, std::size_t buf_floats);

// conv2d_backward_f32's dx for group grp: dx += col2im(dY_g * W_g) with the
// bits of gemm_f32 + col2im, gathered per input pixel with no dCol buffer.
// Returns false, having done nothing, where it does not pay (fewer than 8
// channels per group: most lanes would idle) or the kernel has more than 64
// taps; the caller then runs the gemm + col2im path, which gives the same bits.
bool Conv2dDxImplicit(const Conv2dParams& p, const float* w, const float* dy, int grp, float* dx, int threads);

}  // namespace qualm::kernels::fast::detail

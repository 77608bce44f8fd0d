// fast/conv2d_s8_direct.h (private): the implicit-GEMM (direct) path of
// fast::conv2d_s8 for the u8 x s8 variants (conv2d_s8_direct.cpp; the
// micro-kernels are detail::U8S8ConvFn, conv_s8_direct_<isa>.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::fast::internal_s8 {

// The direct path's reduction layout. K is cut into runs of bytes that are
// contiguous in the padded input: a whole kernel row (kernel_w in_c bytes, the
// (kx, ci) order of OHWI weights) when dilation_w == 1 or kernel_w == 1, else
// one tap (in_c bytes). Each run is read as ceil(bytes / 4) quads; the last
// quad of a run whose length is not a multiple of 4 reads up to 3 bytes past
// it (the next pixels of the padded row, or the slice's slack after the last
// image), which meet zero weights. So any in_c works, not only multiples of 4.
// When every run's length is a multiple of 4 this is exactly the (ky, kx, ci)
// order of the im2col GEMM's panels (PackedS8Weights::data_u8s8), which the
// direct path then reads; otherwise it has panels of its own (direct_u8s8).
struct DirectRuns {
  int count = 0;      // kernel_h (row runs) or kernel_h kernel_w (tap runs)
  int bytes = 0;      // bytes per run: kernel_w in_c or in_c
  int quads = 0;      // quads per run: ceil(bytes / 4)
  bool rows = false;  // runs are kernel rows
  int kernel_w = 1;
  // Run r starts at tap (Ky(r), Kx(r)), i.e. at weight (Ky kernel_w + Kx) in_c of an OHWI row.
  int Ky(int r) const { return rows ? r : r / kernel_w; }
  int Kx(int r) const { return rows ? 0 : r % kernel_w; }
};
inline DirectRuns MakeDirectRuns(const Conv2dParams& p) {
  DirectRuns d;
  d.rows = p.dilation_w == 1 || p.kernel_w == 1;
  d.kernel_w = p.kernel_w;
  d.count = d.rows ? p.kernel_h : p.kernel_h * p.kernel_w;
  d.bytes = d.rows ? p.kernel_w * p.in_c : p.in_c;
  d.quads = (d.bytes + 3) / 4;
  return d;
}
// Whether the direct path needs panels of its own (a run's length is not a multiple of 4).
inline bool DirectNeedsOwnPanels(const Conv2dParams& p) { return MakeDirectRuns(p).bytes % 4 != 0; }

// Whether conv2d_s8 runs the implicit GEMM when the active variant has one:
// one group and in_c >= 2, or in_c == 1 with kernel rows of 3 or 4 taps
// (dilation_w 1; the other one-channel convs keep their kernel,
// fast/conv_s8_c1.h), and a padded image small enough for int32 byte
// offsets. Any kernel size, stride, dilation and padding.
bool UsesDirectConv(const Conv2dParams& p);

// The direct path's own u8 x s8 panels (when DirectNeedsOwnPanels): OHWI
// weights [out_c][K] into [ceil(out_c / 16)][count quads][16][4], zero in the
// bytes past each run and past out_c. The column corrections are the im2col
// panels' (col_offset): the same weights, summed.
std::vector<std::int8_t> PackDirectPanels(const Conv2dParams& p, const std::int8_t* w);

// int16 elements of scratch the direct path needs for `threads` threads at
// p.batch (monotone in the batch, so the prepared batch's size covers a
// smaller run batch).
std::size_t DirectConvScratchInt16(const Conv2dParams& p, int threads);

// conv2d_s8 through v.conv_u8s8 (non-null; UsesDirectConv(pp.shape)); w holds
// the u8 x s8 panels.
void DirectConv(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
                const std::int8_t* x, const std::int32_t* bias, std::int8_t* y, const detail::Int8GemmVariant& v);

}  // namespace qualm::kernels::fast::internal_s8

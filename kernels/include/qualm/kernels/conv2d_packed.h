// qualm/kernels/conv2d_packed.h: the fast float conv's weights packed once.
//
// fast::conv2d_f32 (conv2d.h) computes most convolutions as an implicit GEMM
// (kernels/fast/conv2d_implicit_f32.cpp): no im2col buffer, the micro-kernel
// reads each output pixel's receptive field straight from the (padded) input.
// Its B operand is the weights in panels of the active variant's width. By
// default conv2d_f32 packs them into its scratch once per call (not per tile or
// thread: a training step's forward pass packs each conv once). An inference
// executor, whose weights never change, packs them once at prepare with
// PackConv2dWeightsF32 and calls conv2d_f32_prepacked. Same bits either way
// (and the same bits as the im2col path: conv2d_rows_f32.h says why).
#pragma once

#include <cstddef>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::fast {

struct PackedConv2dWeightsF32 {
  std::vector<float> data;  // groups x panels x K x nr, zero-padded columns
  int nr = 0;               // panel width of the variant it was packed for (0: empty)
};

// Packs w (OHWI) for the variant gemm_f32 dispatches to now. Empty (nr == 0)
// when conv2d_f32 would not take the implicit path for p.
PackedConv2dWeightsF32 PackConv2dWeightsF32(const Conv2dParams& p, const float* w);

// conv2d_f32 with weights packed at prepare. If `packed` does not fit the
// active variant (a test forced another ISA) the weights are packed from w into
// scratch as conv2d_f32 does; w must therefore stay valid. Scratch: as
// conv2d_scratch_floats.
void conv2d_f32_prepacked(const KernelContext& ctx, const Conv2dParams& p, const PackedConv2dWeightsF32& packed,
                          const float* x, const float* w, const float* bias, float* y);

}  // namespace qualm::kernels::fast

// qualm/kernels/detail/conv2d_f32_paths.h: the two forward paths behind
// fast::conv2d_f32 (conv2d.h), exposed for tests and benchmarks only.
//
// conv2d_f32 takes the implicit GEMM (kernels/fast/conv2d_implicit_f32.cpp)
// when Conv2dImplicitApplies(p), else the im2col + gemm_f32 path; both give
// the same bits (kernels/fast/conv2d_rows_f32.h), which the tests check with
// memcmp by calling each path directly.
#pragma once

#include <cstddef>

#include "qualm/kernels/context.h"
#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::fast::detail {

bool Conv2dImplicitApplies(const Conv2dParams& p);
// Scratch of the implicit path alone (conv2d_scratch_floats covers both paths).
std::size_t conv2d_implicit_f32_scratch_floats(const Conv2dParams& p, int threads);
// The implicit path (requires Conv2dImplicitApplies(p)); packed may be null.
struct PackedConv2dWeightsView {
  const float* data;
  int nr;
};
void conv2d_implicit_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                         const PackedConv2dWeightsView* packed, const float* bias, float* y);
// The im2col + gemm_f32 path (every shape).
void conv2d_f32_im2col(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                       const float* bias, float* y);
// conv2d_backward_f32 with every dW tile through im2col + gemm_f32 (the
// previous path; conv2d_backward_f32 reads x in place instead, same bits).
void conv2d_backward_f32_im2col(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                                const float* dy, float* dx, float* dw, float* db);
// The implicit path's micro-kernel for the active gemm_f32 ISA, e.g. "conv2d_rows_f32_8x32__avx512".
const char* Conv2dImplicitKernelName();

}  // namespace qualm::kernels::fast::detail

// qualm/kernels/dense.h: fully connected layer, y = x W^T + b.
//   x [batch][in_features], w [out_features][in_features], bias [out_features]
//   (may be null), y [batch][out_features].
// Gradients are accumulated (+=); any gradient pointer may be null.
#pragma once

#include <cstddef>

#include "qualm/kernels/context.h"
#include "qualm/kernels/gemm.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct DenseParams {
  int batch = 1, in_features = 1, out_features = 1;
};

Status Validate(const DenseParams& p);

namespace ref {
void dense_f32(const DenseParams& p, const float* x, const float* w, const float* bias, float* y);
void dense_backward_f32(const DenseParams& p, const float* x, const float* w, const float* dy, float* dx,
                        float* dw, float* db);
}  // namespace ref

namespace fast {
std::size_t dense_scratch_floats(const DenseParams& p, int threads);
void dense_f32(const KernelContext& ctx, const DenseParams& p, const float* x, const float* w,
               const float* bias, float* y);
void dense_backward_f32(const KernelContext& ctx, const DenseParams& p, const float* x, const float* w,
                        const float* dy, float* dx, float* dw, float* db);
// The weights' GEMM panels packed once (an inference executor's constant
// weights; gemm.h, PackGemmB), and dense_f32 reading them instead of packing W
// on every call, which at batch 1 costs more than the product. Same bits as
// dense_f32; falls back to packing from w when `packed` was made for another
// variant (a test forced another ISA), so w must stay valid.
PackedGemmB PackDenseWeightsF32(const DenseParams& p, const float* w);
void dense_f32_prepacked(const KernelContext& ctx, const DenseParams& p, const PackedGemmB& packed, const float* x,
                         const float* w, const float* bias, float* y);
}  // namespace fast

}  // namespace qualm::kernels

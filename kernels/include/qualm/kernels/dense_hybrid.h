// qualm/kernels/dense_hybrid.h: hybrid (dynamic-quantization) fully connected
// layer: int8 weights, float x quantized per batch row at run time, float y.
// The family's rules (per-sample quantization, exact int32 sums, the float
// product P) are hybrid_quant.h's.
//
//   x [batch][in_features] float, w [out][in] int8 in [-127, 127], scales [out]
//   or [1], bias [out] float or null, y [batch][out] float.
//   y[b][o] = P(acc, s_x, s_w[o]) + bias[o]   (acc over i ascending; no add if null)
// Scratch: dense_hybrid_scratch_bytes(shape) bytes, aligned for float (one
// quantized row).
//
// Fast path (fast::dense_hybrid, bit-identical to ref::dense_hybrid on every
// int8 GEMM variant and thread count; hybrid_quant.h says why): weights packed
// once with PackDenseHybridWeights; ctx.scratch (64-byte aligned) of at least
// fast::dense_hybrid_scratch_floats(p, ctx.threads) floats, sized at the largest
// batch (it covers every smaller one). Threads split the batch rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/hybrid_quant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct DenseHybridParams {
  DenseParams shape;
  std::vector<float> weight_scales;  // [out_features] or [1]
};
struct PreparedDenseHybrid {
  DenseParams shape;
  std::vector<float> weight_scales;  // [out_features] (a single scale is broadcast here)
};
Result<PreparedDenseHybrid> PrepareDenseHybrid(const DenseHybridParams& p, const std::int8_t* w);

namespace ref {
std::size_t dense_hybrid_scratch_bytes(const DenseParams& p);  // in_features
void dense_hybrid(const PreparedDenseHybrid& p, const float* x, const std::int8_t* w, const float* bias, float* y,
                  void* scratch);
}  // namespace ref

PackedHybridWeights PackDenseHybridWeights(const PreparedDenseHybrid& p, const std::int8_t* w);

namespace fast {
// Floats of ctx.scratch for `threads` threads at p.shape.batch (mixed contents: samples' parameters,
// quantized samples, operand tiles, int32 accumulators).
std::size_t dense_hybrid_scratch_floats(const PreparedDenseHybrid& p, int threads);
void dense_hybrid(const KernelContext& ctx, const PreparedDenseHybrid& p, const PackedHybridWeights& packed,
                  const float* x, const std::int8_t* w, const float* bias, float* y);
}  // namespace fast

}  // namespace qualm::kernels

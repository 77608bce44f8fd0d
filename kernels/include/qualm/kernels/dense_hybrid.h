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
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

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

}  // namespace qualm::kernels

// engine/src/op_params.h (internal): graph op structs -> kernel parameter
// structs, shared by the float executor and the int8 executor so that both run
// exactly the same shapes.
#pragma once

#include "qualm/engine/ops.h"
#include "qualm/engine/tensor.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/pool.h"

namespace qualm {

// `in` is the per-sample input shape {H, W, C}.
inline kernels::Conv2dParams ToConvParams(const Conv2dOp& op, const Shape& in, int batch) {
  kernels::Conv2dParams p;
  p.batch = batch;
  p.in_h = static_cast<int>(in[0]); p.in_w = static_cast<int>(in[1]); p.in_c = static_cast<int>(in[2]);
  p.out_c = op.out_channels; p.kernel_h = op.kernel_h; p.kernel_w = op.kernel_w;
  p.stride_h = op.stride_h; p.stride_w = op.stride_w; p.dilation_h = op.dilation_h;
  p.dilation_w = op.dilation_w; p.pad_top = op.pad_top; p.pad_left = op.pad_left;
  p.pad_bottom = op.pad_bottom; p.pad_right = op.pad_right; p.groups = op.groups;
  return p;
}

// MaxPoolOp or AvgPoolOp (count_include_pad is set for the latter).
template <typename Op>
kernels::Pool2dParams ToPoolParams(const Op& op, const Shape& in, int batch) {
  kernels::Pool2dParams p;
  p.batch = batch;
  p.in_h = static_cast<int>(in[0]); p.in_w = static_cast<int>(in[1]); p.channels = static_cast<int>(in[2]);
  p.kernel_h = op.kernel_h; p.kernel_w = op.kernel_w; p.stride_h = op.stride_h; p.stride_w = op.stride_w;
  p.pad_top = op.pad_top; p.pad_left = op.pad_left; p.pad_bottom = op.pad_bottom; p.pad_right = op.pad_right;
  if constexpr (requires { op.count_include_pad; }) p.count_include_pad = op.count_include_pad;
  return p;
}

inline kernels::GlobalPoolParams ToGlobalPoolParams(const Shape& in, int batch) {
  kernels::GlobalPoolParams p;
  p.batch = batch;
  p.spatial = static_cast<int>(in[0] * in[1]);
  p.channels = static_cast<int>(in[2]);
  return p;
}

}  // namespace qualm

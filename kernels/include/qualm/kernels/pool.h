// qualm/kernels/pool.h: max, average and global-average pooling (NHWC).
//
// Max pooling ignores padding positions (they never win); a window that holds
// only padding outputs 0 (Validate rejects such shapes). Ties go to the first
// maximum in row-major window order, in forward and backward alike.
// Average pooling divides by the count of real (non-padding) positions unless
// count_include_pad is set (ONNX attribute of the same name).
// Gradients are accumulated (+=) into dx.
#pragma once

#include "qualm/status.h"

namespace qualm::kernels {

struct Pool2dParams {
  int batch = 1, in_h = 1, in_w = 1, channels = 1;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;

  int out_h() const { return (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1; }
  int out_w() const { return (in_w + pad_left + pad_right - kernel_w) / stride_w + 1; }
};

Status Validate(const Pool2dParams& p);

// Global average pooling: x [batch][spatial][channels] -> y [batch][channels].
struct GlobalPoolParams {
  int batch = 1, spatial = 1, channels = 1;
};

namespace ref {
void max_pool2d_f32(const Pool2dParams& p, const float* x, float* y);
void max_pool2d_backward_f32(const Pool2dParams& p, const float* x, const float* dy, float* dx);
void avg_pool2d_f32(const Pool2dParams& p, const float* x, float* y);
void avg_pool2d_backward_f32(const Pool2dParams& p, const float* dy, float* dx);
void global_avg_pool_f32(const GlobalPoolParams& p, const float* x, float* y);
void global_avg_pool_backward_f32(const GlobalPoolParams& p, const float* dy, float* dx);
}  // namespace ref

}  // namespace qualm::kernels

// qualm/kernels/qlinear_conv_s8.h: int8 2-D convolution with asymmetric
// weights (ONNX QLinearConv). The family's contract (order of operations,
// zero points, the exact int32 overflow check) is qlinear_quant.h's.
//
// Layouts:
//   x int8 NHWC [batch][in_h][in_w][in_c]
//   w int8 OHWI [out_c][kernel_h][kernel_w][in_c / groups], ANY int8 value
//   y int8 NHWC [batch][out_h][out_w][out_c]
//   groups / stride / dilation / padding exactly as Conv2dParams.
// Prepare's messages name the op "qlinear_conv_s8".
#pragma once

#include <cstdint>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/qlinear_quant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct QLinearConvS8Params {
  Conv2dParams shape;
  QLinearQuant quant;
};
struct PreparedQLinearConvS8 {
  Conv2dParams shape;
  PreparedQLinearQuant quant;
};
Result<PreparedQLinearConvS8> PrepareQLinearConvS8(const QLinearConvS8Params& p, const std::int8_t* w,
                                                   const std::int32_t* bias);

namespace ref {
void qlinear_conv_s8(const PreparedQLinearConvS8& p, const std::int8_t* x, const std::int8_t* w,
                     const std::int32_t* bias, std::int8_t* y);
}  // namespace ref

}  // namespace qualm::kernels

// qualm/kernels/qlinear_quant.h: the shared contract of the int8 ops with
// ASYMMETRIC weights (ONNX QLinearConv / QLinearMatMul semantics):
// qlinear_conv_s8.h and qlinear_matmul_s8.h. A reference family beside
// conv2d_s8 / dense_s8, not a replacement for them.
//
// Why a second family. conv2d_s8 and dense_s8 implement TFLite's int8 scheme:
// weights symmetric (zero point 0, narrow range [-127, 127]) so that |w| <= 127
// and the accumulator bound is K * 255 * 127. They are frozen references the
// engine relies on, so they do not grow a weight zero point. ONNX (like
// PyTorch/FBGEMM and ONNX Runtime) allows one: uint8 weights with zp 255, say.
// Mapped to int8 exactly (q - 128 for data AND zero point, which leaves q - zp
// unchanged), such weights use the full range [-128, 127] with a zero point in
// [-128, 127], and w - zp_w then reaches 255 in magnitude, like x - zp_x.
//
// Layouts: each op's header; x and y as conv2d_s8.h / dense_s8.h, and
//   bias    int32 [out_c] / [n] at scale s_x * s_w[c], zero point 0 (may be null;
//           ONNX QLinearMatMul has none, QLinearConv's is optional)
// "Output channel" c is oc for conv and the column j of B for matmul.
//
// Order of operations per output element:
//   acc  = sum over taps (conv: ky, kx, ci; matmul: k ascending) of
//          (int32(w) - zp_w[c]) * (int32(x) - zp_x)      int32, exact; conv padding
//                                                        taps are skipped, i.e. they
//                                                        read zp_x (as ONNX Runtime)
//   acc += bias[c]                                        (if bias)
//   y    = RequantizeToRange(acc, requant[c], mode, zp_y, act_min, act_max)
// requant[c] = QuantizeMultiplier((double)s_x * (double)s_w[c] / (double)s_y).
// RequantizeToRange (requant.h) is the only rounding. ONNX specifies the fp32
// requantization with round-half-to-even: RequantMode::kFloat, i.e.
// nearbyint_even(float(acc) * float(m)) with float(m) the correctly rounded
// float of the double product above. (ONNX Runtime forms x_scale * w_scale /
// y_scale in float, two roundings: the float scales can differ by one ulp, and
// the outputs by one unit when acc * m lies within ~|acc * m| * 2^-23 of a .5
// tie. No ONNX node test lies there.) kGemmlowp and kSingle work too, with
// the same meaning as in the rest of qualm.
//
// Zero points and scales of the weights are per tensor (1 entry, broadcast) or
// per output channel (out_c / n entries), independently of each other.
//
// Prepare validates everything once (messages "<op>: <field> ... got <value>",
// op "qlinear_conv_s8" / "qlinear_matmul_s8"); the kernels never validate and
// never allocate. Prepare checks:
//   * shape: Validate(Conv2dParams) / batch, m, k, n positive
//   * input/output scale > 0 and finite, zero points in [-128, 127]
//   * weight_scales: out_c entries or 1, each > 0 and finite (0 is rejected)
//   * weight_zero_points: out_c entries or 1, each in [-128, 127]
//   * -128 <= act_min <= act_max <= 127, and a known RequantMode
//   * every multiplier representable (QuantizeMultiplier succeeds: shift <= 30)
//   * weights non-null
//   * no int32 overflow, exactly: with d = w - zp_w[c] (known: the weights are
//     model constants) and x - zp_x ranging over [-128 - zp_x, 127 - zp_x], the
//     reachable accumulator range of channel c is
//       hi = sum_{d>0} d (127 - zp_x) + sum_{d<0} |d| (128 + zp_x)
//       lo = -(sum_{d>0} d (128 + zp_x) + sum_{d<0} |d| (127 - zp_x))
//     and both [lo, hi] (every partial sum lies in it, since each term's range
//     contains 0) and [lo + bias[c], hi + bias[c]] must lie in int32. Symmetric
//     weights at their worst give the familiar K * 255 * 127; asymmetric ones
//     up to K * 255 * 255 (K <= 33025 always fits without bias). This accepts
//     every op that cannot overflow and rejects every op that can.
// The weights and bias given to Prepare must be the ones passed to the kernel
// (model constants); Prepare reads them only to check them.
#pragma once

#include <cstdint>
#include <vector>

#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"

namespace qualm::kernels {

// The quantization of an asymmetric-weight op, shared by conv and matmul.
struct QLinearQuant {
  QuantParams input;                             // s_x, zp_x (int8)
  std::vector<float> weight_scales;              // s_w[c]: out_c entries, or 1 (per tensor)
  std::vector<std::int32_t> weight_zero_points;  // zp_w[c]: out_c entries, or 1; empty = {0}
  OutputQuantS8 output;                          // s_y, zp_y, act_min, act_max, mode
                                                 // (quantize_s8.h); ONNX: mode kFloat (set it)
};

// What both kernels read: zero points and multipliers expanded per channel.
struct PreparedQLinearQuant {
  std::int32_t input_zero_point = 0;
  std::vector<std::int32_t> weight_zero_points;  // [channels]
  PreparedOutputQuantS8 output;                  // requant [channels]
};

}  // namespace qualm::kernels

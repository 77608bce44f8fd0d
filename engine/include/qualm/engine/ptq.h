// qualm/engine/ptq.h: post-training quantization, one function per model.
//
// QuantizeModel turns a float model into a quantized one (a Model whose
// QuantSpec describes the scheme, see quant_spec.h). Schemes:
//
//   int8              LowerForInt8 (fold / convert batch norm, drop dropout),
//                     calibrate every value on `calibration.samples` (default
//                     100) inputs with the chosen observer, then BuildInt8Spec.
//   dynamic           int8 per-channel weights for conv2d, dense, LSTM and GRU;
//                     everything else stays float; no calibration.
//   weight-only-int8  int8 per-channel weights for conv2d, dense, LSTM and GRU,
//                     dequantized into the float weights; layers with fewer than
//                     `skip_smaller_than` weights stay float (their record is empty).
//   fp16-weights      every float parameter rounded to binary16 (nearest even,
//   bf16-weights      Eigen::half / Eigen::bfloat16), kept as a 16-bit constant.
//
// BuildInt8Spec: the activation-parameter rules of the int8 scheme, shared by
// PTQ (ranges from calibration) and QAT (ranges from its observers):
//   * float input: value_params[0]; a token-id input has no int8 params.
//   * conv2d / dense whose only consumer is a ReLU: the ReLU's params (the
//     ReLU is then an exact clamp, as TFLite's fused activation); otherwise
//     value_params[i].
//   * max / avg / global-average pool: the input's params (the kernels require
//     it; pooling commutes with dequantization).
//   * embedding: ChooseQuantParams(min(table), max(table)): the table itself is
//     stored at these params, so the gather is exact and never clips.
//   * LSTM / GRU output (the hidden state): ChooseQuantParams(-1, 1): h lies
//     in (-1, 1) at every step, and the recurrent product reads every step's h,
//     not only the last one the calibration saw. LSTM cell scale 2^cell_exponent
//     (default 2^-11, cells in [-16, 16)).
//   * everything else (relu, add, logits): value_params[i].
//   * weights: QuantizeWeightsS8 (symmetric per output channel / per gate row,
//     [-127, 127]; or one scale for the whole tensor with per_tensor_weights); biases int32 at s_in * s_w[c] (LSTM: s_x * s_wx; GRU b_h:
//     s_h * s_wh).
// The result is checked by preparing an Int8Executor, so a model that would
// not run (e.g. a multiplier out of range) is an error here, not later.
#pragma once

#include <cstdint>
#include <vector>

#include "qualm/engine/calibration.h"
#include "qualm/engine/dataset.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

// How BuildInt8Spec quantizes (shared by PTQ and QAT).
struct Int8SpecOptions {
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  int lstm_cell_exponent = -11;
  // false: one scale per output channel / gate row (TFLite); true: one scale
  // per weight tensor (stored per row, all equal), the coarser variant.
  bool per_tensor_weights = false;
};

struct PtqOptions {
  QuantScheme scheme = QuantScheme::kInt8;
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  CalibrationOptions calibration;      // int8 only
  std::int64_t skip_smaller_than = 0;  // weight-only-int8
  int lstm_cell_exponent = -11;
  bool per_tensor_weights = false;     // int8, dynamic, weight-only-int8
};

// `calibration_data` is required for int8 and ignored otherwise.
Result<Model> QuantizeModel(const Model& float_model, const Dataset* calibration_data, const PtqOptions& options);

// `lowered` must be LowerForInt8's output; one QuantParams per value.
Result<QuantSpec> BuildInt8Spec(const Model& lowered, const std::vector<kernels::QuantParams>& value_params,
                                const Int8SpecOptions& options);

}  // namespace qualm

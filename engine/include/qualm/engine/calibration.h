// qualm/engine/calibration.h: the calibration pass of post-training quantization.
//
// Calibrate() runs the float model (an inference-mode Executor on the chosen
// backend) over the first `samples` inputs of a data set, in order, in batches
// of `batch_size`, and feeds every graph value (the input and every node's
// output activation) into its own observer (observers.h). It returns, per
// value, the observed range, the range the observer chose and the
// QuantParams of the activation target (default: affine per-tensor int8
// [-128, 127]), which the PTQ step uses to quantize the model. Weights are not
// observed: they are quantized directly (ChooseWeightParamsPerChannel).
//
// Rules:
//   - samples defaults to 100 (the study protocol: TFLite full-integer
//     calibration on 100 training samples). A data set with fewer samples is
//     used whole (CalibrationResult::samples says how many ran).
//   - An integer input (token ids of text models) is not an activation: its
//     entry has quantized = false, params {1, 0} and is not observed.
//   - Any non-finite activation (NaN, inf) is an InvalidArgument naming the
//     value: a float model that overflows on calibration data has no meaningful
//     int8 ranges.
//   - Deterministic: the same model, data and options give bit-identical
//     results (fixed sample order; the executor is deterministic for a fixed
//     backend and thread count; observers are deterministic).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/model.h"
#include "qualm/engine/observers.h"
#include "qualm/status.h"

namespace qualm {

struct CalibrationOptions {
  ObserverOptions observer = MinMaxOptions{};
  QuantTarget target = QuantTarget::ActivationS8();  // per-tensor targets only
  int samples = 100;
  int batch_size = 32;
  Backend backend = Backend::kReference;
  int threads = 1;
  // Called after every batch with the samples run so far and the total.
  std::function<void(int done, int total)> progress;
};

struct ValueCalibration {
  std::string name;          // the node's name
  bool quantized = true;     // false for an integer (token id) input
  Range observed;            // finite min/max seen
  Range clip;                // the observer's range (before widening to include 0)
  QuantParams params;        // for options.target
  std::int64_t count = 0;    // values observed
};

struct CalibrationResult {
  std::string observer;  // canonical observer spec (ObserverName)
  QuantTarget target;
  int samples = 0;       // samples actually run
  int batches = 0;
  std::vector<ValueCalibration> values;  // one per graph value, in node order
};

Result<CalibrationResult> Calibrate(const Model& model, const Dataset& data, const CalibrationOptions& options);

}  // namespace qualm

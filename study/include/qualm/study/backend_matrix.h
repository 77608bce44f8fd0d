// qualm/study/backend_matrix.h: how many flips come from arithmetic choices
// alone (issue 10, "backend disagreement matrix").
//
// One float model, one data set, many ways to run it. The rows:
//   float/reference, float/fast          the float model on the frozen scalar
//                                        kernels and on the GEMM kernels
//   int8/<mode>/<backend>                PTQ int8 with requantization mode
//                                        gemmlowp, single or fp32 (the same
//                                        calibration data and observer for all
//                                        three), on the int8 reference and fast
//                                        paths
//   qat/float, qat/forward,              with a QAT model (its int8 file): its
//   qat/int8/<backend>                   float weights unquantized (the float
//                                        model the study pairs a QAT model's int8
//                                        conversion with), the QAT forward pass
//                                        (mixed_precision.h, every node int8: the
//                                        float executor whose node outputs are
//                                        replaced by the integer kernels' results,
//                                        as qat.h trains) and the int8 model
//                                        itself on each path
// and the pairwise disagreement counts between rows (top-1 predictions differ,
// ties to the lowest class): a symmetric matrix with a zero diagonal. Paths
// that do not exist in this build (oneDNN, until the fast-path issue adds it)
// are listed as unavailable with the reason, never silently left out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qualm/engine/calibration.h"
#include "qualm/engine/dataset.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/model.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::study {

struct MatrixRow {
  std::string label;  // "float/reference", "int8/gemmlowp/fast", "qat/forward", ...
  std::string path;   // the inference path description
  std::vector<std::int32_t> predictions;
  double accuracy = 0.0;
  double seconds = 0.0;  // wall time of the evaluation (machine-dependent)
};

struct UnavailableRow {
  std::string label;
  std::string reason;
};

struct BackendMatrix {
  std::string data;      // the data set's name
  std::size_t samples = 0;
  std::vector<MatrixRow> rows;
  std::vector<UnavailableRow> unavailable;
  // counts[i][j]: inputs where rows i and j predict different classes.
  std::vector<std::vector<std::size_t>> counts;
};

struct BackendMatrixOptions {
  std::vector<kernels::RequantMode> modes = {kernels::RequantMode::kGemmlowp, kernels::RequantMode::kSingle,
                                             kernels::RequantMode::kFloat};
  std::vector<Backend> backends = {Backend::kReference, Backend::kFast};
  bool float_rows = true;
  // The float rows' backends (the study's probes on shifted sets keep only
  // the fast one: the reference rows cost most of a matrix's time).
  std::vector<Backend> float_backends = {Backend::kReference, Backend::kFast};
  // PTQ: observer, samples (the calibration data passed in is cut to them),
  // calibration kernels (reference: the same int8 model on every machine).
  CalibrationOptions calibration;
  int batch_size = 256;
  int threads = 1;
  const Model* qat_model = nullptr;  // an int8 model made by QAT, or null
  // Called before each row is evaluated, with its label (progress output).
  std::function<void(const std::string& label)> on_row;
};

// The pairwise counts of rows with predictions of equal length.
Result<std::vector<std::vector<std::size_t>>> DisagreementCounts(const std::vector<MatrixRow>& rows);

// Quantizes `float_model` once per mode on `calibration`, evaluates every row
// on `data`, fills counts. Errors name the row.
Result<BackendMatrix> BuildBackendMatrix(const Model& float_model, const Dataset& calibration, const Dataset& data,
                                         const BackendMatrixOptions& options);

// A fixed-width text table: one line per row with its accuracy, then the matrix.
std::string FormatBackendMatrix(const BackendMatrix& m);

}  // namespace qualm::study

// qualm/study/disagreement_guard.h: the disagreement guard a quantized model
// carries (issue 10): `qualm quantize --guard RECALL` fits a margin threshold on
// the validation split, `qualm eval` flags the inputs at or under it.
//
// Which softmax the margin p1 - p2 is read from. The paper's RQ3 metric is the
// float model's margin, but a deployed quantized model has no float model next
// to it: only its own softmax is there when an input arrives. So the stored
// threshold (guard.margin_threshold) is fitted on, and applied to, the margin
// of the QUANTIZED model's softmax; the float-margin threshold of the same
// validation disagreements is stored too (guard.float_margin_threshold), for
// the study's comparison of the two (EvaluateGuard with GuardMargin::kFloat).
// Fitting: stats/guard.h MarginThresholdForRecall over the margins of the
// validation inputs where the two models' top-1 predictions differ.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/evaluate.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"
#include "qualm/study/stats/guard.h"

namespace qualm::study {

// Model metadata keys (values are decimal strings; thresholds round-trip, %.17g).
inline constexpr const char* kGuardThreshold = "guard.margin_threshold";
inline constexpr const char* kGuardFloatThreshold = "guard.float_margin_threshold";
inline constexpr const char* kGuardMargin = "guard.margin";  // "quantized" (the softmax the threshold applies to)
inline constexpr const char* kGuardRecall = "guard.recall";  // the requested recall
inline constexpr const char* kGuardData = "guard.validation_data";
inline constexpr const char* kGuardInputs = "guard.validation_inputs";
inline constexpr const char* kGuardDisagreements = "guard.validation_disagreements";
inline constexpr const char* kGuardFlaggedFraction = "guard.validation_flagged_fraction";

enum class GuardMargin { kQuantized, kFloat };
const char* GuardMarginName(GuardMargin m);  // "quantized", "float"

struct GuardFit {
  std::string data;
  double recall = 0.0;           // requested
  double threshold = 0.0;        // on the quantized model's margin
  double float_threshold = 0.0;  // on the float model's margin
  GuardOutcome validation;       // the quantized-margin threshold on the validation set itself
};

// Margins p1 - p2 of a row-major [n][classes] softmax.
Result<std::vector<double>> SoftmaxMargins(const std::vector<float>& probabilities, int classes);

// From two evaluations (with probabilities) of the same inputs. Errors: no
// disagreement on the set (nothing to fit: the message says so), sizes differ.
Result<GuardFit> FitGuard(const EvalResult& float_result, const EvalResult& quantized_result, double recall,
                          const std::string& data_name);
// Evaluates both models on `validation`, then fits.
Result<GuardFit> FitGuard(const Model& float_model, const Model& quantized, const Dataset& validation, double recall,
                          const EvalOptions& options);

void StoreGuard(const GuardFit& fit, Model* quantized);
// The stored quantized-margin threshold; nullopt when the model has no guard,
// an error when the stored value is malformed.
Result<std::optional<double>> StoredGuardThreshold(const Model& model);

// The at-risk flags (margin <= threshold) of a model's own softmax rows.
Result<std::vector<std::uint8_t>> GuardFlags(const std::vector<float>& probabilities, int classes, double threshold);

// The guard on a labelled population: recall of the true disagreements and
// the fraction flagged, from two evaluations with probabilities.
Result<GuardOutcome> EvaluateGuard(const EvalResult& float_result, const EvalResult& quantized_result,
                                   double threshold, GuardMargin margin);
// Evaluates both models on `data`; the threshold is the quantized model's
// stored one for kQuantized, its stored float one for kFloat.
Result<GuardOutcome> EvaluateGuard(const Model& float_model, const Model& quantized, const Dataset& data,
                                   GuardMargin margin, const EvalOptions& options);

}  // namespace qualm::study

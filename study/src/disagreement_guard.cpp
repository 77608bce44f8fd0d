// The disagreement guard of a quantized model (qualm/study/disagreement_guard.h).
#include "qualm/study/disagreement_guard.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "qualm/study/compare.h"
#include "qualm/study/stats/uncertainty.h"

namespace qualm::study {
namespace {

std::string Exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Result<double> ParseStored(const Model& m, const char* key) {
  const auto it = m.metadata.find(key);
  if (it == m.metadata.end()) return NotFound(std::string("the model has no ") + key);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
    return InvalidArgument(std::string("metadata ") + key + " = '" + it->second + "' is not a finite number");
  return v;
}

Status CheckPair(const EvalResult& f, const EvalResult& q) {
  if (f.predictions.size() != q.predictions.size() || f.num_classes != q.num_classes)
    return InvalidArgument("guard: the two evaluations cover different inputs or classes");
  const std::size_t want = f.predictions.size() * static_cast<std::size_t>(f.num_classes);
  if (f.probabilities.size() != want || q.probabilities.size() != want)
    return InvalidArgument("guard: the evaluations must keep their probabilities");
  return Status::Ok();
}

Result<std::pair<EvalResult, EvalResult>> EvaluateBoth(const Model& f, const Model& q, const Dataset& data,
                                                       EvalOptions options) {
  QUALM_RETURN_IF_ERROR(CheckComparable(f, q));
  options.keep_probabilities = true;
  QUALM_ASSIGN_OR_RETURN(EvalResult fr, Evaluate(f, data, options));
  QUALM_ASSIGN_OR_RETURN(EvalResult qr, Evaluate(q, data, options));
  return std::make_pair(std::move(fr), std::move(qr));
}

}  // namespace

const char* GuardMarginName(GuardMargin m) { return m == GuardMargin::kQuantized ? "quantized" : "float"; }

Result<std::vector<double>> SoftmaxMargins(const std::vector<float>& probabilities, int classes) {
  if (classes < 2) return InvalidArgument("guard: margins need at least 2 classes");
  return Margins(probabilities, static_cast<std::size_t>(classes));
}

Result<GuardFit> FitGuard(const EvalResult& f, const EvalResult& q, double recall, const std::string& data_name) {
  QUALM_RETURN_IF_ERROR(CheckPair(f, q));
  QUALM_ASSIGN_OR_RETURN(std::vector<double> qm, SoftmaxMargins(q.probabilities, q.num_classes));
  QUALM_ASSIGN_OR_RETURN(std::vector<double> fm, SoftmaxMargins(f.probabilities, f.num_classes));
  std::vector<double> qd, fd;
  std::vector<std::uint8_t> labels(f.predictions.size());
  for (std::size_t i = 0; i < f.predictions.size(); ++i) {
    labels[i] = f.predictions[i] != q.predictions[i];
    if (!labels[i]) continue;
    qd.push_back(qm[i]);
    fd.push_back(fm[i]);
  }
  if (qd.empty())
    return InvalidArgument("no guard can be fitted: the float and quantized models agree on all " +
                           std::to_string(labels.size()) + " inputs of " + data_name);
  GuardFit g;
  g.data = data_name;
  g.recall = recall;
  QUALM_ASSIGN_OR_RETURN(g.threshold, MarginThresholdForRecall(qd, recall));
  QUALM_ASSIGN_OR_RETURN(g.float_threshold, MarginThresholdForRecall(fd, recall));
  QUALM_ASSIGN_OR_RETURN(g.validation, EvaluateGuard(qm, labels, g.threshold));
  return g;
}

Result<GuardFit> FitGuard(const Model& float_model, const Model& quantized, const Dataset& validation, double recall,
                          const EvalOptions& options) {
  QUALM_ASSIGN_OR_RETURN(auto both, EvaluateBoth(float_model, quantized, validation, options));
  return FitGuard(both.first, both.second, recall, validation.name);
}

void StoreGuard(const GuardFit& fit, Model* quantized) {
  auto& md = quantized->metadata;
  md[kGuardThreshold] = Exact(fit.threshold);
  md[kGuardFloatThreshold] = Exact(fit.float_threshold);
  md[kGuardMargin] = GuardMarginName(GuardMargin::kQuantized);
  md[kGuardRecall] = Exact(fit.recall);
  md[kGuardData] = fit.data;
  md[kGuardInputs] = std::to_string(fit.validation.inputs);
  md[kGuardDisagreements] = std::to_string(fit.validation.disagreements);
  md[kGuardFlaggedFraction] = Exact(fit.validation.flagged_fraction);
}

Result<std::optional<double>> StoredGuardThreshold(const Model& model) {
  if (!model.metadata.count(kGuardThreshold)) return std::optional<double>();
  QUALM_ASSIGN_OR_RETURN(double t, ParseStored(model, kGuardThreshold));
  return std::optional<double>(t);
}

Result<std::vector<std::uint8_t>> GuardFlags(const std::vector<float>& probabilities, int classes, double threshold) {
  if (!std::isfinite(threshold)) return InvalidArgument("guard: the threshold is not finite");
  QUALM_ASSIGN_OR_RETURN(std::vector<double> m, SoftmaxMargins(probabilities, classes));
  std::vector<std::uint8_t> flags(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) flags[i] = m[i] <= threshold;
  return flags;
}

Result<GuardOutcome> EvaluateGuard(const EvalResult& f, const EvalResult& q, double threshold, GuardMargin margin) {
  QUALM_RETURN_IF_ERROR(CheckPair(f, q));
  const EvalResult& source = margin == GuardMargin::kQuantized ? q : f;
  QUALM_ASSIGN_OR_RETURN(std::vector<double> m, SoftmaxMargins(source.probabilities, source.num_classes));
  std::vector<std::uint8_t> labels(f.predictions.size());
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = f.predictions[i] != q.predictions[i];
  return EvaluateGuard(m, labels, threshold);
}

Result<GuardOutcome> EvaluateGuard(const Model& float_model, const Model& quantized, const Dataset& data,
                                   GuardMargin margin, const EvalOptions& options) {
  auto t = ParseStored(quantized, margin == GuardMargin::kQuantized ? kGuardThreshold : kGuardFloatThreshold);
  if (!t.ok()) return t.status().WithContext("guard (quantize with --guard RECALL)");
  QUALM_ASSIGN_OR_RETURN(auto both, EvaluateBoth(float_model, quantized, data, options));
  return EvaluateGuard(both.first, both.second, *t, margin);
}

}  // namespace qualm::study

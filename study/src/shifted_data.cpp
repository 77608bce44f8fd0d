#include "qualm/study/shifted_data.h"

#include <algorithm>

namespace qualm::study {

std::vector<std::string> ImageShiftNames() {
  std::vector<std::string> v;
  for (const auto& s : ImageShifts()) v.push_back(s.name);
  return v;
}

std::vector<std::string> TextShiftNames() {
  std::vector<std::string> v;
  for (const auto& s : TextShifts()) v.push_back(s.name);
  return v;
}

std::string EvalSetName::str() const {
  if (shift.empty()) return base;
  return base + "~" + shift + "@" + std::to_string(severity);
}

Result<EvalSetName> ParseEvalSetName(const std::string& name) {
  EvalSetName n;
  const std::size_t tilde = name.find('~');
  n.base = name.substr(0, tilde);
  if (n.base.empty()) return InvalidArgument("evaluation set \"" + name + "\": no data set before '~'");
  if (tilde == std::string::npos) return n;
  const std::string rest = name.substr(tilde + 1);
  const std::size_t at = rest.rfind('@');
  if (at == std::string::npos || at == 0 || at + 2 != rest.size() || rest[at + 1] < '1' ||
      rest[at + 1] > '0' + kShiftSeverities)
    return InvalidArgument("evaluation set \"" + name + "\": expected DATA~SHIFT@SEVERITY with severity 1..5");
  n.shift = rest.substr(0, at);
  n.severity = rest[at + 1] - '0';
  if (!IsImageShift(n.shift) && !IsTextShift(n.shift))
    return InvalidArgument("evaluation set \"" + name + "\": unknown shift \"" + n.shift + "\"");
  return n;
}

namespace {

Dataset KeepSubset(Dataset d, std::size_t subset) {
  if (subset == 0 || subset >= d.size()) return d;
  std::vector<std::size_t> keep = SeededPermutation(d.size(), kStudySubsetSeed);
  keep.resize(subset);
  std::sort(keep.begin(), keep.end());
  return Subset(d, keep, d.name);
}

}  // namespace

Result<Dataset> LoadStudyEvalSet(const std::string& name, const Model& model,
                                 const frontends::DataSpecOptions& options, std::uint64_t shift_seed,
                                 std::size_t subset) {
  if (options.limit != 0) return InvalidArgument(name + ": a study set takes a subset, not a limit");
  QUALM_ASSIGN_OR_RETURN(EvalSetName n, ParseEvalSetName(name));
  if (n.shift.empty()) {
    QUALM_ASSIGN_OR_RETURN(Dataset d, frontends::LoadEvalData(n.base, model, options));
    return KeepSubset(std::move(d), subset);
  }
  if (IsTextShift(n.shift)) {
    if (model.input_type != SampleType::kInt32)
      return InvalidArgument(name + ": a text shift for a model that does not read text");
    frontends::DataSpecOptions o = options;
    QUALM_ASSIGN_OR_RETURN(o.text_transform, TextShiftTransform(n.shift, n.severity, shift_seed));
    QUALM_ASSIGN_OR_RETURN(Dataset d, frontends::LoadEvalData(n.base, model, o));
    d.name = n.str();
    return KeepSubset(std::move(d), subset);
  }
  if (model.input_type != SampleType::kFloat32)
    return InvalidArgument(name + ": an image shift for a model that does not read images");
  QUALM_ASSIGN_OR_RETURN(Dataset clean, frontends::LoadEvalData(n.base, model, options));
  return ApplyImageShift(KeepSubset(std::move(clean), subset), n.shift, n.severity, shift_seed);
}

}  // namespace qualm::study

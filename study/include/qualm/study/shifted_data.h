// qualm/study/shifted_data.h: the study's evaluation sets, by name.
//
//   fashion-mnist:test              a clean set, as frontends/data_spec.h loads it
//   fashion-mnist:test~fog@3        that set with the image shift "fog" at severity 3 (image_shift.h)
//   spam-brief:test~typos@2         a text set whose documents are perturbed before
//                                   tokenization (text_shift.h)
// The shift's randomness comes from the study's shift seed; a limit keeps the
// first N samples of the clean set, and since each sample's corruption depends
// only on its index, a limited set is a prefix of the full one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/model.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/status.h"
#include "qualm/study/image_shift.h"
#include "qualm/study/text_shift.h"

namespace qualm::study {

std::vector<std::string> ImageShiftNames();  // ImageShifts(), names only
std::vector<std::string> TextShiftNames();   // TextShifts(), names only

struct EvalSetName {
  std::string base;   // "fashion-mnist:test"
  std::string shift;  // empty for the clean set
  int severity = 0;   // 1..kShiftSeverities with a shift

  std::string str() const;  // the name, as parsed
};
Result<EvalSetName> ParseEvalSetName(const std::string& name);

// Loads (and shifts) an evaluation set for `model` (text sets use its
// vocabulary). subset > 0 keeps that many samples of the clean set, the first
// `subset` of SeededPermutation(size, kStudySubsetSeed), in their original
// order, before the shift: the same samples for every model, and both classes
// of a set stored class by class (the text sets are ham first, then spam),
// which a prefix would not give. options.limit must be 0.
inline constexpr std::uint64_t kStudySubsetSeed = 20231002;
Result<Dataset> LoadStudyEvalSet(const std::string& name, const Model& model, const frontends::DataSpecOptions& options,
                                 std::uint64_t shift_seed, std::size_t subset = 0);

}  // namespace qualm::study

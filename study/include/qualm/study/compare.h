// qualm/study/compare.h: disagreement between two models on one data set.
//
// Both models are evaluated on the same inputs (each with the executor its
// scheme needs: float, int8 or dynamic); an input "disagrees" when the two
// top-1 predictions differ (argmax, ties to the lowest class index), whatever
// the label. This is the study's central count (Hu et al., CAIN 2023).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/model.h"
#include "qualm/engine/evaluate.h"
#include "qualm/status.h"

namespace qualm::study {

struct Comparison {
  EvalResult a, b;
  std::vector<std::size_t> disagreements;  // indices into the data set, ascending
  double disagreement_rate() const {
    const std::size_t n = a.predictions.size();
    return n ? static_cast<double>(disagreements.size()) / static_cast<double>(n) : 0.0;
  }
};

// The models must read the same inputs (type, shape, and for text the same
// vocabulary) and have the same number of classes; the error says how they differ.
Status CheckComparable(const Model& a, const Model& b);
// Checks CheckComparable first.
Result<Comparison> CompareModels(const Model& a, const Model& b, const Dataset& data, const EvalOptions& options);

}  // namespace qualm::study

#include "qualm/study/compare.h"

namespace qualm::study {

Result<Comparison> CompareModels(Model& a, Model& b, const Dataset& data, const EvalOptions& options) {
  if (a.num_classes != b.num_classes)
    return InvalidArgument("the models have " + std::to_string(a.num_classes) + " and " + std::to_string(b.num_classes) +
                           " classes");
  if (a.input_type != b.input_type || a.input_shape != b.input_shape)
    return InvalidArgument("the models take different inputs (" + Shape(a.input_shape).ToString() + " vs " +
                           Shape(b.input_shape).ToString() + ")");
  Comparison c;
  QUALM_ASSIGN_OR_RETURN(c.a, Evaluate(a, data, options));
  QUALM_ASSIGN_OR_RETURN(c.b, Evaluate(b, data, options));
  for (std::size_t i = 0; i < data.size(); ++i)
    if (c.a.predictions[i] != c.b.predictions[i]) c.disagreements.push_back(i);
  return c;
}

}  // namespace qualm::study

#include "qualm/study/compare.h"

namespace qualm::study {

namespace {

std::string DescribeInput(const Model& m) {
  const std::string kind = m.input_type == SampleType::kInt32 ? "a text model (token ids " : "an image model (";
  return m.arch + " is " + kind + Shape(m.input_shape).ToString() + ", " + std::to_string(m.num_classes) + " classes)";
}

std::string Metadata(const Model& m, const char* key) {
  auto it = m.metadata.find(key);
  return it == m.metadata.end() ? std::string() : it->second;
}

}  // namespace

Status CheckComparable(const Model& a, const Model& b) {
  if (a.input_type != b.input_type || a.input_shape != b.input_shape || a.num_classes != b.num_classes)
    return InvalidArgument("the models do not read the same inputs: " + DescribeInput(a) + ", " + DescribeInput(b));
  if (a.input_type == SampleType::kInt32 && Metadata(a, "text.vocabulary") != Metadata(b, "text.vocabulary"))
    return InvalidArgument("the two text models use different vocabularies, so the same text gives them different "
                           "token ids");
  return Status::Ok();
}

Result<Comparison> CompareModels(const Model& a, const Model& b, const Dataset& data, const EvalOptions& options) {
  QUALM_RETURN_IF_ERROR(CheckComparable(a, b));
  Comparison c;
  QUALM_ASSIGN_OR_RETURN(c.a, Evaluate(a, data, options));
  QUALM_ASSIGN_OR_RETURN(c.b, Evaluate(b, data, options));
  for (std::size_t i = 0; i < data.size(); ++i)
    if (c.a.predictions[i] != c.b.predictions[i]) c.disagreements.push_back(i);
  return c;
}

}  // namespace qualm::study

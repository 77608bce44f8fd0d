#include "qualm/engine/quant_spec.h"

#include <exception>
#include <string>

namespace qualm {
namespace {
constexpr struct {
  QuantScheme scheme;
  const char* name;
} kSchemes[] = {
    {QuantScheme::kFloat, "float"},
    {QuantScheme::kInt8, "int8"},
    {QuantScheme::kDynamic, "dynamic"},
    {QuantScheme::kWeightOnlyInt8, "weight-only-int8"},
    {QuantScheme::kFp16Weights, "fp16-weights"},
    {QuantScheme::kBf16Weights, "bf16-weights"},
};
}  // namespace

const char* QuantSchemeName(QuantScheme s) {
  for (const auto& e : kSchemes)
    if (e.scheme == s) return e.name;
  return "unknown";
}

std::vector<std::string> QuantSchemeNames() {
  std::vector<std::string> names;
  for (const auto& e : kSchemes) names.push_back(e.name);
  return names;
}

int QuantizedLayerCount(const QuantSpec& spec) {
  auto it = spec.info.find(kInfoQuantizedLayers);
  if (it == spec.info.end()) return -1;
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    return -1;
  }
}

Result<QuantScheme> ParseQuantScheme(const std::string& name) {
  std::string known;
  for (const auto& e : kSchemes) {
    if (name == e.name) return e.scheme;
    known += known.empty() ? "" : ", ";
    known += e.name;
  }
  return InvalidArgument("unknown quantization scheme '" + name + "' (known: " + known + ")");
}

const Tensor* NodeQuant::Find(const std::string& name) const {
  for (const auto& c : constants)
    if (c.name == name) return &c.value;
  return nullptr;
}

Tensor* NodeQuant::Find(const std::string& name) {
  for (auto& c : constants)
    if (c.name == name) return &c.value;
  return nullptr;
}

}  // namespace qualm

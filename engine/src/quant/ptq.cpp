// Post-training quantization (qualm/engine/ptq.h).
#include "qualm/engine/ptq.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../op_table.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/lower.h"
#include "qualm/kernels/quantize_s8.h"
#include "weights.h"

namespace qualm {
namespace {

using kernels::QuantParams;

Status QuantizeWeightsOnly(Model& m, QuantScheme scheme, std::int64_t skip_smaller_than, bool per_tensor) {
  int weighted = 0, quantized = 0;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    Node& node = m.nodes[i];
    const std::vector<std::string>& weights = EntryOf(node.op).weights;
    if (weights.empty()) continue;
    ++weighted;
    std::int64_t count = 0;
    for (const auto& name : weights) count += node.param(name).value.elements();
    if (scheme == QuantScheme::kWeightOnlyInt8 && count < skip_smaller_than) continue;
    ++quantized;
    NodeQuant& nq = m.quant.nodes[i];
    for (const auto& name : weights) {
      Param& p = node.param(name);
      QUALM_ASSIGN_OR_RETURN(auto q, QuantizeRows(node, p, nullptr, 1.0f, per_tensor));
      AddWeights(nq, name, p, q);
      if (scheme == QuantScheme::kWeightOnlyInt8) {
        // The float compute path runs exactly the dequantized weights.
        const std::int64_t rows = p.value.shape()[0], per = p.value.elements() / rows;
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t k = 0; k < per; ++k)
            p.value.f32()[r * per + k] = kernels::DequantizeValue(q.weights[static_cast<std::size_t>(r * per + k)],
                                                                  q.scales[static_cast<std::size_t>(r)], 0);
      }
    }
  }
  // A variant that quantizes nothing must be visible as such (quant_spec.h).
  m.quant.info[kInfoWeightedLayers] = std::to_string(weighted);
  m.quant.info[kInfoQuantizedLayers] = std::to_string(quantized);
  return Status::Ok();
}

template <typename Half>
void RoundParams(Model& m, DType dtype) {
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    for (auto& p : m.nodes[i].params) {
      Tensor bits(dtype, p.value.shape());
      auto* out = bits.data<std::uint16_t>();
      float* v = p.value.f32();
      for (std::int64_t k = 0; k < p.value.elements(); ++k) {
        const Half h(v[k]);  // round to nearest even
        std::memcpy(&out[k], &h, sizeof(std::uint16_t));
        v[k] = static_cast<float>(h);
      }
      m.quant.nodes[i].constants.push_back({p.name, std::move(bits)});
    }
  }
}


}  // namespace

Result<QuantSpec> BuildInt8Spec(const Model& m, const std::vector<QuantParams>& value_params,
                                const Int8SpecOptions& options) {
  if (value_params.size() != m.nodes.size())
    return InvalidArgument("int8 conversion: " + std::to_string(value_params.size()) + " value ranges for " +
                           std::to_string(m.nodes.size()) + " nodes");
  const std::vector<int> consumers = ConsumerCounts(m);
  std::vector<int> only_consumer(m.nodes.size(), -1);
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (int in : m.nodes[i].inputs)
      if (consumers[static_cast<std::size_t>(in)] == 1) only_consumer[static_cast<std::size_t>(in)] = static_cast<int>(i);

  QuantSpec spec;
  spec.scheme = QuantScheme::kInt8;
  spec.mode = options.mode;
  spec.nodes.resize(m.nodes.size());
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& node = m.nodes[i];
    NodeQuant& nq = spec.nodes[i];
    const OpEntry& entry = EntryOf(node.op);
    if (!entry.int8_rule)
      return InvalidArgument(NodeWhere(node) + ": has no int8 form; convert the float model with LowerForInt8 first");
    // Every node's value has int8 params, its calibrated ones unless its op's
    // rule says otherwise (ops/<op>.cpp).
    nq.has_output = true;
    nq.output = value_params[i];
    const int c = only_consumer[i];
    const Int8RuleInput in{m,
                           node,
                           node.inputs.empty() ? nullptr : &spec.nodes[static_cast<std::size_t>(node.inputs[0])],
                           value_params[i],
                           c >= 0 ? &m.nodes[static_cast<std::size_t>(c)] : nullptr,
                           c >= 0 ? &value_params[static_cast<std::size_t>(c)] : nullptr,
                           options};
    QUALM_RETURN_IF_ERROR(entry.int8_rule(in, nq));
  }
  return spec;
}

Result<Model> QuantizeModel(const Model& float_model, const Dataset* calibration_data, const PtqOptions& o) {
  if (float_model.quant.quantized())
    return InvalidArgument(std::string("the model is already quantized (") + QuantSchemeName(float_model.quant.scheme) +
                           "): quantize its float original");
  if (o.skip_smaller_than < 0) return InvalidArgument("skip_smaller_than must be >= 0");
  QUALM_RETURN_IF_ERROR(InferShapes(float_model).status());
  Model m;
  switch (o.scheme) {
    case QuantScheme::kFloat:
      return InvalidArgument("scheme 'float' is not a quantization");
    case QuantScheme::kInt8: {
      if (!calibration_data) return InvalidArgument("int8 quantization needs calibration data");
      QUALM_ASSIGN_OR_RETURN(m, LowerForInt8(float_model));
      QUALM_ASSIGN_OR_RETURN(CalibrationResult cal, Calibrate(m, *calibration_data, o.calibration));
      std::vector<QuantParams> params;
      for (const auto& v : cal.values) params.push_back(v.params);
      QUALM_ASSIGN_OR_RETURN(m.quant, BuildInt8Spec(m, params, {o.mode, o.lstm_cell_exponent, o.per_tensor_weights}));
      m.quant.info["observer"] = cal.observer;
      m.quant.info["calibration.samples"] = std::to_string(cal.samples);
      m.quant.info["calibration.data"] = calibration_data->name;
      QUALM_ASSIGN_OR_RETURN(auto check, Int8Executor::Create(&m, 1));
      (void)check;
      break;
    }
    case QuantScheme::kDynamic:
    case QuantScheme::kWeightOnlyInt8:
      m = float_model;
      m.quant.nodes.assign(m.nodes.size(), NodeQuant{});
      QUALM_RETURN_IF_ERROR(QuantizeWeightsOnly(m, o.scheme, o.skip_smaller_than, o.per_tensor_weights));
      if (o.scheme == QuantScheme::kWeightOnlyInt8)
        m.quant.info["skip_smaller_than"] = std::to_string(o.skip_smaller_than);
      break;
    case QuantScheme::kFp16Weights:
    case QuantScheme::kBf16Weights:
      m = float_model;
      m.quant.nodes.assign(m.nodes.size(), NodeQuant{});
      if (o.scheme == QuantScheme::kFp16Weights) RoundParams<Eigen::half>(m, DType::kF16);
      else RoundParams<Eigen::bfloat16>(m, DType::kBF16);
      break;
  }
  m.quant.scheme = o.scheme;
  m.quant.mode = o.mode;
  if (o.scheme == QuantScheme::kInt8 || o.scheme == QuantScheme::kDynamic || o.scheme == QuantScheme::kWeightOnlyInt8)
    m.quant.info["weights"] = o.per_tensor_weights ? "per-tensor" : "per-channel";
  return m;
}

}  // namespace qualm

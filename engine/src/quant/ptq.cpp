// Post-training quantization (qualm/engine/ptq.h).
#include "qualm/engine/ptq.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

#include "qualm/engine/int8_executor.h"
#include "qualm/engine/lower.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm {
namespace {

using kernels::QuantParams;

template <typename T>
Tensor MakeTensor(DType dtype, const Shape& shape, const std::vector<T>& v) {
  Tensor t(dtype, shape);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

std::string Where(const Node& n) { return "node '" + n.name + "' (" + OpName(n.op) + ")"; }

// Per-row symmetric int8 weights of `p` (rows = first dimension), with an
// optional float bias quantized at input_scale * s_w[row].
// Per tensor: the whole tensor as one "channel", then its scale repeated per
// row (the kernels take per-row scales) and the bias quantized at that scale.
Result<kernels::QuantizedWeightsS8> QuantizeRows(const Node& node, const Param& p, const Param* bias, float input_scale,
                                                 bool per_tensor = false) {
  const std::int64_t rows = p.value.shape()[0];
  const float* b = bias ? bias->value.f32() : nullptr;
  auto q = per_tensor ? kernels::QuantizeWeightsS8(1, p.value.elements(), p.value.f32(), nullptr, input_scale)
                      : kernels::QuantizeWeightsS8(static_cast<int>(rows), p.value.elements() / rows, p.value.f32(), b,
                                                   input_scale);
  if (!q.ok()) return q.status().WithContext(Where(node) + " " + p.name);
  if (per_tensor) {
    q->scales.assign(static_cast<std::size_t>(rows), q->scales[0]);
    if (b) {
      for (std::int64_t r = 0; r < rows; ++r) {
        if (!std::isfinite(b[r])) return InvalidArgument(Where(node) + " " + bias->name + ": non-finite bias");
        q->bias.push_back(kernels::QuantizeBiasS8(b[r], input_scale, q->scales[0]));
      }
    }
  }
  return q;
}

void AddWeights(NodeQuant& nq, const std::string& name, const Param& p, const kernels::QuantizedWeightsS8& q) {
  nq.constants.push_back({name, MakeTensor(DType::kI8, p.value.shape(), q.weights)});
  nq.constants.push_back({name + "_scale", MakeTensor(DType::kF32, Shape{p.value.shape()[0]}, q.scales)});
}

void AddBias(NodeQuant& nq, const std::string& name, const kernels::QuantizedWeightsS8& q) {
  nq.constants.push_back({name, MakeTensor(DType::kI32, Shape{static_cast<std::int64_t>(q.bias.size())}, q.bias)});
}

template <typename N>  // Node or const Node
auto& P(N& n, const char* name) {
  for (auto& p : n.params)
    if (p.name == name) return p;
  return n.params.front();  // unreachable for a model that passed InferShapes
}

bool HasWeights(const OpParams& op) {
  return std::holds_alternative<Conv2dOp>(op) || std::holds_alternative<DenseOp>(op) ||
         std::holds_alternative<LstmOp>(op) || std::holds_alternative<GruOp>(op);
}

// The weight matrices of a weighted op, by parameter name.
std::vector<std::string> WeightNames(const OpParams& op) {
  if (std::holds_alternative<LstmOp>(op) || std::holds_alternative<GruOp>(op)) return {"w_x", "w_h"};
  return {"weight"};
}

Status QuantizeWeightsOnly(Model& m, QuantScheme scheme, std::int64_t skip_smaller_than, bool per_tensor) {
  int weighted = 0, quantized = 0;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    Node& node = m.nodes[i];
    if (!HasWeights(node.op)) continue;
    ++weighted;
    std::int64_t count = 0;
    for (const auto& name : WeightNames(node.op)) count += P(node, name.c_str()).value.elements();
    if (scheme == QuantScheme::kWeightOnlyInt8 && count < skip_smaller_than) continue;
    ++quantized;
    NodeQuant& nq = m.quant.nodes[i];
    for (const auto& name : WeightNames(node.op)) {
      Param& p = P(node, name.c_str());
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

QuantParams HiddenStateParams() { return kernels::ChooseQuantParams(-1.0f, 1.0f, -128, 127).value(); }

}  // namespace

Result<QuantSpec> BuildInt8Spec(const Model& m, const std::vector<QuantParams>& value_params,
                                const Int8SpecOptions& options) {
  const bool pt = options.per_tensor_weights;
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
    const NodeQuant* in = node.inputs.empty() ? nullptr : &spec.nodes[static_cast<std::size_t>(node.inputs[0])];
    nq.has_output = true;
    nq.output = value_params[i];
    const OpParams& op = node.op;
    if (std::holds_alternative<InputOp>(op)) {
      nq.has_output = m.input_type == SampleType::kFloat32;
      if (!nq.has_output) nq.output = QuantParams{};
    } else if (std::holds_alternative<Conv2dOp>(op) || std::holds_alternative<DenseOp>(op)) {
      const int c = only_consumer[i];
      if (c >= 0 && std::holds_alternative<ReluOp>(m.nodes[static_cast<std::size_t>(c)].op))
        nq.output = value_params[static_cast<std::size_t>(c)];
      const Param* bias = node.params.size() > 1 ? &node.params[1] : nullptr;
      QUALM_ASSIGN_OR_RETURN(auto q, QuantizeRows(node, node.params[0], bias, in->output.scale, pt));
      AddWeights(nq, "weight", node.params[0], q);
      if (bias) AddBias(nq, "bias", q);
    } else if (std::holds_alternative<MaxPoolOp>(op) || std::holds_alternative<AvgPoolOp>(op) ||
               std::holds_alternative<GlobalAvgPoolOp>(op)) {
      nq.output = in->output;
    } else if (const auto* e = std::get_if<EmbeddingOp>(&op)) {
      const Tensor& t = node.params[0].value;
      const auto [lo, hi] = std::minmax_element(t.f32(), t.f32() + t.elements());
      QUALM_ASSIGN_OR_RETURN(nq.output, kernels::ChooseQuantParams(*lo, *hi, -128, 127));
      Tensor table(DType::kI8, Shape{e->vocab, e->dim});
      for (std::int64_t k = 0; k < t.elements(); ++k)
        table.data<std::int8_t>()[k] = static_cast<std::int8_t>(kernels::QuantizeValue(
            t.f32()[k], nq.output.scale, nq.output.zero_point, -128, 127, kernels::RoundingMode::kHalfAwayFromZero));
      nq.constants.push_back({"table", std::move(table)});
    } else if (std::holds_alternative<LstmOp>(op)) {
      nq.output = HiddenStateParams();
      nq.cell_exponent = options.lstm_cell_exponent;
      QUALM_ASSIGN_OR_RETURN(auto qx, QuantizeRows(node, P(node, "w_x"), &P(node, "bias"), in->output.scale, pt));
      QUALM_ASSIGN_OR_RETURN(auto qh, QuantizeRows(node, P(node, "w_h"), nullptr, nq.output.scale, pt));
      AddWeights(nq, "w_x", P(node, "w_x"), qx);
      AddWeights(nq, "w_h", P(node, "w_h"), qh);
      AddBias(nq, "bias", qx);
    } else if (std::holds_alternative<GruOp>(op)) {
      nq.output = HiddenStateParams();
      QUALM_ASSIGN_OR_RETURN(auto qx, QuantizeRows(node, P(node, "w_x"), &P(node, "b_x"), in->output.scale, pt));
      QUALM_ASSIGN_OR_RETURN(auto qh, QuantizeRows(node, P(node, "w_h"), &P(node, "b_h"), nq.output.scale, pt));
      AddWeights(nq, "w_x", P(node, "w_x"), qx);
      AddWeights(nq, "w_h", P(node, "w_h"), qh);
      AddBias(nq, "b_x", qx);
      AddBias(nq, "b_h", qh);
    }
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

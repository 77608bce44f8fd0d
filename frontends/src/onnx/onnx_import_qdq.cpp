// frontends/src/onnx/onnx_import_qdq.cpp: QDQ-quantized ONNX -> qualm's int8
// scheme.
//
// A QDQ graph states its int8 arithmetic as float ops between
// QuantizeLinear / DequantizeLinear pairs: y = Q(conv(DQ(x), DQ(w), DQ(b))).
// qualm's int8 scheme stores the same numbers differently: per value one
// (scale, zero point), per conv / dense int8 weights with per-channel scales
// and an int32 bias at s_in * s_w[c] (quant_spec.h). The mapping is exact for
// the stored numbers (weights, scales, zero points, bias) when
//   * every activation Q has a scalar scale and an int8 or uint8 zero point
//     (uint8 becomes int8 with zero point - 128: the same real values);
//   * weights are int8, symmetric (zero point 0), per tensor or per output
//     channel, within [-127, 127] (qualm's kernels assume the narrow range);
//   * biases are int32 at exactly s_in * s_w[c] with zero point 0 (otherwise
//     the float bias is re-quantized to that scale, rounding half to even, and
//     the count is recorded in quant info "onnx.bias_requantized");
//   * pools keep their input's parameters (qualm's int8 pools do not rescale).
// What is not exact is the arithmetic between them: ONNX rounds the float
// product conv(...) / s_out half to even, qualm requantizes the int32
// accumulator with a fixed-point multiplier (gemmlowp / single rounding, or
// fp32) and quantizes the float input half away from zero, so outputs can
// differ by one step where the exact value lies near a rounding boundary
// (docs/onnx.md). BatchNormalization inside a QDQ graph is declined: quantizers
// fold it into the convolution before they quantize.
#include <cmath>
#include <limits>

#include "onnx_import.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/lower.h"

namespace qualm::frontends::onnx_io {
namespace {

Status Decline(const onnx::NodeProto& n, const std::string& why) {
  return Unimplemented(Importer::Where(n) + ": " + why);
}
Status Bad(const onnx::NodeProto& n, const std::string& why) {
  return InvalidArgument(Importer::Where(n) + ": " + why);
}

// The scalar (scale, zero point) of a Q / DQ node as int8 parameters.
Result<kernels::QuantParams> ScalarParams(const Importer& imp, const onnx::NodeProto& n) {
  auto s = imp.consts.find(n.input_size() > 1 ? n.input(1) : "");
  if (s == imp.consts.end() || s->second.value.size() != 1 || !s->second.value.is_float())
    return Decline(n, "the scale must be a constant float scalar for an activation");
  kernels::QuantParams p;
  p.scale = s->second.value.f[0];
  if (!(p.scale > 0.0f) || !std::isfinite(p.scale)) return Decline(n, "scale must be positive and finite");
  int type = onnx::TensorProto::UINT8;  // ONNX's default zero point is uint8 0
  std::int64_t zero = 0;
  if (n.input_size() > 2 && !n.input(2).empty()) {
    auto z = imp.consts.find(n.input(2));
    if (z == imp.consts.end() || z->second.value.size() != 1)
      return Decline(n, "the zero point must be a constant scalar for an activation");
    type = z->second.value.elem_type;
    zero = z->second.value.ints.empty() ? 0 : z->second.value.ints[0];
  }
  if (type != onnx::TensorProto::UINT8 && type != onnx::TensorProto::INT8)
    return Decline(n, "only int8 and uint8 activations are supported");
  // Typed fields (int32_data) can hold any integer whatever the element type.
  const std::int64_t lo = type == onnx::TensorProto::UINT8 ? 0 : -128, hi = lo + 255;
  if (zero < lo || zero > hi)
    return Bad(n, "zero point " + std::to_string(zero) + " is outside its type's range [" + std::to_string(lo) +
                      ", " + std::to_string(hi) + "]");
  p.zero_point = static_cast<std::int32_t>(type == onnx::TensorProto::UINT8 ? zero - 128 : zero);
  return p;
}

bool SameParams(const kernels::QuantParams& a, const kernels::QuantParams& b) {
  return a.scale == b.scale && a.zero_point == b.zero_point;
}

std::string ParamsString(const kernels::QuantParams& p) {
  return "(scale " + std::to_string(p.scale) + ", zero point " + std::to_string(p.zero_point) + ")";
}

}  // namespace

Status ImportQuantizeLinear(Importer& imp, const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.name() != "axis") return Decline(n, "attribute '" + a.name() + "' is not supported");
  auto src = imp.values.find(n.input(0));
  if (src == imp.values.end())
    return Decline(n, "only activations are quantized in the graph (store weights already quantized, behind "
                      "DequantizeLinear)");
  QUALM_ASSIGN_OR_RETURN(auto p, ScalarParams(imp, n));
  imp.saw_qdq = true;
  const int node = src->second.node;
  auto prev = imp.node_params.find(node);
  if (prev != imp.node_params.end() && !SameParams(prev->second, p))
    return Decline(n, "value '" + n.input(0) + "' is quantized twice with different parameters " +
                          ParamsString(prev->second) + " and " + ParamsString(p));
  imp.node_params[node] = p;
  imp.qvalues[n.output(0)] = {src->second, p};
  return Status::Ok();
}

Status ImportDequantizeLinear(Importer& imp, const onnx::NodeProto& n) {
  for (const auto& a : n.attribute())
    if (a.name() != "axis") return Decline(n, "attribute '" + a.name() + "' is not supported");
  if (auto q = imp.qvalues.find(n.input(0)); q != imp.qvalues.end()) {
    QUALM_ASSIGN_OR_RETURN(auto p, ScalarParams(imp, n));
    if (!SameParams(p, q->second.params))
      return Decline(n, "dequantizes with " + ParamsString(p) + ", its QuantizeLinear used " +
                            ParamsString(q->second.params) + " (a requantization qualm does not represent)");
    imp.values[n.output(0)] = q->second.source;
    return Status::Ok();
  }
  auto c = imp.consts.find(n.input(0));
  if (c == imp.consts.end())
    return InvalidArgument(Importer::Where(n) + ": input '" + n.input(0) + "' is neither a constant nor a QuantizeLinear output");
  ImportedConst out;
  out.q = c->second.value;
  if (out.q.elem_type != onnx::TensorProto::INT8 && out.q.elem_type != onnx::TensorProto::UINT8 &&
      out.q.elem_type != onnx::TensorProto::INT32)
    return Decline(n, "only int8, uint8 and int32 tensors are dequantized");
  auto s = imp.consts.find(n.input_size() > 1 ? n.input(1) : "");
  if (s == imp.consts.end() || !s->second.value.is_float()) return Decline(n, "the scale must be a float constant");
  out.scale = s->second.value.f;
  if (n.input_size() > 2 && !n.input(2).empty()) {
    auto z = imp.consts.find(n.input(2));
    if (z == imp.consts.end()) return Decline(n, "the zero point must be a constant");
    if (z->second.value.elem_type != out.q.elem_type) return Decline(n, "zero point and data types differ");
    out.zero_point = z->second.value.ints;
  } else {
    out.zero_point.assign(out.scale.size(), 0);
  }
  if (out.zero_point.size() != out.scale.size()) return Decline(n, "scale and zero point sizes differ");
  const auto rank = static_cast<std::int64_t>(out.q.dims.size());
  std::int64_t axis = n.input_size() > 0 ? AttrInt(n, "axis", 1) : 1;
  if (axis < 0) axis += rank;
  // Per tensor, ONNX ignores the axis; per axis, it is checked below.
  out.axis = axis >= 0 && axis < rank ? static_cast<int>(axis) : 1;
  std::int64_t inner = 1, len = 1;
  if (out.scale.size() > 1) {
    if (axis < 0 || axis >= rank || out.q.dims[static_cast<std::size_t>(axis)] != static_cast<std::int64_t>(out.scale.size()))
      return Decline(n, "per-axis scales do not match the tensor's axis " + std::to_string(axis));
    len = out.q.dims[static_cast<std::size_t>(axis)];
    for (std::int64_t d = axis + 1; d < rank; ++d) inner *= out.q.dims[static_cast<std::size_t>(d)];
  }
  out.value.elem_type = onnx::TensorProto::FLOAT;
  out.value.dims = out.q.dims;
  out.value.f.resize(out.q.ints.size());
  for (std::size_t i = 0; i < out.q.ints.size(); ++i) {
    const std::size_t k = out.scale.size() > 1 ? static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % len) : 0;
    // ONNX: (x - x_zero_point) * x_scale, in float.
    out.value.f[i] = static_cast<float>(out.q.ints[i] - out.zero_point[k]) * out.scale[k];
  }
  out.quantized = true;
  imp.consts[n.output(0)] = std::move(out);
  return Status::Ok();
}

namespace {

// Per-output-channel scales of a weight in qualm layout (axis 0 after the import's permutation).
Result<std::vector<float>> ChannelScales(const ImportedConst& w, std::int64_t out, const Node& node) {
  if (w.scale.size() == 1) return std::vector<float>(static_cast<std::size_t>(out), w.scale[0]);
  if (static_cast<std::int64_t>(w.scale.size()) != out)
    return Unimplemented(NodeWhere(node) + ": weight scales are neither per tensor nor per output channel");
  return w.scale;
}

Status Int8Constants(Importer& imp, QuantSpec& spec, int i, std::int64_t out, bool has_bias, int* requantized) {
  const Node& node = imp.model.nodes[static_cast<std::size_t>(i)];
  auto w = imp.weights.find(i);
  if (w == imp.weights.end() || !w->second.quantized)
    return Unimplemented(NodeWhere(node) + ": in a QDQ model the weight must be an int8 tensor behind DequantizeLinear");
  const ImportedConst& wc = w->second;
  if (wc.q.elem_type != onnx::TensorProto::INT8)
    return Unimplemented(NodeWhere(node) + ": weights must be int8 (uint8 / asymmetric weights are not supported)");
  for (auto z : wc.zero_point)
    if (z != 0) return Unimplemented(NodeWhere(node) + ": weight zero point " + std::to_string(z) + " (qualm's weights are symmetric)");
  Tensor wt(DType::kI8, Shape(wc.q.dims));
  for (std::size_t k = 0; k < wc.q.ints.size(); ++k) {
    if (wc.q.ints[k] < -127)
      return Unimplemented(NodeWhere(node) + ": weight value -128 (qualm's int8 kernels use the narrow range [-127, 127])");
    wt.data<std::int8_t>()[k] = static_cast<std::int8_t>(wc.q.ints[k]);
  }
  QUALM_ASSIGN_OR_RETURN(auto scales, ChannelScales(wc, out, node));
  Tensor st(DType::kF32, Shape{out});
  std::copy(scales.begin(), scales.end(), st.f32());
  NodeQuant& q = spec.nodes[static_cast<std::size_t>(i)];
  q.constants.push_back({"weight", std::move(wt)});
  q.constants.push_back({"weight_scale", std::move(st)});
  if (!has_bias) return Status::Ok();
  const ImportedConst& b = imp.biases.at(i);
  const float s_in = spec.nodes[static_cast<std::size_t>(node.inputs[0])].output.scale;
  Tensor bt(DType::kI32, Shape{out});
  for (std::int64_t c = 0; c < out; ++c) {
    const auto cc = static_cast<std::size_t>(c);
    const float want = s_in * scales[cc];
    const std::size_t bk = b.scale.size() > 1 ? cc : 0;
    if (b.quantized && b.q.elem_type == onnx::TensorProto::INT32 && b.zero_point[bk] == 0 && b.scale[bk] == want) {
      bt.data<std::int32_t>()[c] = static_cast<std::int32_t>(b.q.ints[cc]);
      continue;
    }
    const double r = std::nearbyint(static_cast<double>(b.value.f[cc]) / static_cast<double>(want));
    if (!(std::fabs(r) <= 2147483647.0))
      return Unimplemented(NodeWhere(node) + ": bias does not fit int32 at scale s_in * s_w");
    bt.data<std::int32_t>()[c] = static_cast<std::int32_t>(r);
    ++*requantized;
  }
  q.constants.push_back({"bias", std::move(bt)});
  return Status::Ok();
}

}  // namespace

Status BuildQdqSpec(Importer& imp) {
  Model& m = imp.model;
  const int n = static_cast<int>(m.nodes.size());
  QuantSpec spec;
  spec.scheme = QuantScheme::kInt8;
  spec.mode = kernels::RequantMode::kGemmlowp;
  for (const auto& p : imp.proto.metadata_props())
    if (p.key() == kMetaRequantMode) {
      auto mode = kernels::ParseRequantMode(p.value().c_str());
      if (!mode.ok()) return mode.status();
      spec.mode = *mode;
    }
  if (imp.options.requant_mode) spec.mode = *imp.options.requant_mode;
  spec.nodes.resize(static_cast<std::size_t>(n));
  // The one consumer of each node, or -1.
  std::vector<int> sole(static_cast<std::size_t>(n), -1);
  const std::vector<int> counts = ConsumerCounts(m);
  for (int i = 0; i < n; ++i)
    for (int in : m.nodes[static_cast<std::size_t>(i)].inputs)
      if (counts[static_cast<std::size_t>(in)] == 1) sole[static_cast<std::size_t>(in)] = i;
  int requantized = 0;
  for (int i = 0; i < n; ++i) {
    const Node& node = m.nodes[static_cast<std::size_t>(i)];
    NodeQuant& q = spec.nodes[static_cast<std::size_t>(i)];
    auto ex = imp.node_params.find(i);
    const bool has = ex != imp.node_params.end();
    const kernels::QuantParams* in =
        node.inputs.empty() ? nullptr : &spec.nodes[static_cast<std::size_t>(node.inputs[0])].output;
    auto missing = [&]() {
      return Unimplemented(NodeWhere(node) + ": its output is not quantized (no QuantizeLinear after it)");
    };
    if (std::holds_alternative<InputOp>(node.op) || std::holds_alternative<AddOp>(node.op)) {
      if (!has) return missing();
      q.output = ex->second;
    } else if (std::holds_alternative<Conv2dOp>(node.op) || std::holds_alternative<DenseOp>(node.op)) {
      // conv -> ReLU -> Q: the convolution takes the ReLU's parameters (the
      // ReLU is then an exact clamp), as BuildInt8Spec does.
      const int s = sole[static_cast<std::size_t>(i)];
      if (has)
        q.output = ex->second;
      else if (s >= 0 && std::holds_alternative<ReluOp>(m.nodes[static_cast<std::size_t>(s)].op) && imp.node_params.count(s))
        q.output = imp.node_params.at(s);
      else
        return missing();
      const auto* c = std::get_if<Conv2dOp>(&node.op);
      const auto* d = std::get_if<DenseOp>(&node.op);
      QUALM_RETURN_IF_ERROR(Int8Constants(imp, spec, i, c ? c->out_channels : d->out_features,
                                          c ? c->has_bias : d->has_bias, &requantized));
    } else if (std::holds_alternative<MaxPoolOp>(node.op) || std::holds_alternative<AvgPoolOp>(node.op) ||
               std::holds_alternative<GlobalAvgPoolOp>(node.op)) {
      if (has && !SameParams(ex->second, *in))
        return Unimplemented(NodeWhere(node) + ": output parameters " + ParamsString(ex->second) +
                             " differ from the input's " + ParamsString(*in) +
                             " (qualm's int8 pools keep their input's parameters)");
      q.output = *in;
    } else if (std::holds_alternative<ReluOp>(node.op)) {
      q.output = has ? ex->second : *in;
    } else {
      return Unimplemented(NodeWhere(node) +
                           ": not supported in a QDQ model (fold batch normalization into the convolution before "
                           "quantizing)");
    }
    q.has_output = true;
  }
  if (requantized > 0) spec.info["onnx.bias_requantized"] = std::to_string(requantized);
  spec.info["source"] = "onnx qdq";
  m.quant = std::move(spec);
  // Prepare once: an int8 model that would not run (a multiplier out of range) is an error here.
  auto run = Inference::Create(m, {1, Backend::kReference, 1});
  if (!run.ok()) return run.status();
  return Status::Ok();
}

}  // namespace qualm::frontends::onnx_io

// frontends/src/onnx/onnx_export.cpp: qualm::Model -> ONNX ModelProto.
//
// One qualm node becomes one ONNX op (plus a Flatten in front of the first
// dense after an image value, since ONNX's Gemm reads rank-2 tensors, and after
// GlobalAveragePool, which keeps [N, C, 1, 1] where qualm's op gives [N, C]).
// Float weights are written in ONNX layout (OIHW; dense columns in (c, h, w)
// order). An int8 model is written in QDQ form, node by node:
//   value_i = DequantizeLinear(QuantizeLinear(op_i(...), s_i, z_i), s_i, z_i)
// with op_i reading its weights through DequantizeLinear(w_i8, s_w[c], 0,
// axis 0) and its bias through DequantizeLinear(b_i32, s_in * s_w[c], 0, axis 0):
// the int8 constants qualm's executor reads, bit for bit, so the importer
// recovers them exactly (round trip). Dropout is the identity at inference and
// is left out.
#include <cmath>
#include <variant>

#include "onnx/checker.h"
#include "onnx_internal.h"
#include "qualm/engine/quant_spec.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/onnx.h"

namespace qualm::frontends {
namespace {

using namespace onnx_io;

// 14: the first opset whose LSTM / GRU take batch-major input (layout = 1), as
// qualm's recurrent ops do.
constexpr int kOpset = 14;

struct Exporter {
  const Model& m;
  std::vector<Shape> shapes;      // qualm per-sample shapes
  onnx::GraphProto* g = nullptr;
  std::vector<std::string> value;  // ONNX name holding node i's output (float / dequantized)
  std::vector<int> rank;           // ONNX rank of that value (with batch)
  bool int8 = false;

  onnx::NodeProto* Add(const std::string& op, const std::string& name, std::vector<std::string> in,
                       const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : in) n->add_input(s);
    n->add_output(out);
    return n;
  }
  void Init(onnx::TensorProto t) { *g->add_initializer() = std::move(t); }

  // Appends Q/DQ with node i's output params to `x`; returns the DQ output.
  std::string QuantDequant(int i, const std::string& x) {
    const NodeQuant& q = m.quant.nodes[static_cast<std::size_t>(i)];
    const std::string base = m.nodes[static_cast<std::size_t>(i)].name;
    Init(FloatTensor(base + "/out_scale", {}, {q.output.scale}));
    Init(IntTensor(base + "/out_zero_point", onnx::TensorProto::INT8, {}, {q.output.zero_point}));
    Add("QuantizeLinear", base + "/quantize", {x, base + "/out_scale", base + "/out_zero_point"}, base + "/q");
    Add("DequantizeLinear", base + "/dequantize", {base + "/q", base + "/out_scale", base + "/out_zero_point"},
        base + "/dq");
    return base + "/dq";
  }

  // Weight (and bias) inputs of conv2d / dense node i in ONNX layout; `to_onnx`
  // permutes a flat OHWI / [out][hwc] array to the ONNX order.
  template <typename Permute>
  Result<std::vector<std::string>> Weights(int i, const std::vector<std::int64_t>& onnx_dims, bool has_bias,
                                           Permute to_onnx) {
    const Node& n = m.nodes[static_cast<std::size_t>(i)];
    const std::string wname = n.name + "/weight", bname = n.name + "/bias";
    std::vector<std::string> in;
    const std::int64_t out_c = onnx_dims[0];
    if (!int8) {
      const Tensor& w = n.param("weight").value;
      Init(FloatTensor(wname, onnx_dims, to_onnx(std::vector<float>(w.f32(), w.f32() + w.elements()))));
      in.push_back(wname);
      if (has_bias) {
        const Tensor& b = n.param("bias").value;
        Init(FloatTensor(bname, {out_c}, std::vector<float>(b.f32(), b.f32() + b.elements())));
        in.push_back(bname);
      }
      return in;
    }
    const NodeQuant& q = m.quant.nodes[static_cast<std::size_t>(i)];
    const Tensor* w = q.Find("weight");
    const Tensor* ws = q.Find("weight_scale");
    if (!w || !ws || w->dtype() != DType::kI8 || ws->elements() != out_c)
      return InvalidArgument(NodeWhere(n) + ": int8 model without its int8 weight / weight_scale constants");
    std::vector<std::int64_t> wv(w->data<std::int8_t>(), w->data<std::int8_t>() + w->elements());
    std::vector<float> scales(ws->f32(), ws->f32() + out_c);
    Init(IntTensor(wname + "_q", onnx::TensorProto::INT8, onnx_dims, to_onnx(wv)));
    Init(FloatTensor(wname + "_scale", {out_c}, scales));
    Init(IntTensor(wname + "_zero_point", onnx::TensorProto::INT8, {out_c}, std::vector<std::int64_t>(out_c, 0)));
    SetAttr(Add("DequantizeLinear", wname + "/dequantize", {wname + "_q", wname + "_scale", wname + "_zero_point"},
                wname),
            "axis", std::int64_t{0});
    in.push_back(wname);
    if (has_bias) {
      const Tensor* b = q.Find("bias");
      if (!b || b->dtype() != DType::kI32 || b->elements() != out_c)
        return InvalidArgument(NodeWhere(n) + ": int8 model without its int32 bias constant");
      const float s_in = m.quant.nodes[static_cast<std::size_t>(n.inputs[0])].output.scale;
      std::vector<float> bs(static_cast<std::size_t>(out_c));
      for (std::size_t c = 0; c < bs.size(); ++c) bs[c] = s_in * scales[c];
      Init(IntTensor(bname + "_q", onnx::TensorProto::INT32, {out_c},
                     std::vector<std::int64_t>(b->data<std::int32_t>(), b->data<std::int32_t>() + out_c)));
      Init(FloatTensor(bname + "_scale", {out_c}, bs));
      Init(IntTensor(bname + "_zero_point", onnx::TensorProto::INT32, {out_c}, std::vector<std::int64_t>(out_c, 0)));
      SetAttr(Add("DequantizeLinear", bname + "/dequantize", {bname + "_q", bname + "_scale", bname + "_zero_point"},
                  bname),
              "axis", std::int64_t{0});
      in.push_back(bname);
    }
    return in;
  }

  // Embedding -> Gather; LSTM / GRU (last hidden state) -> the ONNX op with
  // layout = 1 and its Y_h [N, 1, H] flattened to [N, H]. Gate blocks: qualm's
  // LSTM is (i, f, g, o), ONNX's (i, o, f, c); both GRUs are (z, r, n) with
  // the reset applied after the recurrent product (linear_before_reset = 1).
  Result<std::string> Recurrent(const Node& n, const std::string& x) {
    const std::string out = n.name + "/out";
    if (const auto* e = std::get_if<EmbeddingOp>(&n.op)) {
      const Tensor& t = n.param("table").value;
      Init(FloatTensor(n.name + "/table", {e->vocab, e->dim}, std::vector<float>(t.f32(), t.f32() + t.elements())));
      SetAttr(Add("Gather", n.name, {n.name + "/table", x}, out), "axis", std::int64_t{0});
      return out;
    }
    const bool lstm = std::holds_alternative<LstmOp>(n.op);
    const int h = lstm ? std::get<LstmOp>(n.op).hidden : std::get<GruOp>(n.op).hidden;
    if (lstm ? std::get<LstmOp>(n.op).return_sequences : std::get<GruOp>(n.op).return_sequences)
      return Unimplemented(NodeWhere(n) + ": return_sequences is not exported (only the last hidden state)");
    const int gates = lstm ? 4 : 3;
    // ONNX gate block j holds qualm block order[j].
    const std::vector<int> order = lstm ? std::vector<int>{0, 3, 1, 2} : std::vector<int>{0, 1, 2};
    auto blocks = [&](const Tensor& t) {
      const std::int64_t cols = t.elements() / (gates * h);
      std::vector<float> v(static_cast<std::size_t>(t.elements()));
      for (int j = 0; j < gates; ++j)
        std::copy(t.f32() + order[static_cast<std::size_t>(j)] * h * cols,
                  t.f32() + (order[static_cast<std::size_t>(j)] + 1) * h * cols, v.begin() + j * h * cols);
      return v;
    };
    const Tensor& wx = n.param("w_x").value;
    const Tensor& wh = n.param("w_h").value;
    Init(FloatTensor(n.name + "/W", {1, gates * h, wx.shape()[1]}, blocks(wx)));
    Init(FloatTensor(n.name + "/R", {1, gates * h, h}, blocks(wh)));
    std::vector<float> b;
    if (lstm) {
      b = blocks(n.param("bias").value);
      b.resize(static_cast<std::size_t>(8 * h), 0.0f);  // Rb = 0: qualm has one bias
    } else {
      b = blocks(n.param("b_x").value);
      const auto bh = blocks(n.param("b_h").value);
      b.insert(b.end(), bh.begin(), bh.end());
    }
    Init(FloatTensor(n.name + "/B", {1, 2 * gates * h}, b));
    auto* o = g->add_node();
    o->set_op_type(lstm ? "LSTM" : "GRU");
    o->set_name(n.name);
    for (const char* in : {"", "/W", "/R", "/B"}) o->add_input(in[0] ? n.name + in : x);
    o->add_output("");
    o->add_output(n.name + "/Y_h");
    SetAttr(o, "hidden_size", std::int64_t{h});
    SetAttr(o, "layout", std::int64_t{1});
    if (!lstm) SetAttr(o, "linear_before_reset", std::int64_t{1});
    SetAttr(Add("Flatten", n.name + "/flatten", {n.name + "/Y_h"}, out), "axis", std::int64_t{1});
    return out;
  }

  Status Emit(int i) {
    const Node& n = m.nodes[static_cast<std::size_t>(i)];
    const std::string out = n.name + "/out";
    const std::string x = n.inputs.empty() ? "" : value[static_cast<std::size_t>(n.inputs[0])];
    const Shape& in_shape = n.inputs.empty() ? shapes[0] : shapes[static_cast<std::size_t>(n.inputs[0])];
    int r = n.inputs.empty() ? 0 : rank[static_cast<std::size_t>(n.inputs[0])];
    std::string produced;
    if (const auto* c = std::get_if<Conv2dOp>(&n.op)) {
      const std::int64_t ci = in_shape[2] / c->groups;
      auto perm = [&](auto v) { return ToChannelsFirst(v, c->out_channels, ci, c->kernel_h, c->kernel_w); };
      QUALM_ASSIGN_OR_RETURN(auto w, Weights(i, {c->out_channels, ci, c->kernel_h, c->kernel_w}, c->has_bias, perm));
      w.insert(w.begin(), x);
      auto* o = Add("Conv", n.name, w, out);
      SetAttr(o, "kernel_shape", std::vector<std::int64_t>{c->kernel_h, c->kernel_w});
      SetAttr(o, "strides", std::vector<std::int64_t>{c->stride_h, c->stride_w});
      SetAttr(o, "pads", std::vector<std::int64_t>{c->pad_top, c->pad_left, c->pad_bottom, c->pad_right});
      SetAttr(o, "dilations", std::vector<std::int64_t>{c->dilation_h, c->dilation_w});
      SetAttr(o, "group", std::int64_t{c->groups});
      produced = out;
    } else if (const auto* d = std::get_if<DenseOp>(&n.op)) {
      std::string a = x;
      if (r != 2) {
        a = n.name + "/flatten_out";
        SetAttr(Add("Flatten", n.name + "/flatten", {x}, a), "axis", std::int64_t{1});
      }
      const std::int64_t in_f = in_shape.elements();
      const bool image = in_shape.rank() == 3;
      auto perm = [&](auto v) {
        return image ? DenseColumnsToChw(v, d->out_features, in_shape[2], in_shape[0], in_shape[1]) : v;
      };
      QUALM_ASSIGN_OR_RETURN(auto w, Weights(i, {d->out_features, in_f}, d->has_bias, perm));
      w.insert(w.begin(), a);
      SetAttr(Add("Gemm", n.name, w, out), "transB", std::int64_t{1});
      produced = out;
      r = 2;
    } else if (const auto* p = std::get_if<MaxPoolOp>(&n.op)) {
      auto* o = Add("MaxPool", n.name, {x}, out);
      SetAttr(o, "kernel_shape", std::vector<std::int64_t>{p->kernel_h, p->kernel_w});
      SetAttr(o, "strides", std::vector<std::int64_t>{p->stride_h, p->stride_w});
      SetAttr(o, "pads", std::vector<std::int64_t>{p->pad_top, p->pad_left, p->pad_bottom, p->pad_right});
      produced = out;
    } else if (const auto* a = std::get_if<AvgPoolOp>(&n.op)) {
      auto* o = Add("AveragePool", n.name, {x}, out);
      SetAttr(o, "kernel_shape", std::vector<std::int64_t>{a->kernel_h, a->kernel_w});
      SetAttr(o, "strides", std::vector<std::int64_t>{a->stride_h, a->stride_w});
      SetAttr(o, "pads", std::vector<std::int64_t>{a->pad_top, a->pad_left, a->pad_bottom, a->pad_right});
      SetAttr(o, "count_include_pad", std::int64_t{a->count_include_pad ? 1 : 0});
      produced = out;
    } else if (std::holds_alternative<GlobalAvgPoolOp>(n.op)) {
      Add("GlobalAveragePool", n.name, {x}, n.name + "/pooled");
      SetAttr(Add("Flatten", n.name + "/flatten", {n.name + "/pooled"}, out), "axis", std::int64_t{1});
      produced = out;
      r = 2;
    } else if (const auto* u = std::get_if<ReluOp>(&n.op)) {
      if (u->relu6) {
        Init(FloatTensor(n.name + "/min", {}, {0.0f}));
        Init(FloatTensor(n.name + "/max", {}, {6.0f}));
        Add("Clip", n.name, {x, n.name + "/min", n.name + "/max"}, out);
      } else {
        Add("Relu", n.name, {x}, out);
      }
      produced = out;
    } else if (const auto* b = std::get_if<BatchNormOp>(&n.op)) {
      std::vector<std::string> in = {x};
      for (const char* pn : {"gamma", "beta", "running_mean", "running_var"}) {
        const Tensor& t = n.param(pn).value;
        Init(FloatTensor(n.name + "/" + pn, {t.elements()}, std::vector<float>(t.f32(), t.f32() + t.elements())));
        in.push_back(n.name + "/" + pn);
      }
      SetAttr(Add("BatchNormalization", n.name, in, out), "epsilon", b->epsilon);
      produced = out;
    } else if (std::holds_alternative<AddOp>(n.op)) {
      Add("Add", n.name, {x, value[static_cast<std::size_t>(n.inputs[1])]}, out);
      produced = out;
    } else if (std::holds_alternative<EmbeddingOp>(n.op) || std::holds_alternative<LstmOp>(n.op) ||
               std::holds_alternative<GruOp>(n.op)) {
      if (int8)
        return Unimplemented(NodeWhere(n) + ": qualm's integer recurrent ops (TFLite's 8x8_16 LSTM) have no QDQ "
                                            "form; export the float model");
      QUALM_ASSIGN_OR_RETURN(produced, Recurrent(n, x));
      r = 2;
    } else if (std::holds_alternative<DropoutOp>(n.op)) {
      value[static_cast<std::size_t>(i)] = x;  // identity at inference, and already quantized
      rank[static_cast<std::size_t>(i)] = r;
      return Status::Ok();
    } else {
      return Unimplemented(NodeWhere(n) + ": no ONNX export for this op (docs/onnx.md lists what is exported)");
    }
    value[static_cast<std::size_t>(i)] = int8 ? QuantDequant(i, produced) : produced;
    rank[static_cast<std::size_t>(i)] = r;
    return Status::Ok();
  }
};

void SetValueInfo(onnx::ValueInfoProto* v, const std::string& name, const std::vector<std::int64_t>& dims,
                  int elem_type = onnx::TensorProto::FLOAT) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* s = t->mutable_shape();
  s->add_dim()->set_dim_param("N");
  for (auto d : dims) s->add_dim()->set_dim_value(d);
}

}  // namespace

Status CheckOnnxBytes(const std::string& bytes, const std::string& name_for_errors) {
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes)) return InvalidArgument(name_for_errors + ": not an ONNX model (protobuf parse failed)");
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return InvalidArgument(name_for_errors + ": ONNX checker: " + e.what());
  }
  return Status::Ok();
}

Result<std::string> ExportOnnxBytes(const Model& model) {
  const QuantScheme scheme = model.quant.scheme;
  if (scheme == QuantScheme::kDynamic)
    return Unimplemented(
        "dynamic models have no standard ONNX form (per-sample activation quantization); export the float model");
  const bool ids = model.input_type == SampleType::kInt32;
  QUALM_ASSIGN_OR_RETURN(auto shapes, InferShapes(model));
  const int n = static_cast<int>(model.nodes.size());
  const bool int8 = scheme == QuantScheme::kInt8;
  if (int8 && model.quant.nodes.size() != model.nodes.size())
    return InvalidArgument("int8 model whose quantization record does not cover every node");

  onnx::ModelProto proto;
  proto.set_ir_version(7);
  proto.set_producer_name("qualm");
  proto.set_model_version(1);
  auto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  auto add_meta = [&](const std::string& k, const std::string& v) {
    auto* p = proto.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  };
  add_meta(kMetaArch, model.arch);
  if (int8) add_meta(kMetaRequantMode, kernels::RequantModeName(model.quant.mode));
  // A text model needs its vocabulary to turn text into the ids it reads.
  // (onnx.input_* are not exported: an exported graph always reads qualm's
  // pixel / 255, any preprocessing node it had is part of the graph.)
  for (const auto& [k, v] : model.metadata)
    if (k.rfind(kMetaTextPrefix, 0) == 0) add_meta(k, v);

  Exporter ex{model, shapes, proto.mutable_graph(), std::vector<std::string>(static_cast<std::size_t>(n)),
              std::vector<int>(static_cast<std::size_t>(n)), int8};
  ex.g->set_name(model.arch.empty() ? "qualm" : model.arch);
  ex.g->set_doc_string("exported by qualm; images NCHW, pixel / 255");
  const Shape in(model.input_shape);
  const std::string input_name = model.nodes.empty() ? "input" : model.nodes[0].name;
  if (ids && in.rank() == 1)
    SetValueInfo(ex.g->add_input(), input_name, {in[0]}, onnx::TensorProto::INT32);
  else if (in.rank() == 3)
    SetValueInfo(ex.g->add_input(), input_name, {in[2], in[0], in[1]});
  else if (in.rank() == 1 || in.rank() == 2)
    SetValueInfo(ex.g->add_input(), input_name, in.dims());
  else
    return Unimplemented("input shape " + in.ToString() + ": only {H, W, C} images, {F} vectors, {T, F} sequences "
                         "and {T} token ids are exported");
  ex.value[0] = input_name;
  ex.rank[0] = in.rank() + 1;
  if (int8 && !ids) ex.value[0] = ex.QuantDequant(0, input_name);
  for (int i = 1; i < n; ++i) QUALM_RETURN_IF_ERROR(ex.Emit(i));
  const Shape& last = shapes.back();
  if (last.rank() != 1) return Unimplemented("the last node's output " + last.ToString() + " is not a vector of logits");
  // The graph output gets a stable name: an Identity from the last value.
  ex.Add("Identity", "logits", {ex.value.back()}, "logits");
  SetValueInfo(ex.g->add_output(), "logits", {last[0]});

  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return Internal("ONNX export: protobuf serialization failed");
  QUALM_RETURN_IF_ERROR(CheckOnnxBytes(bytes, "exported model"));
  return bytes;
}

Status ExportOnnx(const Model& model, const std::string& path) {
  auto bytes = ExportOnnxBytes(model);
  if (!bytes.ok()) return bytes.status().WithContext(path);
  return WriteFileAtomically(path, *bytes);
}

}  // namespace qualm::frontends

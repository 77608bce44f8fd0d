// frontends/src/onnx/onnx_import.cpp: ONNX ModelProto -> qualm::Model, the
// graph walk and the float ops.
//
// The walk follows the ONNX node order (topological by the ONNX spec), keeping
// for every ONNX value either a constant (initializers, Constant nodes,
// DequantizeLinear of a constant: ImportedConst) or an activation produced by a
// qualm node (ImportedValue). Ops that qualm folds or does not need map to no
// node: Flatten / Reshape to a vector (qualm's dense flattens per sample; the
// importer permutes the Gemm's columns instead), Dropout / Identity, the final
// Softmax (qualm's models end in logits; softmax does not change the argmax),
// the Add of a bias after MatMul, and each QuantizeLinear / DequantizeLinear
// pair around an activation (recorded as the producer's int8 parameters, see
// onnx_import_qdq.cpp). Anything else is an error naming the node and op.
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "onnx_import.h"
#include "qualm/kernels/checked.h"
#include "qualm/engine/lower.h"

namespace qualm::frontends {
namespace onnx_io {

std::string Importer::Where(const onnx::NodeProto& n) {
  return std::string("node '") + n.name() + "' (" + n.op_type() + ")";
}

namespace {

Status Decline(const onnx::NodeProto& n, const std::string& why) {
  return Unimplemented(Importer::Where(n) + ": " + why);
}
Status Bad(const onnx::NodeProto& n, const std::string& why) {
  return InvalidArgument(Importer::Where(n) + ": " + why);
}

std::string DimsString(const std::vector<std::int64_t>& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Attributes each op understands; any other attribute is declined by name,
// so that an option the importer would silently ignore cannot change results.
Status CheckAttributes(const onnx::NodeProto& n, std::initializer_list<const char*> known) {
  for (const auto& a : n.attribute()) {
    bool ok = false;
    for (const char* k : known) ok = ok || a.name() == k;
    if (!ok) return Decline(n, "attribute '" + a.name() + "' is not supported");
  }
  return Status::Ok();
}

struct Window {
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int top = 0, left = 0, bottom = 0, right = 0;
};

// kernel_shape / strides / dilations / pads / auto_pad of a 2-D window op.
Result<Window> ReadWindow(const onnx::NodeProto& n, const std::vector<std::int64_t>& chw,
                          const std::vector<std::int64_t>& kernel_default) {
  Window w;
  const auto k = AttrInts(n, "kernel_shape", kernel_default);
  const auto s = AttrInts(n, "strides", {1, 1});
  const auto d = AttrInts(n, "dilations", {1, 1});
  auto p = AttrInts(n, "pads", {0, 0, 0, 0});
  if (k.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4)
    return Decline(n, "only 2-D windows are supported (kernel_shape, strides, dilations of 2, pads of 4)");
  for (auto v : {k[0], k[1], s[0], s[1], d[0], d[1]})
    if (v < 1 || v > 4096) return Bad(n, "kernel, stride and dilation must be in [1, 4096]");
  for (auto v : p)
    if (v < 0 || v > 4096) return Bad(n, "pads must be in [0, 4096]");
  const std::string auto_pad = AttrString(n, "auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int a = 0; a < 2; ++a) {
      const std::int64_t in = chw[static_cast<std::size_t>(1 + a)];
      const std::int64_t out = (in + s[static_cast<std::size_t>(a)] - 1) / s[static_cast<std::size_t>(a)];
      const std::int64_t dk = d[static_cast<std::size_t>(a)] * (k[static_cast<std::size_t>(a)] - 1) + 1;
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * s[static_cast<std::size_t>(a)] + dk - in);
      const std::int64_t small = total / 2, big = total - small;
      p[static_cast<std::size_t>(a)] = auto_pad == "SAME_UPPER" ? small : big;
      p[static_cast<std::size_t>(a + 2)] = auto_pad == "SAME_UPPER" ? big : small;
    }
  } else if (auto_pad == "VALID") {
    p = {0, 0, 0, 0};
  } else if (auto_pad != "NOTSET") {
    return Decline(n, "auto_pad '" + auto_pad + "' is not supported");
  }
  w.kh = static_cast<int>(k[0]);
  w.kw = static_cast<int>(k[1]);
  w.sh = static_cast<int>(s[0]);
  w.sw = static_cast<int>(s[1]);
  w.dh = static_cast<int>(d[0]);
  w.dw = static_cast<int>(d[1]);
  w.top = static_cast<int>(p[0]);
  w.left = static_cast<int>(p[1]);
  w.bottom = static_cast<int>(p[2]);
  w.right = static_cast<int>(p[3]);
  return w;
}

Tensor MakeF32(const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
  Tensor t(DType::kF32, Shape(dims));
  std::copy(v.begin(), v.end(), t.f32());
  return t;
}

class Walk {
 public:
  explicit Walk(Importer& imp) : imp_(imp) {}

  Status Run();

 private:
  Importer& imp_;
  Model& m() { return imp_.model; }

  const ImportedConst* Const(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) return nullptr;
    auto it = imp_.consts.find(n.input(i));
    return it == imp_.consts.end() ? nullptr : &it->second;
  }
  Result<ImportedValue> Value(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size()) return Bad(n, "missing input " + std::to_string(i));
    auto it = imp_.values.find(n.input(i));
    if (it != imp_.values.end()) return it->second;
    if (imp_.consts.count(n.input(i)))
      return Decline(n, "input '" + n.input(i) + "' is a constant where an activation is expected");
    return Bad(n, "input '" + n.input(i) + "' is not produced by an earlier node");
  }
  Result<ImportedConst> RequireConst(const onnx::NodeProto& n, int i, const char* what) const {
    const ImportedConst* c = Const(n, i);
    if (!c) return Decline(n, std::string(what) + " (input " + std::to_string(i) + ") must be a constant initializer");
    return *c;
  }
  std::string UniqueName(const onnx::NodeProto& n) {
    std::string base = n.name().empty() ? n.op_type() + "_" + std::to_string(counter_) : n.name();
    ++counter_;
    std::string name = base;
    for (int k = 2; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }
  int AddNode(const onnx::NodeProto& n, OpParams op, std::vector<int> inputs) {
    return m().AddNode(UniqueName(n), op, std::move(inputs));
  }
  void SetOut(const onnx::NodeProto& n, ImportedValue v) { imp_.values[n.output(0)] = std::move(v); }

  Status Input();
  Status Dispatch(const onnx::NodeProto& n);
  Status Conv(const onnx::NodeProto& n);
  Status Dense(const onnx::NodeProto& n, bool gemm);
  Status Pool(const onnx::NodeProto& n);
  Status Add(const onnx::NodeProto& n);
  Status BatchNorm(const onnx::NodeProto& n);
  Status Clip(const onnx::NodeProto& n);
  Status Flatten(const onnx::NodeProto& n);
  Status Reshape(const onnx::NodeProto& n);
  Status Alias(const onnx::NodeProto& n);
  Status Squeeze(const onnx::NodeProto& n);
  Status Gather(const onnx::NodeProto& n);
  Status Recurrent(const onnx::NodeProto& n);

  int counter_ = 0;
  std::set<std::string> names_;
  int opset_ = 0;
  std::int64_t batch_ = -1;  // the graph input's batch dimension, when fixed
};

Status Walk::Input() {
  const auto& g = imp_.proto.graph();
  std::set<std::string> init;
  for (const auto& t : g.initializer()) init.insert(t.name());
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& v : g.input()) {
    if (init.count(v.name())) continue;
    if (input) return Unimplemented("graph has more than one input ('" + input->name() + "', '" + v.name() + "')");
    input = &v;
  }
  if (!input) return InvalidArgument("graph has no input");
  const auto& type = input->type();
  const int elem = type.has_tensor_type() ? type.tensor_type().elem_type() : 0;
  const bool ids = elem == onnx::TensorProto::INT32 || elem == onnx::TensorProto::INT64;
  if (elem != onnx::TensorProto::FLOAT && !ids)
    return Unimplemented("graph input '" + input->name() + "' is neither a float tensor nor int32 / int64 token ids");
  std::vector<std::int64_t> dims;
  const auto& shape = type.tensor_type().shape();
  for (int i = 0; i < shape.dim_size(); ++i) {
    const auto& d = shape.dim(i);
    if (i == 0) {
      batch_ = d.has_dim_value() ? d.dim_value() : -1;
      continue;
    }
    if (!d.has_dim_value() || d.dim_value() < 1)
      return Unimplemented("graph input '" + input->name() + "': dimension " + std::to_string(i) +
                           " is not a fixed positive size (only the batch dimension may be symbolic)");
    dims.push_back(d.dim_value());
  }
  if (ids ? dims.size() != 1 : dims.empty() || dims.size() > 3)
    return Unimplemented("graph input '" + input->name() + "': rank " + std::to_string(dims.size() + 1) +
                         " (imported: float [N, C, H, W] images, [N, F] vectors, [N, T, F] sequences, "
                         "[N, T] token ids)");
  // Every size the walk derives (windows, flattened widths) starts here:
  // bounded, so that their arithmetic cannot overflow.
  auto elements = CheckedProduct(dims, kMaxTensorElements, "graph input '" + input->name() + "'");
  if (!elements.ok()) return elements.status();
  m().input_type = ids ? SampleType::kInt32 : SampleType::kFloat32;
  m().input_shape = dims.size() == 3 ? std::vector<std::int64_t>{dims[1], dims[2], dims[0]} : dims;
  names_.insert(input->name());
  const int in = m().AddNode(input->name(), InputOp{}, {});
  imp_.values[input->name()] = {in, dims, {}};

  // The input preprocessing the ONNX model expects, relative to qualm's pixel / 255.
  const float factor = imp_.options.input_scale * 255.0f;
  if (factor == 1.0f && imp_.options.input_offset == 0.0f) return Status::Ok();
  if (dims.size() != 3 || ids) return Unimplemented("input_scale / input_offset apply to image inputs only");
  if (!std::isfinite(factor) || factor == 0.0f || !std::isfinite(imp_.options.input_offset))
    return InvalidArgument("input_scale must be finite and non-zero, input_offset finite");
  Conv2dOp c;
  c.out_channels = static_cast<int>(dims[0]);
  c.groups = c.out_channels;
  const int pre = m().AddNode("onnx.input_preprocess", c, {in});
  names_.insert("onnx.input_preprocess");
  auto& node = m().nodes[static_cast<std::size_t>(pre)];
  node.params = {{"weight", MakeF32({dims[0], 1, 1, 1}, std::vector<float>(static_cast<std::size_t>(dims[0]), factor)), true},
                 {"bias", MakeF32({dims[0]}, std::vector<float>(static_cast<std::size_t>(dims[0]), imp_.options.input_offset)), true}};
  imp_.values[input->name()] = {pre, dims, {}};
  return Status::Ok();
}

Status Walk::Conv(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"}));
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  if (x.dims.size() != 3) return Decline(n, "input " + DimsString(x.dims) + " is not an NCHW image");
  QUALM_ASSIGN_OR_RETURN(auto w, RequireConst(n, 1, "the weight"));
  const auto& wd = w.value.dims;
  if (wd.size() != 4) return Decline(n, "weight " + DimsString(wd) + " is not OIHW (only 2-D convolutions)");
  QUALM_ASSIGN_OR_RETURN(auto win, ReadWindow(n, x.dims, {wd[2], wd[3]}));
  if (win.kh != wd[2] || win.kw != wd[3]) return Bad(n, "kernel_shape does not match the weight " + DimsString(wd));
  const std::int64_t g = AttrInt(n, "group", 1);
  if (g < 1 || g > x.dims[0] || x.dims[0] % g != 0 || wd[0] % g != 0 || wd[1] * g != x.dims[0])
    return Bad(n, "group " + std::to_string(g) + " does not fit input channels " + std::to_string(x.dims[0]) +
                      " and weight " + DimsString(wd));
  if (w.quantized && w.scale.size() > 1 && w.axis != 0)
    return Decline(n, "per-channel weight scales along axis " + std::to_string(w.axis) + " (qualm: output channels, axis 0)");
  Conv2dOp c;
  c.out_channels = static_cast<int>(wd[0]);
  c.kernel_h = win.kh;
  c.kernel_w = win.kw;
  c.stride_h = win.sh;
  c.stride_w = win.sw;
  c.dilation_h = win.dh;
  c.dilation_w = win.dw;
  c.pad_top = win.top;
  c.pad_left = win.left;
  c.pad_bottom = win.bottom;
  c.pad_right = win.right;
  c.groups = static_cast<int>(g);
  const ImportedConst* b = Const(n, 2);
  if (n.input_size() > 2 && !n.input(2).empty() && !b) return Decline(n, "the bias must be a constant initializer");
  if (b && b->value.size() != wd[0]) return Bad(n, "bias has " + std::to_string(b->value.size()) + " values, expects " + std::to_string(wd[0]));
  c.has_bias = b != nullptr;
  const int id = AddNode(n, c, {x.node});
  auto perm = [&](auto v) { return ToChannelsLast(v, wd[0], wd[1], wd[2], wd[3]); };
  ImportedConst wq = w;
  wq.value.f = perm(w.value.f);
  if (w.quantized) wq.q.ints = perm(w.q.ints);
  wq.value.dims = wq.q.dims = {wd[0], wd[2], wd[3], wd[1]};
  auto& node = m().nodes[static_cast<std::size_t>(id)];
  node.params.push_back({"weight", MakeF32(wq.value.dims, wq.value.f), true});
  imp_.weights[id] = std::move(wq);
  if (b) {
    node.params.push_back({"bias", MakeF32({wd[0]}, b->value.f), true});
    imp_.biases[id] = *b;
  }
  const auto out_dim = [](std::int64_t in, int k, int s, int d, int p0, int p1) {
    return (in + p0 + p1 - (static_cast<std::int64_t>(d) * (k - 1) + 1)) / s + 1;
  };
  const std::int64_t oh = out_dim(x.dims[1], win.kh, win.sh, win.dh, win.top, win.bottom);
  const std::int64_t ow = out_dim(x.dims[2], win.kw, win.sw, win.dw, win.left, win.right);
  if (oh < 1 || ow < 1) return Bad(n, "the kernel is larger than the padded input " + DimsString(x.dims));
  SetOut(n, {id, {wd[0], oh, ow}, {}});
  return Status::Ok();
}

Status Walk::Dense(const onnx::NodeProto& n, bool gemm) {
  if (gemm) {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"alpha", "beta", "transA", "transB"}));
    if (AttrFloat(n, "alpha", 1.0f) != 1.0f || AttrFloat(n, "beta", 1.0f) != 1.0f)
      return Decline(n, "alpha and beta other than 1 are not supported");
    if (AttrInt(n, "transA", 0) != 0) return Decline(n, "transA=1 is not supported");
  } else {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
  }
  QUALM_ASSIGN_OR_RETURN(auto a, Value(n, 0));
  if (a.dims.size() != 1)
    return Decline(n, "input " + DimsString(a.dims) + " is not [N, F] (Flatten or Reshape it first)");
  QUALM_ASSIGN_OR_RETURN(auto w, RequireConst(n, 1, "the weight"));
  if (w.value.dims.size() != 2) return Decline(n, "weight " + DimsString(w.value.dims) + " is not 2-D");
  const bool trans_b = gemm && AttrInt(n, "transB", 0) != 0;
  const std::int64_t out = trans_b ? w.value.dims[0] : w.value.dims[1];
  const std::int64_t in = trans_b ? w.value.dims[1] : w.value.dims[0];
  if (in != a.dims[0]) return Bad(n, "weight " + DimsString(w.value.dims) + " does not fit input features " + std::to_string(a.dims[0]));
  if (w.quantized && w.scale.size() > 1 && w.axis != (trans_b ? 0 : 1))
    return Decline(n, "per-channel weight scales must run along the output features");
  const ImportedConst* b = gemm ? Const(n, 2) : nullptr;
  if (gemm && n.input_size() > 2 && !n.input(2).empty() && !b) return Decline(n, "the bias C must be a constant initializer");
  if (b && b->value.size() != out) return Decline(n, "bias C must hold one value per output (no other broadcasting)");
  DenseOp d;
  d.out_features = static_cast<int>(out);
  d.has_bias = b != nullptr;
  const int id = AddNode(n, d, {a.node});
  // To qualm's [out][in] with the input columns in qualm's flatten order.
  const bool permute = a.chw.size() == 3 && a.chw[1] * a.chw[2] > 1;
  auto perm = [&](auto v) {
    if (!trans_b) v = Transpose2d(v, in, out);
    return permute ? DenseColumnsToHwc(v, out, a.chw[0], a.chw[1], a.chw[2]) : v;
  };
  ImportedConst wq = w;
  wq.value.f = perm(w.value.f);
  if (w.quantized) wq.q.ints = perm(w.q.ints);
  wq.value.dims = wq.q.dims = {out, in};
  wq.axis = 0;
  auto& node = m().nodes[static_cast<std::size_t>(id)];
  node.params.push_back({"weight", MakeF32({out, in}, wq.value.f), true});
  imp_.weights[id] = std::move(wq);
  if (b) {
    node.params.push_back({"bias", MakeF32({out}, b->value.f), true});
    imp_.biases[id] = *b;
  }
  SetOut(n, {id, {out}, {}});
  return Status::Ok();
}

Status Walk::Pool(const onnx::NodeProto& n) {
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  if (x.dims.size() != 3) return Decline(n, "input " + DimsString(x.dims) + " is not an NCHW image");
  if (n.op_type() == "GlobalAveragePool") {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
    const int id = AddNode(n, GlobalAvgPoolOp{}, {x.node});
    SetOut(n, {id, {x.dims[0], 1, 1}, {}});
    return Status::Ok();
  }
  const bool max = n.op_type() == "MaxPool";
  if (max) {
    QUALM_RETURN_IF_ERROR(
        CheckAttributes(n, {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "dilations", "storage_order"}));
    if (n.output_size() > 1 && !n.output(1).empty()) return Decline(n, "the Indices output is not supported");
  } else {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "count_include_pad"}));
  }
  if (!FindAttr(n, "kernel_shape")) return Bad(n, "kernel_shape is required");
  if (AttrInt(n, "ceil_mode", 0) != 0) return Decline(n, "ceil_mode=1 is not supported (qualm pools round down)");
  QUALM_ASSIGN_OR_RETURN(auto win, ReadWindow(n, x.dims, {}));
  if (win.dh != 1 || win.dw != 1) return Decline(n, "dilated pooling is not supported");
  const std::int64_t oh = (x.dims[1] + win.top + win.bottom - win.kh) / win.sh + 1;
  const std::int64_t ow = (x.dims[2] + win.left + win.right - win.kw) / win.sw + 1;
  if (oh < 1 || ow < 1) return Bad(n, "the window is larger than the padded input " + DimsString(x.dims));
  int id = 0;
  if (max) {
    MaxPoolOp p;
    p.kernel_h = win.kh, p.kernel_w = win.kw, p.stride_h = win.sh, p.stride_w = win.sw;
    p.pad_top = win.top, p.pad_left = win.left, p.pad_bottom = win.bottom, p.pad_right = win.right;
    id = AddNode(n, p, {x.node});
  } else {
    AvgPoolOp p;
    p.kernel_h = win.kh, p.kernel_w = win.kw, p.stride_h = win.sh, p.stride_w = win.sw;
    p.pad_top = win.top, p.pad_left = win.left, p.pad_bottom = win.bottom, p.pad_right = win.right;
    p.count_include_pad = AttrInt(n, "count_include_pad", 0) != 0;
    id = AddNode(n, p, {x.node});
  }
  SetOut(n, {id, {x.dims[0], oh, ow}, {}});
  return Status::Ok();
}

Status Walk::Add(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
  if (n.input_size() != 2) return Bad(n, "expects two inputs");
  const ImportedConst* c0 = Const(n, 0);
  const ImportedConst* c1 = Const(n, 1);
  if (c0 || c1) {
    // MatMul + Add(bias): the bias of the dense node that produced the other input.
    const ImportedConst* c = c0 ? c0 : c1;
    QUALM_ASSIGN_OR_RETURN(auto x, Value(n, c0 ? 1 : 0));
    Node& producer = m().nodes[static_cast<std::size_t>(x.node)];
    auto* d = std::get_if<DenseOp>(&producer.op);
    if (!d || d->has_bias || x.node + 1 != static_cast<int>(m().nodes.size()) || imp_.uses[n.input(c0 ? 1 : 0)] != 1 ||
        c->value.size() != d->out_features)
      return Decline(n, "adding a constant is supported only as the bias of the MatMul right before it");
    d->has_bias = true;
    producer.params.push_back({"bias", MakeF32({c->value.size()}, c->value.f), true});
    imp_.biases[x.node] = *c;
    SetOut(n, x);
    return Status::Ok();
  }
  QUALM_ASSIGN_OR_RETURN(auto a, Value(n, 0));
  QUALM_ASSIGN_OR_RETURN(auto b, Value(n, 1));
  if (a.dims != b.dims || a.chw != b.chw)
    return Decline(n, "inputs " + DimsString(a.dims) + " and " + DimsString(b.dims) + " differ (no broadcasting)");
  const int id = AddNode(n, AddOp{}, {a.node, b.node});
  SetOut(n, {id, a.dims, a.chw});
  return Status::Ok();
}

Status Walk::BatchNorm(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"epsilon", "momentum", "training_mode", "spatial"}));
  if (AttrInt(n, "training_mode", 0) != 0) return Decline(n, "training_mode=1 is not supported");
  if (AttrInt(n, "spatial", 1) != 1) return Decline(n, "spatial=0 is not supported");
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty()) return Decline(n, "the running statistics outputs are not supported");
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  if (x.dims.empty()) return Decline(n, "the input has no channel dimension");
  const std::int64_t c = x.dims[0];
  BatchNormOp op;
  op.epsilon = AttrFloat(n, "epsilon", 1e-5f);
  std::vector<Param> params;
  const char* names[] = {"gamma", "beta", "running_mean", "running_var"};
  for (int i = 0; i < 4; ++i) {
    QUALM_ASSIGN_OR_RETURN(auto t, RequireConst(n, i + 1, names[i]));
    if (t.value.size() != c) return Bad(n, std::string(names[i]) + " does not hold one value per channel");
    params.push_back({names[i], MakeF32({c}, t.value.f), i < 2});
  }
  if (x.dims.size() == 1 && !x.chw.empty())
    return Decline(n, "batch normalization of a flattened image is not supported");
  const int id = AddNode(n, op, {x.node});
  m().nodes[static_cast<std::size_t>(id)].params = std::move(params);
  SetOut(n, {id, x.dims, x.chw});
  return Status::Ok();
}

Status Walk::Clip(const onnx::NodeProto& n) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset_ < 11) {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"min", "max"}));
    lo = AttrFloat(n, "min", lo);
    hi = AttrFloat(n, "max", hi);
  } else {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
    for (int i = 1; i < 3 && i < n.input_size(); ++i) {
      if (n.input(i).empty()) continue;
      const ImportedConst* c = Const(n, i);
      if (!c || c->value.size() != 1) return Decline(n, "min / max must be constant scalars");
      (i == 1 ? lo : hi) = c->value.f[0];
    }
  }
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  ReluOp r;
  if (lo == 0.0f && hi == 6.0f)
    r.relu6 = true;
  else if (!(lo == 0.0f && std::isinf(hi) && hi > 0))
    return Decline(n, "only Clip(0, 6) (ReLU6) and Clip(0, inf) (ReLU) are supported");
  const int id = AddNode(n, r, {x.node});
  SetOut(n, {id, x.dims, x.chw});
  return Status::Ok();
}

Status Walk::Flatten(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"axis"}));
  if (AttrInt(n, "axis", 1) != 1) return Decline(n, "only axis=1 (keep the batch) is supported");
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  std::int64_t f = 1;
  for (auto d : x.dims) f *= d;
  // Only an image flattens in a different order in qualm ((h, w, c)); the
  // importer permutes the consuming Gemm's columns for it (ImportedValue::chw).
  SetOut(n, {x.node, {f}, x.dims.size() == 3 ? x.dims : x.chw});
  return Status::Ok();
}

Status Walk::Reshape(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"allowzero"}));
  if (AttrInt(n, "allowzero", 0) != 0) return Decline(n, "allowzero=1 is not supported");
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  QUALM_ASSIGN_OR_RETURN(auto shape, RequireConst(n, 1, "the shape"));
  std::int64_t f = 1;
  for (auto d : x.dims) f *= d;
  const auto& s = shape.value.ints;
  const bool first_ok = s.size() == 2 && (s[0] == -1 || s[0] == 0 || (batch_ > 0 && s[0] == batch_));
  if (!first_ok || !(s[1] == f || (s[1] == -1 && s[0] != -1)))
    return Decline(n, "only a reshape to [N, " + std::to_string(f) + "] (a flatten) is supported, got " + DimsString(s));
  if (x.dims.size() == 1)
    SetOut(n, x);
  else
    SetOut(n, {x.node, {f}, x.dims});
  return Status::Ok();
}

// Ops that are the identity at inference, and the final Softmax.
Status Walk::Alias(const onnx::NodeProto& n) {
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  if (n.op_type() == "Softmax" || n.op_type() == "LogSoftmax") {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"axis"}));
    const std::int64_t axis = AttrInt(n, "axis", opset_ >= 13 ? -1 : 1);
    if (x.dims.size() != 1 || (axis != 1 && axis != -1))
      return Decline(n, "softmax is supported only over the classes of a [N, classes] value");
    if (n.output(0) != imp_.graph_output)
      return Decline(n, "softmax is supported only as the last op (qualm's models output logits)");
  } else if (n.op_type() == "Dropout") {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"seed", "ratio", "is_test"}));
    if (n.output_size() > 1 && !n.output(1).empty()) return Decline(n, "the mask output is not supported");
  } else {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
  }
  SetOut(n, x);
  return Status::Ok();
}

Status Walk::Squeeze(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"axes"}));
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  std::vector<std::int64_t> axes = AttrInts(n, "axes", {});
  if (const ImportedConst* c = Const(n, 1)) axes = c->value.ints;
  const auto rank = static_cast<std::int64_t>(x.dims.size()) + 1;
  std::vector<bool> drop(x.dims.size(), false);
  for (auto a : axes) {
    if (a < 0) a += rank;
    if (a < 1 || a >= rank || x.dims[static_cast<std::size_t>(a - 1)] != 1)
      return Decline(n, "only size-1 axes after the batch axis can be squeezed");
    drop[static_cast<std::size_t>(a - 1)] = true;
  }
  ImportedValue y{x.node, {}, x.chw};
  for (std::size_t i = 0; i < x.dims.size(); ++i)
    if (!drop[i] && !(axes.empty() && x.dims[i] == 1)) y.dims.push_back(x.dims[i]);
  if (x.dims.size() == 3 && y.dims.size() != 3 && x.dims[1] * x.dims[2] != 1)
    return Decline(n, "squeezing an image to a lower rank is not supported");
  // Every value keeps at least one dimension per sample ([N, F]); the ops
  // after it index dims[0] (fuzz_onnx: a BatchNormalization after a Squeeze to [N]).
  if (y.dims.empty()) return Decline(n, "squeezing every dimension after the batch is not supported");
  SetOut(n, y);
  return Status::Ok();
}

// Gather(table, ids, axis 0) after the token-id input: qualm's embedding.
Status Walk::Gather(const onnx::NodeProto& n) {
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"axis"}));
  if (AttrInt(n, "axis", 0) != 0) return Decline(n, "only axis=0 (a table lookup) is supported");
  QUALM_ASSIGN_OR_RETURN(auto table, RequireConst(n, 0, "the table"));
  QUALM_ASSIGN_OR_RETURN(auto ids, Value(n, 1));
  if (table.value.dims.size() != 2 || !table.value.is_float()) return Decline(n, "the table must be a float [vocab, dim] tensor");
  if (ids.node != 0 || m().input_type != SampleType::kInt32)
    return Decline(n, "only a lookup of the graph's token-id input is supported");
  EmbeddingOp e;
  e.vocab = static_cast<int>(table.value.dims[0]);
  e.dim = static_cast<int>(table.value.dims[1]);
  const int id = AddNode(n, e, {ids.node});
  m().nodes[static_cast<std::size_t>(id)].params.push_back({"table", MakeF32(table.value.dims, table.value.f), true});
  SetOut(n, {id, {ids.dims[0], table.value.dims[1]}, {}});
  return Status::Ok();
}

// LSTM / GRU, forward, batch-major (layout = 1), default activations, zero
// initial state, the last hidden state Y_h as the only output used. Gate
// blocks: ONNX LSTM (i, o, f, c) -> qualm (i, f, g, o); the two biases (Wb,
// Rb) are summed into qualm's one (float: not bit-exact to ONNX, which adds
// them to the products separately). GRU: (z, r, h) in both, ONNX's
// linear_before_reset = 1 is qualm's GRU (PyTorch's form); biases b_x, b_h.
Status Walk::Recurrent(const onnx::NodeProto& n) {
  const bool lstm = n.op_type() == "LSTM";
  QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"hidden_size", "layout", "direction", "linear_before_reset"}));
  const std::int64_t h = AttrInt(n, "hidden_size", 0);
  if (h < 1) return Bad(n, "hidden_size is required");
  if (AttrInt(n, "layout", 0) != 1)
    return Decline(n, "only layout=1 (batch-major [N, T, I], opset 14) is supported; layout 0 needs Transposes "
                      "qualm does not import");
  if (AttrString(n, "direction", "forward") != "forward") return Decline(n, "only direction=forward is supported");
  if (!lstm && AttrInt(n, "linear_before_reset", 0) != 1)
    return Decline(n, "linear_before_reset=0 is not supported (qualm's GRU applies the reset after the recurrent "
                      "product, as PyTorch does)");
  for (int i = 4; i < n.input_size(); ++i)
    if (!n.input(i).empty())
      return Decline(n, "sequence_lens, initial states and peepholes are not supported (input " + std::to_string(i) + ")");
  if (n.output_size() < 2 || n.output(1).empty() || (!n.output(0).empty() && imp_.uses[n.output(0)] > 0) ||
      (n.output_size() > 2 && !n.output(2).empty() && imp_.uses[n.output(2)] > 0))
    return Decline(n, "only the last hidden state Y_h is supported as an output");
  QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
  if (x.dims.size() != 2) return Decline(n, "input " + DimsString(x.dims) + " is not [N, T, I]");
  const std::int64_t gates = lstm ? 4 : 3, in = x.dims[1];
  // hidden_size is a file's number: the weights it implies must be a tensor
  // qualm can hold before any product below is formed.
  const auto weights = CheckedProduct({2, gates, h, std::max(in, h)}, kMaxTensorElements, "hidden_size " + std::to_string(h) + ": weights");
  if (!weights.ok()) return Bad(n, weights.status().message());
  QUALM_ASSIGN_OR_RETURN(auto w, RequireConst(n, 1, "W"));
  QUALM_ASSIGN_OR_RETURN(auto r, RequireConst(n, 2, "R"));
  if (w.value.dims != std::vector<std::int64_t>{1, gates * h, in} || r.value.dims != std::vector<std::int64_t>{1, gates * h, h})
    return Bad(n, "W " + DimsString(w.value.dims) + " / R " + DimsString(r.value.dims) + " do not fit hidden_size " +
                      std::to_string(h) + " and input " + std::to_string(in));
  std::vector<float> b(static_cast<std::size_t>(2 * gates * h), 0.0f);
  if (const ImportedConst* bc = Const(n, 3)) {
    if (bc->value.size() != 2 * gates * h) return Bad(n, "B does not hold 2 * gates * hidden_size values");
    b = bc->value.f;
  } else if (n.input_size() > 3 && !n.input(3).empty()) {
    return Decline(n, "B must be a constant initializer");
  }
  // qualm block k holds ONNX block src[k].
  const std::vector<int> src = lstm ? std::vector<int>{0, 2, 3, 1} : std::vector<int>{0, 1, 2};
  auto blocks = [&](const std::vector<float>& v, std::int64_t cols, std::int64_t offset) {
    std::vector<float> out(static_cast<std::size_t>(gates * h * cols));
    for (std::int64_t k = 0; k < gates; ++k)
      std::copy(v.begin() + offset + src[static_cast<std::size_t>(k)] * h * cols,
                v.begin() + offset + (src[static_cast<std::size_t>(k)] + 1) * h * cols, out.begin() + k * h * cols);
    return out;
  };
  std::vector<Param> params = {{"w_x", MakeF32({gates * h, in}, blocks(w.value.f, in, 0)), true},
                               {"w_h", MakeF32({gates * h, h}, blocks(r.value.f, h, 0)), true}};
  const auto bx = blocks(b, 1, 0), bh = blocks(b, 1, gates * h);
  int id = 0;
  if (lstm) {
    std::vector<float> sum(bx.size());
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = bx[i] + bh[i];
    params.push_back({"bias", MakeF32({gates * h}, sum), true});
    LstmOp op;
    op.hidden = static_cast<int>(h);
    id = AddNode(n, op, {x.node});
  } else {
    params.push_back({"b_x", MakeF32({gates * h}, bx), true});
    params.push_back({"b_h", MakeF32({gates * h}, bh), true});
    GruOp op;
    op.hidden = static_cast<int>(h);
    id = AddNode(n, op, {x.node});
  }
  m().nodes[static_cast<std::size_t>(id)].params = std::move(params);
  imp_.values[n.output(1)] = {id, {1, h}, {}};  // Y_h: [N, num_directions = 1, H] with layout 1
  return Status::Ok();
}

Status Walk::Dispatch(const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return Decline(n, "operator domain '" + n.domain() + "' is not supported");
  if (n.output_size() < 1) return Bad(n, "has no output");
  const std::string& op = n.op_type();
  if (op == "Constant") {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {"value"}));
    const auto* a = FindAttr(n, "value");
    if (!a || a->type() != onnx::AttributeProto::TENSOR) return Decline(n, "only a tensor 'value' is supported");
    QUALM_ASSIGN_OR_RETURN(auto t, ReadTensor(a->t()));
    imp_.consts[n.output(0)].value = std::move(t);
    return Status::Ok();
  }
  if (op == "QuantizeLinear") return ImportQuantizeLinear(imp_, n);
  if (op == "DequantizeLinear") return ImportDequantizeLinear(imp_, n);
  if (op == "Conv") return Conv(n);
  if (op == "Gemm") return Dense(n, true);
  if (op == "MatMul") return Dense(n, false);
  if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return Pool(n);
  if (op == "Add") return Add(n);
  if (op == "BatchNormalization") return BatchNorm(n);
  if (op == "Clip") return Clip(n);
  if (op == "Flatten") return Flatten(n);
  if (op == "Reshape") return Reshape(n);
  if (op == "Softmax" || op == "LogSoftmax" || op == "Dropout" || op == "Identity") return Alias(n);
  if (op == "Relu") {
    QUALM_RETURN_IF_ERROR(CheckAttributes(n, {}));
    QUALM_ASSIGN_OR_RETURN(auto x, Value(n, 0));
    const int id = AddNode(n, ReluOp{}, {x.node});
    SetOut(n, {id, x.dims, x.chw});
    return Status::Ok();
  }
  if (op == "LSTM" || op == "GRU") return Recurrent(n);
  if (op == "Gather") return Gather(n);
  if (op == "Squeeze") return Squeeze(n);
  return Decline(n, "op is not supported by the ONNX importer (docs/onnx.md lists the supported ops)");
}

Status Walk::Run() {
  const auto& g = imp_.proto.graph();
  for (const auto& o : imp_.proto.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = static_cast<int>(o.version());
  if (opset_ < 7) return Unimplemented("default-domain opset " + std::to_string(opset_) + " is older than 7");
  if (g.output_size() != 1) return Unimplemented("graph has " + std::to_string(g.output_size()) + " outputs (one is supported)");
  imp_.graph_output = g.output(0).name();
  for (const auto& t : g.initializer()) {
    auto c = ReadTensor(t);
    if (!c.ok()) return c.status();
    imp_.consts[t.name()].value = std::move(c).value();
  }
  for (const auto& n : g.node())
    for (const auto& i : n.input()) ++imp_.uses[i];
  QUALM_RETURN_IF_ERROR(Input());
  for (const auto& n : g.node()) QUALM_RETURN_IF_ERROR(Dispatch(n));
  auto out = imp_.values.find(imp_.graph_output);
  if (out == imp_.values.end()) return Unimplemented("graph output '" + imp_.graph_output + "' is not an activation");
  if (out->second.node + 1 != static_cast<int>(m().nodes.size()))
    return Unimplemented("graph output '" + imp_.graph_output + "' is not produced by the last op (dead branches?)");
  if (out->second.dims.size() != 1)
    return Unimplemented("graph output " + DimsString(out->second.dims) + " is not [N, classes]");
  m().num_classes = static_cast<int>(out->second.dims[0]);
  return Status::Ok();
}

}  // namespace

Result<Model> Import(const onnx::ModelProto& proto, const std::string& file, const OnnxImportOptions& options) {
  Importer imp(proto, options, file);
  imp.model.arch = options.arch;
  Walk walk(imp);
  QUALM_RETURN_IF_ERROR(walk.Run().WithContext(file));
  Model& m = imp.model;
  m.metadata["onnx.producer"] = proto.producer_name() + " " + proto.producer_version();
  for (const auto& p : proto.metadata_props())
    if (p.key().rfind(kMetaTextPrefix, 0) == 0) m.metadata[p.key()] = p.value();
  m.metadata["onnx.input_scale"] = std::to_string(options.input_scale);
  m.metadata["onnx.input_offset"] = std::to_string(options.input_offset);
  auto shapes = InferShapes(m);
  if (!shapes.ok()) return shapes.status().WithContext(file);
  if (imp.saw_qdq) {
    QUALM_RETURN_IF_ERROR(BuildQdqSpec(imp).WithContext(file));
    return std::move(imp.model);
  }
  if (options.fold_batch_norm) {
    auto lowered = LowerForInt8(m);
    if (!lowered.ok()) return lowered.status().WithContext(file);
    return std::move(lowered).value();
  }
  return std::move(imp.model);
}

}  // namespace onnx_io

Result<Model> ImportOnnxBytes(const std::string& bytes, const std::string& name_for_errors,
                              const OnnxImportOptions& options) {
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes))
    return InvalidArgument(name_for_errors + ": not an ONNX model (protobuf parse failed)");
  try {
    return onnx_io::Import(proto, name_for_errors, options);
  } catch (const std::exception& e) {  // protobuf or std::bad_alloc: never past the boundary
    return Internal(name_for_errors + ": " + e.what());
  }
}

Result<Model> ImportOnnx(const std::string& path, const OnnxImportOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return IoError(path + ": cannot open");
  std::ostringstream s;
  s << f.rdbuf();
  if (!f.good() && !f.eof()) return IoError(path + ": read failed");
  return ImportOnnxBytes(s.str(), path, options);
}

}  // namespace qualm::frontends

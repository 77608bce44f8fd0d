// tests/onnx/onnx_case.cpp: the protobuf side of the ONNX conformance loader.
#include "onnx_case.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "onnx/onnx_pb.h"

namespace qualm_onnx {
namespace fs = std::filesystem;

const char* ElemTypeName(ElemType t) {
  switch (t) {
    case ElemType::kFloat: return "float";
    case ElemType::kUint8: return "uint8";
    case ElemType::kInt8: return "int8";
    case ElemType::kInt32: return "int32";
    case ElemType::kInt64: return "int64";
  }
  return "?";
}

std::int64_t Tensor::size() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

std::string Tensor::ShapeString() const {
  std::ostringstream s;
  s << '[';
  for (std::size_t i = 0; i < dims.size(); ++i) s << (i ? ", " : "") << dims[i];
  s << "] " << ElemTypeName(type);
  return s.str();
}

std::int64_t Case::Int(const std::string& attr, std::int64_t fallback) const {
  auto it = attrs.find(attr);
  return it != attrs.end() && it->second.kind == Attribute::kInt ? it->second.i : fallback;
}
float Case::Float(const std::string& attr, float fallback) const {
  auto it = attrs.find(attr);
  return it != attrs.end() && it->second.kind == Attribute::kFloat ? it->second.f : fallback;
}
std::string Case::Str(const std::string& attr, const std::string& fallback) const {
  auto it = attrs.find(attr);
  return it != attrs.end() && it->second.kind == Attribute::kString ? it->second.s : fallback;
}
std::vector<std::int64_t> Case::Ints(const std::string& attr, const std::vector<std::int64_t>& fallback) const {
  auto it = attrs.find(attr);
  return it != attrs.end() && it->second.kind == Attribute::kInts ? it->second.ints : fallback;
}

std::string DataRoot() {
  if (const char* env = std::getenv("QUALM_ONNX_NODE_DATA"); env && *env) return env;
  return "/usr/share/libonnx-testdata/data/node";
}

std::vector<std::string> ListCases(const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(DataRoot(), ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && e.is_directory()) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

template <typename Proto>
bool ParseFile(const fs::path& path, Proto* proto, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path.string() + ": cannot open";
    return false;
  }
  if (!proto->ParseFromIstream(&in)) {
    *error = path.string() + ": not a valid " + proto->GetTypeName();
    return false;
  }
  return true;
}

template <typename T>
void ReadRaw(const std::string& raw, std::size_t count, std::vector<std::int64_t>* out) {
  out->resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));  // little-endian host (x86-64, arm64)
    (*out)[i] = v;
  }
}

bool ConvertTensor(const onnx::TensorProto& p, const std::string& where, Tensor* t, std::string* error) {
  t->name = p.name();
  t->dims.assign(p.dims().begin(), p.dims().end());
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    *error = where + ": external data is not supported";
    return false;
  }
  const std::int64_t n = t->size();
  const auto count = static_cast<std::size_t>(n);
  const bool raw = p.has_raw_data();
  std::size_t width = 0;
  switch (p.data_type()) {
    case onnx::TensorProto::FLOAT:
      t->type = ElemType::kFloat;
      width = 4;
      if (raw) {
        if (p.raw_data().size() != count * 4) break;
        t->f.resize(count);
        if (count) std::memcpy(t->f.data(), p.raw_data().data(), count * 4);
      } else {
        t->f.assign(p.float_data().begin(), p.float_data().end());
      }
      if (t->f.size() != count) break;
      return true;
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64: {
      const int dt = p.data_type();
      t->type = static_cast<ElemType>(dt);
      width = dt == onnx::TensorProto::INT64 ? 8 : dt == onnx::TensorProto::INT32 ? 4 : 1;
      if (raw) {
        if (p.raw_data().size() != count * width) break;
        if (dt == onnx::TensorProto::UINT8) ReadRaw<std::uint8_t>(p.raw_data(), count, &t->ints);
        if (dt == onnx::TensorProto::INT8) ReadRaw<std::int8_t>(p.raw_data(), count, &t->ints);
        if (dt == onnx::TensorProto::INT32) ReadRaw<std::int32_t>(p.raw_data(), count, &t->ints);
        if (dt == onnx::TensorProto::INT64) ReadRaw<std::int64_t>(p.raw_data(), count, &t->ints);
      } else if (dt == onnx::TensorProto::INT64) {
        t->ints.assign(p.int64_data().begin(), p.int64_data().end());
      } else {
        // int32_data carries int8/uint8/int32 values, one per entry.
        t->ints.assign(p.int32_data().begin(), p.int32_data().end());
      }
      if (t->ints.size() != count) break;
      return true;
    }
    default:
      *error = where + ": data type " + std::to_string(p.data_type()) + " is not supported by the loader";
      return false;
  }
  *error = where + ": element count does not match the shape " + t->ShapeString() +
           (raw ? " (raw_data of " + std::to_string(p.raw_data().size()) + " bytes, element width " +
                      std::to_string(width) + ")"
                : "");
  return false;
}

}  // namespace

std::optional<Case> LoadCase(const std::string& name, std::string* error) {
  const fs::path dir = fs::path(DataRoot()) / name;
  onnx::ModelProto model;
  if (!ParseFile(dir / "model.onnx", &model, error)) return std::nullopt;
  const onnx::GraphProto& g = model.graph();
  Case c;
  c.name = name;
  c.node_count = g.node_size();
  for (const auto& op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") c.opset = static_cast<int>(op.version());
  if (g.node_size() < 1) {
    *error = name + ": model has no node";
    return std::nullopt;
  }
  // Multi-node graphs (the *_expanded cases) are loaded for their first node's
  // identity only; the tests decline them via node_count.
  const onnx::NodeProto& node = g.node(0);
  c.op_type = node.op_type();
  for (const auto& a : node.attribute()) {
    Attribute at;
    switch (a.type()) {
      case onnx::AttributeProto::INT: at.kind = Attribute::kInt, at.i = a.i(); break;
      case onnx::AttributeProto::FLOAT: at.kind = Attribute::kFloat, at.f = a.f(); break;
      case onnx::AttributeProto::STRING: at.kind = Attribute::kString, at.s = a.s(); break;
      case onnx::AttributeProto::INTS: at.kind = Attribute::kInts, at.ints.assign(a.ints().begin(), a.ints().end()); break;
      case onnx::AttributeProto::FLOATS:
        at.kind = Attribute::kFloats, at.floats.assign(a.floats().begin(), a.floats().end());
        break;
      default: at.kind = Attribute::kOther; break;
    }
    c.attrs[a.name()] = at;
  }
  if (c.node_count != 1) return c;

  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& t : g.initializer()) initializers[t.name()] = &t;
  std::vector<std::string> graph_inputs, graph_outputs;
  for (const auto& vi : g.input())
    if (!initializers.count(vi.name())) graph_inputs.push_back(vi.name());
  for (const auto& vi : g.output()) graph_outputs.push_back(vi.name());

  const fs::path data = dir / "test_data_set_0";
  auto read_pb = [&](const std::string& file, Tensor* t) {
    onnx::TensorProto p;
    if (!ParseFile(data / file, &p, error)) return false;
    return ConvertTensor(p, name + "/" + file, t, error);
  };
  for (const auto& in : node.input()) {
    c.inputs.emplace_back();
    if (in.empty()) continue;
    Tensor t;
    if (auto it = initializers.find(in); it != initializers.end()) {
      if (!ConvertTensor(*it->second, name + ": initializer " + in, &t, error)) return std::nullopt;
    } else {
      auto pos = std::find(graph_inputs.begin(), graph_inputs.end(), in);
      if (pos == graph_inputs.end()) {
        *error = name + ": node input '" + in + "' is neither a graph input nor an initializer";
        return std::nullopt;
      }
      if (!read_pb("input_" + std::to_string(pos - graph_inputs.begin()) + ".pb", &t)) return std::nullopt;
    }
    c.inputs.back() = std::move(t);
  }
  for (const auto& out : node.output()) {
    c.outputs.emplace_back();
    auto pos = std::find(graph_outputs.begin(), graph_outputs.end(), out);
    if (out.empty() || pos == graph_outputs.end()) continue;
    Tensor t;
    if (!read_pb("output_" + std::to_string(pos - graph_outputs.begin()) + ".pb", &t)) return std::nullopt;
    c.outputs.back() = std::move(t);
  }
  return c;
}

bool OnnxPads2d(const Case& c, int in_h, int in_w, int dilated_kh, int dilated_kw, int stride_h, int stride_w,
                Pads2d* out, std::string* why) {
  const std::string auto_pad = c.Str("auto_pad", "NOTSET");
  *out = {};
  if (auto_pad == "NOTSET") {
    const auto pads = c.Ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4) {
      *why = "pads has " + std::to_string(pads.size()) + " entries, not 4";
      return false;
    }
    *out = {static_cast<int>(pads[0]), static_cast<int>(pads[1]), static_cast<int>(pads[2]),
            static_cast<int>(pads[3])};
    return true;
  }
  if (auto_pad == "VALID") return true;
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") {
    *why = "auto_pad " + auto_pad + " is unknown";
    return false;
  }
  auto total = [](int in, int k, int s) {
    const int out_size = (in + s - 1) / s;  // ceil(in / s)
    return std::max(0, (out_size - 1) * s + k - in);
  };
  const int th = total(in_h, dilated_kh, stride_h), tw = total(in_w, dilated_kw, stride_w);
  const bool upper = auto_pad == "SAME_UPPER";
  out->top = upper ? th / 2 : th - th / 2;
  out->bottom = th - out->top;
  out->left = upper ? tw / 2 : tw - tw / 2;
  out->right = tw - out->left;
  return true;
}

std::string Coordinates(const std::vector<std::int64_t>& dims, std::int64_t i) {
  std::vector<std::int64_t> idx(dims.size());
  for (std::size_t k = dims.size(); k-- > 0;) {
    idx[k] = dims[k] ? i % dims[k] : 0;
    i = dims[k] ? i / dims[k] : 0;
  }
  std::ostringstream s;
  s << '[';
  for (std::size_t k = 0; k < idx.size(); ++k) s << (k ? ", " : "") << idx[k];
  s << ']';
  return s.str();
}

std::string CompareFloat(const std::string& what, const std::vector<float>& got, const Tensor& want, double atol,
                         double rtol) {
  if (!want.is_float()) return what + ": expected output is " + want.ShapeString() + ", not float";
  if (got.size() != want.f.size())
    return what + ": got " + std::to_string(got.size()) + " elements, expected " + want.ShapeString();
  std::int64_t bad = 0, first = -1;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want.f[i]);
    const double tol = atol + rtol * std::fabs(static_cast<double>(want.f[i]));
    if (!(err <= tol)) {
      if (bad++ == 0) first = static_cast<std::int64_t>(i);
      if (err == err) worst = std::max(worst, err);
    }
  }
  if (bad == 0) return "";
  std::ostringstream s;
  s.precision(9);
  s << what << ": " << bad << " of " << got.size() << " elements outside |got - want| <= " << atol << " + " << rtol
    << " |want|; first at index " << first << " " << Coordinates(want.dims, first) << ": got " << got[first]
    << " want " << want.f[first] << "; worst |error| " << worst;
  return s.str();
}

std::string CompareExact(const std::string& what, const std::vector<std::int64_t>& got, const Tensor& want) {
  if (want.is_float()) return what + ": expected output is float, not an integer type";
  if (got.size() != want.ints.size())
    return what + ": got " + std::to_string(got.size()) + " elements, expected " + want.ShapeString();
  std::int64_t bad = 0, first = -1;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want.ints[i] && bad++ == 0) first = static_cast<std::int64_t>(i);
  if (bad == 0) return "";
  std::ostringstream s;
  s << what << ": " << bad << " of " << got.size() << " elements differ (exact match required); first at index "
    << first << " " << Coordinates(want.dims, first) << ": got " << got[first] << " want " << want.ints[first];
  return s.str();
}

}  // namespace qualm_onnx

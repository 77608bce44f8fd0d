// The "quant" object of the version-2 header: QuantSpec <-> JSON, plus the
// rules a stored QuantSpec obeys. Layout documented in
// qualm/frontends/model_file.h.
//
// Decoding checks the JSON shape (keys, types) while parsing and the values
// (scales, zero points, exponents, dtypes) in ValidateQuantSpec, the same
// function SaveModel runs before writing: the writer and the reader agree on
// what a valid record is.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "model_file_internal.h"
#include "qualm/frontends/model_file.h"

namespace qualm::frontends::model_file {

namespace {

// Cell scale 2^e of the int8 LSTM: any exponent of a normal float is stored;
// the kernel's Prepare checks the narrower range it supports.
constexpr int kMinCellExponent = -31;
constexpr int kMaxCellExponent = 31;
constexpr std::int64_t kInt32Min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

bool AllowedConstantDType(DType t) {
  return t == DType::kI8 || t == DType::kI32 || t == DType::kF32 || t == DType::kF16 || t == DType::kBF16;
}

std::string FloatText(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

std::string NodeWhere(const Model& model, std::size_t i) { return "quant: node '" + model.nodes[i].name + "'"; }

Status CheckNodeCount(QuantScheme scheme, std::size_t records, const Model& model) {
  if (scheme == QuantScheme::kFloat && records != 0)
    return InvalidArgument("quant: scheme 'float' has no per-node records, found " + std::to_string(records));
  if (scheme != QuantScheme::kFloat && records != model.nodes.size())
    return InvalidArgument("quant: 'nodes' has " + std::to_string(records) + " entries, the model has " +
                           std::to_string(model.nodes.size()) + " nodes (scheme '" + QuantSchemeName(scheme) +
                           "' needs one per node)");
  return Status::Ok();
}

// A string key of "quant" that must be one of a closed set of names.
Result<std::string> DecodeName(const Json& j, const char* key) {
  QUALM_ASSIGN_OR_RETURN(std::string s, DecodeString(j[key], std::string("quant: '") + key + "'"));
  if (s.find('\0') != std::string::npos)
    return InvalidArgument(std::string("quant: '") + key + "' holds a NUL byte");
  return s;
}

Result<NodeQuant> DecodeNode(const Json& n, const std::string& where, TensorReader& reader) {
  NodeQuant q;
  QUALM_RETURN_IF_ERROR(CheckKeys(n, {"output", "cell_exponent", "constants"}, {}, where));
  const Json& out = n["output"];
  if (!out.is_null()) {
    const std::string ow = where + ": output";
    QUALM_RETURN_IF_ERROR(CheckKeys(out, {"scale", "zero_point"}, {}, ow));
    q.has_output = true;
    QUALM_ASSIGN_OR_RETURN(q.output.scale, DecodeFloat(out["scale"], ow + ": 'scale'"));
    QUALM_ASSIGN_OR_RETURN(std::int64_t zp, GetInt(out, "zero_point", kInt32Min, kInt32Max, ow));
    q.output.zero_point = static_cast<std::int32_t>(zp);
  }
  QUALM_ASSIGN_OR_RETURN(std::int64_t e, GetInt(n, "cell_exponent", kInt32Min, kInt32Max, where));
  q.cell_exponent = static_cast<int>(e);
  const Json& cs = n["constants"];
  if (!cs.is_array()) return InvalidArgument(where + ": 'constants' must be an array");
  for (std::size_t k = 0; k < cs.size(); ++k) {
    const Json& c = cs[k];
    QUALM_RETURN_IF_ERROR(
        CheckKeys(c, {"name", "dtype", "shape", "offset", "bytes"}, {}, where + ": constant " + std::to_string(k)));
    QuantConstant qc;
    QUALM_ASSIGN_OR_RETURN(qc.name, DecodeString(c["name"], where + ": constant " + std::to_string(k) + ": 'name'"));
    const std::string cw = where + ": constant '" + qc.name + "'";
    // The dtype is checked before the bytes are read (ValidateQuantSpec repeats it).
    QUALM_ASSIGN_OR_RETURN(std::string dtype_name, DecodeString(c["dtype"], cw + ": 'dtype'"));
    auto dtype = DTypeFromName(dtype_name);
    if (dtype.ok() && !AllowedConstantDType(*dtype))
      return InvalidArgument(cw + ": dtype " + dtype_name + " is not allowed (i8, i32, f32, f16 or bf16)");
    QUALM_ASSIGN_OR_RETURN(qc.value, reader.Read(c, cw));
    q.constants.push_back(std::move(qc));
  }
  return q;
}

}  // namespace

Json EncodeQuant(const QuantSpec& quant, TensorTable& table) {
  Json j;
  j["scheme"] = QuantSchemeName(quant.scheme);
  j["mode"] = kernels::RequantModeName(quant.mode);
  Json info = Json::array();
  for (const auto& [k, v] : quant.info) info.push_back(Json::array({EncodeString(k), EncodeString(v)}));
  j["info"] = std::move(info);
  Json nodes = Json::array();
  for (const NodeQuant& q : quant.nodes) {
    Json n;
    n["output"] = q.has_output ? Json{{"scale", EncodeFloat(q.output.scale)}, {"zero_point", q.output.zero_point}}
                               : Json(nullptr);
    n["cell_exponent"] = q.cell_exponent;
    Json cs = Json::array();
    for (const QuantConstant& c : q.constants) {
      Json cj = table.Add(c.value);
      cj["name"] = EncodeString(c.name);
      cs.push_back(std::move(cj));
    }
    n["constants"] = std::move(cs);
    nodes.push_back(std::move(n));
  }
  j["nodes"] = std::move(nodes);
  return j;
}

Result<QuantSpec> DecodeQuant(const Json& j, const Model& model, TensorReader& reader) {
  QuantSpec q;
  QUALM_RETURN_IF_ERROR(CheckKeys(j, {"scheme", "mode", "info", "nodes"}, {}, "quant"));
  QUALM_ASSIGN_OR_RETURN(std::string scheme, DecodeName(j, "scheme"));
  auto parsed_scheme = ParseQuantScheme(scheme);
  if (!parsed_scheme.ok()) return parsed_scheme.status().WithContext("quant: 'scheme'");
  q.scheme = *parsed_scheme;
  QUALM_ASSIGN_OR_RETURN(std::string mode, DecodeName(j, "mode"));
  auto parsed_mode = kernels::ParseRequantMode(mode.c_str());
  if (!parsed_mode.ok()) return parsed_mode.status().WithContext("quant: 'mode'");
  q.mode = *parsed_mode;

  const Json& info = j["info"];
  if (!info.is_array()) return InvalidArgument("quant: 'info' must be an array of [key, value] pairs");
  for (const Json& kv : info) {
    if (!kv.is_array() || kv.size() != 2)
      return InvalidArgument("quant: 'info' must be an array of [key, value] pairs");
    QUALM_ASSIGN_OR_RETURN(std::string key, DecodeString(kv[0], "quant: info key"));
    QUALM_ASSIGN_OR_RETURN(std::string value, DecodeString(kv[1], "quant: info '" + key + "'"));
    if (!q.info.emplace(key, std::move(value)).second)
      return InvalidArgument("quant: duplicate info key '" + key + "'");
  }

  const Json& nodes = j["nodes"];
  if (!nodes.is_array()) return InvalidArgument("quant: 'nodes' must be an array");
  QUALM_RETURN_IF_ERROR(CheckNodeCount(q.scheme, nodes.size(), model));
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    QUALM_ASSIGN_OR_RETURN(NodeQuant nq, DecodeNode(nodes[i], NodeWhere(model, i), reader));
    q.nodes.push_back(std::move(nq));
  }
  QUALM_RETURN_IF_ERROR(ValidateQuantSpec(q, model));
  return q;
}

Status ValidateQuantSpec(const QuantSpec& quant, const Model& model) {
  if (std::strcmp(QuantSchemeName(quant.scheme), "unknown") == 0)
    return InvalidArgument("quant: unknown scheme (value " + std::to_string(static_cast<int>(quant.scheme)) + ")");
  if (std::strcmp(kernels::RequantModeName(quant.mode), "unknown") == 0)
    return InvalidArgument("quant: unknown requant mode (value " + std::to_string(static_cast<int>(quant.mode)) +
                           ")");
  QUALM_RETURN_IF_ERROR(CheckNodeCount(quant.scheme, quant.nodes.size(), model));
  for (std::size_t i = 0; i < quant.nodes.size(); ++i) {
    const NodeQuant& q = quant.nodes[i];
    const std::string where = NodeWhere(model, i);
    if (q.has_output) {
      const float s = q.output.scale;
      if (!(std::isfinite(s) && s > 0.0f))
        return InvalidArgument(where + ": output scale must be positive and finite, is " + FloatText(s));
      if (q.output.zero_point < -128 || q.output.zero_point > 127)
        return InvalidArgument(where + ": output zero_point " + std::to_string(q.output.zero_point) +
                               " is outside the int8 range [-128, 127]");
    }
    if (q.cell_exponent < kMinCellExponent || q.cell_exponent > kMaxCellExponent)
      return InvalidArgument(where + ": cell_exponent " + std::to_string(q.cell_exponent) + " is outside [" +
                             std::to_string(kMinCellExponent) + ", " + std::to_string(kMaxCellExponent) + "]");
    std::set<std::string> names;
    for (std::size_t k = 0; k < q.constants.size(); ++k) {
      const QuantConstant& c = q.constants[k];
      if (c.name.empty()) return InvalidArgument(where + ": constant " + std::to_string(k) + " has an empty name");
      const std::string cw = where + ": constant '" + c.name + "'";
      if (!names.insert(c.name).second) return InvalidArgument(where + ": duplicate constant '" + c.name + "'");
      if (!AllowedConstantDType(c.value.dtype()))
        return InvalidArgument(cw + ": dtype " + DTypeName(c.value.dtype()) +
                               " is not allowed (i8, i32, f32, f16 or bf16)");
      if (c.value.raw() == nullptr && c.value.bytes() > 0)
        return InvalidArgument(cw + ": " + c.value.shape().ToString() + " tensor has no data");
    }
  }
  return Status::Ok();
}

}  // namespace qualm::frontends::model_file

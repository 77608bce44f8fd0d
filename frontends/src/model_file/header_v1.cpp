// The version-1 JSON header: Model (graph, parameters, metadata) + trainer
// state <-> JSON. Layout documented in qualm/frontends/model_file.h. Version 2
// is this header plus a "quant" key (header_v2.cpp), so the version-2 code
// calls these functions with the same tensor table / reader.
#include <limits>

#include "model_file_internal.h"
#include "qualm/frontends/model_file.h"

namespace qualm::frontends::model_file {

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();

const char* SampleTypeName(SampleType t) { return t == SampleType::kInt32 ? "int32" : "float32"; }

Json EncodeSlots(const std::vector<std::vector<Tensor>>& slots, TensorTable& table) {
  Json out = Json::array();
  for (const auto& per_node : slots) {
    Json node = Json::array();
    for (const auto& t : per_node) node.push_back(t.raw() ? table.Add(t) : Json(nullptr));
    out.push_back(std::move(node));
  }
  return out;
}

Result<std::vector<std::vector<Tensor>>> DecodeSlots(const Json& j, const Model& model, TensorReader& reader,
                                                     const std::string& what) {
  std::vector<std::vector<Tensor>> slots;
  if (!j.is_array()) return InvalidArgument(what + " must be an array");
  if (j.empty()) return slots;
  if (j.size() != model.nodes.size())
    return InvalidArgument(what + " has " + std::to_string(j.size()) + " entries, the model has " +
                           std::to_string(model.nodes.size()) + " nodes");
  slots.resize(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const Node& node = model.nodes[i];
    const std::string where = what + ": node '" + node.name + "'";
    if (!j[i].is_array() || j[i].size() != node.params.size())
      return InvalidArgument(where + " must be an array of " + std::to_string(node.params.size()) + " entries");
    for (std::size_t k = 0; k < node.params.size(); ++k) {
      const Json& ref = j[i][k];
      const std::string pwhere = where + ": parameter '" + node.params[k].name + "'";
      if (ref.is_null()) {
        slots[i].emplace_back();
        continue;
      }
      QUALM_RETURN_IF_ERROR(CheckKeys(ref, {"dtype", "shape", "offset", "bytes"}, {}, pwhere));
      QUALM_ASSIGN_OR_RETURN(Tensor t, reader.Read(ref, pwhere));
      const Tensor& p = node.params[k].value;
      if (!(t.shape() == p.shape()) || t.dtype() != p.dtype())
        return InvalidArgument(pwhere + ": slot is " + DTypeName(t.dtype()) + " " + t.shape().ToString() +
                               ", the parameter is " + DTypeName(p.dtype()) + " " + p.shape().ToString());
      slots[i].push_back(std::move(t));
    }
  }
  return slots;
}

Status CheckSlotsFit(const Model& model, const std::vector<std::vector<Tensor>>& slots, const char* which) {
  if (slots.empty()) return Status::Ok();
  if (slots.size() != model.nodes.size())
    return InvalidArgument(std::string("trainer state ") + which + " has " + std::to_string(slots.size()) +
                           " entries, the model has " + std::to_string(model.nodes.size()) + " nodes");
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const Node& node = model.nodes[i];
    if (slots[i].size() != node.params.size())
      return InvalidArgument(std::string("trainer state ") + which + ": node '" + node.name + "' has " +
                             std::to_string(slots[i].size()) + " slots for " + std::to_string(node.params.size()) +
                             " parameters");
    for (std::size_t k = 0; k < slots[i].size(); ++k) {
      const Tensor& t = slots[i][k];
      const Tensor& p = node.params[k].value;
      if (t.raw() && (!(t.shape() == p.shape()) || t.dtype() != p.dtype()))
        return InvalidArgument(std::string("trainer state ") + which + ": node '" + node.name + "': parameter '" +
                               node.params[k].name + "': slot is " + DTypeName(t.dtype()) + " " +
                               t.shape().ToString() + ", the parameter is " + DTypeName(p.dtype()) + " " +
                               p.shape().ToString());
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckStateFitsModel(const Model& model, const Trainer::State& state) {
  if (state.epochs_done < 0) return InvalidArgument("trainer state: epochs_done is negative");
  if (state.steps < 0) return InvalidArgument("trainer state: steps is negative");
  QUALM_RETURN_IF_ERROR(CheckSlotsFit(model, state.slot1, "slot1"));
  return CheckSlotsFit(model, state.slot2, "slot2");
}

EncodedHeader EncodeHeaderV1(const Model& model, const CheckpointRef& checkpoint) {
  EncodedHeader out;
  Json& h = out.header;
  h["arch"] = EncodeString(model.arch);
  h["input_type"] = SampleTypeName(model.input_type);
  h["input_shape"] = ShapeJson(model.input_shape);
  h["num_classes"] = model.num_classes;
  Json meta = Json::array();
  for (const auto& [k, v] : model.metadata) meta.push_back(Json::array({EncodeString(k), EncodeString(v)}));
  h["metadata"] = std::move(meta);
  Json nodes = Json::array();
  for (const Node& node : model.nodes) {
    Json n;
    n["name"] = EncodeString(node.name);
    n["op"] = OpName(node.op);
    n["fields"] = OpFieldsToJson(node.op);
    n["inputs"] = node.inputs;
    Json params = Json::array();
    for (const Param& p : node.params) {
      Json pj = out.table.Add(p.value);
      pj["name"] = EncodeString(p.name);
      pj["trainable"] = p.trainable;
      params.push_back(std::move(pj));
    }
    n["params"] = std::move(params);
    nodes.push_back(std::move(n));
  }
  h["nodes"] = std::move(nodes);
  if (checkpoint.state) {
    const Trainer::State& s = *checkpoint.state;
    Json c;
    c["epochs_done"] = s.epochs_done;
    c["steps"] = s.steps;
    c["config_json"] = EncodeString(checkpoint.config_json ? *checkpoint.config_json : std::string());
    c["slot1"] = EncodeSlots(s.slot1, out.table);
    c["slot2"] = EncodeSlots(s.slot2, out.table);
    h["sections"]["checkpoint"] = std::move(c);
  }
  h["data_bytes"] = out.table.size;
  return out;
}

Result<DecodedHeader> DecodeHeaderV1(const Json& h, TensorReader& reader, bool checkpoint_flag) {
  DecodedHeader out;
  Model& m = out.model;
  const std::string hw = "header";
  QUALM_RETURN_IF_ERROR(CheckKeys(
      h, {"arch", "input_type", "input_shape", "num_classes", "metadata", "data_bytes", "nodes"}, {"sections"}, hw));
  QUALM_ASSIGN_OR_RETURN(std::int64_t declared_data,
                         GetInt(h, "data_bytes", 0, std::numeric_limits<std::int64_t>::max(), hw));
  if (static_cast<std::uint64_t>(declared_data) != reader.size())
    return InvalidArgument("header says the data section has " + std::to_string(declared_data) +
                           " bytes, the container holds " + std::to_string(reader.size()));
  QUALM_ASSIGN_OR_RETURN(m.arch, DecodeString(h["arch"], "header: 'arch'"));
  QUALM_ASSIGN_OR_RETURN(std::string input_type, DecodeString(h["input_type"], "header: 'input_type'"));
  if (input_type == "float32") {
    m.input_type = SampleType::kFloat32;
  } else if (input_type == "int32") {
    m.input_type = SampleType::kInt32;
  } else {
    return InvalidArgument("header: unknown input_type '" + input_type + "'");
  }
  QUALM_ASSIGN_OR_RETURN(m.input_shape, DecodeDims(h["input_shape"], "header: 'input_shape'"));
  QUALM_ASSIGN_OR_RETURN(std::int64_t classes, GetInt(h, "num_classes", 0, kMaxInt, hw));
  m.num_classes = static_cast<int>(classes);

  const Json& meta = h["metadata"];
  if (!meta.is_array()) return InvalidArgument("header: 'metadata' must be an array of [key, value] pairs");
  for (const Json& kv : meta) {
    if (!kv.is_array() || kv.size() != 2)
      return InvalidArgument("header: 'metadata' must be an array of [key, value] pairs");
    QUALM_ASSIGN_OR_RETURN(std::string key, DecodeString(kv[0], "header: metadata key"));
    QUALM_ASSIGN_OR_RETURN(std::string value, DecodeString(kv[1], "header: metadata '" + key + "'"));
    if (!m.metadata.emplace(std::move(key), std::move(value)).second)
      return InvalidArgument("header: duplicate metadata key '" + kv[0].dump() + "'");
  }

  const Json& nodes = h["nodes"];
  if (!nodes.is_array()) return InvalidArgument("header: 'nodes' must be an array");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Json& n = nodes[i];
    const std::string nw = "node " + std::to_string(i);
    QUALM_RETURN_IF_ERROR(CheckKeys(n, {"name", "op", "fields", "inputs", "params"}, {}, nw));
    Node node;
    QUALM_ASSIGN_OR_RETURN(node.name, DecodeString(n["name"], nw + ": 'name'"));
    const std::string where = "node '" + node.name + "'";
    QUALM_ASSIGN_OR_RETURN(std::string op_name, DecodeString(n["op"], where + ": 'op'"));
    auto op = OpFromJson(op_name, n["fields"]);
    if (!op.ok()) return op.status().WithContext(where);
    node.op = std::move(op).value();
    if (!n["inputs"].is_array()) return InvalidArgument(where + ": 'inputs' must be an array");
    for (const Json& in : n["inputs"]) {
      Json wrap = {{"input", in}};
      QUALM_ASSIGN_OR_RETURN(std::int64_t k, GetInt(wrap, "input", 0, static_cast<std::int64_t>(i) - 1, where));
      node.inputs.push_back(static_cast<int>(k));
    }
    if (!n["params"].is_array()) return InvalidArgument(where + ": 'params' must be an array");
    for (const Json& pj : n["params"]) {
      QUALM_RETURN_IF_ERROR(
          CheckKeys(pj, {"name", "trainable", "dtype", "shape", "offset", "bytes"}, {}, where + ": parameter"));
      Param p;
      QUALM_ASSIGN_OR_RETURN(p.name, DecodeString(pj["name"], where + ": parameter name"));
      const std::string pw = where + ": parameter '" + p.name + "'";
      if (!pj["trainable"].is_boolean()) return InvalidArgument(pw + ": 'trainable' must be a boolean");
      p.trainable = pj["trainable"].get<bool>();
      QUALM_ASSIGN_OR_RETURN(p.value, reader.Read(pj, pw));
      node.params.push_back(std::move(p));
    }
    m.nodes.push_back(std::move(node));
  }

  const Json* section = nullptr;
  if (h.contains("sections")) {
    QUALM_RETURN_IF_ERROR(CheckKeys(h["sections"], {}, {"checkpoint"}, "header: 'sections'"));
    if (h["sections"].contains("checkpoint")) section = &h["sections"]["checkpoint"];
  }
  if (checkpoint_flag != (section != nullptr))
    return InvalidArgument(checkpoint_flag ? "the checkpoint flag is set but the header has no checkpoint section"
                                           : "the header has a checkpoint section but the checkpoint flag is not set");
  if (section) {
    const Json& c = *section;
    const std::string cw = "checkpoint section";
    QUALM_RETURN_IF_ERROR(CheckKeys(c, {"epochs_done", "steps", "config_json", "slot1", "slot2"}, {}, cw));
    QUALM_ASSIGN_OR_RETURN(std::int64_t epochs, GetInt(c, "epochs_done", 0, kMaxInt, cw));
    out.state.epochs_done = static_cast<int>(epochs);
    QUALM_ASSIGN_OR_RETURN(out.state.steps, GetInt(c, "steps", 0, std::numeric_limits<std::int64_t>::max(), cw));
    QUALM_ASSIGN_OR_RETURN(out.config_json, DecodeString(c["config_json"], cw + ": 'config_json'"));
    QUALM_ASSIGN_OR_RETURN(out.state.slot1, DecodeSlots(c["slot1"], m, reader, cw + ": slot1"));
    QUALM_ASSIGN_OR_RETURN(out.state.slot2, DecodeSlots(c["slot2"], m, reader, cw + ": slot2"));
    out.has_checkpoint = true;
  }
  return out;
}

}  // namespace qualm::frontends::model_file

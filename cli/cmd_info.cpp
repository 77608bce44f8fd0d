// qualm info: what a model file holds (graph, shapes, parameters, provenance,
// quantization), and qualm cpu: what the kernel dispatch sees and chooses.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "commands.h"
#include "qualm/engine/model.h"
#include "qualm/frontends/model_file.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/recurrent_s8.h"
#include "qualm/kernels/requant.h"

namespace qualm::cli {
namespace {

struct InfoArgs {
  std::string model_path;
  bool json = false;
};

nlohmann::json OpFields(const OpParams& op) {
  nlohmann::json j = nlohmann::json::object();
  std::visit([&](auto o) { o.VisitFields([&](const char* name, auto& v) { j[name] = v; }); }, op);
  return j;
}

// Model::quant: scheme, mode, provenance and, per node, the output parameters,
// the LSTM cell exponent and the constants (name, dtype, shape; not the values).
nlohmann::json QuantJson(const Model& m) {
  nlohmann::json info = nlohmann::json::object();
  for (const auto& [k, v] : m.quant.info) info[k] = v;
  nlohmann::json nodes = nlohmann::json::array();
  for (std::size_t i = 0; i < m.quant.nodes.size() && i < m.nodes.size(); ++i) {
    const NodeQuant& q = m.quant.nodes[i];
    nlohmann::json constants = nlohmann::json::array();
    for (const auto& c : q.constants)
      constants.push_back({{"name", c.name}, {"dtype", DTypeName(c.value.dtype())}, {"shape", c.value.shape().dims()}});
    nlohmann::json n = {{"name", m.nodes[i].name}, {"constants", constants}};
    n["output"] = q.has_output ? nlohmann::json{{"scale", q.output.scale}, {"zero_point", q.output.zero_point}}
                               : nlohmann::json(nullptr);
    if (m.quant.scheme == QuantScheme::kInt8 && std::holds_alternative<LstmOp>(m.nodes[i].op))
      n["cell_exponent"] = q.cell_exponent;
    nodes.push_back(std::move(n));
  }
  return {{"scheme", QuantSchemeName(m.quant.scheme)},
          {"mode", m.quant.uses_requant_mode() ? nlohmann::json(kernels::RequantModeName(m.quant.mode))
                                               : nlohmann::json(nullptr)},
          {"info", info},
          {"nodes", nodes}};
}

void PrintQuant(const nlohmann::json& q) {
  std::printf("\nquantization: %s", q["scheme"].get<std::string>().c_str());
  if (!q["mode"].is_null()) std::printf(", requantization %s", q["mode"].get<std::string>().c_str());
  std::printf("\n");
  for (auto it = q["info"].begin(); it != q["info"].end(); ++it)
    std::printf("  %s: %s\n", it.key().c_str(), it.value().get<std::string>().c_str());
  for (const auto& n : q["nodes"]) {
    std::string line;
    if (!n["output"].is_null()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "out s=%.6g zp=%d", n["output"]["scale"].get<double>(),
                    n["output"]["zero_point"].get<int>());
      line = buf;
    }
    if (n.contains("cell_exponent"))
      line += (line.empty() ? "" : "  ") + std::string("cell 2^") + std::to_string(n["cell_exponent"].get<int>());
    std::string cs;
    for (const auto& c : n["constants"])
      cs += (cs.empty() ? "" : ", ") + c["name"].get<std::string>() + " " + c["dtype"].get<std::string>() +
            Shape(c["shape"].get<std::vector<std::int64_t>>()).ToString();
    if (line.empty() && cs.empty()) continue;
    std::printf("  %-28s %-34s %s\n", n["name"].get<std::string>().c_str(), line.c_str(), cs.c_str());
  }
}

int RunInfo(const InfoArgs& a) {
  const char* cmd = "info";
  auto file = frontends::InspectModelFile(a.model_path);
  if (!file.ok()) return Fail(cmd, file.status());
  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail(cmd, model.status());
  auto shapes = InferShapes(static_cast<const Model&>(*model));
  if (!shapes.ok()) return Fail(cmd, shapes.status());
  nlohmann::json nodes = nlohmann::json::array();
  for (std::size_t i = 0; i < model->nodes.size(); ++i) {
    const Node& n = model->nodes[i];
    nlohmann::json params = nlohmann::json::array();
    for (const auto& p : n.params)
      params.push_back({{"name", p.name}, {"shape", p.value.shape().dims()}, {"dtype", DTypeName(p.value.dtype())},
                        {"trainable", p.trainable}});
    nodes.push_back({{"name", n.name},
                     {"op", OpName(n.op)},
                     {"inputs", n.inputs},
                     {"output_shape", (*shapes)[i].dims()},
                     {"fields", OpFields(n.op)},
                     {"params", params}});
  }
  // Metadata values are strings in the file. In JSON output, values that hold
  // JSON objects or arrays (train.config, train.history) are embedded as
  // structure, and the vocabulary is summarized: its size, not its tokens.
  // The text output prints the strings, long ones summarized.
  nlohmann::json meta = nlohmann::json::object(), meta_json = nlohmann::json::object();
  for (const auto& [k, v] : model->metadata) {
    meta[k] = v.size() > 2000 ? "<" + std::to_string(v.size()) + " bytes>" : v;
    const nlohmann::json parsed = nlohmann::json::parse(v, nullptr, false);
    const bool structured = !parsed.is_discarded() && (parsed.is_object() || parsed.is_array());
    if (k == "text.vocabulary")
      meta_json[k] = {{"tokens", structured ? parsed.size() : 0}, {"bytes", v.size()}};
    else
      meta_json[k] = structured ? parsed : nlohmann::json(v);
  }
  const nlohmann::json quant = QuantJson(*model);
  if (a.json) {
    nlohmann::json out = {{"file", a.model_path},
                          {"format_version", file->version},
                          {"bytes", file->bytes},
                          {"crc32", file->crc},
                          {"arch", model->arch},
                          {"input_type", model->input_type == SampleType::kInt32 ? "int32 tokens" : "float32 image"},
                          {"input_shape", model->input_shape},
                          {"num_classes", model->num_classes},
                          {"parameters", model->ParameterCount()},
                          {"nodes", nodes},
                          {"quant", quant},
                          {"metadata", meta_json}};
    // Names and metadata need not be UTF-8: replace invalid bytes rather than throw.
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%s: qualm model file v%d, %llu bytes, crc32 %08x\n", a.model_path.c_str(), file->version,
              static_cast<unsigned long long>(file->bytes), file->crc);
  std::printf("arch %s, input %s %s, %d classes, %lld trainable parameters\n", model->arch.c_str(),
              model->input_type == SampleType::kInt32 ? "int32 tokens" : "float32 image",
              Shape(model->input_shape).ToString().c_str(), model->num_classes,
              static_cast<long long>(model->ParameterCount()));
  std::printf("\n  %-28s %-16s %-16s %s\n", "node", "op", "output", "parameters");
  for (const auto& n : nodes) {
    std::string ps;
    for (const auto& p : n["params"])
      ps += (ps.empty() ? "" : ", ") + p["name"].get<std::string>() +
            Shape(p["shape"].get<std::vector<std::int64_t>>()).ToString();
    std::printf("  %-28s %-16s %-16s %s\n", n["name"].get<std::string>().c_str(), n["op"].get<std::string>().c_str(),
                Shape(n["output_shape"].get<std::vector<std::int64_t>>()).ToString().c_str(), ps.c_str());
  }
  PrintQuant(quant);
  if (!meta.empty()) {
    std::printf("\nmetadata:\n");
    for (auto it = meta.begin(); it != meta.end(); ++it)
      std::printf("  %s: %s\n", it.key().c_str(), it.value().get<std::string>().c_str());
  }
  return 0;
}

}  // namespace

Runner RegisterInfo(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  app.add_option("model", a->model_path, "Model file")->required();
  app.add_flag("--json", a->json, "Machine-readable output (docs/cli-json.md)");
  return [a] { return RunInfo(*a); };
}

Runner RegisterCpu(CLI::App& app) {
  return [] {
    std::printf("%s\nfloat gemm path: %s\nint8 gemm path: %s\nint8 elementwise path: %s\n",
                kernels::DescribeCpu().c_str(), kernels::GemmPathName(), kernels::Int8GemmPathName(),
                kernels::detail::S8EltwisePathName());
    std::printf("int8 lstm/gru gate path: %s\n", kernels::fast::RnnS8GatesPathName());
    std::printf("float batchnorm/elementwise path: %s\n", kernels::detail::NormEltwiseF32PathName());
    std::printf("one-input-channel conv paths: float %s, int8 %s\n", kernels::detail::ConvF32C1PathName(),
                kernels::detail::ConvS8C1PathName());
    return 0;
  };
}

}  // namespace qualm::cli

#include "qualm/study/variants.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "qualm/engine/ptq.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/compare.h"

namespace qualm::study {
namespace {

nlohmann::json RowJson(const VariantRow& r) {
  return {{"arch", r.arch},
          {"scheme", r.scheme},
          {"data", r.data},
          {"model", r.quantized_path},
          {"path", r.path},
          {"count", r.count},
          {"float_accuracy", r.float_accuracy},
          {"quantized_accuracy", r.quantized_accuracy},
          {"disagreements", r.disagreements.size()},
          {"disagreement_rate", r.count ? static_cast<double>(r.disagreements.size()) / static_cast<double>(r.count) : 0.0},
          {"indices", r.disagreements},
          {"quantized_layers", r.quantized_layers < 0 ? nlohmann::json("all") : nlohmann::json(r.quantized_layers)},
          {"identity", r.identity}};
}

// Previous results by (arch, scheme, data); a broken or missing file is no cache.
std::map<std::string, VariantRow> LoadCache(const std::string& path) {
  std::map<std::string, VariantRow> cache;
  std::ifstream in(path);
  if (!in) return cache;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("results")) return cache;
  for (const auto& e : j["results"]) {
    try {
      VariantRow r;
      r.arch = e.at("arch");
      r.scheme = e.at("scheme");
      r.data = e.at("data");
      r.quantized_path = e.at("model");
      r.path = e.at("path");
      r.count = e.at("count");
      r.float_accuracy = e.at("float_accuracy");
      r.quantized_accuracy = e.at("quantized_accuracy");
      r.disagreements = e.at("indices").get<std::vector<std::size_t>>();
      r.identity = e.at("identity");
      // Entries written before the count existed lack it (at() throws) and are
      // recomputed, so a variant that quantized nothing cannot hide.
      const auto& ql = e.at("quantized_layers");
      r.quantized_layers = ql.is_number_integer() ? ql.get<int>() : -1;
      cache[r.arch + "|" + r.scheme + "|" + r.data] = r;
    } catch (const nlohmann::json::exception&) {
      // An entry of another shape is recomputed.
    }
  }
  return cache;
}

}  // namespace

std::string VariantsMarkdown(const std::vector<VariantRow>& rows) {
  std::string md =
      "| model | scheme | data | float acc (%) | quantized acc (%) | change (pp) | disagreements | rate (%) | path |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& r : rows) {
    if (r.quantized_layers == 0) {
      // Not a result: the "quantized" model is the float model.
      std::snprintf(buf, sizeof buf, "| %s | %s | %s | %.2f | — | — | no layer quantized | — | %s |\n", r.arch.c_str(),
                    r.scheme.c_str(), r.data.c_str(), r.float_accuracy * 100.0, r.path.c_str());
      md += buf;
      continue;
    }
    const double rate = r.count ? 100.0 * static_cast<double>(r.disagreements.size()) / static_cast<double>(r.count) : 0.0;
    std::snprintf(buf, sizeof buf, "| %s | %s | %s | %.2f | %.2f | %+.2f | %zu / %zu | %.2f | %s |\n", r.arch.c_str(),
                  r.scheme.c_str(), r.data.c_str(), r.float_accuracy * 100.0, r.quantized_accuracy * 100.0,
                  (r.quantized_accuracy - r.float_accuracy) * 100.0, r.disagreements.size(), r.count, rate,
                  r.path.c_str());
    md += buf;
  }
  return md;
}

Result<std::vector<VariantRow>> RunVariants(const std::vector<ModelSetRow>& models, const VariantOptions& o,
                                            const std::function<void(const std::string&)>& message) {
  auto say = [&](const std::string& m) {
    if (message) message(m);
  };
  const std::string json_path = o.out_dir + "/variants.json";
  std::map<std::string, VariantRow> cache = LoadCache(json_path);
  std::vector<VariantRow> rows;
  const std::size_t total = models.size() * o.schemes.size();
  std::size_t index = 0;
  for (const ModelSetRow& m : models) {
    QUALM_ASSIGN_OR_RETURN(Model float_model, frontends::LoadModel(m.model_path));
    const std::string float_id = float_model.metadata["train.config"] + "|" + float_model.metadata["train.seconds"];
    // Each evaluation set is read once per model, not once per scheme (a text
    // set is re-tokenized from the whole corpus on every read).
    std::map<std::string, Dataset> eval_sets;
    auto eval_set = [&](const std::string& spec) -> Result<const Dataset*> {
      auto it = eval_sets.find(spec);
      if (it == eval_sets.end()) {
        QUALM_ASSIGN_OR_RETURN(Dataset d, frontends::LoadEvalData(spec, float_model, o.data_options));
        it = eval_sets.emplace(spec, std::move(d)).first;
      }
      return &it->second;
    };
    for (const std::string& scheme_name : o.schemes) {
      // (snprintf rather than operator+ on a temporary: GCC 12 warns falsely, -Wrestrict.)
      char step_buf[48];
      std::snprintf(step_buf, sizeof step_buf, "[%zu/%zu] ", ++index, total);
      const std::string step = step_buf;
      QUALM_ASSIGN_OR_RETURN(QuantScheme scheme, ParseQuantScheme(scheme_name));
      const std::string identity = float_id + "|" + scheme_name + "|samples " + std::to_string(o.calibration_samples) +
                                   "|skip " + std::to_string(o.skip_smaller_than) + "|limit " +
                                   std::to_string(o.data_options.limit);
      const std::string qpath = o.out_dir + "/" + m.arch + "." + scheme_name + ".qm";
      std::vector<VariantRow> done;
      for (const ModelSetRow::Eval& e : m.evals) {
        auto it = cache.find(m.arch + "|" + scheme_name + "|" + e.data);
        if (it != cache.end() && it->second.identity == identity) done.push_back(it->second);
      }
      if (done.size() == m.evals.size()) {
        say(step + m.arch + " " + scheme_name + ": results kept from " + json_path);
        rows.insert(rows.end(), done.begin(), done.end());
        continue;
      }
      PtqOptions po;
      po.scheme = scheme;
      po.calibration.samples = o.calibration_samples;
      po.calibration.threads = o.threads;
      po.skip_smaller_than = scheme == QuantScheme::kWeightOnlyInt8 ? o.skip_smaller_than : 0;
      Result<Dataset> calib = InvalidArgument("unused");
      if (scheme == QuantScheme::kInt8) {
        frontends::DataSpecOptions d = o.data_options;
        d.limit = static_cast<std::size_t>(o.calibration_samples);
        calib = frontends::LoadModelTrainingSplit(float_model, d);
        if (!calib.ok()) return calib.status().WithContext(m.arch + " calibration data");
      }
      say(step + m.arch + " " + scheme_name + ": quantizing");
      QUALM_ASSIGN_OR_RETURN(Model q, QuantizeModel(float_model, calib.ok() ? &*calib : nullptr, po));
      q.metadata["quantized.from"] = m.model_path;
      QUALM_RETURN_IF_ERROR(frontends::SaveModel(q, qpath));
      for (const ModelSetRow::Eval& e : m.evals) {
        QUALM_ASSIGN_OR_RETURN(const Dataset* set, eval_set(e.data));
        const Dataset& data = *set;
        EvalOptions eo;
        eo.backend = o.backend;
        eo.threads = o.threads;
        eo.keep_probabilities = false;
        QUALM_ASSIGN_OR_RETURN(study::Comparison c, study::CompareModels(float_model, q, data, eo));
        VariantRow r;
        r.arch = m.arch;
        r.scheme = scheme_name;
        r.data = e.data;
        r.quantized_path = qpath;
        r.path = c.b.path;
        r.count = data.size();
        r.float_accuracy = c.a.accuracy;
        r.quantized_accuracy = c.b.accuracy;
        r.disagreements = c.disagreements;
        r.identity = identity;
        r.quantized_layers = QuantizedLayerCount(q.quant);
        char buf[256];
        if (r.quantized_layers == 0) {
          std::snprintf(buf, sizeof buf, "%s %s: no layer quantized (all under %lld weights); not a result",
                        m.arch.c_str(), scheme_name.c_str(), static_cast<long long>(o.skip_smaller_than));
        } else {
          std::snprintf(buf, sizeof buf, "%s %s on %s: accuracy %.2f %% -> %.2f %%, %zu disagreement%s (%.2f %%)",
                        m.arch.c_str(), scheme_name.c_str(), e.data.c_str(), r.float_accuracy * 100,
                        r.quantized_accuracy * 100, r.disagreements.size(), r.disagreements.size() == 1 ? "" : "s",
                        c.disagreement_rate() * 100);
        }
        say(step + buf);
        rows.push_back(std::move(r));
      }
      nlohmann::json out = {{"results", nlohmann::json::array()}};
      for (const auto& r : rows) out["results"].push_back(RowJson(r));
      // Results of models not in this run stay in the file.
      for (const auto& [key, r] : cache) {
        bool present = false;
        for (const auto& x : rows) present |= x.arch == r.arch && x.scheme == r.scheme && x.data == r.data;
        if (!present) out["results"].push_back(RowJson(r));
      }
      QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(json_path, out.dump(1) + "\n"));
    }
  }
  return rows;
}

}  // namespace qualm::study

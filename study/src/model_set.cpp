#include "qualm/study/model_set.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "qualm/engine/zoo.h"
#include "qualm/study/recipes.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/model_file.h"

namespace qualm::study {

namespace {

std::vector<std::string> EvalSets(const Model& model) {
  const std::string test = frontends::DefaultTestData(model);
  if (test.rfind("spam:", 0) == 0) return {test, "spam:hard-ham", "spam:later"};
  return {test};
}

nlohmann::json RowJson(const ModelSetRow& r) {
  nlohmann::json evals = nlohmann::json::array();
  for (const auto& e : r.evals) evals.push_back({{"data", e.data}, {"count", e.count}, {"accuracy", e.accuracy}});
  return {{"arch", r.arch},       {"model", r.model_path},         {"train_data", r.train_data},
          {"epochs", r.epochs},   {"train_seconds", r.train_seconds}, {"parameters", r.parameters},
          {"path", r.path},       {"evals", evals}};
}

}  // namespace

std::string ModelSetMarkdown(const std::vector<ModelSetRow>& rows) {
  std::string md = "| model | data | accuracy | samples | epochs | train time | s/epoch | parameters | path |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& r : rows)
    for (const auto& e : r.evals) {
      std::snprintf(buf, sizeof buf, "| %s | %s | %.2f %% | %zu | %d | %.0f s | %.1f | %lld | %s |\n", r.arch.c_str(),
                    e.data.c_str(), e.accuracy * 100.0, e.count, r.epochs, r.train_seconds,
                    r.epochs > 0 ? r.train_seconds / r.epochs : 0.0, static_cast<long long>(r.parameters),
                    r.path.c_str());
      md += buf;
    }
  return md;
}

Result<std::vector<ModelSetRow>> RunModelSet(const ModelSetOptions& options, const ModelSetCallbacks& cb) {
  auto say = [&](const std::string& m) {
    if (cb.message) cb.message(m);
  };
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return IoError(options.out_dir + ": cannot create the output folder: " + ec.message());
  const std::vector<std::string> archs = options.archs.empty() ? ZooArchitectures() : options.archs;
  std::vector<ModelSetRow> rows;
  for (std::size_t index = 0; index < archs.size(); ++index) {
    const std::string& arch = archs[index];
    if (cb.model_started) cb.model_started(static_cast<int>(index) + 1, static_cast<int>(archs.size()), arch);
    ModelSetRow row;
    row.arch = arch;
    row.model_path = options.out_dir + "/" + arch + ".qm";
    TrainRunOptions run;
    run.arch = arch;
    run.output = row.model_path;
    run.config = DefaultRecipe(arch);
    if (options.epochs > 0) run.config.epochs = options.epochs;
    run.config.seed = options.seed;
    run.config.threads = options.threads;
    run.config.backend = options.backend;
    run.data_options = options.data_options;
    struct stat st {};
    bool trained = false;
    if (stat(row.model_path.c_str(), &st) == 0) {
      auto existing = frontends::LoadModel(row.model_path);
      const bool same = existing.ok() && existing->metadata.count("train.config") &&
                        existing->metadata.at("train.config") == TrainConfigJson(run.config);
      if (same) {
        say(arch + ": " + row.model_path + " is already trained with this configuration; keeping it");
        trained = true;
      } else {
        say(arch + ": " + row.model_path + " exists but was made differently; retraining");
      }
    }
    if (!trained) {
      say(arch + ": training");
      auto r = RunTraining(run, cb.train);
      if (!r.ok()) return r.status().WithContext(arch);
    }
    QUALM_ASSIGN_OR_RETURN(Model model, frontends::LoadModel(row.model_path));
    row.train_data = model.metadata.count("train.data") ? model.metadata["train.data"] : "";
    row.epochs = run.config.epochs;
    row.train_seconds = model.metadata.count("train.seconds") ? std::stod(model.metadata["train.seconds"]) : 0.0;
    row.parameters = model.ParameterCount();
    for (const std::string& spec : EvalSets(model)) {
      QUALM_ASSIGN_OR_RETURN(Dataset data, frontends::LoadEvalData(spec, model, options.data_options));
      EvalOptions eo;
      eo.backend = options.backend;
      eo.threads = options.threads;
      eo.keep_probabilities = false;
      QUALM_ASSIGN_OR_RETURN(EvalResult ev, Evaluate(model, data, eo));
      row.path = ev.path;
      row.evals.push_back({spec, data.size(), ev.accuracy});
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s on %s: accuracy %.2f %% (%zu samples)", arch.c_str(), spec.c_str(),
                    ev.accuracy * 100.0, data.size());
      say(buf);
    }
    rows.push_back(row);
    // Rewrite the summary after every model, so an interrupted run still has one.
    nlohmann::json summary = {{"qualm_version", QUALM_VERSION_STRING},
                              {"seed", options.seed},
                              {"threads", options.threads},
                              {"backend", BackendName(options.backend)},
                              {"models", nlohmann::json::array()}};
    for (const auto& r : rows) summary["models"].push_back(RowJson(r));
    QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(options.out_dir + "/summary.json", summary.dump(2) + "\n"));
    QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(options.out_dir + "/summary.md", ModelSetMarkdown(rows)));
  }
  return rows;
}

}  // namespace qualm::study

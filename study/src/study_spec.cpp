#include "qualm/study/study_spec.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "qualm/engine/quant_spec.h"
#include "qualm/engine/zoo.h"
#include "qualm/study/probe_cells.h"
#include "qualm/study/recipes.h"
#include "qualm/study/retrain_cells.h"
#include "qualm/study/shifted_data.h"

namespace qualm::study {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

template <typename T>
bool Contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// "all" or a list of names; an unknown name is an error naming the valid ones.
Result<std::vector<std::string>> ShiftList(const nlohmann::json& j, const std::string& key,
                                           const std::vector<std::string>& valid) {
  if (j.is_string() && j.get<std::string>() == "all") return valid;
  if (!j.is_array()) return InvalidArgument("study: \"" + key + "\" must be \"all\" or a list of names");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return InvalidArgument("study: \"" + key + "\" must hold names");
    const std::string name = e.get<std::string>();
    if (!Contains(valid, name))
      return InvalidArgument("study: unknown entry \"" + name + "\" in \"" + key + "\"; valid: " + Join(valid));
    out.push_back(name);
  }
  return out;
}

}  // namespace

std::vector<std::string> StudyStrategies() { return {"standard", "qat", "adversarial", "mixup"}; }
std::vector<std::string> StudyPresetNames() { return {"quick", "default", "full"}; }

Status SetTrainingStrategy(const std::string& strategy, TrainConfig* config) {
  if (strategy == "qat") return InvalidArgument("qat is quantization-aware training, not a TrainConfig strategy");
  QUALM_ASSIGN_OR_RETURN(config->strategy, ParseStrategy(strategy));
  return Status::Ok();
}

bool IsFineTuneStrategy(const std::string& strategy) { return strategy == "qat" || strategy == "adversarial"; }

std::string TaskData(const StudyTask& t) { return t.data.empty() ? DefaultTrainingData(t.arch) : t.data; }
std::string TaskName(const StudyTask& t) { return t.arch + "@" + TaskData(t); }

Result<StudySpec> StudyPreset(const std::string& name) {
  StudySpec s;
  s.name = name;
  auto task = [](std::string arch, std::string data, int epochs, std::size_t limit) {
    StudyTask t;
    t.arch = std::move(arch);
    t.data = std::move(data);
    t.epochs = epochs;
    t.train_limit = limit;
    return t;
  };
  if (name == "quick") {
    // CI's study: every axis but seeds touched once, in a few minutes.
    s.tasks = {task("lenet1", "fashion-mnist", 2, 12000), task("gru", "spam-brief", 0, 0)};
    s.strategies = StudyStrategies();
    s.seeds = {1};
    s.eval_limit = 1000;
    s.image_shifts = {"fog", "gaussian-noise", "motion-blur", "rotate", "zigzag"};
    s.text_shifts = {"typos", "drop-words"};
    s.severities = {1, 3, 5};
    s.finetune_epochs = 1;
    s.retrain.variants = {"int8"};
    s.retrain.protocols = {"ours", "paper", "control"};
    s.probes.matrix = s.probes.attribution = true;  // cost and scope: STUDY.md, "Probes"
  } else if (name == "default") {
    // Every axis at reduced scale (what was cut, and why: README, "The study").
    s.tasks = {task("lenet1", "fashion-mnist", 4, 20000), task("lenet5", "fashion-mnist", 4, 20000),
               task("lstm", "spam-brief", 0, 0), task("gru", "spam-brief", 0, 0)};
    s.strategies = StudyStrategies();
    s.seeds = {1, 2, 3};
    s.eval_limit = 2000;
    s.image_shifts = ImageShiftNames();
    s.text_shifts = TextShiftNames();
    s.severities = {1, 3, 5};
    s.finetune_epochs = 1;
    s.retrain.variants = {"int8", "dynamic"};
    s.retrain.protocols = {"ours", "paper", "control"};
    s.probes.matrix = s.probes.attribution = true;
  } else if (name == "full") {
    // The paper-scale grid, for a cluster (study/slurm/study-array.sbatch).
    for (const std::string& arch : ZooArchitectures()) s.tasks.push_back(task(arch, "", 0, 0));
    s.tasks.push_back(task("lstm", "spam-brief", 0, 0));
    s.tasks.push_back(task("gru", "spam-brief", 0, 0));
    s.strategies = StudyStrategies();
    s.seeds = {1, 2, 3};
    s.image_shifts = ImageShiftNames();
    s.text_shifts = TextShiftNames();
    s.retrain.variants = {"int8", "dynamic"};
    s.retrain.protocols = {"ours", "paper", "control"};
    s.probes.matrix = s.probes.attribution = true;
  } else {
    return InvalidArgument("unknown study preset \"" + name + "\"; valid: " + Join(StudyPresetNames()));
  }
  QUALM_RETURN_IF_ERROR(ValidateStudySpec(s));
  return s;
}

Status ValidateStudySpec(const StudySpec& s) {
  if (s.tasks.empty()) return InvalidArgument("study: no tasks");
  const auto archs = ZooArchitectures();
  std::set<std::string> seen;
  for (const auto& t : s.tasks) {
    if (!Contains(archs, t.arch))
      return InvalidArgument("study: unknown architecture \"" + t.arch + "\"; valid: " + Join(archs));
    if (t.epochs < 0) return InvalidArgument("study: task " + TaskName(t) + ": epochs must be >= 0");
    // The text sets are stored class by class, so a prefix would hold one class.
    if (t.train_limit != 0 && IsTextArchitecture(t.arch))
      return InvalidArgument("study: task " + TaskName(t) + ": train_limit applies to image tasks only (the text "
                             "training split is stored class by class; a prefix would hold only ham)");
    if (!seen.insert(TaskName(t)).second) return InvalidArgument("study: task " + TaskName(t) + " appears twice");
  }
  if (s.strategies.empty() || s.seeds.empty() || s.variants.empty())
    return InvalidArgument("study: strategies, seeds and variants must not be empty");
  for (const auto& st : s.strategies)
    if (!Contains(StudyStrategies(), st))
      return InvalidArgument("study: unknown strategy \"" + st + "\"; valid: " + Join(StudyStrategies()));
  const auto schemes = QuantSchemeNames();
  for (const auto& v : s.variants)
    if (v == "float" || !Contains(schemes, v))
      return InvalidArgument("study: unknown variant \"" + v + "\"; valid: int8, dynamic, weight-only-int8, "
                             "fp16-weights, bf16-weights");
  std::set<std::uint64_t> seeds(s.seeds.begin(), s.seeds.end());
  if (seeds.size() != s.seeds.size()) return InvalidArgument("study: a seed appears twice");
  std::set<std::string> variants(s.variants.begin(), s.variants.end());
  if (variants.size() != s.variants.size()) return InvalidArgument("study: a variant appears twice");
  for (int sev : s.severities)
    if (sev < 1 || sev > kShiftSeverities) return InvalidArgument("study: severities must lie in 1..5");
  for (const auto& n : s.image_shifts)
    if (!Contains(ImageShiftNames(), n)) return InvalidArgument("study: unknown image shift \"" + n + "\"");
  for (const auto& n : s.text_shifts)
    if (!Contains(TextShiftNames(), n)) return InvalidArgument("study: unknown text shift \"" + n + "\"");
  if (s.calibration_samples < 1) return InvalidArgument("study: calibration_samples must be >= 1");
  if (s.finetune_epochs < 0) return InvalidArgument("study: finetune_epochs must be >= 0");
  QUALM_RETURN_IF_ERROR(ValidateRetrainSpec(s));
  return ValidateStudyProbes(s);
}

Result<StudySpec> ParseStudySpec(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("study file: not a JSON object");
  static const std::set<std::string> kKeys = {"name",       "tasks",          "strategies",   "seeds",
                                              "variants",   "eval_limit",     "image_shifts", "text_shifts",
                                              "severities", "natural_shifts", "shift_seed",   "calibration_samples", "validation_sets",
                                              "finetune_epochs", "skip_smaller_than", "retrain",
                                              "probes"};
  for (const auto& [key, value] : j.items())
    if (!kKeys.count(key)) return InvalidArgument("study file: unknown key \"" + key + "\"");
  StudySpec s;
  try {
    s.name = j.value("name", s.name);
    if (!j.contains("tasks") || !j["tasks"].is_array()) return InvalidArgument("study file: \"tasks\" must be a list");
    for (const auto& t : j["tasks"]) {
      if (!t.is_object()) return InvalidArgument("study file: each task is an object with \"arch\"");
      for (const auto& [key, value] : t.items())
        if (key != "arch" && key != "data" && key != "epochs" && key != "train_limit")
          return InvalidArgument("study file: unknown task key \"" + key + "\"");
      StudyTask task;
      task.arch = t.at("arch").get<std::string>();
      task.data = t.value("data", std::string());
      task.epochs = t.value("epochs", 0);
      task.train_limit = t.value("train_limit", std::size_t{0});
      s.tasks.push_back(task);
    }
    if (j.contains("strategies")) s.strategies = j["strategies"].get<std::vector<std::string>>();
    if (j.contains("seeds")) s.seeds = j["seeds"].get<std::vector<std::uint64_t>>();
    if (j.contains("variants")) s.variants = j["variants"].get<std::vector<std::string>>();
    s.eval_limit = j.value("eval_limit", s.eval_limit);
    if (j.contains("image_shifts")) {
      QUALM_ASSIGN_OR_RETURN(s.image_shifts, ShiftList(j["image_shifts"], "image_shifts", ImageShiftNames()));
    }
    if (j.contains("text_shifts")) {
      QUALM_ASSIGN_OR_RETURN(s.text_shifts, ShiftList(j["text_shifts"], "text_shifts", TextShiftNames()));
    }
    if (j.contains("severities")) s.severities = j["severities"].get<std::vector<int>>();
    s.natural_shifts = j.value("natural_shifts", s.natural_shifts);
    s.validation_sets = j.value("validation_sets", s.validation_sets);
    s.shift_seed = j.value("shift_seed", s.shift_seed);
    s.calibration_samples = j.value("calibration_samples", s.calibration_samples);
    s.finetune_epochs = j.value("finetune_epochs", s.finetune_epochs);
    s.skip_smaller_than = j.value("skip_smaller_than", s.skip_smaller_than);
    if (j.contains("retrain")) QUALM_RETURN_IF_ERROR(ParseRetrainSpec(j["retrain"], &s.retrain));
    if (j.contains("probes")) {
      QUALM_ASSIGN_OR_RETURN(s.probes, ParseStudyProbes(j["probes"].dump()));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("study file: ") + e.what());
  }
  QUALM_RETURN_IF_ERROR(ValidateStudySpec(s));
  return s;
}

std::string StudySpecJson(const StudySpec& s) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : s.tasks)
    tasks.push_back({{"arch", t.arch}, {"data", TaskData(t)}, {"epochs", t.epochs}, {"train_limit", t.train_limit}});
  const nlohmann::json j = {{"name", s.name},
                            {"tasks", tasks},
                            {"strategies", s.strategies},
                            {"seeds", s.seeds},
                            {"variants", s.variants},
                            {"eval_limit", s.eval_limit},
                            {"image_shifts", s.image_shifts},
                            {"text_shifts", s.text_shifts},
                            {"severities", s.severities},
                            {"natural_shifts", s.natural_shifts},
                            {"validation_sets", s.validation_sets},
                            {"shift_seed", s.shift_seed},
                            {"calibration_samples", s.calibration_samples},
                            {"finetune_epochs", s.finetune_epochs},
                            {"skip_smaller_than", s.skip_smaller_than},
                            {"retrain", RetrainSpecJson(s.retrain)},

                            {"probes", nlohmann::json::parse(StudyProbesJson(s.probes))}};
  return j.dump(2) + "\n";
}

}  // namespace qualm::study

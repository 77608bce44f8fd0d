#include "qualm/study/study_cells.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "qualm/engine/zoo.h"
#include "qualm/study/probe_cells.h"
#include "qualm/study/recipes.h"
#include "qualm/study/retrain_cells.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/train_run.h"

namespace qualm::study {
namespace {

// The training configuration of a (task, strategy, seed) cell.
Result<TrainConfig> CellConfig(const StudySpec& spec, const StudyTask& task, const std::string& strategy,
                               std::uint64_t seed, const StudyRuntime& rt) {
  const std::string data = TaskData(task);
  TrainConfig c;
  if (IsFineTuneStrategy(strategy)) {
    c = FineTuneRecipe(task.arch);
    if (spec.finetune_epochs > 0) c.epochs = spec.finetune_epochs;
  } else {
    c = TaskRecipe(task.arch, data);
    if (task.epochs > 0) c.epochs = task.epochs;
  }
  if (strategy != "qat") QUALM_RETURN_IF_ERROR(SetTrainingStrategy(strategy, &c));
  c.seed = seed;
  c.threads = rt.threads;
  c.backend = rt.backend;
  return c;
}

std::string Version() { return StudyCellVersion(); }

}  // namespace

std::string StudyCellVersion() {
  return std::string(QUALM_VERSION_STRING) + "/study-cache-" + std::to_string(kStudyCacheVersion);
}

const char* CellKindName(CellKind k) {
  switch (k) {
    case CellKind::kTrain: return "train";
    case CellKind::kVariant: return "variant";
    case CellKind::kEval: return "eval";
    case CellKind::kRetrain: return "retrain";
    case CellKind::kProbe: return "probe";
  }
  return "?";
}

std::string Fnv1a64Hex(const std::string& bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::size_t StudyGrid::Count(CellKind k) const {
  std::size_t n = 0;
  for (const auto& c : cells) n += c.kind == k;
  return n;
}

const Cell* StudyGrid::Find(const std::string& id) const {
  for (const auto& c : cells)
    if (c.id == id) return &c;
  return nullptr;
}

std::vector<std::string> TaskEvalSets(const StudySpec& spec, const StudyTask& task) {
  const std::string family = TaskData(task);
  const std::string test = family + ":test";
  std::vector<std::string> sets = {test};
  // The validation split: where the analyses fit what they then test on the
  // test set (RQ3's regression in our protocol, the disagreement guard).
  if (spec.validation_sets) sets.push_back(family + ":validation");
  const bool text = IsTextArchitecture(task.arch);
  if (text && spec.natural_shifts) {
    sets.push_back(family + ":hard-ham");
    sets.push_back(family + ":later");
  }
  for (const std::string& shift : text ? spec.text_shifts : spec.image_shifts)
    for (int sev : spec.severities) {
      EvalSetName n;
      n.base = test;
      n.shift = shift;
      n.severity = sev;
      sets.push_back(n.str());
    }
  return sets;
}

Result<StudyGrid> ExpandStudy(const StudySpec& spec, const StudyRuntime& rt) {
  QUALM_RETURN_IF_ERROR(ValidateStudySpec(spec));
  StudyGrid grid;
  std::vector<Cell> train, variants, retrain, evals;
  // The fine-tuning strategies start from the standard model, which is then
  // trained even when the list does not ask for it (it is not evaluated then).
  // Order: standard, the strategies trained from scratch, the fine-tunings.
  const auto asked = [&](const std::string& s) {
    return std::find(spec.strategies.begin(), spec.strategies.end(), s) != spec.strategies.end();
  };
  std::vector<std::string> strategies;
  bool finetunes = false;
  for (const auto& s : spec.strategies) finetunes |= IsFineTuneStrategy(s);
  if (asked("standard") || finetunes) strategies.push_back("standard");
  for (const auto& s : spec.strategies)
    if (s != "standard" && !IsFineTuneStrategy(s)) strategies.push_back(s);
  for (const auto& s : spec.strategies)
    if (IsFineTuneStrategy(s)) strategies.push_back(s);
  const bool report_standard =
      std::find(spec.strategies.begin(), spec.strategies.end(), "standard") != spec.strategies.end();

  int group = 0;
  for (std::size_t ti = 0; ti < spec.tasks.size(); ++ti) {
    const StudyTask& task = spec.tasks[ti];
    const std::vector<std::string> sets = TaskEvalSets(spec, task);
    for (std::uint64_t seed : spec.seeds) {
      std::map<std::string, std::string> by_strategy;  // strategy -> train cell id
      for (const std::string& strategy : strategies) {
        Cell t;
        t.kind = CellKind::kTrain;
        t.group = group;
        t.task = static_cast<int>(ti);
        t.strategy = strategy;
        t.seed = seed;
        auto cfg = CellConfig(spec, task, strategy, seed, rt);
        if (!cfg.ok()) return cfg.status().WithContext(TaskName(task) + " " + strategy);
        t.config = *cfg;
        nlohmann::json key = {{"stage", "train"},
                              {"version", Version()},
                              {"arch", task.arch},
                              {"data", TaskData(task)},
                              {"strategy", strategy},
                              {"seed", seed},
                              {"train_limit", task.train_limit},
                              {"config", nlohmann::json::parse(TrainConfigJson(t.config))}};
        if (IsFineTuneStrategy(strategy)) {
          t.parent = by_strategy.at("standard");
          key["init_from"] = t.parent;
        }
        t.key = key.dump();
        t.id = Fnv1a64Hex(t.key);
        t.label = TaskName(task) + " " + strategy + " seed " + std::to_string(seed);
        by_strategy[strategy] = t.id;
        train.push_back(t);
        // Only the strategies asked for are evaluated (a standard model trained
        // just as qat's starting point is not).
        if (strategy == "standard" && !report_standard) continue;
        std::vector<std::pair<std::string, std::string>> models = {{"float", t.id}};
        std::vector<std::pair<std::string, std::string>> variant_ids;  // scheme -> variant cell (RQ4)
        for (const std::string& scheme : spec.variants) {
          Cell v;
          v.kind = CellKind::kVariant;
          v.group = group;
          v.task = t.task;
          v.strategy = strategy;
          v.seed = seed;
          v.parent = t.id;
          v.variant = scheme;
          nlohmann::json vkey = {{"stage", "variant"}, {"version", Version()}, {"model", t.id}, {"scheme", scheme}};
          if (scheme == "int8") vkey["calibration_samples"] = spec.calibration_samples;
          if (scheme == "weight-only-int8") vkey["skip_smaller_than"] = spec.skip_smaller_than;
          v.key = vkey.dump();
          v.id = Fnv1a64Hex(v.key);
          v.label = t.label + " " + scheme;
          variants.push_back(v);
          models.emplace_back(scheme, v.id);
          variant_ids.emplace_back(scheme, v.id);
        }
        AppendRetrainCells(spec, rt, t, variant_ids, &retrain, &evals);  // RQ4, when the spec asks for it
        for (const auto& [variant, model_id] : models)
          for (const std::string& set : sets) {
            Cell e;
            e.kind = CellKind::kEval;
            e.group = group;
            e.task = t.task;
            e.strategy = strategy;
            e.seed = seed;
            e.parent = model_id;
            e.variant = variant;
            e.data = set;
            nlohmann::json ekey = {{"stage", "eval"},     {"version", Version()},     {"model", model_id},
                                   {"data", set},         {"limit", spec.eval_limit}, {"backend", BackendName(rt.backend)}};
            if (set.find('~') != std::string::npos) ekey["shift_seed"] = spec.shift_seed;
            e.key = ekey.dump();
            e.id = Fnv1a64Hex(e.key);
            e.label = t.label + " " + variant + " on " + set;
            evals.push_back(e);
          }
      }
      ++group;
    }
  }
  grid.groups = group;
  grid.cells = std::move(train);
  grid.cells.insert(grid.cells.end(), variants.begin(), variants.end());
  grid.cells.insert(grid.cells.end(), retrain.begin(), retrain.end());
  grid.cells.insert(grid.cells.end(), evals.begin(), evals.end());
  AppendProbeCells(spec, rt, Version(), &grid);
  return grid;
}

StudyGrid ShardGrid(const StudyGrid& grid, int index, int count) {
  StudyGrid out;
  out.groups = grid.groups;
  for (const auto& c : grid.cells)
    if (count <= 1 || c.group % count == index - 1) out.cells.push_back(c);
  return out;
}

}  // namespace qualm::study

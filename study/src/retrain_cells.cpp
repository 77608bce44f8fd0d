// RQ4, retraining on disagreements: the spec section, the cells and the
// records (retrain_cells.h).
#include "json_file.h"
#include "qualm/study/retrain_cells.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "qualm/engine/evaluate.h"
#include "qualm/engine/quant_spec.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/npy.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace {

template <typename T>
bool Contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}

int FindSeverity(const StudySpec& spec) {
  if (spec.retrain.severity > 0) return spec.retrain.severity;
  int sev = 0;
  for (int s : spec.severities) sev = std::max(sev, s);
  return sev > 0 ? sev : kShiftSeverities;
}

// The retrained model's training configuration: the train cell's own (same
// recipe, strategy, seed, threads and backend), for retrain.epochs. The
// learning-rate schedule restarts over those epochs, as any fine-tuning run
// of the recipe would; there is no validation pass, so no early stopping.
TrainConfig RetrainConfig(const StudySpec& spec, const Cell& train) {
  TrainConfig c = train.config;
  c.epochs = spec.retrain.epochs;
  c.early_stopping_patience = 0;
  return c;
}

// Appends every sample of `src`, `copies` times, to `dst`; shapes and types must match.
Status AppendSamples(const Dataset& src, int copies, Dataset* dst) {
  if (src.size() == 0 || copies == 0) return Status::Ok();
  if (src.sample_type != dst->sample_type || src.sample_shape != dst->sample_shape)
    return InvalidArgument(src.name + ": its inputs have another shape or type than the training split's");
  for (int k = 0; k < copies; ++k) {
    dst->f32.insert(dst->f32.end(), src.f32.begin(), src.f32.end());
    dst->i32.insert(dst->i32.end(), src.i32.begin(), src.i32.end());
    dst->labels.insert(dst->labels.end(), src.labels.begin(), src.labels.end());
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::string> RetrainProtocols() { return {"ours", "paper", "control"}; }

Status ParseRetrainSpec(const nlohmann::json& j, RetrainSpec* out) {
  if (!j.is_object()) return InvalidArgument("study file: \"retrain\" must be an object");
  static const std::set<std::string> kKeys = {"variants", "strategies", "protocols", "epochs", "repeat", "severity"};
  for (const auto& [key, value] : j.items())
    if (!kKeys.count(key))
      return InvalidArgument("study file: unknown key \"" + key + "\" in \"retrain\"; valid: variants, strategies, "
                             "protocols, epochs, repeat, severity");
  RetrainSpec r;
  if (j.contains("variants")) r.variants = j["variants"].get<std::vector<std::string>>();
  if (j.contains("strategies")) r.strategies = j["strategies"].get<std::vector<std::string>>();
  if (j.contains("protocols")) r.protocols = j["protocols"].get<std::vector<std::string>>();
  r.epochs = j.value("epochs", r.epochs);
  r.repeat = j.value("repeat", r.repeat);
  r.severity = j.value("severity", r.severity);
  *out = std::move(r);
  return Status::Ok();
}

Status ValidateRetrainSpec(const StudySpec& s) {
  const RetrainSpec& r = s.retrain;
  if (!r.enabled()) return Status::Ok();
  for (const auto& v : r.variants)
    if (!Contains(s.variants, v))
      return InvalidArgument("study: retrain variant \"" + v + "\" is not one of the study's variants (" +
                             Join(s.variants) + ")");
  if (std::set<std::string>(r.variants.begin(), r.variants.end()).size() != r.variants.size())
    return InvalidArgument("study: a retrain variant appears twice");
  if (r.strategies.empty()) return InvalidArgument("study: retrain.strategies must not be empty");
  for (const auto& st : r.strategies) {
    if (st == "qat")
      return InvalidArgument("study: retrain strategy \"qat\" is not supported (its int8 variant is its own "
                             "conversion, not a re-quantization of retrained float weights)");
    if (!Contains(s.strategies, st))
      return InvalidArgument("study: retrain strategy \"" + st + "\" is not one of the study's strategies (" +
                             Join(s.strategies) + ")");
  }
  if (r.protocols.empty()) return InvalidArgument("study: retrain.protocols must not be empty");
  for (const auto& p : r.protocols)
    if (!Contains(RetrainProtocols(), p))
      return InvalidArgument("study: unknown retrain protocol \"" + p + "\"; valid: " + Join(RetrainProtocols()));
  if (std::set<std::string>(r.protocols.begin(), r.protocols.end()).size() != r.protocols.size())
    return InvalidArgument("study: a retrain protocol appears twice");
  if (r.epochs < 1) return InvalidArgument("study: retrain.epochs must be >= 1");
  if (r.repeat < 1) return InvalidArgument("study: retrain.repeat must be >= 1");
  if (r.severity < 0 || r.severity > kShiftSeverities)
    return InvalidArgument("study: retrain.severity must lie in 0..5 (0: the study's highest severity)");
  if (Contains(r.protocols, std::string("ours")) && !s.validation_sets)
    return InvalidArgument("study: retrain protocol \"ours\" finds disagreements on the validation split; it needs "
                           "\"validation_sets\": true");
  return Status::Ok();
}

nlohmann::json RetrainSpecJson(const RetrainSpec& r) {
  return {{"variants", r.variants}, {"strategies", r.strategies}, {"protocols", r.protocols},
          {"epochs", r.epochs},     {"repeat", r.repeat},         {"severity", r.severity}};
}

std::vector<std::string> RetrainFindSets(const StudySpec& spec, const StudyTask& task, const std::string& protocol) {
  const std::string family = TaskData(task);
  if (protocol == "paper") return {family + ":test"};
  if (protocol != "ours") return {};
  // The validation split and its shifted versions: the shift types the study
  // measures, at the highest severity it measures (most disagreements per input).
  std::vector<std::string> sets = {family + ":validation"};
  const int sev = FindSeverity(spec);
  for (const std::string& shift : IsTextArchitecture(task.arch) ? spec.text_shifts : spec.image_shifts) {
    EvalSetName n;
    n.base = family + ":validation";
    n.shift = shift;
    n.severity = sev;
    sets.push_back(n.str());
  }
  return sets;
}

void AppendRetrainCells(const StudySpec& spec, const StudyRuntime& rt, const Cell& train,
                        const std::vector<std::pair<std::string, std::string>>& variant_ids, std::vector<Cell>* retrain,
                        std::vector<Cell>* evals) {
  if (!spec.retrain.enabled() || !Contains(spec.retrain.strategies, train.strategy)) return;
  const StudyTask& task = spec.tasks[static_cast<std::size_t>(train.task)];
  const std::string test = TaskData(task) + ":test";
  const TrainConfig config = RetrainConfig(spec, train);
  for (const auto& [scheme, variant_id] : variant_ids) {
    if (!Contains(spec.retrain.variants, scheme)) continue;
    for (const std::string& protocol : spec.retrain.protocols) {
      Cell r = train;
      r.kind = CellKind::kRetrain;
      r.parent = variant_id;
      r.variant = scheme;
      r.protocol = protocol;
      r.config = config;
      const nlohmann::json key = {{"stage", "retrain"},
                                  {"version", StudyCellVersion()},
                                  {"model", train.id},
                                  {"variant", variant_id},
                                  {"protocol", protocol},
                                  {"epochs", spec.retrain.epochs},
                                  {"repeat", spec.retrain.repeat},
                                  {"found_on", RetrainFindSets(spec, task, protocol)},
                                  {"limit", spec.eval_limit},
                                  {"shift_seed", spec.shift_seed},
                                  {"train_limit", task.train_limit},
                                  {"config", nlohmann::json::parse(TrainConfigJson(config))}};
      r.key = key.dump();
      r.id = Fnv1a64Hex(r.key);
      r.label = train.label + " retrained on " + scheme + " disagreements (" + protocol + ")";
      // The retrained model's variant: the grid's variant key on the new model.
      Cell v = r;
      v.kind = CellKind::kVariant;
      v.parent = r.id;
      v.config = TrainConfig{};
      nlohmann::json vkey = {{"stage", "variant"}, {"version", StudyCellVersion()}, {"model", r.id}, {"scheme", scheme}};
      if (scheme == "int8") vkey["calibration_samples"] = spec.calibration_samples;
      if (scheme == "weight-only-int8") vkey["skip_smaller_than"] = spec.skip_smaller_than;
      v.key = vkey.dump();
      v.id = Fnv1a64Hex(v.key);
      v.label = r.label + " " + scheme;
      retrain->push_back(r);
      retrain->push_back(v);
      // RQ4 recounts on the clean test set only.
      for (const auto& [variant, model_id] : {std::make_pair(std::string("float"), r.id), std::make_pair(scheme, v.id)}) {
        Cell e = r;
        e.kind = CellKind::kEval;
        e.parent = model_id;
        e.variant = variant;
        e.data = test;
        e.config = TrainConfig{};
        const nlohmann::json ekey = {{"stage", "eval"}, {"version", StudyCellVersion()}, {"model", model_id},
                                     {"data", test},    {"limit", spec.eval_limit},     {"backend", BackendName(rt.backend)}};
        e.key = ekey.dump();
        e.id = Fnv1a64Hex(e.key);
        e.label = r.label + " " + variant + " on " + test;
        evals->push_back(e);
      }
    }
  }
}

Result<nlohmann::json> RunRetrainCell(const Cell& c, const RetrainContext& ctx) {
  const StudySpec& spec = *ctx.spec;
  const StudyTask& task = spec.tasks[static_cast<std::size_t>(c.task)];
  const Cell* variant = ctx.grid->Find(c.parent);
  if (!variant || variant->kind != CellKind::kVariant) return Internal(c.label + ": no variant cell to retrain on");
  const std::string train_id = variant->parent;
  const auto say = [&](const std::string& m) {
    if (ctx.callbacks.message) ctx.callbacks.message(m);
  };
  QUALM_ASSIGN_OR_RETURN(Model model, frontends::LoadModel(CellDir(ctx.out_dir, train_id) + "/model.qm"));
  QUALM_ASSIGN_OR_RETURN(Model quantized, frontends::LoadModel(CellDir(ctx.out_dir, variant->id) + "/model.qm"));

  // 1. The disagreements on the protocol's sets, with their true labels.
  EvalOptions eo;
  eo.backend = ctx.runtime.backend;
  eo.threads = ctx.runtime.threads;
  eo.keep_probabilities = false;
  frontends::DataSpecOptions eval_options = ctx.data_options;
  eval_options.limit = 0;
  std::vector<Dataset> found;
  nlohmann::json found_on = nlohmann::json::object();
  std::size_t found_total = 0, searched = 0;
  for (const std::string& set : RetrainFindSets(spec, task, c.protocol)) {
    std::string key = set;
    if (auto v = model.metadata.find("text.vocabulary"); v != model.metadata.end()) (key += '|') += Fnv1a64Hex(v->second);
    for (auto d : model.input_shape) (key += '|') += std::to_string(d);
    Dataset loaded;
    const Dataset* cached = nullptr;
    if (ctx.set_cache) {
      if (auto it = ctx.set_cache->find(key); it != ctx.set_cache->end()) cached = &it->second;
    }
    if (!cached) {
      QUALM_ASSIGN_OR_RETURN(loaded, LoadStudyEvalSet(set, model, eval_options, spec.shift_seed, spec.eval_limit));
      if (ctx.set_cache) cached = &ctx.set_cache->emplace(key, std::move(loaded)).first->second;
    }
    const Dataset& data = cached ? *cached : loaded;
    QUALM_ASSIGN_OR_RETURN(EvalResult f, Evaluate(model, data, eo));
    QUALM_ASSIGN_OR_RETURN(EvalResult q, Evaluate(quantized, data, eo));
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < data.size(); ++i)
      if (f.predictions[i] != q.predictions[i]) idx.push_back(i);
    found_on[set] = {{"inputs", data.size()}, {"disagreements", idx.size()}};
    found_total += idx.size();
    searched += data.size();
    found.push_back(Subset(data, idx, set));
  }

  // 2. The training split with the disagreements appended (the trainer shuffles every epoch).
  frontends::DataSpecOptions train_options = ctx.data_options;
  train_options.limit = task.train_limit;
  const std::string train_key = TaskData(task) + "|" + std::to_string(task.train_limit);
  const frontends::TrainingData* cached_train = nullptr;
  if (ctx.train_cache) {
    if (auto it = ctx.train_cache->find(train_key); it != ctx.train_cache->end()) cached_train = &it->second;
  }
  frontends::TrainingData data;
  if (cached_train) {
    data = *cached_train;
  } else {
    QUALM_ASSIGN_OR_RETURN(data, frontends::LoadTrainingData(TaskData(task), train_options));
    if (ctx.train_cache) ctx.train_cache->emplace(train_key, data);
  }
  if (auto v = data.model_metadata.find("text.vocabulary");
      v != data.model_metadata.end() && model.metadata["text.vocabulary"] != v->second)
    return InvalidArgument(c.label + ": the model was trained with another vocabulary than the training split gives");
  const std::size_t original = data.train.size();
  for (const Dataset& d : found) QUALM_RETURN_IF_ERROR(AppendSamples(d, spec.retrain.repeat, &data.train));
  say(c.label + ": " + std::to_string(found_total) + " disagreements found in " + std::to_string(searched) +
      " inputs, fine-tuning on " + std::to_string(data.train.size()) + " samples");

  // 3. Fine-tune from the trained weights.
  QUALM_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(&model, c.config));
  nlohmann::json history = nlohmann::json::array();
  double seconds = 0;
  for (int e = 0; e < c.config.epochs; ++e) {
    QUALM_ASSIGN_OR_RETURN(EpochReport report, trainer->RunEpoch(data.train, nullptr, ctx.callbacks.batch));
    seconds += report.seconds;
    history.push_back({{"epoch", report.epoch},
                       {"loss", report.train_loss},
                       {"train_accuracy", report.train_accuracy},
                       {"lr", report.lr},
                       {"seconds", report.seconds}});
    if (ctx.callbacks.epoch) ctx.callbacks.epoch(report);
  }
  // train.data stays: the variant cell calibrates on the first samples of
  // that training split, exactly as for the model before retraining.
  model.metadata["retrain.from"] = "cells/" + train_id + "/model.qm";
  model.metadata["retrain.protocol"] = c.protocol;
  model.metadata["retrain.variant"] = c.variant;
  model.metadata["retrain.added"] = std::to_string(found_total * static_cast<std::size_t>(spec.retrain.repeat));
  model.metadata["retrain.config"] = TrainConfigJson(c.config);
  model.metadata["retrain.history"] = history.dump();
  QUALM_RETURN_IF_ERROR(frontends::SaveModel(model, CellDir(ctx.out_dir, c.id) + "/model.qm"));
  return nlohmann::json{{"found_on", found_on},
                        {"found", found_total},
                        {"searched", searched},
                        {"added", found_total * static_cast<std::size_t>(spec.retrain.repeat)},
                        {"training_samples", data.train.size()},
                        {"original_training_samples", original},
                        {"train_seconds", seconds},
                        {"history", history},
                        {"path", trainer->PathDescription()}};
}

Result<nlohmann::json> RetrainRecords(const std::string& out, const StudySpec& spec, const StudyGrid& grid) {
  nlohmann::json list = nlohmann::json::array();
  std::map<std::pair<std::string, std::string>, const Cell*> eval_of;  // (model cell, set) -> eval cell
  for (const auto& c : grid.cells)
    if (c.kind == CellKind::kEval) eval_of[{c.parent, c.data}] = &c;
  const auto find = [&](const std::string& model, const std::string& set) -> const Cell* {
    auto it = eval_of.find({model, set});
    return it != eval_of.end() && CellDone(out, it->second->id) ? it->second : nullptr;
  };
  for (const auto& r : grid.cells) {
    if (r.kind != CellKind::kRetrain || !CellDone(out, r.id)) continue;
    const StudyTask& task = spec.tasks[static_cast<std::size_t>(r.task)];
    const std::string test = TaskData(task) + ":test";
    const Cell* before_variant = grid.Find(r.parent);
    const Cell* after_variant = nullptr;
    for (const auto& c : grid.cells)
      if (c.kind == CellKind::kVariant && c.parent == r.id) after_variant = &c;
    if (!before_variant || !after_variant) continue;
    const Cell* bf = find(before_variant->parent, test);
    const Cell* bq = find(before_variant->id, test);
    const Cell* af = find(r.id, test);
    const Cell* aq = find(after_variant->id, test);
    if (!bf || !bq || !af || !aq) continue;
    QUALM_ASSIGN_OR_RETURN(nlohmann::json rj, ReadJsonFile(CellDir(out, r.id) + "/cell.json"));
    // The stated counts of the retrained pair; the analysis recounts them from the files.
    QUALM_ASSIGN_OR_RETURN(NpyArray labels, ReadNpy(CellDir(out, af->id) + "/labels.npy"));
    QUALM_ASSIGN_OR_RETURN(NpyArray ft, ReadNpy(CellDir(out, af->id) + "/top1.npy"));
    QUALM_ASSIGN_OR_RETURN(NpyArray qt, ReadNpy(CellDir(out, aq->id) + "/top1.npy"));
    if (labels.i32.size() != ft.i32.size() || ft.i32.size() != qt.i32.size())
      return DataLoss(r.label + ": the retrained models' records differ in length");
    std::size_t n = labels.i32.size(), disagreements = 0, fc = 0, qc = 0;
    for (std::size_t i = 0; i < n; ++i) {
      disagreements += ft.i32[i] != qt.i32[i];
      fc += ft.i32[i] == labels.i32[i];
      qc += qt.i32[i] == labels.i32[i];
    }
    const auto rate = [n](std::size_t k) { return n ? static_cast<double>(k) / static_cast<double>(n) : 0.0; };
    const std::string f = "cells/" + af->id + "/", q = "cells/" + aq->id + "/";
    const std::string bfd = "cells/" + bf->id + "/", bqd = "cells/" + bq->id + "/";
    list.push_back({{"task", TaskName(task)},
                    {"arch", task.arch},
                    {"train_data", TaskData(task)},
                    {"strategy", r.strategy},
                    {"seed", r.seed},
                    {"variant", r.variant},
                    {"protocol", r.protocol},
                    {"set", test},
                    {"found", rj.value("found", std::size_t{0})},
                    {"searched", rj.value("searched", std::size_t{0})},
                    {"added", rj.value("added", std::size_t{0})},
                    {"count", n},
                    {"float_accuracy", rate(fc)},
                    {"quantized_accuracy", rate(qc)},
                    {"disagreements", disagreements},
                    {"disagreement_rate", rate(disagreements)},
                    {"labels", f + "labels.npy"},
                    {"float_top1", f + "top1.npy"},
                    {"float_softmax", f + "softmax.npy"},
                    {"quantized_top1", q + "top1.npy"},
                    {"model", "cells/" + after_variant->id + "/model.qm"},
                    {"float_model", "cells/" + r.id + "/model.qm"},
                    {"before_labels", bfd + "labels.npy"},
                    {"before_float_top1", bfd + "top1.npy"},
                    {"before_quantized_top1", bqd + "top1.npy"}});
  }
  return list;
}

}  // namespace qualm::study

#include "early_stopping.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "qualm/frontends/model_file.h"

namespace qualm::study::internal {
namespace {

std::vector<std::vector<Tensor>> CopyParams(const Model& model) {
  std::vector<std::vector<Tensor>> out(model.nodes.size());
  for (std::size_t i = 0; i < model.nodes.size(); ++i)
    for (const auto& p : model.nodes[i].params) out[i].push_back(p.value);
  return out;
}

bool SameLayout(const Model& model, const std::vector<std::vector<Tensor>>& params) {
  if (params.size() != model.nodes.size()) return false;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].size() != model.nodes[i].params.size()) return false;
    for (std::size_t k = 0; k < params[i].size(); ++k) {
      const Tensor& a = params[i][k];
      const Tensor& b = model.nodes[i].params[k].value;
      if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
    }
  }
  return true;
}

}  // namespace

std::string EarlyStopping::BestFile(int epoch) const { return checkpoint_ + ".best-" + std::to_string(epoch); }

Result<EarlyStopping> EarlyStopping::Start(int patience, const Model& model, bool resumed,
                                           const std::string& checkpoint) {
  if (patience < 1) return InvalidArgument("early stopping patience must be at least 1");
  EarlyStopping es;
  es.patience_ = patience;
  es.checkpoint_ = checkpoint;
  if (!resumed) return es;
  auto it = model.metadata.find(kStateKey);
  if (it == model.metadata.end()) return es;  // checkpoint written before any validation result
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("best_epoch") || !j.contains("best_accuracy"))
    return DataLoss(checkpoint + ": unreadable early-stopping state in the checkpoint");
  es.best_epoch_ = j["best_epoch"].get<int>();
  es.best_accuracy_ = j["best_accuracy"].get<double>();
  if (es.best_epoch_ > 0) {
    const std::string file = es.BestFile(es.best_epoch_);
    auto best = frontends::LoadModel(file);
    if (!best.ok()) return best.status().WithContext("cannot resume early stopping (the best epoch's weights)");
    es.best_params_ = CopyParams(*best);
    if (!SameLayout(model, es.best_params_))
      return InvalidArgument(file + ": the best epoch's weights do not fit the checkpoint's model");
  }
  return es;
}

Result<bool> EarlyStopping::AfterEpoch(int epoch, double validation_accuracy, Model& model, bool persist) {
  if (validation_accuracy > best_accuracy_) {
    best_accuracy_ = validation_accuracy;
    best_epoch_ = epoch;
    best_params_ = CopyParams(model);
    if (persist) {
      Model best = model;
      best.metadata.erase(kStateKey);
      QUALM_RETURN_IF_ERROR(frontends::SaveModel(best, BestFile(epoch)));
    }
  }
  const nlohmann::json state = {{"best_epoch", best_epoch_}, {"best_accuracy", best_accuracy_}};
  model.metadata[kStateKey] = state.dump();
  return epoch - best_epoch_ >= patience_;
}

void EarlyStopping::RemoveStaleFiles() const {
  // Only the epochs that may have been written by this run's checkpoints:
  // best files are named by epoch, and the current one is kept.
  for (int e = 1; e < best_epoch_; ++e) std::remove(BestFile(e).c_str());
}

void EarlyStopping::Finish(Model& model, int epochs_run, bool stopped_early) {
  if (best_epoch_ > 0 && SameLayout(model, best_params_)) {
    for (std::size_t i = 0; i < model.nodes.size(); ++i)
      for (std::size_t k = 0; k < model.nodes[i].params.size(); ++k) model.nodes[i].params[k].value = best_params_[i][k];
  }
  model.metadata.erase(kStateKey);
  for (int e = 1; e <= epochs_run; ++e) std::remove(BestFile(e).c_str());
  const nlohmann::json summary = {{"patience", patience_},
                                  {"best_epoch", best_epoch_},
                                  {"best_validation_accuracy", best_accuracy_},
                                  {"epochs_run", epochs_run},
                                  {"stopped_early", stopped_early}};
  model.metadata[kSummaryKey] = summary.dump();
}

}  // namespace qualm::study::internal

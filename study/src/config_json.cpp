#include <nlohmann/json.hpp>

#include "qualm/study/train_run.h"

namespace qualm::study {

std::string TrainConfigJson(const TrainConfig& c) {
  nlohmann::json j = {{"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"optimizer", OptimizerName(c.optimizer)},
          {"lr", c.lr},
          {"momentum", c.momentum},
          {"nesterov", c.nesterov},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"adam_eps", c.adam_eps},
          {"weight_decay", c.weight_decay},
          {"schedule", ScheduleName(c.schedule)},
          {"warmup_epochs", c.warmup_epochs},
          {"step_every", c.step_every},
          {"step_gamma", c.step_gamma},
          {"clip_grad_norm", c.clip_grad_norm},
          {"augment_flip", c.augment_flip},
          {"augment_shift", c.augment_shift},
          {"seed", c.seed},
          {"threads", c.threads},
          {"backend", BackendName(c.backend)}};
  // Standard training writes no strategy keys, so the configuration of every
  // model trained before strategies existed is still the same string (the
  // model-set runner compares these strings to keep finished models).
  nlohmann::json out = j;
  if (c.strategy != TrainingStrategy::kStandard) out["strategy"] = StrategyName(c.strategy);
  if (c.strategy == TrainingStrategy::kAdversarial)
    out["adversarial"] = {{"eps", c.adversarial.eps},
                          {"step", c.adversarial.step},
                          {"iterations", c.adversarial.iterations},
                          {"fraction", c.adversarial.fraction}};
  if (c.strategy == TrainingStrategy::kMixup) out["mixup"] = {{"alpha", c.mixup.alpha}};
  // Only when used, so the configuration (and checkpoint identity) of runs
  // without early stopping reads as it did before the option existed.
  if (c.early_stopping_patience > 0) out["early_stopping_patience"] = c.early_stopping_patience;
  return out.dump();
}

Result<TrainConfig> ParseTrainConfigJson(const std::string& text) {
  TrainConfig c;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    c.epochs = j.at("epochs").get<int>();
    c.batch_size = j.at("batch_size").get<int>();
    QUALM_ASSIGN_OR_RETURN(c.optimizer, ParseOptimizer(j.at("optimizer").get<std::string>()));
    c.lr = j.at("lr").get<float>();
    c.momentum = j.at("momentum").get<float>();
    c.nesterov = j.at("nesterov").get<bool>();
    c.beta1 = j.at("beta1").get<float>();
    c.beta2 = j.at("beta2").get<float>();
    c.adam_eps = j.at("adam_eps").get<float>();
    c.weight_decay = j.at("weight_decay").get<float>();
    QUALM_ASSIGN_OR_RETURN(c.schedule, ParseSchedule(j.at("schedule").get<std::string>()));
    c.warmup_epochs = j.at("warmup_epochs").get<int>();
    c.step_every = j.at("step_every").get<int>();
    c.step_gamma = j.at("step_gamma").get<float>();
    c.clip_grad_norm = j.at("clip_grad_norm").get<float>();
    c.augment_flip = j.at("augment_flip").get<bool>();
    c.augment_shift = j.at("augment_shift").get<int>();
    c.seed = j.at("seed").get<std::uint64_t>();
    c.threads = j.at("threads").get<int>();
    QUALM_ASSIGN_OR_RETURN(c.backend, ParseBackend(j.at("backend").get<std::string>()));
    // Absent in configurations written before strategies (and for standard training).
    if (j.contains("strategy")) {
      QUALM_ASSIGN_OR_RETURN(c.strategy, ParseStrategy(j.at("strategy").get<std::string>()));
    }
    if (j.contains("adversarial")) {
      const auto& a = j.at("adversarial");
      c.adversarial.eps = a.at("eps").get<float>();
      c.adversarial.step = a.at("step").get<float>();
      c.adversarial.iterations = a.at("iterations").get<int>();
      c.adversarial.fraction = a.at("fraction").get<float>();
    }
    if (j.contains("mixup")) c.mixup.alpha = j.at("mixup").at("alpha").get<float>();
    c.early_stopping_patience = j.value("early_stopping_patience", 0);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("training configuration: ") + e.what());
  }
  return c;
}

}  // namespace qualm::study

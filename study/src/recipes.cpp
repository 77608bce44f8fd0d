#include "qualm/study/recipes.h"

#include "qualm/engine/zoo.h"

namespace qualm::study {

TrainConfig DefaultRecipe(const std::string& arch) {
  TrainConfig c;
  if (arch == "lenet1" || arch == "lenet5") {
    c.lr = 0.05f;
    c.batch_size = 64;
    c.epochs = 15;
  } else if (arch == "resnet20" || arch == "nin") {
    c.lr = 0.1f;
    c.batch_size = 128;
    c.epochs = 12;
    c.augment_flip = true;
    c.augment_shift = 2;
  } else if (IsTextArchitecture(arch)) {
    c.optimizer = OptimizerKind::kAdam;
    c.lr = 2e-3f;
    c.schedule = LrSchedule::kConstant;
    c.weight_decay = 0.0f;
    c.batch_size = 32;
    c.clip_grad_norm = 5.0f;
    c.epochs = 8;
  }
  return c;
}

TrainConfig FineTuneRecipe(const std::string& arch) {
  TrainConfig c = DefaultRecipe(arch);
  c.epochs = 2;
  c.lr *= 0.1f;
  return c;
}

std::string DefaultTrainingData(const std::string& arch) { return IsTextArchitecture(arch) ? "spam" : "fashion-mnist"; }

std::vector<std::string> TextTasks() { return {"spam", "spam-brief"}; }

TrainConfig TaskRecipe(const std::string& arch, const std::string& data) {
  TrainConfig c = DefaultRecipe(arch);
  if (data == "spam-brief" && IsTextArchitecture(arch)) {
    c.epochs = 40;
    c.early_stopping_patience = 6;
  }
  return c;
}

}  // namespace qualm::study

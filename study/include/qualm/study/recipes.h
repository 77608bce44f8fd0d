// qualm/study/recipes.h: the study's default training recipes.
//
// The architectures themselves are the engine's (engine/zoo.h); how the study
// trains each of them, and on which data, is decided here. These recipes are
// what `qualm train` and `qualm zoo` use unless told otherwise, and what the
// acceptance numbers in study/results/ were produced with:
//   lenet1, lenet5  SGD+Nesterov 0.9, lr 0.05, cosine, wd 5e-4, batch 64, 15 epochs      on fashion-mnist
//   resnet20, nin   SGD+Nesterov 0.9, lr 0.1, cosine, wd 5e-4, batch 128,
//                   flip + 2-pixel shift, 12 epochs                                    on fashion-mnist
//   lstm, gru       Adam lr 2e-3, constant, wd 0, batch 32, clip 5, 8 epochs            on spam
// Other text tasks (TextTasks(), frontends/spam_assassin.h) have their own
// recipe (TaskRecipe):
//   lstm, gru       the spam recipe, but up to 40 epochs with early stopping on the
//                   validation split (patience 6, best weights kept)           on spam-brief
//   (spam-brief's validation split has 150 messages, so one message moves the
//   accuracy by 0.67 points; 6 epochs of patience ride out that noise.)
// Fine-tuning (`--init-from`, QAT from a trained float model) starts from the
// same recipe with 2 epochs at a tenth of its learning rate.
#pragma once

#include <string>
#include <vector>

#include "qualm/engine/train.h"

namespace qualm::study {

TrainConfig DefaultRecipe(const std::string& arch);
// The recipe for fine-tuning an already trained model of `arch`.
TrainConfig FineTuneRecipe(const std::string& arch);
// The training data family of the default recipe: "fashion-mnist" for the
// image architectures, "spam" for the text ones.
std::string DefaultTrainingData(const std::string& arch);

// The text tasks built from SpamAssassin: "spam" (the default) and the harder
// "spam-brief".
std::vector<std::string> TextTasks();
// The recipe for training `arch` on the training data spec `data` (empty: the
// default data). DefaultRecipe(arch) except for the tasks listed above.
TrainConfig TaskRecipe(const std::string& arch, const std::string& data);

}  // namespace qualm::study

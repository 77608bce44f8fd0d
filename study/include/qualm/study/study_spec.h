// qualm/study/study_spec.h: what a study is: a grid of
//   tasks (architecture x training data) x strategies x seeds
//     x quantization variants x evaluation sets (clean test set, every shift at every severity).
//
// A study is described by a JSON file (or one of the presets, which are such
// files built in code); StudySpecJson writes the resolved form, so the folder of
// a run records exactly what was asked. Keys (every one optional except tasks):
//   {"name": "quick",
//    "tasks": [{"arch": "lenet1", "data": "fashion-mnist", "epochs": 3, "train_limit": 10000}, ...],
//    "strategies": ["standard", "qat", "adversarial", "mixup"],
//    "seeds": [1, 2, 3],
//    "variants": ["int8", "dynamic", "weight-only-int8", "fp16-weights", "bf16-weights"],
//    "eval_limit": 2000,              N samples of every evaluation set (0 = all): a fixed
//                                     seeded subset, the same for every model (shifted_data.h)
//    "image_shifts": ["fog", ...] | "all",   "text_shifts": [...] | "all",
//    "severities": [1, 3, 5],  "natural_shifts": true,  "validation_sets": true,  "shift_seed": 1,
//    "calibration_samples": 100,  "finetune_epochs": 0,   (qat and adversarial; 0: the recipe's)
//    "retrain": {"variants": ["int8"], "strategies": ["standard"], "protocols": ["ours", "paper"],
//                "epochs": 1, "repeat": 1, "severity": 0},   RQ4 (retrain_cells.h); off while variants is empty
//    "probes": {"matrix": true, "attribution": true, "severities": [5],
//               "reference_rows": true, "top_layers": 2}}   (probe_cells.h; absent: no probes)
// Strategies: standard (the task's recipe); mixup (the recipe, trained from
// scratch with Mixup); qat and adversarial fine-tune the standard model of the
// same task and seed (the fine-tuning recipe: a tenth of the learning rate,
// finetune_epochs or the recipe's 2) with quantization-aware training or PGD
// adversarial training. Adversarial training is a fine-tuning because from
// scratch it collapsed: LeNet-1 at the paper's eps 0.3 (and at 0.1, 0.05, 0.03)
// stayed at chance accuracy, predicting one class, as Madry et al. report for
// small networks; fine-tuned, it keeps most of the clean accuracy and gains
// robustness (measured: clean 0.862, PGD 0.246 vs 0.892 / 0.000).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/train.h"
#include "qualm/status.h"

namespace qualm::study {

struct StudyTask {
  std::string arch;                 // zoo architecture
  std::string data;                 // training data family (empty: the arch's default)
  int epochs = 0;                   // 0: the recipe's
  std::size_t train_limit = 0;      // first N training samples (0: all)
};

// RQ4, retraining on disagreements (retrain_cells.h): which standard-grid models
// are retrained, how, and where their disagreements are found. An empty
// variants list (the default) disables RQ4.
struct RetrainSpec {
  std::vector<std::string> variants;                    // schemes whose disagreements are retrained on
  std::vector<std::string> strategies = {"standard"};   // train cells retrained (not qat)
  std::vector<std::string> protocols = {"ours", "paper"};  // ours, paper, control (retrain_cells.h)
  int epochs = 1;       // fine-tuning epochs from the trained weights
  int repeat = 1;       // copies of each disagreement input appended to the training split
  int severity = 0;     // severity of the shifted validation sets (ours); 0: the spec's highest
  bool enabled() const { return !variants.empty(); }
};

// The probes (probe_cells.h): model runs beyond the evaluations, on the int8
// variant of the standard-trained models, on the clean test set, the natural
// text shifts and the synthetic shifts at `severities`.
struct StudyProbes {
  bool matrix = false;         // backend disagreement matrix (backend_matrix.h)
  bool attribution = false;    // flip attribution + mixed-precision check (flip_attribution.h)
  std::vector<int> severities = {5};
  bool reference_rows = true;  // the matrix's reference-kernel and QAT rows, on the clean test set only
  int top_layers = 2;          // attribution's mixed-precision checks
  bool any() const { return matrix || attribution; }
};

struct StudySpec {
  std::string name = "custom";
  std::vector<StudyTask> tasks;
  std::vector<std::string> strategies = {"standard"};
  std::vector<std::uint64_t> seeds = {1};
  std::vector<std::string> variants = {"int8", "dynamic", "weight-only-int8", "fp16-weights", "bf16-weights"};
  std::size_t eval_limit = 0;             // samples per evaluation set (0 = all), see above
  std::vector<std::string> image_shifts;  // resolved names ("all" expands when parsed)
  std::vector<std::string> text_shifts;
  std::vector<int> severities = {1, 2, 3, 4, 5};
  bool natural_shifts = true;             // text: the corpus's own later / hard-ham sets
  bool validation_sets = true;            // also evaluate the clean validation split
  std::uint64_t shift_seed = 1;
  int calibration_samples = 100;
  int finetune_epochs = 0;                // qat and adversarial; 0: the fine-tuning recipe's
  std::int64_t skip_smaller_than = 2048;  // weight-only-int8's small-layer threshold
  RetrainSpec retrain;                    // RQ4; off unless retrain.variants is set
  StudyProbes probes;                     // off unless asked for (the presets ask)
};

std::vector<std::string> StudyStrategies();   // standard, qat, adversarial, mixup
std::vector<std::string> StudyPresetNames();  // quick, default, full
Result<StudySpec> StudyPreset(const std::string& name);

// Parses and validates (unknown keys, architectures, strategies, variants,
// shifts and severities are errors that name the key and the valid values).
Result<StudySpec> ParseStudySpec(const std::string& json_text);
Status ValidateStudySpec(const StudySpec& spec);
// Canonical JSON (sorted keys, every field written): equal specs give equal text.
std::string StudySpecJson(const StudySpec& spec);

// How a strategy trains, on top of a recipe: standard leaves it as it is,
// adversarial and mixup set TrainConfig::strategy with the paper's defaults
// (train.h). qat is not a TrainConfig strategy (train_run.h,
// TrainRunOptions::qat), so it is an error here.
Status SetTrainingStrategy(const std::string& strategy, TrainConfig* config);
// Whether a strategy fine-tunes the standard model (qat, adversarial).
bool IsFineTuneStrategy(const std::string& strategy);

// The training data family of a task (its own, or the arch's default).
std::string TaskData(const StudyTask& task);
// "lenet5@fashion-mnist": how reports and progress name a task.
std::string TaskName(const StudyTask& task);

}  // namespace qualm::study

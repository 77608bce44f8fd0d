// qualm/study/model_set.h: train and evaluate a set of zoo models.
//
// The main job's first stage: every model of the set is trained with its
// documented recipe (resumable: finished models are kept, an interrupted one
// resumes from its last epoch checkpoint), then evaluated on the test set of
// its data family and, for text, on the naturally shifted sets. The summary is
// written atomically as summary.json and summary.md in the output folder; each
// row records the configuration, seed and kernel path that produced it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qualm/study/train_run.h"

namespace qualm::study {

struct ModelSetOptions {
  std::string out_dir = "runs/default";
  std::vector<std::string> archs;   // empty = every zoo architecture
  std::uint64_t seed = 1;
  int threads = 1;
  Backend backend = Backend::kFast;
  int epochs = 0;                   // > 0 overrides every recipe (quick runs)
  frontends::DataSpecOptions data_options;
};

struct ModelSetRow {
  std::string arch, model_path, train_data;
  int epochs = 0;
  double train_seconds = 0;
  std::int64_t parameters = 0;
  std::string path;  // kernel path used to evaluate
  struct Eval {
    std::string data;
    std::size_t count = 0;
    double accuracy = 0;
  };
  std::vector<Eval> evals;
};

struct ModelSetCallbacks {
  // Before each model: its 1-based position in the set, the set's size, its name.
  std::function<void(int index, int count, const std::string& arch)> model_started;
  TrainRunCallbacks train;
  std::function<void(const std::string&)> message;
};

Result<std::vector<ModelSetRow>> RunModelSet(const ModelSetOptions& options, const ModelSetCallbacks& callbacks = {});
// The Markdown table written to summary.md.
std::string ModelSetMarkdown(const std::vector<ModelSetRow>& rows);

}  // namespace qualm::study

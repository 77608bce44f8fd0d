// qualm eval: accuracy (overall and per class) and loss of a model on a data set.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/engine/train.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/disagreement_guard.h"

namespace qualm::cli {
namespace {

struct EvalArgs {
  std::string model_path, data, predictions;
  Backend backend = Backend::kFast;
  int threads = 0, batch = 256;
  bool json = false, quiet = false;
  frontends::DataSpecOptions data_args;
  TextShiftArgs shift;
};

int RunEval(EvalArgs& a) {
  const char* cmd = "eval";
  if (Status st = CheckOutputIsNotInput(a.predictions, {a.model_path}); !st.ok()) return Fail(cmd, st);
  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail(cmd, model.status());
  if (Status st = ApplyTextShift(a.shift, a.data_args); !st.ok()) return Fail(cmd, st);
  auto data = LoadDataOption(cmd, *model, a.data, a.data_args);
  if (!data.ok()) return Fail(cmd, data.status());
  EvalOptions eo;
  eo.backend = a.backend;
  eo.threads = ResolveThreads(a.threads);
  eo.batch_size = a.batch;
  // A model quantized with --guard carries a margin threshold: the inputs
  // whose margin (of this model's own softmax, the one a deployment has) is at
  // or under it are reported as at risk of disagreeing with the float model.
  auto guard = study::StoredGuardThreshold(*model);
  if (!guard.ok()) return Fail(cmd, guard.status().WithContext(a.model_path));
  eo.keep_probabilities = !a.predictions.empty() || guard->has_value();
  ProgressLine progress(!a.quiet && !a.json);
  auto r = Evaluate(*model, *data, eo, [&](std::size_t done, std::size_t total) {
    progress.Update(static_cast<double>(done) / static_cast<double>(total),
                    "evaluating " + std::to_string(done) + "/" + std::to_string(total));
  });
  if (!r.ok()) return Fail(cmd, r.status());
  const int classes = model->num_classes;
  std::vector<int> per_total(static_cast<std::size_t>(classes)), per_correct(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < data->size(); ++i) {
    per_total[static_cast<std::size_t>(data->labels[i])]++;
    per_correct[static_cast<std::size_t>(data->labels[i])] += r->predictions[i] == data->labels[i];
  }
  nlohmann::json per_class = nlohmann::json::array();
  for (int c = 0; c < classes; ++c) {
    const auto cu = static_cast<std::size_t>(c);
    per_class.push_back({{"class", c},
                         {"name", cu < data->class_names.size() ? data->class_names[cu] : std::to_string(c)},
                         {"count", per_total[cu]},
                         {"accuracy", per_total[cu] ? static_cast<double>(per_correct[cu]) / per_total[cu] : 0.0}});
  }
  nlohmann::json guard_json;
  std::vector<std::size_t> at_risk;
  if (guard->has_value()) {
    auto flags = study::GuardFlags(r->probabilities, classes, **guard);
    if (!flags.ok()) return Fail(cmd, flags.status());
    for (std::size_t i = 0; i < flags->size(); ++i)
      if ((*flags)[i]) at_risk.push_back(i);
    guard_json = {{"margin", study::GuardMarginName(study::GuardMargin::kQuantized)},
                  {"margin_threshold", **guard},
                  {"recall", model->metadata.count(study::kGuardRecall)
                                 ? nlohmann::json(std::strtod(model->metadata[study::kGuardRecall].c_str(), nullptr))
                                 : nlohmann::json(nullptr)},
                  {"flagged", at_risk.size()},
                  {"flagged_fraction", static_cast<double>(at_risk.size()) / static_cast<double>(data->size())},
                  {"at_risk", at_risk}};
  }
  if (!a.predictions.empty()) {
    nlohmann::json preds = {{"model", a.model_path}, {"data", a.data}, {"path", r->path}};
    preds["labels"] = data->labels;
    preds["predictions"] = r->predictions;
    // One row of class probabilities per input, in data set order.
    nlohmann::json rows = nlohmann::json::array();
    const auto k = static_cast<std::size_t>(classes);
    for (std::size_t i = 0; i < data->size(); ++i)
      rows.push_back(std::vector<float>(r->probabilities.begin() + static_cast<std::ptrdiff_t>(i * k),
                                        r->probabilities.begin() + static_cast<std::ptrdiff_t>((i + 1) * k)));
    preds["probabilities"] = std::move(rows);
    if (!guard_json.is_null()) preds["guard"] = guard_json;
    Status st = frontends::WriteFileAtomically(a.predictions, preds.dump());
    if (!st.ok()) return Fail(cmd, st);
  }
  if (a.json) {
    nlohmann::json out = {{"model", a.model_path},
                          {"arch", model->arch},
                          {"data", a.data},
                          {"count", data->size()},
                          {"accuracy", r->accuracy},
                          {"loss", r->loss},
                          {"path", r->path},
                          {"per_class", per_class}};
    if (!guard_json.is_null()) out["guard"] = guard_json;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    progress.Finish("");
    std::printf("%s on %s: accuracy %.2f%% (%zu samples), loss %.4f, path %s\n", a.model_path.c_str(),
                a.data.c_str(), r->accuracy * 100.0, data->size(), r->loss, r->path.c_str());
    for (const auto& pc : per_class) {
      const std::string name = pc["name"].get<std::string>();
      std::printf("  %s %6.2f%%  (%d)\n", PadRight(name, 14).c_str(), pc["accuracy"].get<double>() * 100.0,
                  pc["count"].get<int>());
    }
    if (guard->has_value())
      std::printf("guard: %s of %zu flagged as at risk (own softmax margin <= %.6g)\n",
                  Plural(at_risk.size(), "input").c_str(), data->size(), **guard);
  }
  return 0;
}

}  // namespace

Runner RegisterEval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  app.add_option("model", a->model_path, "Model file")->required();
  app.add_option("--data", a->data, DataSpecHelp("Data set (default: the test set of the model's training data)"));
  AddBackendOption(app, a->backend);
  AddThreadsOption(app, a->threads);
  app.add_option("--batch", a->batch, "Evaluation batch size")->capture_default_str()->check(AtLeastOne());
  AddLimitOption(app, a->data_args.limit);
  AddDataDirOptions(app, a->data_args);
  AddTextShiftOptions(app, a->shift);
  app.add_option("--predictions", a->predictions,
                 "Write labels, predictions and one row of softmax probabilities per input as JSON "
                 "(docs/cli-json.md)");
  app.add_flag("--json", a->json, "Machine-readable output (docs/cli-json.md)");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunEval(*a); };
}

}  // namespace qualm::cli

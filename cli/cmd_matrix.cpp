// qualm matrix: the backend disagreement matrix of one float model
// (study/backend_matrix.h): float on both kernel paths, int8 in every
// requantization mode on every int8 path, optionally a QAT model's forward
// pass and int8 model; pairwise disagreement counts.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/backend_matrix.h"

namespace qualm::cli {
namespace {

struct MatrixArgs {
  std::string model_path, qat_path, data, out;
  int threads = 0, batch = 256, calibration_samples = 100;
  ObserverOptions observer = MinMaxOptions{};
  bool json = false, quiet = false;
  frontends::DataSpecOptions data_args;
};

nlohmann::json ToJson(const study::BackendMatrix& m, const MatrixArgs& a) {
  nlohmann::json rows = nlohmann::json::array(), unavailable = nlohmann::json::array(), labels = nlohmann::json::array();
  for (const auto& r : m.rows) {
    rows.push_back({{"label", r.label}, {"path", r.path}, {"accuracy", r.accuracy}, {"seconds", r.seconds}});
    labels.push_back(r.label);
  }
  for (const auto& u : m.unavailable) unavailable.push_back({{"label", u.label}, {"reason", u.reason}});
  return {{"model", a.model_path},
          {"qat_model", a.qat_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.qat_path)},
          {"data", a.data},
          {"count", m.samples},
          {"calibration", {{"samples", a.calibration_samples}, {"observer", ObserverName(a.observer)}}},
          {"rows", rows},
          {"labels", labels},
          {"counts", m.counts},
          {"unavailable", unavailable}};
}

int RunMatrix(MatrixArgs& a) {
  const char* cmd = "matrix";
  if (Status st = CheckOutputIsNotInput(a.out, {a.model_path, a.qat_path}); !st.ok()) return Fail(cmd, st);
  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail(cmd, model.status());
  Result<Model> qat = InvalidArgument("unused");
  if (!a.qat_path.empty()) {
    qat = frontends::LoadModel(a.qat_path);
    if (!qat.ok()) return Fail(cmd, qat.status());
  }
  auto data = LoadDataOption(cmd, *model, a.data, a.data_args);
  if (!data.ok()) return Fail(cmd, data.status());
  // The same calibration as `qualm quantize`: the first N inputs of the
  // training split the model file names.
  frontends::DataSpecOptions d = a.data_args;
  d.limit = static_cast<std::size_t>(a.calibration_samples);
  auto calib = frontends::LoadModelTrainingSplit(*model, d);
  if (!calib.ok()) return Fail(cmd, calib.status().WithContext("calibration data"));

  study::BackendMatrixOptions o;
  o.calibration.observer = a.observer;
  o.calibration.samples = a.calibration_samples;
  o.threads = ResolveThreads(a.threads);
  o.batch_size = a.batch;
  if (qat.ok()) o.qat_model = &*qat;
  if (!a.quiet && !a.json)
    o.on_row = [](const std::string& label) { std::fprintf(stderr, "qualm matrix: evaluating %s\n", label.c_str()); };
  auto m = study::BuildBackendMatrix(*model, *calib, *data, o);
  if (!m.ok()) return Fail(cmd, m.status());
  const nlohmann::json out = ToJson(*m, a);
  return EmitResult(cmd, a.out, a.json, out.dump(2), study::FormatBackendMatrix(*m));
}

}  // namespace

Runner RegisterMatrix(CLI::App& app) {
  auto a = std::make_shared<MatrixArgs>();
  app.add_option("model", a->model_path, "Float model file")->required();
  app.add_option("--data", a->data, DataSpecHelp("Data set (default: the test set of the model's training data)"));
  app.add_option("--samples", a->data_args.limit, "Only the first N inputs of the data set")->check(AtLeastOne());
  app.add_option("--qat-model", a->qat_path,
                 "An int8 model written by QAT training (qualm train --qat): adds its QAT forward pass and its "
                 "int8 model on each path");
  app.add_option("--calibration-samples", a->calibration_samples,
                 "int8 calibration samples (the first N of the model's training split)")
      ->capture_default_str()
      ->check(AtLeastOne());
  AddObserverOption(app, "--observer", a->observer, "int8 calibration observer");
  AddThreadsOption(app, a->threads);
  app.add_option("--batch", a->batch, "Evaluation batch size")->capture_default_str()->check(AtLeastOne());
  AddDataDirOptions(app, a->data_args);
  app.add_option("-o,--output", a->out, "Also write the JSON result to this file (atomically)");
  app.add_flag("--json", a->json, "Machine-readable output");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunMatrix(*a); };
}

}  // namespace qualm::cli

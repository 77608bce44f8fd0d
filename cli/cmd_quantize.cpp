// qualm quantize: post-training quantization of a float model into one of the
// schemes of quant_spec.h, saved as a new model file.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/engine/ptq.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/disagreement_guard.h"

namespace qualm::cli {
namespace {

struct QuantizeArgs {
  std::string model_path, out, calibration_data;
  QuantScheme scheme = QuantScheme::kInt8;
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  ObserverOptions observer = MinMaxOptions{};
  // Calibration runs the float model on the frozen reference kernels by
  // default, so a quantized model does not depend on the machine it was made on.
  Backend calibration_backend = Backend::kReference;
  int samples = 100, threads = 0;
  // coremltools' weight_threshold: the study protocol's weight-only variant
  // (Core ML 8-bit linear) leaves layers with fewer weights in float.
  std::int64_t skip_smaller_than = 2048;
  bool json = false, quiet = false;
  std::string weights = "per-channel";
  // --guard RECALL (0: no guard) and the set it is fitted on.
  double guard = 0.0;
  std::string guard_data;
  frontends::DataSpecOptions data_args;
};

// The guard (study/disagreement_guard.h): both models on the validation split
// of the float model's training data (or --guard-data), on the fast kernels.
Result<study::GuardFit> FitGuardOn(const QuantizeArgs& a, const Model& float_model, const Model& quantized) {
  std::string spec = a.guard_data;
  if (spec.empty()) {
    const auto it = float_model.metadata.find("train.data");
    const std::string test = frontends::DefaultTestData(float_model);
    if (it == float_model.metadata.end() || test.empty())
      return InvalidArgument("the model's training data has no standard validation split; pass --guard-data");
    spec = it->second + ":validation";
  }
  frontends::DataSpecOptions d = a.data_args;
  d.limit = 0;
  QUALM_ASSIGN_OR_RETURN(Dataset validation, frontends::LoadEvalData(spec, float_model, d));
  if (!a.quiet && !a.json)
    std::fprintf(stderr, "qualm quantize: fitting the guard on %zu inputs of %s\n", validation.size(), spec.c_str());
  EvalOptions eo;
  eo.threads = ResolveThreads(a.threads);
  return study::FitGuard(float_model, quantized, validation, a.guard, eo);
}

int RunQuantize(QuantizeArgs& a) {
  const char* cmd = "quantize";
  if (Status st = CheckOutputIsNotInput(a.out, {a.model_path}); !st.ok()) return Fail(cmd, st);
  PtqOptions o;
  o.scheme = a.scheme;
  o.mode = a.mode;
  o.calibration.observer = a.observer;
  o.calibration.samples = a.samples;
  o.calibration.backend = a.calibration_backend;
  o.calibration.threads = ResolveThreads(a.threads);
  o.skip_smaller_than = o.scheme == QuantScheme::kWeightOnlyInt8 ? a.skip_smaller_than : 0;
  o.per_tensor_weights = a.weights == "per-tensor";

  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail(cmd, model.status());
  if (model->quant.quantized())
    return Fail(cmd, InvalidArgument(a.model_path + " is already quantized (" + QuantSchemeName(model->quant.scheme) +
                                     "): quantize its float original"));

  Result<Dataset> calib = InvalidArgument("unused");
  ProgressLine progress(!a.quiet && !a.json);
  if (o.scheme == QuantScheme::kInt8) {
    // The study protocol: the first `samples` inputs of the training split of
    // the data the model was trained on (recorded in the model file).
    frontends::DataSpecOptions d = a.data_args;
    d.limit = static_cast<std::size_t>(a.samples);
    calib = a.calibration_data.empty() ? frontends::LoadModelTrainingSplit(*model, d)
                                       : frontends::LoadEvalData(a.calibration_data, *model, d);
    if (!calib.ok()) {
      Status st = calib.status().WithContext("calibration data");
      if (a.calibration_data.empty()) st = st.WithContext("pass --calibration-data");
      return Fail(cmd, st);
    }
    PrintLoadNotes(cmd, *calib);
    if (!a.quiet && !a.json)
      std::fprintf(stderr, "qualm quantize: calibrating on %zu samples of %s (%s observer, %s kernels)\n", calib->size(),
                   calib->name.c_str(), ObserverName(o.calibration.observer).c_str(),
                   BackendName(o.calibration.backend));
    o.calibration.progress = [&](int done, int total) {
      progress.Update(static_cast<double>(done) / total,
                      "calibrating " + std::to_string(done) + "/" + std::to_string(total) + " samples");
    };
  }
  auto q = QuantizeModel(*model, calib.ok() ? &*calib : nullptr, o);
  if (o.scheme == QuantScheme::kInt8) progress.Finish("calibrated; ranges chosen");
  if (!q.ok()) return Fail(cmd, q.status());
  q->metadata["quantized.from"] = a.model_path;
  q->metadata["quantized.by"] = std::string("qualm ") + Version();
  std::optional<study::GuardFit> guard;
  if (a.guard > 0.0) {
    auto g = FitGuardOn(a, *model, *q);
    if (!g.ok()) return Fail(cmd, g.status().WithContext("--guard"));
    guard = *g;
    study::StoreGuard(*guard, &*q);
  }
  Status st = frontends::SaveModel(*q, a.out);
  if (!st.ok()) return Fail(cmd, st);

  const int quantized_layers = QuantizedLayerCount(q->quant);
  std::string nothing;
  if (quantized_layers == 0)
    nothing = "no layer was quantized: every weighted layer has fewer than " + std::to_string(a.skip_smaller_than) +
              " weights (--skip-smaller-than), so the output computes exactly what the float model computes";
  if (a.json) {
    nlohmann::json out = {{"model", a.model_path},
                          {"output", a.out},
                          {"scheme", QuantSchemeName(q->quant.scheme)},
                          {"mode", q->quant.uses_requant_mode() ? nlohmann::json(kernels::RequantModeName(q->quant.mode))
                                                                : nlohmann::json(nullptr)},
                          {"quantized_layers", quantized_layers < 0 ? nlohmann::json("all") : nlohmann::json(quantized_layers)},
                          {"info", q->quant.info}};
    if (!nothing.empty()) out["warning"] = nothing;
    if (guard)
      out["guard"] = {{"recall", guard->recall},
                      {"margin", study::GuardMarginName(study::GuardMargin::kQuantized)},
                      {"margin_threshold", guard->threshold},
                      {"float_margin_threshold", guard->float_threshold},
                      {"validation_data", guard->data},
                      {"validation_inputs", guard->validation.inputs},
                      {"validation_disagreements", guard->validation.disagreements},
                      {"validation_flagged", guard->validation.flagged},
                      {"validation_flagged_fraction", guard->validation.flagged_fraction}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s -> %s: scheme %s", a.model_path.c_str(), a.out.c_str(), QuantSchemeName(q->quant.scheme));
    if (q->quant.uses_requant_mode()) std::printf(", requant %s", kernels::RequantModeName(q->quant.mode));
    for (const auto& [k, v] : q->quant.info) std::printf(", %s %s", k.c_str(), v.c_str());
    std::printf("\n");
    if (!nothing.empty()) std::fprintf(stderr, "qualm quantize: warning: %s\n", nothing.c_str());
    if (guard)
      std::printf("guard: margin threshold %.6g (quantized softmax p1 - p2) covers %.0f%% of the %zu disagreements "
                  "on %zu inputs of %s; flags %.2f%% of them\n",
                  guard->threshold, guard->recall * 100.0, guard->validation.disagreements, guard->validation.inputs,
                  guard->data.c_str(), guard->validation.flagged_fraction * 100.0);
  }
  return 0;
}

}  // namespace

Runner RegisterQuantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("model", a->model_path, "Float model file")->required();
  AddOutputOption(app, a->out, "Quantized model file to write (never the input)");
  AddChoiceOption(app, "--scheme", a->scheme, kQuantSchemes, QuantSchemeName, "Quantization scheme");
  AddChoiceOption(app, "--mode", a->mode, kRequantModes, kernels::RequantModeName,
                  "int8 requantization rounding (gemmlowp: TFLite's)");
  AddObserverOption(app, "--observer", a->observer, "int8 calibration observer");
  app.add_option("--samples", a->samples, "int8 calibration samples (the first N of the calibration data)")
      ->capture_default_str()
      ->check(AtLeastOne());
  app.add_option("--calibration-data", a->calibration_data,
                 DataSpecHelp("Calibration data set (default: the training split of the data the model was trained "
                              "on, as its file records)"));
  app.add_option("--skip-smaller-than", a->skip_smaller_than,
                 "weight-only-int8: keep layers with fewer weights than this in float")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--weights", a->weights, "Weight scale granularity: per-channel or per-tensor")
      ->capture_default_str()
      ->check(CLI::IsMember({"per-channel", "per-tensor"}));
  AddChoiceOption(app, "--calibration-backend", a->calibration_backend, {Backend::kReference, Backend::kFast},
                  BackendName,
                  "Kernels that run the float model during calibration (default reference: the frozen scalar "
                  "kernels, so the quantized model is the same on every machine)");
  app.add_option("--guard", a->guard,
                 "Fit a disagreement guard: the margin threshold (of the quantized model's softmax) under which "
                 "this fraction of the validation disagreements fall, stored in the model; qualm eval flags inputs "
                 "at or under it")
      ->check(CLI::Range(0.0, 1.0) & CLI::Validator([](std::string& v) {
                return std::strtod(v.c_str(), nullptr) > 0.0 ? std::string() : std::string("the recall must be > 0");
              }, "RECALL in (0, 1]"));
  app.add_option("--guard-data", a->guard_data,
                 DataSpecHelp("Data set the guard is fitted on (default: the validation split of the model's "
                              "training data)"));
  AddThreadsOption(app, a->threads);
  AddDataDirOptions(app, a->data_args);
  app.add_flag("--json", a->json, "Machine-readable output (docs/cli-json.md)");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunQuantize(*a); };
}

}  // namespace qualm::cli

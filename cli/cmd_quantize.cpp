// qualm quantize: post-training quantization of a float model into one of the
// schemes of quant_spec.h, saved as a new model file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/engine/ptq.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"

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
  frontends::DataSpecOptions data_args;
};

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
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s -> %s: scheme %s", a.model_path.c_str(), a.out.c_str(), QuantSchemeName(q->quant.scheme));
    if (q->quant.uses_requant_mode()) std::printf(", requant %s", kernels::RequantModeName(q->quant.mode));
    for (const auto& [k, v] : q->quant.info) std::printf(", %s %s", k.c_str(), v.c_str());
    std::printf("\n");
    if (!nothing.empty()) std::fprintf(stderr, "qualm quantize: warning: %s\n", nothing.c_str());
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
  AddThreadsOption(app, a->threads);
  AddDataDirOptions(app, a->data_args);
  app.add_flag("--json", a->json, "Machine-readable output (docs/cli-json.md)");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunQuantize(*a); };
}

}  // namespace qualm::cli

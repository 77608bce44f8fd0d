// qualm quantize: post-training quantization of a float model into one of the
// schemes of quant_spec.h, saved as a new model file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "qualm/engine/ptq.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"

namespace qualm::cli {
namespace {

struct QuantizeArgs {
  std::string model_path, out, scheme = "int8", mode = "gemmlowp", observer = "minmax", calibration_data, backend = "reference";
  int samples = 100, threads = 0;
  // coremltools' weight_threshold: the study protocol's weight-only variant
  // (Core ML 8-bit linear) leaves layers with fewer weights in float.
  std::int64_t skip_smaller_than = 2048;
  bool json = false;
  std::string weights = "per-channel";
  frontends::DataSpecOptions data_args;
};

int RunQuantize(QuantizeArgs& a) {
  const char* cmd = "quantize";
  auto model = frontends::LoadModel(a.model_path);
  if (!model.ok()) return Fail(cmd, model.status());
  PtqOptions o;
  auto scheme = ParseQuantScheme(a.scheme);
  if (!scheme.ok()) return Fail(cmd, scheme.status());
  o.scheme = *scheme;
  auto mode = kernels::ParseRequantMode(a.mode.c_str());
  if (!mode.ok()) return Fail(cmd, mode.status());
  o.mode = *mode;
  auto observer = ParseObserver(a.observer);
  if (!observer.ok()) return Fail(cmd, observer.status());
  o.calibration.observer = *observer;
  o.calibration.samples = a.samples;
  auto backend = ParseBackend(a.backend);
  if (!backend.ok()) return Fail(cmd, backend.status());
  o.calibration.backend = *backend;
  o.calibration.threads = a.threads > 0 ? a.threads : DefaultThreads();
  o.skip_smaller_than = a.skip_smaller_than;
  if (a.weights != "per-channel" && a.weights != "per-tensor")
    return Fail(cmd, InvalidArgument("--weights must be per-channel or per-tensor, got '" + a.weights + "'"));
  o.per_tensor_weights = a.weights == "per-tensor";

  Result<Dataset> calib = InvalidArgument("unused");
  if (o.scheme == QuantScheme::kInt8) {
    // The study protocol: the first `samples` inputs of the training split.
    if (a.calibration_data.empty()) a.calibration_data = frontends::DefaultTrainingData(model->arch) + ":train";
    frontends::DataSpecOptions d = a.data_args;
    d.limit = static_cast<std::size_t>(std::max(a.samples, 1));
    calib = frontends::LoadEvalData(a.calibration_data, *model, d);
    if (!calib.ok()) return Fail(cmd, calib.status().WithContext("calibration data"));
  }
  auto q = QuantizeModel(*model, calib.ok() ? &*calib : nullptr, o);
  if (!q.ok()) return Fail(cmd, q.status());
  q->metadata["quantized.from"] = a.model_path;
  q->metadata["quantized.by"] = std::string("qualm ") + Version();
  Status st = frontends::SaveModel(*q, a.out);
  if (!st.ok()) return Fail(cmd, st);
  if (a.json) {
    nlohmann::json out = {{"model", a.model_path}, {"out", a.out}, {"scheme", QuantSchemeName(q->quant.scheme)},
                          {"mode", kernels::RequantModeName(q->quant.mode)}, {"info", q->quant.info}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s -> %s: scheme %s, requant %s", a.model_path.c_str(), a.out.c_str(), QuantSchemeName(q->quant.scheme),
                kernels::RequantModeName(q->quant.mode));
    for (const auto& [k, v] : q->quant.info) std::printf(", %s %s", k.c_str(), v.c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

Runner RegisterQuantize(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  std::string schemes;
  for (const auto& s : QuantSchemeNames())
    if (s != "float") schemes += (schemes.empty() ? "" : ", ") + s;
  app.add_option("model", a->model_path, "Float model file")->required();
  app.add_option("-o,--out", a->out, "Output model file")->required();
  app.add_option("--scheme", a->scheme, "Quantization scheme: " + schemes)->capture_default_str();
  app.add_option("--mode", a->mode, "Requantization rounding: gemmlowp (TFLite), single, fp32")->capture_default_str();
  app.add_option("--observer", a->observer, "int8 calibration observer: minmax, moving-average, percentile, mse, entropy")
      ->capture_default_str();
  app.add_option("--samples", a->samples, "int8 calibration samples (first N of the calibration data)")->capture_default_str();
  app.add_option("--calibration-data", a->calibration_data,
                 "Calibration data set (default: the training split of the model's data, e.g. fashion-mnist:train)");
  app.add_option("--skip-smaller-than", a->skip_smaller_than,
                 "weight-only-int8: keep layers with fewer weights than this in float")->capture_default_str();
  app.add_option("--weights", a->weights, "Weight scale granularity: per-channel or per-tensor")->capture_default_str();
  app.add_option("--backend", a->backend, "Float kernels for calibration: reference or fast")->capture_default_str();
  app.add_option("--threads", a->threads, "Worker threads (default: all hardware threads)");
  app.add_option("--spam-dir", a->data_args.spam_dir, "SpamAssassin data folder");
  app.add_option("--fashion-dir", a->data_args.fashion_dir, "Fashion-MNIST folder");
  app.add_flag("--json", a->json, "Machine-readable output");
  return [a] { return RunQuantize(*a); };
}

}  // namespace qualm::cli

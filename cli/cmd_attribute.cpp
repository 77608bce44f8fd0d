// qualm attribute: for each input where an int8 model and its float original
// disagree, the earliest layer whose int8 output (with float layers after it)
// already gives the int8 prediction; then the single-layer mixed-precision
// check (study/flip_attribution.h).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/flip_attribution.h"

namespace qualm::cli {
namespace {

struct AttributeArgs {
  std::string float_path, int8_path, data, out;
  Backend float_backend = Backend::kReference;
  int threads = 0, batch = 256, top = 3;
  bool json = false, quiet = false;
  frontends::DataSpecOptions data_args;
  TextShiftArgs shift;
};

nlohmann::json ToJson(const study::FlipAttribution& r, const AttributeArgs& a) {
  nlohmann::json layers = nlohmann::json::array(), flips = nlohmann::json::array(), mixed = nlohmann::json::array();
  for (const auto& c : r.layers)
    layers.push_back({{"node", c.node}, {"name", c.name}, {"op", c.op}, {"first_culprit", c.first},
                      {"stable_from", c.stable}});
  for (const auto& f : r.flips)
    flips.push_back({{"index", f.index}, {"label", f.label}, {"float", f.float_prediction},
                     {"int8", f.int8_prediction}, {"first_culprit", f.first_culprit}, {"stable_from", f.stable_from}});
  for (const auto& m : r.mixed)
    mixed.push_back({{"float_nodes", m.float_nodes},
                     {"names", m.names},
                     {"culprit_flips", m.culprit_flips},
                     {"culprit_flips_removed", m.culprit_flips_removed},
                     {"flips_removed", m.flips_removed},
                     {"disagreements", m.disagreements},
                     {"new_disagreements", m.new_disagreements},
                     {"accuracy", m.accuracy},
                     {"path", m.path}});
  return {{"float_model", a.float_path},
          {"int8_model", a.int8_path},
          {"data", a.data},
          {"count", r.inputs},
          {"float_accuracy", r.float_accuracy},
          {"int8_accuracy", r.int8_accuracy},
          {"float_path", r.float_path},
          {"int8_path", r.int8_path},
          {"disagreements", r.flips.size()},
          {"culprit_lowering", r.culprit_lowering},
          {"sweep_mismatches", r.sweep_mismatches},
          {"layers", layers},
          {"flips", flips},
          {"mixed_precision", mixed}};
}

int RunAttribute(AttributeArgs& a) {
  const char* cmd = "attribute";
  if (Status st = CheckOutputIsNotInput(a.out, {a.float_path, a.int8_path}); !st.ok()) return Fail(cmd, st);
  auto fm = frontends::LoadModel(a.float_path);
  if (!fm.ok()) return Fail(cmd, fm.status());
  auto qm = frontends::LoadModel(a.int8_path);
  if (!qm.ok()) return Fail(cmd, qm.status());
  if (Status st = ApplyTextShift(a.shift, a.data_args); !st.ok()) return Fail(cmd, st);
  auto data = LoadDataOption(cmd, *fm, a.data, a.data_args);
  if (!data.ok()) return Fail(cmd, data.status());
  study::FlipAttributionOptions o;
  o.float_backend = a.float_backend;
  o.threads = ResolveThreads(a.threads);
  o.batch_size = a.batch;
  o.top_layers = a.top;
  o.mixed_check = a.top > 0;
  if (!a.quiet && !a.json)
    std::fprintf(stderr, "qualm attribute: %s vs %s on %zu inputs of %s\n", a.float_path.c_str(), a.int8_path.c_str(),
                 data->size(), a.data.c_str());
  auto r = study::AttributeFlips(*fm, *qm, *data, o);
  if (!r.ok()) return Fail(cmd, r.status());
  const nlohmann::json out = ToJson(*r, a);
  return EmitResult(cmd, a.out, a.json, out.dump(2), study::FormatFlipAttribution(*r));
}

}  // namespace

Runner RegisterAttribute(CLI::App& app) {
  auto a = std::make_shared<AttributeArgs>();
  app.add_option("float", a->float_path, "Float model file")->required();
  app.add_option("int8", a->int8_path, "Its int8 model (qualm quantize --scheme int8, or QAT)")->required();
  app.add_option("--data", a->data, DataSpecHelp("Data set (default: the test set of the model's training data)"));
  AddChoiceOption(app, "--float-backend", a->float_backend, {Backend::kReference, Backend::kFast}, BackendName,
                  "Kernels of the float model and of every float suffix");
  app.add_option("--top", a->top, "Mixed-precision checks for the N most frequent culprit layers (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  AddThreadsOption(app, a->threads);
  app.add_option("--batch", a->batch, "Batch size")->capture_default_str()->check(AtLeastOne());
  AddLimitOption(app, a->data_args.limit);
  AddDataDirOptions(app, a->data_args);
  AddTextShiftOptions(app, a->shift);
  app.add_option("-o,--output", a->out, "Also write the JSON result to this file (atomically)");
  app.add_flag("--json", a->json, "Machine-readable output");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunAttribute(*a); };
}

}  // namespace qualm::cli

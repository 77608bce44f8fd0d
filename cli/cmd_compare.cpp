// qualm compare: accuracies of two models and the inputs on which their top-1
// predictions disagree.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/compare.h"

namespace qualm::cli {
namespace {

struct CompareArgs {
  std::string a_path, b_path, data, out;
  Backend backend = Backend::kFast;
  int threads = 0, batch = 256;
  bool json = false;
  frontends::DataSpecOptions data_args;
  TextShiftArgs shift;
};

int RunCompare(CompareArgs& a) {
  const char* cmd = "compare";
  if (Status st = CheckOutputIsNotInput(a.out, {a.a_path, a.b_path}); !st.ok()) return Fail(cmd, st);
  auto ma = frontends::LoadModel(a.a_path);
  if (!ma.ok()) return Fail(cmd, ma.status());
  auto mb = frontends::LoadModel(a.b_path);
  if (!mb.ok()) return Fail(cmd, mb.status());
  if (Status st = study::CheckComparable(*ma, *mb); !st.ok()) return Fail(cmd, st);
  // Text data is encoded with the first model's vocabulary, which
  // CheckComparable has found to be the second one's too.
  if (Status st = ApplyTextShift(a.shift, a.data_args); !st.ok()) return Fail(cmd, st);
  auto data = LoadDataOption(cmd, *ma, a.data, a.data_args);
  if (!data.ok()) return Fail(cmd, data.status());
  EvalOptions eo;
  eo.backend = a.backend;
  eo.threads = ResolveThreads(a.threads);
  eo.batch_size = a.batch;
  eo.keep_probabilities = false;
  auto c = study::CompareModels(*ma, *mb, *data, eo);
  if (!c.ok()) return Fail(cmd, c.status());
  nlohmann::json out = {
      {"data", a.data},
      {"count", data->size()},
      {"a", {{"model", a.a_path}, {"scheme", QuantSchemeName(ma->quant.scheme)}, {"accuracy", c->a.accuracy}, {"path", c->a.path}}},
      {"b", {{"model", a.b_path}, {"scheme", QuantSchemeName(mb->quant.scheme)}, {"accuracy", c->b.accuracy}, {"path", c->b.path}}},
      {"disagreements", c->disagreements.size()},
      {"disagreement_rate", c->disagreement_rate()},
      {"indices", c->disagreements}};
  if (!a.out.empty()) {
    Status st = frontends::WriteFileAtomically(a.out, out.dump(2) + "\n");
    if (!st.ok()) return Fail(cmd, st);
  }
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s: %zu samples\n", a.data.c_str(), data->size());
    std::printf("  A %-40s %-16s accuracy %6.2f%%\n", a.a_path.c_str(), QuantSchemeName(ma->quant.scheme), c->a.accuracy * 100);
    std::printf("  B %-40s %-16s accuracy %6.2f%%\n", a.b_path.c_str(), QuantSchemeName(mb->quant.scheme), c->b.accuracy * 100);
    std::printf("  %s of %zu inputs (%.2f%%)\n", Plural(c->disagreements.size(), "disagreement").c_str(), data->size(),
                c->disagreement_rate() * 100);
  }
  return 0;
}

}  // namespace

Runner RegisterCompare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  app.add_option("a", a->a_path, "First model file (e.g. the float original)")->required();
  app.add_option("b", a->b_path, "Second model file (e.g. its quantized version)")->required();
  app.add_option("--data", a->data,
                 DataSpecHelp("Data set (default: the test set of the first model's training data)"));
  AddBackendOption(app, a->backend);
  AddThreadsOption(app, a->threads);
  app.add_option("--batch", a->batch, "Evaluation batch size")->capture_default_str()->check(AtLeastOne());
  AddLimitOption(app, a->data_args.limit);
  AddDataDirOptions(app, a->data_args);
  AddTextShiftOptions(app, a->shift);
  app.add_option("-o,--output", a->out, "Also write the JSON result to this file (atomically; docs/cli-json.md)");
  app.add_flag("--json", a->json, "Machine-readable output (docs/cli-json.md)");
  return [a] { return RunCompare(*a); };
}

}  // namespace qualm::cli

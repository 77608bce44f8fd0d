// qualm zoo: train (resumably) and evaluate the default model set; the main job's first stage.
#include <cstdio>
#include <algorithm>
#include <sstream>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/study/model_set.h"
#include "qualm/study/variants.h"

namespace qualm::cli {
namespace {

struct ZooArgs {
  study::ModelSetOptions options;
  std::string archs, schemes = "int8,dynamic,weight-only-int8,fp16-weights,bf16-weights";
  bool quiet = false;
};

int RunZoo(ZooArgs& a) {
  const char* cmd = "zoo";
  a.options.threads = ResolveThreads(a.options.threads);
  const std::vector<std::string>& known = ZooArchitectures();
  std::stringstream ss(a.archs);
  for (std::string s; std::getline(ss, s, ',');) {
    if (s.empty()) continue;
    if (std::find(known.begin(), known.end(), s) == known.end())
      return Fail(cmd, InvalidArgument("--archs: unknown architecture '" + s + "'"));
    a.options.archs.push_back(s);
  }
  auto schemes = ParseSchemeList(a.schemes);
  if (!schemes.ok()) return Fail(cmd, schemes.status().WithContext("--schemes"));
  SetInterruptMessage("qualm zoo: interrupted; finished models and results are kept in " + a.options.out_dir +
                      "; run the same command again to resume");
  ProgressLine progress(!a.quiet);
  std::string model_tag;  // "[k/N lenet5] " while a model trains
  study::ModelSetCallbacks cb;
  cb.model_started = [&](int index, int count, const std::string& arch) {
    model_tag = "[model " + std::to_string(index) + "/" + std::to_string(count) + " " + arch + "] ";
    std::fprintf(stderr, "qualm zoo: model %d of %d: %s\n", index, count, arch.c_str());
  };
  cb.message = [&](const std::string& m) { std::fprintf(stderr, "qualm zoo: %s\n", m.c_str()); };
  cb.train.message = [&](const std::string& m) {
    if (!a.quiet) std::fprintf(stderr, "  %s\n", m.c_str());
  };
  cb.train.batch = [&](const BatchProgress& bp) {
    char buf[200];
    // This model's remaining time: the rest of this epoch at its current
    // speed, plus the epochs left at the same speed.
    const double per_batch = bp.epoch_seconds / bp.batch;
    const double eta = per_batch * ((bp.batches - bp.batch) + static_cast<double>(bp.epochs - bp.epoch) * bp.batches);
    std::snprintf(buf, sizeof buf, "%sepoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  model ETA %s",
                  model_tag.c_str(), bp.epoch, bp.epochs, bp.batch, bp.batches, bp.loss, bp.accuracy * 100.0,
                  FormatSeconds(eta).c_str());
    progress.Update(static_cast<double>(bp.batch) / bp.batches, buf);
  };
  cb.train.epoch = [&](const EpochReport& r) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  epoch %d  loss %.4f  train acc %.2f%%  val acc %.2f%%  %s", r.epoch,
                  r.train_loss, r.train_accuracy * 100.0, r.validation_accuracy * 100.0,
                  FormatSeconds(r.seconds).c_str());
    progress.Finish(buf);
  };
  auto rows = study::RunModelSet(a.options, cb);
  if (!rows.ok()) return Fail(cmd, rows.status());
  std::string report = "# qualm default study\n\n## Float models\n\n" + study::ModelSetMarkdown(*rows);

  // Second stage: every model in every quantization scheme against its float original.
  study::VariantOptions vo;
  vo.out_dir = a.options.out_dir;
  vo.threads = a.options.threads;
  vo.backend = a.options.backend;
  vo.data_options = a.options.data_options;
  vo.schemes.clear();
  for (QuantScheme s : *schemes) vo.schemes.push_back(QuantSchemeName(s));
  if (!vo.schemes.empty()) {
    auto variants = study::RunVariants(*rows, vo, cb.message);
    if (!variants.ok()) return Fail(cmd, variants.status());
    report += "\n## Quantized variants against their float originals\n\n"
              "Disagreement: the top-1 predictions of the two models differ (labels not involved). Accuracies and "
              "rates in %, change in percentage points (pp). int8: min/max calibration on the first 100 samples of "
              "the model's training split; weight-only-int8 keeps layers under 2048 weights in float (a model "
              "with no layer that large is marked \"no layer quantized\": it is its float original). Per-input "
              "indices are in variants.json.\n\n" +
              study::VariantsMarkdown(*variants);
  }
  Status st = frontends::WriteFileAtomically(a.options.out_dir + "/summary.md", report);
  if (!st.ok()) return Fail(cmd, st);
  std::printf("%s", report.c_str());
  std::fprintf(stderr, "qualm zoo: report in %s/summary.md (float models: summary.json, variants: variants.json)\n",
               a.options.out_dir.c_str());
  return 0;
}

}  // namespace

Runner RegisterZoo(CLI::App& app) {
  auto a = std::make_shared<ZooArgs>();
  a->options.threads = 0;  // all hardware threads unless --threads says otherwise
  app.add_option("-o,--output", a->options.out_dir, "Output folder (models, summary.md, summary.json, variants.json)")
      ->capture_default_str();
  std::string archs;
  for (const auto& s : ZooArchitectures()) archs += (archs.empty() ? "" : ",") + s;
  app.add_option("--archs", a->archs, "Comma-separated architectures (default: all: " + archs + ")");
  app.add_option("--seed", a->options.seed, "Seed")->capture_default_str();
  AddThreadsOption(app, a->options.threads);
  AddBackendOption(app, a->options.backend);
  app.add_option("--epochs", a->options.epochs, "Override every recipe's epoch count (quick runs)")->check(AtLeastOne());
  AddLimitOption(app, a->options.data_options.limit);
  AddDataDirOptions(app, a->options.data_options);
  app.add_option("--schemes", a->schemes, "Quantization schemes to compare (empty: none)")->capture_default_str();
  app.add_flag("-q,--quiet", a->quiet, "No per-batch progress");
  return [a] { return RunZoo(*a); };
}

}  // namespace qualm::cli

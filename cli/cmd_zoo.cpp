// qualm zoo: train (resumably) and evaluate the default model set; the main job's first stage.
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "progress.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/study/model_set.h"
#include "qualm/study/variants.h"

namespace qualm::cli {
namespace {

struct ZooArgs {
  ModelSetOptions options;
  std::string archs, backend = "fast", schemes = "int8,dynamic,weight-only-int8,fp16-weights,bf16-weights";
  bool quiet = false;
};

int RunZoo(ZooArgs& a) {
  const char* cmd = "zoo";
  if (a.options.threads <= 0) a.options.threads = DefaultThreads();
  auto backend = ParseBackend(a.backend);
  if (!backend.ok()) return Fail(cmd, backend.status());
  a.options.backend = *backend;
  std::stringstream ss(a.archs);
  for (std::string s; std::getline(ss, s, ',');)
    if (!s.empty()) a.options.archs.push_back(s);
  ProgressLine progress(!a.quiet);
  ModelSetCallbacks cb;
  cb.message = [&](const std::string& m) { std::fprintf(stderr, "qualm zoo: %s\n", m.c_str()); };
  cb.train.message = [&](const std::string& m) {
    if (!a.quiet) std::fprintf(stderr, "  %s\n", m.c_str());
  };
  cb.train.batch = [&](const BatchProgress& bp) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "epoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  ETA %s", bp.epoch, bp.epochs,
                  bp.batch, bp.batches, bp.loss, bp.accuracy * 100.0,
                  FormatSeconds(bp.epoch_seconds / bp.batch * (bp.batches - bp.batch)).c_str());
    progress.Update(static_cast<double>(bp.batch) / bp.batches, buf);
  };
  cb.train.epoch = [&](const EpochReport& r) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  epoch %d  loss %.4f  train acc %.2f%%  val acc %.2f%%  %s", r.epoch,
                  r.train_loss, r.train_accuracy * 100.0, r.validation_accuracy * 100.0,
                  FormatSeconds(r.seconds).c_str());
    progress.Finish(buf);
  };
  auto rows = RunModelSet(a.options, cb);
  if (!rows.ok()) return Fail(cmd, rows.status());
  std::string report = "# qualm default study\n\n## Float models\n\n" + ModelSetMarkdown(*rows);

  // Second stage: every model in every quantization scheme against its float original.
  VariantOptions vo;
  vo.out_dir = a.options.out_dir;
  vo.threads = a.options.threads;
  vo.backend = a.options.backend;
  vo.data_options = a.options.data_options;
  vo.schemes.clear();
  std::stringstream sch(a.schemes);
  for (std::string s; std::getline(sch, s, ',');)
    if (!s.empty()) vo.schemes.push_back(s);
  if (!vo.schemes.empty()) {
    auto variants = RunVariants(*rows, vo, cb.message);
    if (!variants.ok()) return Fail(cmd, variants.status());
    report += "\n## Quantized variants against their float originals\n\n"
              "Disagreement: the top-1 predictions of the two models differ (labels not involved). int8: min/max "
              "calibration on the first 100 training samples; weight-only-int8 keeps layers under 2048 weights in "
              "float. Per-input indices are in variants.json.\n\n" +
              VariantsMarkdown(*variants);
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
  app.add_option("--out", a->options.out_dir, "Output folder")->capture_default_str();
  app.add_option("--archs", a->archs, "Comma-separated architectures (default: all)");
  app.add_option("--seed", a->options.seed, "Seed")->capture_default_str();
  app.add_option("--threads", a->options.threads, "Worker threads (default: all hardware threads)");
  app.add_option("--backend", a->backend, "Float kernels: fast or reference")->capture_default_str();
  app.add_option("--epochs", a->options.epochs, "Override every recipe's epoch count (quick runs)");
  app.add_option("--limit", a->options.data_options.limit, "Use only the first N samples of each set");
  app.add_option("--spam-dir", a->options.data_options.spam_dir, "SpamAssassin data folder");
  app.add_option("--fashion-dir", a->options.data_options.fashion_dir, "Fashion-MNIST folder");
  app.add_option("--schemes", a->schemes, "Quantization schemes to compare (empty: none)")->capture_default_str();
  app.add_flag("-q,--quiet", a->quiet, "No per-batch progress");
  return [a] { return RunZoo(*a); };
}

}  // namespace qualm::cli

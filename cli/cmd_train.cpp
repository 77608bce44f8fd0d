// qualm train: one resumable training run (study/train_run.h) with a progress line.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/engine/zoo.h"
#include "qualm/study/recipes.h"
#include "qualm/study/train_run.h"

namespace qualm::cli {
namespace {

struct TrainArgs {
  study::TrainRunOptions run;
  int epochs = 0, batch = 0, threads = 0, early_stopping = -1;
  std::uint64_t seed = 1;
  float lr = 0, weight_decay = -1;
  // Given only when their option's count() is nonzero; the recipe's otherwise.
  OptimizerKind optimizer = OptimizerKind::kSgd;
  LrSchedule schedule = LrSchedule::kCosine;
  CLI::Option *optimizer_option = nullptr, *schedule_option = nullptr;
  Backend backend = Backend::kFast;
  bool no_resume = false, json = false, quiet = false, no_validation = false;
  // standard, adversarial, mixup, or qat (the same as --qat).
  std::string strategy = "standard";
  AdversarialConfig adversarial;
  MixupConfig mixup;
};

int RunTrain(TrainArgs& a) {
  const char* cmd = "train";
  study::TrainRunOptions& run = a.run;
  TrainConfig& cfg = run.config;
  cfg = run.init_from.empty() ? study::TaskRecipe(run.arch, run.data) : study::FineTuneRecipe(run.arch);
  if (a.epochs > 0) cfg.epochs = a.epochs;
  if (a.early_stopping >= 0) cfg.early_stopping_patience = a.early_stopping;
  if (a.batch > 0) cfg.batch_size = a.batch;
  if (a.lr > 0) cfg.lr = a.lr;
  if (a.weight_decay >= 0) cfg.weight_decay = a.weight_decay;
  if (a.optimizer_option->count() > 0) cfg.optimizer = a.optimizer;
  if (a.schedule_option->count() > 0) cfg.schedule = a.schedule;
  cfg.backend = a.backend;
  cfg.seed = a.seed;
  cfg.threads = ResolveThreads(a.threads);
  if (a.strategy == "qat") {
    run.qat = true;
  } else {
    cfg.strategy = ParseStrategy(a.strategy).value();  // checked while parsing
    if (run.qat && cfg.strategy != TrainingStrategy::kStandard) {
      std::fprintf(stderr, "qualm train: --qat is its own training strategy and does not combine with --strategy %s\n",
                   a.strategy.c_str());
      return 2;
    }
  }
  cfg.adversarial = a.adversarial;
  cfg.mixup = a.mixup;
  if (Status st = CheckOutputIsNotInput(run.output, {run.init_from}); !st.ok()) return Fail(cmd, st);
  const std::string checkpoint = run.checkpoint.empty() ? run.output + ".ckpt" : run.checkpoint;
  SetInterruptMessage("qualm train: interrupted; run the same command again to resume from the last completed "
                      "epoch (checkpoint " + checkpoint + ")");
  run.resume = !a.no_resume;
  run.validate = !a.no_validation;

  ProgressLine progress(!a.quiet);
  study::TrainRunCallbacks cb;
  cb.message = [&](const std::string& m) {
    if (!a.quiet) std::fprintf(stderr, "qualm train: %s\n", m.c_str());
  };
  cb.batch = [&](const BatchProgress& bp) {
    const double eta = bp.epoch_seconds / bp.batch * (bp.batches - bp.batch);
    char buf[200];
    std::snprintf(buf, sizeof buf, "epoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  %s  ETA %s", bp.epoch, bp.epochs,
                  bp.batch, bp.batches, bp.loss, bp.accuracy * 100.0, FormatSeconds(bp.epoch_seconds).c_str(),
                  FormatSeconds(eta).c_str());
    progress.Update(static_cast<double>(bp.batch) / bp.batches, buf);
  };
  cb.epoch = [&](const EpochReport& r) {
    char val[40] = "";
    if (r.validation_accuracy >= 0) std::snprintf(val, sizeof val, "  val acc %.2f%%", r.validation_accuracy * 100.0);
    char line[240];
    std::snprintf(line, sizeof line, "epoch %d/%d  loss %.4f  train acc %.2f%%%s  lr %.5f  %s/epoch  run ETA %s",
                  r.epoch, cfg.epochs, r.train_loss, r.train_accuracy * 100.0, val, r.lr,
                  FormatSeconds(r.seconds).c_str(), FormatSeconds(r.seconds * (cfg.epochs - r.epoch)).c_str());
    progress.Finish(line);
  };
  auto result = study::RunTraining(run, cb);
  if (!result.ok()) return Fail(cmd, result.status());
  if (!result->finished) {
    std::printf("qualm train: stopped early; run the same command again to resume\n");
    return 0;
  }
  nlohmann::json qat_json = nullptr;
  if (result->qat_check) {
    const QatAgreement& q = *result->qat_check;
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : q.layers) layers.push_back({{"node", l.node}, {"max_units", l.max_units}, {"differing", l.differing}});
    qat_json = {{"data", result->qat_check_data},
                {"samples", q.samples},
                {"disagreements", q.disagreements.size()},
                {"indices", q.disagreements},
                {"max_layer_units", q.max_units()},
                {"layers", layers}};
    if (!a.json)
      std::printf("qualm train: QAT forward vs saved int8 model on %s: %s of %zu inputs, largest per-layer "
                  "difference %d quantized units over %zu layers\n",
                  result->qat_check_data.c_str(), Plural(q.disagreements.size(), "disagreement").c_str(), q.samples,
                  q.max_units(), q.layers.size());
  }
  if (a.json) {
    const nlohmann::json out = {{"model", run.output},
                                {"arch", run.arch},
                                {"seconds", result->seconds},
                                {"path", result->path},
                                {"config", nlohmann::json::parse(study::TrainConfigJson(cfg))},
                                {"history", nlohmann::json::parse(result->history_json)},
                                {"qat_check", qat_json}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("qualm train: wrote %s (%s, %s, %s)\n", run.output.c_str(), run.arch.c_str(),
                Plural(nlohmann::json::parse(result->history_json).size(), "epoch").c_str(),
                FormatSeconds(result->seconds).c_str());
  }
  return 0;
}

}  // namespace

Runner RegisterTrain(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  std::string archs;
  for (const auto& s : ZooArchitectures()) archs += (archs.empty() ? "" : ", ") + s;
  app.add_option("--arch", a->run.arch, "Architecture: " + archs)->required()->check(CLI::IsMember(ZooArchitectures()));
  app.add_option("--data", a->run.data,
                 "Training data: fashion-mnist, spam, spam-brief, images:DIR, idx:IMAGES,LABELS or text:DIR (default: fashion-mnist "
                 "for image architectures, spam for text ones; images:, idx: and text: hold out a seeded 10 % for "
                 "validation)");
  AddOutputOption(app, a->run.output, "Model file to write");
  app.add_option("--epochs", a->epochs, "Epochs (default: the architecture's documented recipe)")->check(AtLeastOne());
  app.add_option("--early-stopping", a->early_stopping,
                 "Stop when validation accuracy has not improved for N epochs and keep the best epoch's weights "
                 "(0 = off; default: the recipe's, e.g. 6 for spam-brief)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", a->seed, "Seed for initialization, shuffling, augmentation and dropout")
      ->capture_default_str();
  app.add_option("--batch", a->batch, "Mini-batch size")->check(AtLeastOne());
  app.add_option("--lr", a->lr, "Peak learning rate")->check(CLI::PositiveNumber);
  app.add_option("--weight-decay", a->weight_decay, "L2 weight decay")->check(CLI::NonNegativeNumber);
  a->optimizer_option = AddChoiceOption(app, "--optimizer", a->optimizer, {OptimizerKind::kSgd, OptimizerKind::kAdam},
                                        OptimizerName, "Optimizer (default: the recipe's)");
  a->optimizer_option->default_str("");
  a->schedule_option =
      AddChoiceOption(app, "--schedule", a->schedule, {LrSchedule::kConstant, LrSchedule::kCosine, LrSchedule::kStep},
                      ScheduleName, "Learning-rate schedule (default: the recipe's)");
  a->schedule_option->default_str("");
  AddThreadsOption(app, a->threads);
  AddBackendOption(app, a->backend);
  app.add_option("--checkpoint", a->run.checkpoint, "Checkpoint file (default: OUTPUT.ckpt)");
  app.add_option("--stop-after", a->run.max_epochs_this_run,
                 "Train at most N epochs now and keep the checkpoint to resume from later")
      ->check(AtLeastOne());
  app.add_flag("--no-resume", a->no_resume, "Start afresh even if a checkpoint exists");
  app.add_flag("--no-validation", a->no_validation, "Skip the per-epoch validation pass");
  AddLimitOption(app, a->run.data_options.limit, "Use only the first N samples of each set (quick runs)");
  AddDataDirOptions(app, a->run.data_options);
  app.add_option("--init-from", a->run.init_from,
                 "Fine-tune this float model file instead of training from scratch (default recipe: 2 epochs at lr/10)");
  app.add_flag("--qat", a->run.qat, "Quantization-aware training; writes the int8 model and checks it against the "
                                    "QAT forward pass (resumable with the minmax and moving-average observers)");
  a->run.qat_options.observer = MovingAverageOptions{};
  AddObserverOption(app, "--qat-observer", a->run.qat_options.observer, "QAT activation observer");
  AddChoiceOption(app, "--qat-mode", a->run.qat_options.mode, kRequantModes, kernels::RequantModeName,
                  "QAT requantization rounding");
  app.add_option("--qat-check-data", a->run.qat_check_data, "Data for the QAT agreement check (default: the test set)");
  app.add_option("--strategy", a->strategy,
                 "Training strategy: standard, adversarial (PGD on a fraction of each batch; text: in embedding "
                 "space, eps relative to the embedding table's RMS), mixup, or qat (the same as --qat)")
      ->check(CLI::IsMember({"standard", "adversarial", "mixup", "qat"}))
      ->capture_default_str();
  CLI::Validator in_unit(
      [](std::string& v) -> std::string {
        double x = 0;
        if (!CLI::detail::lexical_cast(v, x)) return "'" + v + "' is not a number";
        if (!(x > 0.0 && x <= 1.0)) return "must be in (0, 1], got " + v;
        return {};
      },
      "(0,1]");
  app.add_option("--adv-eps", a->adversarial.eps, "PGD radius (L-infinity; images: pixel units in [0, 1])")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--adv-step", a->adversarial.step, "PGD step size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--adv-iterations", a->adversarial.iterations, "PGD steps")->check(AtLeastOne())->capture_default_str();
  app.add_option("--adv-fraction", a->adversarial.fraction, "Fraction of each batch made adversarial")
      ->check(in_unit)
      ->capture_default_str();
  app.add_option("--mixup-alpha", a->mixup.alpha, "Mixup: lambda ~ Beta(alpha, alpha)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--json", a->json, "Print the training report as JSON");
  app.add_flag("-q,--quiet", a->quiet, "No progress output");
  return [a] { return RunTrain(*a); };
}

}  // namespace qualm::cli

#include "qualm/study/train_run.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "early_stopping.h"
#include "qualm/engine/zoo.h"
#include "qualm/study/recipes.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/model_file.h"
#include "qualm/kernels/cpu.h"

namespace qualm::study {
namespace {

bool FileExists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

}  // namespace

Result<TrainRunResult> RunTraining(const TrainRunOptions& options, const TrainRunCallbacks& cb) {
  auto say = [&](const std::string& m) {
    if (cb.message) cb.message(m);
  };
  const TrainConfig& cfg = options.config;
  const std::string data_spec = options.data.empty() ? DefaultTrainingData(options.arch) : options.data;
  const std::string checkpoint = options.checkpoint.empty() ? options.output + ".ckpt" : options.checkpoint;
  if (options.output.empty()) return InvalidArgument("no output model file given");
  // Everything that can be checked without the data is checked before loading
  // it: a typo must not cost the seconds a data set takes to read.
  {
    const auto& archs = ZooArchitectures();
    if (std::find(archs.begin(), archs.end(), options.arch) == archs.end()) {
      std::string known;
      for (const auto& a : archs) known += (known.empty() ? "" : ", ") + a;
      return InvalidArgument("unknown architecture '" + options.arch + "' (known: " + known + ")");
    }
  }
  if (cfg.epochs < 1) return InvalidArgument("epochs must be at least 1, got " + std::to_string(cfg.epochs));
  if (cfg.batch_size < 1) return InvalidArgument("batch size must be at least 1, got " + std::to_string(cfg.batch_size));
  if (cfg.threads < 1) return InvalidArgument("threads must be at least 1, got " + std::to_string(cfg.threads));
  QUALM_RETURN_IF_ERROR(ValidateStrategy(cfg));
  if (options.qat && cfg.strategy != TrainingStrategy::kStandard)
    return InvalidArgument(std::string("QAT is its own training strategy; it does not combine with ") +
                           StrategyName(cfg.strategy));
  const bool histogram_qat = options.qat && !std::holds_alternative<MinMaxOptions>(options.qat_options.observer) &&
                            !std::holds_alternative<MovingAverageOptions>(options.qat_options.observer);
  const bool checkpoints = !histogram_qat;
  const bool early_stopping = cfg.early_stopping_patience > 0;
  if (early_stopping && (options.qat || !options.validate))
    return InvalidArgument("early stopping needs the validation pass and float training (not QAT, not --no-validation)");
  if (histogram_qat && options.max_epochs_this_run > 0)
    return InvalidArgument("QAT with a histogram observer cannot stop early and resume (its state is not checkpointed)");
  std::optional<Model> init;
  if (!options.init_from.empty()) {
    QUALM_ASSIGN_OR_RETURN(init, frontends::LoadModel(options.init_from));
    if (init->arch != options.arch)
      return InvalidArgument(options.init_from + " is a " + init->arch + " model, not " + options.arch);
    if (init->quant.quantized())
      return InvalidArgument(options.init_from + " is already quantized; start from its float original");
  }

  say("loading " + data_spec);
  QUALM_ASSIGN_OR_RETURN(frontends::TrainingData data, frontends::LoadTrainingData(data_spec, options.data_options));
  const Dataset* validation = (data.validation && options.validate) ? &*data.validation : nullptr;
  for (const std::string& note : data.train.load_notes) say(note);

  // A checkpoint resumes only the run that made it: QAT and the starting
  // model are part of the identity.
  const std::string cfg_json = TrainConfigJson(cfg);
  std::string identity = cfg_json;
  if (options.qat) identity += "\nqat " + ObserverName(options.qat_options.observer) + " " +
                               kernels::RequantModeName(options.qat_options.mode);
  if (!options.init_from.empty()) identity += "\ninit_from " + options.init_from;
  Model model;
  Trainer::State state;
  TrainRunResult result;
  bool resumed = false;
  if (checkpoints && options.resume && FileExists(checkpoint)) {
    auto ck = frontends::LoadCheckpoint(checkpoint);
    if (!ck.ok())
      return ck.status().WithContext("cannot resume (delete the checkpoint or start afresh)");
    if (ck->config_json != identity || ck->model.arch != options.arch)
      return InvalidArgument(checkpoint + ": checkpoint was made with a different configuration or architecture; "
                             "delete it or start afresh");
    model = std::move(ck->model);
    state = std::move(ck->state);
    resumed = true;
  } else if (init) {
    model = std::move(*init);
    auto vocab = data.model_metadata.find("text.vocabulary");
    if (vocab != data.model_metadata.end() && model.metadata["text.vocabulary"] != vocab->second)
      return InvalidArgument(options.init_from + " was trained with another vocabulary than " + data_spec + " gives");
    say("starting from " + options.init_from);
  } else {
    ZooOptions zo;
    zo.input_shape.assign(data.train.sample_shape.begin(), data.train.sample_shape.end());
    zo.num_classes = data.train.num_classes;
    if (auto it = data.model_metadata.find("text.vocab_size"); it != data.model_metadata.end())
      zo.vocab = std::stoi(it->second);
    QUALM_ASSIGN_OR_RETURN(model, BuildZooModel(options.arch, zo));
    QUALM_RETURN_IF_ERROR(InitializeParameters(model, cfg.seed));
  }
  for (const auto& [k, v] : data.model_metadata) model.metadata[k] = v;

  std::unique_ptr<Qat> qat;
  if (options.qat) {
    QatOptions qo = options.qat_options;
    qo.max_batch = std::max(qo.max_batch, cfg.batch_size);
    QUALM_ASSIGN_OR_RETURN(qat, Qat::Create(&model, qo));  // a resumed model is already lowered: a no-op
    if (resumed) {
      auto it = model.metadata.find("qat.state");
      if (it == model.metadata.end()) return InvalidArgument(checkpoint + ": a QAT checkpoint without observer state");
      QUALM_RETURN_IF_ERROR(qat->RestoreState(it->second).WithContext(checkpoint));
    }
    say("QAT: training the lowered graph (" + std::to_string(model.nodes.size()) +
        " nodes) through the int8 kernels, observer " + ObserverName(qo.observer));
  }
  QUALM_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(&model, cfg));
  if (qat) trainer->set_hook(qat.get());
  if (resumed) trainer->state() = state;
  result.resumed_from_epoch = trainer->state().epochs_done;
  result.path = trainer->PathDescription();
  say(options.arch + ": " + std::to_string(model.ParameterCount()) + " parameters, " +
      std::to_string(data.train.size()) + " training samples" +
      (validation ? ", " + std::to_string(validation->size()) + " validation" : std::string()) + ", " +
      OptimizerName(cfg.optimizer) + ", " + std::to_string(cfg.epochs) + " epochs, " + StrategyName(cfg.strategy) +
      " training, seed " + std::to_string(cfg.seed) +
      ", path " + result.path);
  if (resumed) say("resuming after epoch " + std::to_string(result.resumed_from_epoch) + " from " + checkpoint);

  nlohmann::json history = nlohmann::json::array();
  if (auto it = model.metadata.find("train.history"); resumed && it != model.metadata.end())
    history = nlohmann::json::parse(it->second, nullptr, false);
  if (history.is_discarded()) history = nlohmann::json::array();
  for (const auto& h : history) result.seconds += h.value("seconds", 0.0);

  std::optional<internal::EarlyStopping> stopper;
  if (early_stopping) {
    if (!validation) return InvalidArgument(data_spec + " has no validation split; early stopping needs one");
    QUALM_ASSIGN_OR_RETURN(stopper, internal::EarlyStopping::Start(cfg.early_stopping_patience, model, resumed, checkpoint));
  }
  bool stopped_early = false;
  int this_run = 0;
  for (int e = trainer->state().epochs_done; e < cfg.epochs && !stopped_early; ++e) {
    if (options.max_epochs_this_run > 0 && this_run++ == options.max_epochs_this_run) {
      say("stopping after " + std::to_string(options.max_epochs_this_run) + " epoch(s); resume from " + checkpoint);
      result.finished = false;
      result.history_json = history.dump();
      return result;
    }
    QUALM_ASSIGN_OR_RETURN(EpochReport report, trainer->RunEpoch(data.train, validation, cb.batch));
    result.seconds += report.seconds;
    history.push_back({{"epoch", report.epoch},
                       {"loss", report.train_loss},
                       {"train_accuracy", report.train_accuracy},
                       {"validation_accuracy", report.validation_accuracy},
                       {"lr", report.lr},
                       {"seconds", report.seconds}});
    model.metadata["train.history"] = history.dump();
    if (cb.epoch) cb.epoch(report);
    if (stopper) {
      QUALM_ASSIGN_OR_RETURN(stopped_early, stopper->AfterEpoch(report.epoch, report.validation_accuracy, model,
                                                                checkpoints && report.epoch < cfg.epochs));
    }
    if (checkpoints && report.epoch < cfg.epochs && !stopped_early) {
      if (qat) model.metadata["qat.state"] = qat->StateString();
      QUALM_RETURN_IF_ERROR(frontends::SaveCheckpoint(model, trainer->state(), identity, checkpoint));
      if (stopper) stopper->RemoveStaleFiles();
    }
  }
  if (stopper) {
    const int epochs_run = trainer->state().epochs_done;
    if (stopped_early)
      say("early stopping after epoch " + std::to_string(epochs_run) + ": no better validation accuracy for " +
          std::to_string(cfg.early_stopping_patience) + " epochs");
    say("keeping the weights of epoch " + std::to_string(stopper->best_epoch()) + " (validation accuracy " +
        std::to_string(stopper->best_accuracy()) + ")");
    stopper->Finish(model, epochs_run, stopped_early);
  }

  model.metadata["qualm.version"] = QUALM_VERSION_STRING;
  model.metadata["train.arch"] = options.arch;
  model.metadata["train.config"] = cfg_json;
  model.metadata["train.data"] = data_spec;
  model.metadata["train.seed"] = std::to_string(cfg.seed);
  model.metadata["train.strategy"] = options.qat ? "qat" : StrategyName(cfg.strategy);
  model.metadata["train.path"] = result.path;
  model.metadata["train.cpu"] = kernels::DescribeCpu();
  model.metadata["train.seconds"] = std::to_string(result.seconds);
  if (!options.init_from.empty()) model.metadata["train.init_from"] = options.init_from;
  if (qat) {
    model.metadata.erase("qat.state");
    QUALM_ASSIGN_OR_RETURN(Model int8, qat->Convert());
    int8.metadata = model.metadata;
    int8.metadata["train.qat"] = ObserverName(options.qat_options.observer);
    QUALM_RETURN_IF_ERROR(frontends::SaveModel(int8, options.output));
    // The acceptance check: the file's int8 model against the QAT forward pass.
    QUALM_ASSIGN_OR_RETURN(Model reloaded, frontends::LoadModel(options.output));
    result.qat_check_data = options.qat_check_data.empty() ? frontends::DefaultTestData(reloaded) : options.qat_check_data;
    say("QAT: comparing the QAT forward pass with the saved int8 model on " + result.qat_check_data);
    QUALM_ASSIGN_OR_RETURN(Dataset check, frontends::LoadEvalData(result.qat_check_data, reloaded, options.data_options));
    QUALM_ASSIGN_OR_RETURN(result.qat_check, CompareWithInt8(*qat, reloaded, check));
  } else {
    QUALM_RETURN_IF_ERROR(frontends::SaveModel(model, options.output));
  }
  if (checkpoints) {
    frontends::KillPointForTest("before_checkpoint_removal");
    std::remove(checkpoint.c_str());
  }
  result.history_json = history.dump();
  return result;
}

}  // namespace qualm::study

#include "qualm/study/study_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qualm/engine/ptq.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/analysis.h"
#include "qualm/study/npy.h"
#include "qualm/study/retrain_cells.h"
#include "qualm/study/probe_cells.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_report.h"

namespace qualm::study {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status CopyFileAtomically(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return IoError(from + ": cannot open");
  return frontends::WriteFileAtomically(to, ReadFile(from));
}

// cell.json: the cell's identity and what it produced; written last.
Status FinishCell(const std::string& out, const Cell& c, nlohmann::json fields, double seconds) {
  fields["id"] = c.id;
  fields["kind"] = CellKindName(c.kind);
  fields["label"] = c.label;
  fields["key"] = nlohmann::json::parse(c.key);
  fields["seconds"] = seconds;
  return frontends::WriteFileAtomically(CellDir(out, c.id) + "/cell.json", fields.dump(1) + "\n");
}

// A committed model trained exactly as this cell would train it, if any.
std::string FindReusableModel(const Cell& c, const StudySpec& spec, const std::vector<std::string>& dirs) {
  const StudyTask& task = spec.tasks[static_cast<std::size_t>(c.task)];
  if (c.strategy != "standard" || task.train_limit != 0) return {};
  const std::string want = TrainConfigJson(c.config);
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".qm") continue;
      auto m = frontends::LoadModel(entry.path().string());
      if (!m.ok() || m->quant.quantized() || m->metadata.count("train.init_from")) continue;
      if (m->metadata["train.arch"] != task.arch || m->metadata["train.data"] != TaskData(task)) continue;
      auto cfg = ParseTrainConfigJson(m->metadata["train.config"]);
      if (cfg.ok() && TrainConfigJson(*cfg) == want) return entry.path().string();
    }
  }
  return {};
}

class Runner {
 public:
  Runner(const StudySpec& spec, const StudyRunOptions& o, const StudyCallbacks& cb)
      : spec_(spec), o_(o), cb_(cb), start_(Clock::now()) {}

  Result<StudyRunResult> Run() {
    QUALM_ASSIGN_OR_RETURN(StudyGrid full, ExpandStudy(spec_, o_.runtime));
    grid_ = ShardGrid(full, o_.shard_index, o_.shard_count);
    std::error_code ec;
    fs::create_directories(o_.out_dir + "/cells", ec);
    if (ec) return IoError(o_.out_dir + ": cannot create the study folder: " + ec.message());
    QUALM_RETURN_IF_ERROR(WriteStudyJson(o_.out_dir, spec_, o_.runtime, o_.shard_index, o_.shard_count));
    result_.cells = grid_.cells.size();
    for (const auto& c : grid_.cells) {
      if (CellDone(o_.out_dir, c.id))
        ++result_.cached;
      else
        ++left_[static_cast<int>(c.kind)];
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%zu cells (%zu train, %zu variant, %zu eval, %zu probe)", grid_.cells.size(),
                  grid_.Count(CellKind::kTrain), grid_.Count(CellKind::kVariant), grid_.Count(CellKind::kEval),
                  grid_.Count(CellKind::kProbe));
    std::string line = buf;
    if (const std::size_t r = grid_.Count(CellKind::kRetrain)) {
      line.pop_back();
      std::snprintf(buf, sizeof buf, ", %zu retrain)", r);
      line += buf;
    }
    if (o_.shard_count > 1) {
      std::snprintf(buf, sizeof buf, " in shard %d/%d", o_.shard_index, o_.shard_count);
      line += buf;
    }
    std::snprintf(buf, sizeof buf, ", %zu already done", result_.cached);
    Say(line + buf);
    done_ = result_.cached;
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kTrain && !CellDone(o_.out_dir, c.id)) QUALM_RETURN_IF_ERROR(Guard(c, &Runner::Train));
    // Variants of the trained models; then RQ4's retrained models (they need
    // those variants) and their variants (they need the retrained models).
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kVariant && c.protocol.empty() && !CellDone(o_.out_dir, c.id))
        QUALM_RETURN_IF_ERROR(Guard(c, &Runner::Quantize));
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kRetrain && !CellDone(o_.out_dir, c.id)) QUALM_RETURN_IF_ERROR(Guard(c, &Runner::Retrain));
    retrain_sets_.clear();
    retrain_train_.clear();
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kVariant && !c.protocol.empty() && !CellDone(o_.out_dir, c.id))
        QUALM_RETURN_IF_ERROR(Guard(c, &Runner::Quantize));
    // Evaluations grouped by evaluation set (then model), so each set is loaded once.
    std::vector<const Cell*> evals;
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kEval && !CellDone(o_.out_dir, c.id)) evals.push_back(&c);
    std::stable_sort(evals.begin(), evals.end(), [&](const Cell* a, const Cell* b) {
      return std::make_pair(TaskData(spec_.tasks[a->task]), a->data) < std::make_pair(TaskData(spec_.tasks[b->task]), b->data);
    });
    for (const Cell* c : evals) QUALM_RETURN_IF_ERROR(Guard(*c, &Runner::Evaluate));
    // Probes last (they read the train, variant and qat cells), grouped by set as the evaluations.
    std::vector<const Cell*> probes;
    for (const auto& c : grid_.cells)
      if (c.kind == CellKind::kProbe && !CellDone(o_.out_dir, c.id)) probes.push_back(&c);
    std::stable_sort(probes.begin(), probes.end(), [&](const Cell* a, const Cell* b) {
      return std::make_pair(TaskData(spec_.tasks[a->task]), a->data) < std::make_pair(TaskData(spec_.tasks[b->task]), b->data);
    });
    for (const Cell* c : probes) QUALM_RETURN_IF_ERROR(Guard(*c, &Runner::Probe));
    std::remove((o_.out_dir + "/progress.json").c_str());
    QUALM_RETURN_IF_ERROR(WriteStudyReport(o_.out_dir));
    QUALM_RETURN_IF_ERROR(WriteStudyAnalysis(o_.out_dir).status());  // analysis.json, report.md/html, tables/
    result_.seconds = Since(start_);
    return result_;
  }

 private:
  using Step = Status (Runner::*)(const Cell&);

  Status Guard(const Cell& c, Step step) {
    StudyProgress p;
    p.cell = &c;
    p.done = done_;
    p.total = grid_.cells.size();
    p.elapsed = Since(start_);
    p.eta = Eta();
    WriteProgress(c, p);
    if (cb_.cell_started) cb_.cell_started(p);
    const auto t0 = Clock::now();
    std::error_code ec;
    fs::create_directories(CellDir(o_.out_dir, c.id), ec);
    if (ec) return IoError(CellDir(o_.out_dir, c.id) + ": " + ec.message());
    Status s = (this->*step)(c);
    if (!s.ok()) return s.WithContext(c.label);
    auto& k = per_kind_[static_cast<int>(c.kind)];
    k.first += Since(t0);
    k.second += 1;
    --left_[static_cast<int>(c.kind)];
    ++done_;
    ++result_.computed;
    return Status::Ok();
  }

  // Remaining cells of each kind at the mean time of that kind's computed cells so far.
  double Eta() const {
    double eta = 0;
    for (int kind = 0; kind < kCellKinds; ++kind) {
      const std::size_t left = left_[kind];
      if (!left) continue;
      const auto& k = per_kind_[kind];
      if (k.second == 0) return -1;
      eta += k.first / k.second * static_cast<double>(left);
    }
    return eta;
  }

  void WriteProgress(const Cell& c, const StudyProgress& p) {
    // Best effort: status is a convenience, a failed write must not stop the study.
    if ((c.kind == CellKind::kEval || c.kind == CellKind::kProbe) && Since(last_progress_write_) < 2.0) return;
    last_progress_write_ = Clock::now();
    const nlohmann::json j = {{"pid", static_cast<long long>(getpid())}, {"cell", c.id},   {"label", c.label},
                              {"done", p.done},                          {"total", p.total}, {"elapsed", p.elapsed},
                              {"eta", p.eta}};
    (void)frontends::WriteFileAtomically(o_.out_dir + "/progress.json", j.dump() + "\n");
  }

  void Say(const std::string& m) const {
    if (cb_.message) cb_.message(m);
  }

  std::string Dir(const std::string& id) const { return CellDir(o_.out_dir, id); }

  Status Train(const Cell& c) {
    const auto t0 = Clock::now();
    const StudyTask& task = spec_.tasks[static_cast<std::size_t>(c.task)];
    const std::string model_path = Dir(c.id) + "/model.qm";
    nlohmann::json fields;
    if (const std::string reuse = FindReusableModel(c, spec_, o_.reuse_model_dirs); !reuse.empty()) {
      Say(c.label + ": reusing " + reuse + " (same architecture, data and training configuration)");
      QUALM_RETURN_IF_ERROR(CopyFileAtomically(reuse, model_path));
      fields["reused_from"] = reuse;
      ++result_.reused_models;
      return FinishCell(o_.out_dir, c, fields, Since(t0));
    }
    TrainRunOptions run;
    run.arch = task.arch;
    run.data = TaskData(task);
    run.config = c.config;
    run.data_options = o_.data_options;
    run.data_options.limit = task.train_limit;
    run.output = model_path;
    if (IsFineTuneStrategy(c.strategy)) run.init_from = Dir(c.parent) + "/model.qm";
    if (c.strategy == "qat") {
      run.qat = true;
      run.output = Dir(c.id) + "/qat-int8.qm";
    }
    QUALM_ASSIGN_OR_RETURN(TrainRunResult r, RunTraining(run, cb_.train));
    if (c.strategy == "qat") {
      // The float model of a QAT run: its trained (lowered) float weights
      // without the quantization, the original the int8 conversion is compared with.
      QUALM_ASSIGN_OR_RETURN(Model q, frontends::LoadModel(run.output));
      Model f = q;
      f.quant = QuantSpec{};
      f.metadata["study.float_of"] = "qat-int8.qm";
      QUALM_RETURN_IF_ERROR(frontends::SaveModel(f, model_path));
      if (r.qat_check) fields["qat_check_disagreements"] = r.qat_check->disagreements;
    }
    fields["train_seconds"] = r.seconds;
    fields["path"] = r.path;
    return FinishCell(o_.out_dir, c, fields, Since(t0));
  }

  Status Quantize(const Cell& c) {
    const auto t0 = Clock::now();
    const Cell* train = grid_.Find(c.parent);
    const std::string out = Dir(c.id) + "/model.qm";
    nlohmann::json fields;
    if (train->strategy == "qat" && c.variant == "int8") {
      // A QAT model's int8 variant is its own conversion (the ranges it learned).
      QUALM_RETURN_IF_ERROR(CopyFileAtomically(Dir(train->id) + "/qat-int8.qm", out));
      fields["quantized_layers"] = -1;
      fields["from"] = "qat conversion";
      return FinishCell(o_.out_dir, c, fields, Since(t0));
    }
    QUALM_ASSIGN_OR_RETURN(Model f, frontends::LoadModel(Dir(train->id) + "/model.qm"));
    QUALM_ASSIGN_OR_RETURN(QuantScheme scheme, ParseQuantScheme(c.variant));
    PtqOptions po;
    po.scheme = scheme;
    po.calibration.samples = spec_.calibration_samples;
    po.calibration.threads = o_.runtime.threads;
    po.skip_smaller_than = scheme == QuantScheme::kWeightOnlyInt8 ? spec_.skip_smaller_than : 0;
    std::optional<Dataset> calib;
    if (scheme == QuantScheme::kInt8) {
      frontends::DataSpecOptions d = o_.data_options;
      d.limit = static_cast<std::size_t>(spec_.calibration_samples);
      QUALM_ASSIGN_OR_RETURN(calib, frontends::LoadModelTrainingSplit(f, d));
    }
    QUALM_ASSIGN_OR_RETURN(Model q, QuantizeModel(f, calib ? &*calib : nullptr, po));
    q.metadata["quantized.from"] = "cells/" + train->id + "/model.qm";
    QUALM_RETURN_IF_ERROR(frontends::SaveModel(q, out));
    fields["quantized_layers"] = QuantizedLayerCount(q.quant);
    return FinishCell(o_.out_dir, c, fields, Since(t0));
  }

  // RQ4 (retrain_cells.h): find, append, fine-tune; the cell's files are written there.
  Status Retrain(const Cell& c) {
    const auto t0 = Clock::now();
    RetrainContext ctx;
    ctx.out_dir = o_.out_dir;
    ctx.spec = &spec_;
    ctx.grid = &grid_;
    ctx.runtime = o_.runtime;
    ctx.data_options = o_.data_options;
    ctx.callbacks = cb_.train;
    ctx.set_cache = &retrain_sets_;
    ctx.train_cache = &retrain_train_;
    QUALM_ASSIGN_OR_RETURN(nlohmann::json fields, RunRetrainCell(c, ctx));
    return FinishCell(o_.out_dir, c, fields, Since(t0));
  }

  Result<const Model*> GetModel(const std::string& id) {
    auto it = models_.find(id);
    if (it == models_.end()) {
      QUALM_ASSIGN_OR_RETURN(Model m, frontends::LoadModel(Dir(id) + "/model.qm"));
      it = models_.emplace(id, std::make_unique<Model>(std::move(m))).first;
    }
    return it->second.get();
  }

  // One evaluation set is kept: the evaluations are grouped by set. Text sets
  // depend on the model's vocabulary and sequence length, so they are part of the key.
  Result<const Dataset*> GetSet(const std::string& name, const Model& model) {
    std::string key = name;
    if (auto v = model.metadata.find("text.vocabulary"); v != model.metadata.end()) {
      key += '|';
      key += Fnv1a64Hex(v->second);
    }
    for (auto d : model.input_shape) {
      key += '|';
      key += std::to_string(d);
    }
    if (set_key_ != key || !set_) {
      frontends::DataSpecOptions d = o_.data_options;
      d.limit = 0;
      QUALM_ASSIGN_OR_RETURN(Dataset data, LoadStudyEvalSet(name, model, d, spec_.shift_seed, spec_.eval_limit));
      set_ = std::make_unique<Dataset>(std::move(data));
      set_key_ = key;
    }
    return set_.get();
  }

  Status Evaluate(const Cell& c) {
    const auto t0 = Clock::now();
    QUALM_ASSIGN_OR_RETURN(const Model* model, GetModel(c.parent));
    // Shifted sets are built from the float model (the variants read the same inputs).
    QUALM_ASSIGN_OR_RETURN(const Dataset* data, GetSet(c.data, *model));
    EvalOptions eo;
    eo.backend = o_.runtime.backend;
    eo.threads = o_.runtime.threads;
    const bool is_float = c.variant == "float";
    eo.keep_probabilities = is_float;
    QUALM_ASSIGN_OR_RETURN(EvalResult r, qualm::Evaluate(*model, *data, eo));
    const std::string dir = Dir(c.id);
    const std::size_t n = data->size();
    QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/top1.npy", NpyBytesI32(r.predictions, {n})));
    if (is_float) {
      QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/labels.npy", NpyBytesI32(data->labels, {n})));
      QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(
          dir + "/softmax.npy", NpyBytesF32(r.probabilities, {n, static_cast<std::size_t>(r.num_classes)})));
    }
    nlohmann::json fields = {{"count", n}, {"accuracy", r.accuracy}, {"classes", r.num_classes}, {"path", r.path}};
    return FinishCell(o_.out_dir, c, fields, Since(t0));
  }

  // A probe cell (probe_cells.h): loads what RunProbe needs, writes probe.json.
  Status Probe(const Cell& c) {
    const auto t0 = Clock::now();
    const Cell* variant = grid_.Find(c.parent);
    if (!variant) return Internal("probe cell without its variant cell in the grid");
    QUALM_ASSIGN_OR_RETURN(const Model* float_model, GetModel(variant->parent));
    QUALM_ASSIGN_OR_RETURN(const Model* int8_model, GetModel(variant->id));
    ProbeInputs in;
    in.float_model = float_model;
    in.int8_model = int8_model;
    in.probes = spec_.probes;
    in.calibration_samples = spec_.calibration_samples;
    in.runtime = o_.runtime;
    in.clean_test = IsCleanTestSet(c.data);
    // The key names the qat cell only when its rows are run.
    const auto key = nlohmann::json::parse(c.key);
    if (key.contains("qat_model")) {
      const std::string qat = key["qat_model"].get<std::string>();
      auto it = qat_models_.find(qat);
      if (it == qat_models_.end()) {
        QUALM_ASSIGN_OR_RETURN(Model m, frontends::LoadModel(Dir(qat) + "/qat-int8.qm"));
        it = qat_models_.emplace(qat, std::make_unique<Model>(std::move(m))).first;
      }
      in.qat_model = it->second.get();
    }
    auto& calib = calibration_[variant->parent];
    if (!calib) {
      // The variant cell's calibration data (Quantize above).
      frontends::DataSpecOptions d = o_.data_options;
      d.limit = static_cast<std::size_t>(spec_.calibration_samples);
      QUALM_ASSIGN_OR_RETURN(Dataset cd, frontends::LoadModelTrainingSplit(*float_model, d));
      calib = std::make_unique<Dataset>(std::move(cd));
    }
    in.calibration = calib.get();
    QUALM_ASSIGN_OR_RETURN(const Dataset* data, GetSet(c.data, *float_model));
    in.data = data;
    QUALM_ASSIGN_OR_RETURN(std::string probe, RunProbe(in));
    QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(Dir(c.id) + "/probe.json", probe));
    nlohmann::json fields = {{"count", data->size()}, {"probe", "probe.json"}};
    return FinishCell(o_.out_dir, c, fields, Since(t0));
  }

  const StudySpec& spec_;
  const StudyRunOptions& o_;
  const StudyCallbacks& cb_;
  StudyGrid grid_;
  StudyRunResult result_;
  std::size_t done_ = 0;
  Clock::time_point start_, last_progress_write_{};
  std::pair<double, std::size_t> per_kind_[kCellKinds] = {};  // seconds and cells computed, per kind
  std::size_t left_[kCellKinds] = {};                           // cells still to compute, per kind
  std::map<std::string, std::unique_ptr<Model>> qat_models_;     // qat train cell -> its qat-int8.qm
  std::map<std::string, std::unique_ptr<Dataset>> calibration_;  // float model cell -> calibration set
  std::map<std::string, std::unique_ptr<Model>> models_;
  std::map<std::string, Dataset> retrain_sets_;  // RQ4's found-on sets, kept across retrain cells
  std::map<std::string, frontends::TrainingData> retrain_train_;  // and its training splits
  std::unique_ptr<Dataset> set_;
  std::string set_key_;
};

}  // namespace

std::vector<std::string> CommittedModelDirs() {
  // The checkout's root, from the build (as frontends' DefaultSpamAssassinDir).
  const fs::path results = fs::path(QUALM_SOURCE_DIR) / "study/results";
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(results, ec))
    if (e.is_directory() && e.path().filename().string().rfind("models-", 0) == 0) dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::string CellDir(const std::string& out_dir, const std::string& id) { return out_dir + "/cells/" + id; }

bool CellDone(const std::string& out_dir, const std::string& id) {
  std::error_code ec;
  return fs::exists(CellDir(out_dir, id) + "/cell.json", ec);
}

Result<StudyRunResult> RunStudy(const StudySpec& spec, const StudyRunOptions& options, const StudyCallbacks& cb) {
  if (options.shard_count < 1 || options.shard_index < 1 || options.shard_index > options.shard_count)
    return InvalidArgument("study: shard must be i/n with 1 <= i <= n");
  Runner runner(spec, options, cb);
  return runner.Run();
}

}  // namespace qualm::study

#include "json_file.h"
#include "qualm/study/study_report.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "qualm/frontends/atomic_file.h"
#include "qualm/study/analysis.h"
#include "qualm/study/npy.h"
#include "qualm/study/retrain_cells.h"
#include "qualm/study/probe_cells.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace fs = std::filesystem;
namespace {

// One (model, variant, evaluation set) record, read from its cells.
struct Record {
  const Cell* eval = nullptr;        // the variant's evaluation
  const Cell* float_eval = nullptr;  // the float model's evaluation of the same set
  std::size_t count = 0, disagreements = 0, right_to_wrong = 0, wrong_to_right = 0, wrong_to_wrong = 0;
  double float_accuracy = 0, quantized_accuracy = 0;
  int quantized_layers = -1;
};

Result<Record> ReadRecord(const std::string& out, const StudyGrid& grid, const Cell& e, const Cell& fe) {
  Record r;
  r.eval = &e;
  r.float_eval = &fe;
  const std::string fdir = CellDir(out, fe.id), qdir = CellDir(out, e.id);
  QUALM_ASSIGN_OR_RETURN(NpyArray labels, ReadNpy(fdir + "/labels.npy"));
  QUALM_ASSIGN_OR_RETURN(NpyArray ft, ReadNpy(fdir + "/top1.npy"));
  QUALM_ASSIGN_OR_RETURN(NpyArray qt, ReadNpy(qdir + "/top1.npy"));
  if (labels.i32.size() != ft.i32.size() || ft.i32.size() != qt.i32.size())
    return DataLoss(e.label + ": the records of the float model and the variant differ in length");
  r.count = labels.i32.size();
  std::size_t fc = 0, qc = 0;
  for (std::size_t i = 0; i < r.count; ++i) {
    const bool fr = ft.i32[i] == labels.i32[i], qr = qt.i32[i] == labels.i32[i];
    fc += fr;
    qc += qr;
    if (ft.i32[i] == qt.i32[i]) continue;
    ++r.disagreements;
    if (fr) ++r.right_to_wrong;
    else if (qr) ++r.wrong_to_right;
    else ++r.wrong_to_wrong;
  }
  r.float_accuracy = r.count ? static_cast<double>(fc) / static_cast<double>(r.count) : 0;
  r.quantized_accuracy = r.count ? static_cast<double>(qc) / static_cast<double>(r.count) : 0;
  if (const Cell* v = grid.Find(e.parent); v && v->kind == CellKind::kVariant) {
    QUALM_ASSIGN_OR_RETURN(nlohmann::json vj, ReadJsonFile(CellDir(out, v->id) + "/cell.json"));
    r.quantized_layers = vj.value("quantized_layers", -1);
  }
  return r;
}

double Rate(std::size_t d, std::size_t n) { return n ? static_cast<double>(d) / static_cast<double>(n) : 0.0; }

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Mean and range over seeds of one quantity.
struct Stat {
  std::vector<double> v;
  double mean() const {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  }
  double min() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
  double max() const { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
  nlohmann::json json() const { return {{"mean", mean()}, {"min", min()}, {"max", max()}, {"n", v.size()}}; }
};

std::string Cells(const StudySpec& spec, const Cell& c) {
  return TaskName(spec.tasks[static_cast<std::size_t>(c.task)]) + " | " + c.strategy;
}

}  // namespace

Status WriteStudyJson(const std::string& out, const StudySpec& spec, const StudyRuntime& rt, int si, int sn) {
  const nlohmann::json j = {{"spec", nlohmann::json::parse(StudySpecJson(spec))},
                            {"runtime", {{"threads", rt.threads}, {"backend", BackendName(rt.backend)}}},
                            {"shard", {{"index", si}, {"count", sn}}}};
  return frontends::WriteFileAtomically(out + "/study.json", j.dump(2) + "\n");
}

Result<StudyFolder> ReadStudyJson(const std::string& out) {
  QUALM_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(out + "/study.json"));
  StudyFolder f;
  try {
    QUALM_ASSIGN_OR_RETURN(f.spec, ParseStudySpec(j.at("spec").dump()));
    f.runtime.threads = j.at("runtime").at("threads").get<int>();
    QUALM_ASSIGN_OR_RETURN(f.runtime.backend, ParseBackend(j.at("runtime").at("backend").get<std::string>()));
    f.shard_index = j.at("shard").at("index").get<int>();
    f.shard_count = j.at("shard").at("count").get<int>();
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(out + "/study.json: " + e.what());
  }
  return f;
}

Status WriteStudyReport(const std::string& out) {
  QUALM_ASSIGN_OR_RETURN(StudyFolder folder, ReadStudyJson(out));
  const StudySpec& spec = folder.spec;
  QUALM_ASSIGN_OR_RETURN(StudyGrid full, ExpandStudy(spec, folder.runtime));
  const StudyGrid grid = ShardGrid(full, folder.shard_index, folder.shard_count);
  std::map<std::pair<std::string, std::string>, const Cell*> eval_of;  // (model cell, set) -> eval cell
  std::size_t missing = 0;
  for (const auto& c : grid.cells) {
    if (!CellDone(out, c.id)) ++missing;
    if (c.kind == CellKind::kEval) eval_of[{c.parent, c.data}] = &c;
  }
  std::vector<Record> records;
  nlohmann::json index = nlohmann::json::array();
  std::string float_md;
  for (const auto& c : grid.cells) {
    if (c.kind != CellKind::kEval) continue;
    if (!c.protocol.empty()) continue;  // RQ4's retrained models: the "retrain" list below
    if (c.variant == "float") {
      if (c.data.find('~') != std::string::npos || !CellDone(out, c.id)) continue;
      QUALM_ASSIGN_OR_RETURN(nlohmann::json cj, ReadJsonFile(CellDir(out, c.id) + "/cell.json"));
      float_md += "| " + Cells(spec, c) + " | " + std::to_string(c.seed) + " | " + c.data + " | " +
                  Fmt("%.2f", 100.0 * cj.value("accuracy", 0.0)) + " | " + std::to_string(cj.value("count", 0)) + " |\n";
      continue;
    }
    const Cell* variant = grid.Find(c.parent);
    const Cell* fe = eval_of[{variant->parent, c.data}];
    if (!CellDone(out, c.id) || !fe || !CellDone(out, fe->id)) continue;
    QUALM_ASSIGN_OR_RETURN(Record r, ReadRecord(out, grid, c, *fe));
    QUALM_ASSIGN_OR_RETURN(EvalSetName set, ParseEvalSetName(c.data));
    const StudyTask& task = spec.tasks[static_cast<std::size_t>(c.task)];
    const std::string f = "cells/" + fe->id + "/", q = "cells/" + c.id + "/";
    index.push_back({{"task", TaskName(task)},
                     {"arch", task.arch},
                     {"train_data", TaskData(task)},
                     {"strategy", c.strategy},
                     {"seed", c.seed},
                     {"variant", c.variant},
                     {"set", c.data},
                     {"shift", set.shift.empty() ? "none" : set.shift},
                     {"severity", set.severity},
                     {"count", r.count},
                     {"float_accuracy", r.float_accuracy},
                     {"quantized_accuracy", r.quantized_accuracy},
                     {"disagreements", r.disagreements},
                     {"disagreement_rate", Rate(r.disagreements, r.count)},
                     {"right_to_wrong", r.right_to_wrong},
                     {"wrong_to_right", r.wrong_to_right},
                     {"wrong_to_wrong", r.wrong_to_wrong},
                     {"quantized_layers", r.quantized_layers},
                     {"labels", f + "labels.npy"},
                     {"float_top1", f + "top1.npy"},
                     {"float_softmax", f + "softmax.npy"},
                     {"quantized_top1", q + "top1.npy"},
                     {"model", "cells/" + variant->id + "/model.qm"},
                     {"float_model", "cells/" + variant->parent + "/model.qm"}});
    records.push_back(r);
  }
  nlohmann::json records_json = {{"study", spec.name},
                                       {"cells", grid.cells.size()},
                                       {"missing_cells", missing},
                                       {"records", index}};
  if (spec.retrain.enabled()) {
    QUALM_ASSIGN_OR_RETURN(nlohmann::json retrain, RetrainRecords(out, spec, grid));
    records_json["retrain"] = std::move(retrain);
  }
  QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(out + "/records.json", records_json.dump(1) + "\n"));
  QUALM_RETURN_IF_ERROR(WriteProbeIndex(out, spec, grid));

  // Aggregates over seeds: per (task, strategy, variant): clean rate, mean
  // shifted rate, and the mean rate at each severity.
  struct Agg {
    Stat float_acc, change, clean, clean_count, shifted, natural;
    std::map<int, Stat> severity;
    std::map<std::string, Stat> per_set;
    int quantized_layers = -1;
  };
  std::map<std::string, Agg> agg;
  std::vector<std::string> order;
  // Per seed first: the mean over this seed's shifted sets, then over seeds.
  std::map<std::string, std::map<std::uint64_t, std::pair<double, int>>> shifted_by_seed, natural_by_seed;
  std::map<std::string, std::map<std::uint64_t, std::map<int, std::pair<double, int>>>> sev_by_seed;
  for (const Record& r : records) {
    const Cell& c = *r.eval;
    const std::string key = Cells(spec, c) + " | " + c.variant;
    if (!agg.count(key)) order.push_back(key);
    Agg& a = agg[key];
    a.quantized_layers = r.quantized_layers;
    const double rate = Rate(r.disagreements, r.count);
    a.per_set[c.data].v.push_back(rate);
    auto set = ParseEvalSetName(c.data);
    const auto ends_with = [&](const char* suffix) {
      const std::string x = suffix;
      return c.data.size() >= x.size() && c.data.compare(c.data.size() - x.size(), x.size(), x) == 0;
    };
    if (ends_with(":validation")) continue;  // for the analyses, not the tables
    if (set.ok() && !set->shift.empty()) {
      auto& s = shifted_by_seed[key][c.seed];
      s.first += rate;
      s.second += 1;
      auto& v = sev_by_seed[key][c.seed][set->severity];
      v.first += rate;
      v.second += 1;
    } else if (ends_with(":test")) {
      a.float_acc.v.push_back(100.0 * r.float_accuracy);
      a.change.v.push_back(100.0 * (r.quantized_accuracy - r.float_accuracy));
      a.clean.v.push_back(rate);
      a.clean_count.v.push_back(static_cast<double>(r.disagreements));
    } else {
      auto& s = natural_by_seed[key][c.seed];
      s.first += rate;
      s.second += 1;
    }
  }
  for (auto& [key, seeds] : shifted_by_seed)
    for (auto& [seed, s] : seeds) agg[key].shifted.v.push_back(s.first / s.second);
  for (auto& [key, seeds] : natural_by_seed)
    for (auto& [seed, s] : seeds) agg[key].natural.v.push_back(s.first / s.second);
  for (auto& [key, seeds] : sev_by_seed)
    for (auto& [seed, sevs] : seeds)
      for (auto& [sev, s] : sevs) agg[key].severity[sev].v.push_back(s.first / s.second);

  nlohmann::json results = nlohmann::json::array();
  std::string md = "# Study " + spec.name + "\n\n";
  if (missing) md += "**Incomplete:** " + std::to_string(missing) + " of " + std::to_string(grid.cells.size()) +
                     " cells are not finished; the numbers below cover the finished ones.\n\n";
  md += "Rates are disagreements / inputs (an input disagrees when the float and the quantized top-1 differ), "
        "in %, mean over seeds [min, max]. Shifted: the mean over every shifted set (each type at each severity). "
        "Per-input records: records.json.\n\n";
  md += "## Float models\n\n| task | strategy | seed | set | accuracy (%) | inputs |\n|---|---|---|---|---|---|\n" +
        float_md;
  md += "\n## Disagreements: clean test set vs shifted sets\n\n"
        "| task | strategy | variant | seeds | float acc (%) | change (pp) | clean: disagreements | clean rate (%) | "
        "natural shifts (%) | shifted (%) |\n|---|---|---|---|---|---|---|---|---|---|\n";
  auto range = [](const Stat& s, double scale) {
    if (s.v.empty()) return std::string("—");
    return Fmt("%.2f", s.mean() * scale) + " [" + Fmt("%.2f", s.min() * scale) + ", " + Fmt("%.2f", s.max() * scale) + "]";
  };
  for (const auto& key : order) {
    const Agg& a = agg[key];
    if (a.quantized_layers == 0) {
      md += "| " + key + " | " + std::to_string(a.clean.v.size()) + " | " + range(a.float_acc, 1) +
            " | — | no layer quantized | — | — | — |\n";
    } else {
      md += "| " + key + " | " + std::to_string(a.clean.v.size()) + " | " + range(a.float_acc, 1) + " | " +
            range(a.change, 1) + " | " + Fmt("%.1f", a.clean_count.mean()) + " | " + range(a.clean, 100) + " | " +
            range(a.natural, 100) + " | " + range(a.shifted, 100) + " |\n";
    }
    nlohmann::json sev = nlohmann::json::object();
    for (const auto& [s, st] : a.severity) sev[std::to_string(s)] = st.json();
    nlohmann::json sets = nlohmann::json::object();
    for (const auto& [s, st] : a.per_set) sets[s] = st.json();
    results.push_back({{"row", key},
                       {"quantized_layers", a.quantized_layers},
                       {"float_accuracy", a.float_acc.json()},
                       {"accuracy_change_pp", a.change.json()},
                       {"clean_rate", a.clean.json()},
                       {"clean_disagreements", a.clean_count.json()},
                       {"natural_rate", a.natural.json()},
                       {"shifted_rate", a.shifted.json()},
                       {"severity_rate", sev},
                       {"set_rate", sets}});
  }
  if (!spec.severities.empty() && !(spec.image_shifts.empty() && spec.text_shifts.empty())) {
    md += "\n## Mean disagreement rate (%) over shift types, by severity\n\n| task | strategy | variant |";
    for (int s : spec.severities) md += " " + std::to_string(s) + " |";
    md += "\n|---|---|---|";
    for (std::size_t i = 0; i < spec.severities.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& key : order) {
      const Agg& a = agg[key];
      if (a.severity.empty() || a.quantized_layers == 0) continue;
      md += "| " + key + " |";
      for (int s : spec.severities) {
        auto it = a.severity.find(s);
        md += " " + (it == a.severity.end() ? std::string("—") : Fmt("%.2f", 100.0 * it->second.mean())) + " |";
      }
      md += "\n";
    }
  }
  QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(
      out + "/results.json", nlohmann::json({{"study", spec.name}, {"rows", results}}).dump(1) + "\n"));
  return frontends::WriteFileAtomically(out + "/results.md", md);
}

std::string StudyStatus::Describe() const {
  std::string s = "study " + folder.spec.name;
  if (folder.shard_count > 1) s += " (shard " + std::to_string(folder.shard_index) + "/" + std::to_string(folder.shard_count) + ")";
  s += ": " + std::to_string(done) + " / " + std::to_string(total) + " cells done (";
  for (int k = 0; k < kCellKinds; ++k) {
    if ((k == static_cast<int>(CellKind::kRetrain) || k == static_cast<int>(CellKind::kProbe)) && kind_total[k] == 0)
      continue;
    s += std::string(k ? ", " : "") + CellKindName(static_cast<CellKind>(k)) + " " + std::to_string(kind_done[k]) + "/" +
         std::to_string(kind_total[k]);
  }
  s += ")\n";
  if (running) {
    s += "running: " + current + "; elapsed " + Fmt("%.0f", elapsed) + " s";
    s += eta >= 0 ? ", ETA " + Fmt("%.0f", eta) + " s\n" : ", ETA unknown yet\n";
  } else if (done < total) {
    s += "not running: rerun the same `qualm study` command to resume\n";
  } else {
    s += "finished: " + std::string("results.md") + "\n";
  }
  return s;
}

Result<StudyStatus> ReadStudyStatus(const std::string& out) {
  StudyStatus st;
  QUALM_ASSIGN_OR_RETURN(st.folder, ReadStudyJson(out));
  QUALM_ASSIGN_OR_RETURN(StudyGrid full, ExpandStudy(st.folder.spec, st.folder.runtime));
  const StudyGrid grid = ShardGrid(full, st.folder.shard_index, st.folder.shard_count);
  for (const auto& c : grid.cells) {
    const int k = static_cast<int>(c.kind);
    ++st.kind_total[k];
    ++st.total;
    if (CellDone(out, c.id)) {
      ++st.kind_done[k];
      ++st.done;
    }
  }
  if (auto p = ReadJsonFile(out + "/progress.json"); p.ok()) {
    const long long pid = p->value("pid", 0LL);
    st.running = pid > 0 && kill(static_cast<pid_t>(pid), 0) == 0;
    st.current = p->value("label", std::string());
    st.elapsed = p->value("elapsed", 0.0);
    st.eta = p->value("eta", -1.0);
  }
  return st;
}

Status MergeStudies(const std::string& out, const std::vector<std::string>& shards,
                    const std::function<void(const std::string&)>& message) {
  if (shards.empty()) return InvalidArgument("study merge: no shard folders");
  std::optional<StudyFolder> first;
  std::vector<bool> seen;
  for (const std::string& dir : shards) {
    QUALM_ASSIGN_OR_RETURN(StudyFolder f, ReadStudyJson(dir));
    if (!first) {
      first = f;
      seen.assign(static_cast<std::size_t>(f.shard_count), false);
    } else if (StudySpecJson(f.spec) != StudySpecJson(first->spec) || f.runtime.threads != first->runtime.threads ||
               f.runtime.backend != first->runtime.backend || f.shard_count != first->shard_count) {
      return InvalidArgument("study merge: " + dir + " is a shard of another study (spec, runtime or shard count "
                             "differs from " + shards.front() + ")");
    }
    seen[static_cast<std::size_t>(f.shard_index - 1)] = true;
  }
  std::error_code ec;
  fs::create_directories(out + "/cells", ec);
  if (ec) return IoError(out + ": cannot create: " + ec.message());
  QUALM_ASSIGN_OR_RETURN(StudyGrid grid, ExpandStudy(first->spec, first->runtime));
  std::size_t copied = 0;
  for (const auto& c : grid.cells) {
    if (CellDone(out, c.id)) continue;
    for (const std::string& dir : shards) {
      if (!CellDone(dir, c.id) || fs::equivalent(dir, out, ec)) continue;
      // Copy into a temporary folder, then rename: a cell is whole or absent.
      const std::string tmp = CellDir(out, c.id) + ".tmp.merge";
      fs::remove_all(tmp, ec);
      fs::copy(CellDir(dir, c.id), tmp, fs::copy_options::recursive, ec);
      if (ec) return IoError(tmp + ": " + ec.message());
      fs::remove_all(CellDir(out, c.id), ec);
      fs::rename(tmp, CellDir(out, c.id), ec);
      if (ec) return IoError(CellDir(out, c.id) + ": " + ec.message());
      ++copied;
      break;
    }
  }
  std::size_t missing = 0;
  for (const auto& c : grid.cells) missing += !CellDone(out, c.id);
  if (message) message(std::to_string(copied) + " cells copied from " + std::to_string(shards.size()) + " shard folders");
  if (missing) {
    std::string which;
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (!seen[i]) which += (which.empty() ? "" : ", ") + std::to_string(i + 1);
    return InvalidArgument("study merge: " + std::to_string(missing) + " of " + std::to_string(grid.cells.size()) +
                           " cells are missing" + (which.empty() ? " (unfinished shards)" : "; shards not given: " + which));
  }
  QUALM_RETURN_IF_ERROR(WriteStudyJson(out, first->spec, first->runtime, 1, 1));
  QUALM_RETURN_IF_ERROR(WriteStudyReport(out));
  return WriteStudyAnalysis(out).status();
}

}  // namespace qualm::study

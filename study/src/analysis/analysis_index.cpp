// Reading a study folder's index (records.json) and what it was made with
// (study.json, the cells' cell.json) for the analyses.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../json_file.h"
#include "analysis_internal.h"

namespace qualm::study::internal {
namespace fs = std::filesystem;
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The folder of a cell file ("cells/<id>/top1.npy" -> "cells/<id>").
std::string CellOf(const std::string& relative) {
  const auto slash = relative.rfind('/');
  return slash == std::string::npos ? std::string() : relative.substr(0, slash);
}

// The kernel path and code version an evaluation cell recorded, when it did.
void NotePath(const std::string& dir, const std::string& cell, const std::string& variant, StudyProvenance* p,
              std::set<std::string>* seen) {
  if (cell.empty() || !seen->insert(cell).second) return;
  auto j = ReadJsonFile(dir + "/" + cell + "/cell.json");
  if (!j.ok()) return;
  if (j->contains("path") && (*j)["path"].is_string()) p->paths[variant].insert((*j)["path"].get<std::string>());
  if (p->version.empty() && j->contains("key") && (*j)["key"].is_object() && (*j)["key"].contains("version") &&
      (*j)["key"]["version"].is_string())
    p->version = (*j)["key"]["version"].get<std::string>();
}

}  // namespace

bool IsCleanTest(const std::string& set) { return set.find('~') == std::string::npos && EndsWith(set, ":test"); }
bool IsValidation(const std::string& set) { return set.find('~') == std::string::npos && EndsWith(set, ":validation"); }
std::string SeverityAggregate(int severity) { return "severity " + Int(severity); }

Status ReadStudyIndex(const std::string& dir, std::vector<RecordMeta>* records, StudyProvenance* provenance) {
  QUALM_ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonFile(dir + "/records.json"));
  const std::string where = dir + "/records.json";
  std::set<std::string> seen_cells;
  try {
    provenance->name = index.value("study", std::string());
    provenance->cells = index.value("cells", std::size_t{0});
    provenance->missing_cells = index.value("missing_cells", std::size_t{0});
    const auto& list = index.at("records");
    if (!list.is_array()) return DataLoss(where + ": \"records\" is not a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& e = list[i];
      RecordMeta r;
      r.task = e.at("task").get<std::string>();
      r.arch = e.value("arch", std::string());
      r.strategy = e.at("strategy").get<std::string>();
      r.seed = e.at("seed").get<std::uint64_t>();
      r.variant = e.at("variant").get<std::string>();
      r.set = e.at("set").get<std::string>();
      r.shift = e.value("shift", std::string("none"));
      if (r.shift == "none") r.shift.clear();
      r.severity = e.value("severity", 0);
      r.quantized_layers = e.value("quantized_layers", -1);
      r.labels = e.at("labels").get<std::string>();
      r.float_top1 = e.at("float_top1").get<std::string>();
      r.float_softmax = e.at("float_softmax").get<std::string>();
      r.quantized_top1 = e.at("quantized_top1").get<std::string>();
      // The float model identifies "the same model" for the validation fit;
      // without it, the float top-1's folder's parent is not known, so fall back
      // to (task, strategy, seed), which names one model in a study.
      r.float_model = e.value("float_model", r.task + "|" + r.strategy + "|" + Int(r.seed));
      r.stated_count = e.at("count").get<std::size_t>();
      r.stated_disagreements = e.at("disagreements").get<std::size_t>();
      r.validation = IsValidation(r.set);
      if (!r.shift.empty() || r.set.find('~') != std::string::npos) {
        r.kind = SetKind::kShifted;
        if (r.shift.empty()) return DataLoss(where + ": record " + Int(i) + " (" + r.set + ") has no shift name");
        if (r.severity < 1) return DataLoss(where + ": record " + Int(i) + " (" + r.set + ") has no severity");
      } else if (IsCleanTest(r.set) || r.validation) {
        r.kind = SetKind::kClean;
      } else {
        r.kind = SetKind::kNatural;
      }
      NotePath(dir, CellOf(r.quantized_top1), r.variant, provenance, &seen_cells);
      NotePath(dir, CellOf(r.float_top1), "float", provenance, &seen_cells);
      records->push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& ex) {
    return DataLoss(where + ": " + ex.what());
  }
  provenance->records = records->size();
  if (auto study = ReadJsonFile(dir + "/study.json"); study.ok()) {
    if (study->contains("spec")) provenance->spec_json = (*study)["spec"].dump(1);
    if (study->contains("runtime") && (*study)["runtime"].is_object()) {
      const auto& rt = (*study)["runtime"];
      provenance->runtime = "threads " + (rt.contains("threads") ? rt["threads"].dump() : std::string("?")) +
                            ", backend " + rt.value("backend", std::string("?"));
    }
    if (provenance->name.empty() && study->contains("spec") && (*study)["spec"].is_object())
      provenance->name = (*study)["spec"].value("name", std::string());
  }
  return Status::Ok();
}

std::string Int(long long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld", v);
  return buf;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string FmtOpt(const char* format, const std::optional<double>& v) { return v ? Fmt(format, *v) : "—"; }

std::string FmtInterval(const MeanInterval& m, const char* format) {
  std::string s = Fmt(format, m.mean);
  if (m.lo == m.hi) return s;
  s += " [";
  s += Fmt(format, m.lo);
  s += ", ";
  s += Fmt(format, m.hi);
  s += "]";
  return s;
}

const char* MetricLabel(std::size_t i) {
  static const char* const kLabels[4] = {"Margin", "Entropy", "Gini", "Least confidence"};
  return i < 4 ? kLabels[i] : "?";
}

}  // namespace qualm::study::internal

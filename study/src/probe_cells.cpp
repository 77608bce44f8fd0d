// The study's probe cells (qualm/study/probe_cells.h).
//
// probe.json, one per probe cell:
//   {"set", "inputs",
//    "matrix": null | {"rows": [{"label", "path", "accuracy"}], "unavailable": [{"label", "reason"}],
//                      "counts": [[...]]}                        (BuildBackendMatrix, as it returns it)
//    "int8": {"path", "disagreements", "ties"}                   (the variant against the float model)
//    "attribution": null | {"flips", "float_accuracy", "int8_accuracy", "culprit_lowering",
//                           "sweep_mismatches", "culprit_lowering_ties",
//                           "layers": [{"node", "name", "op", "first", "stable", "first_ties"}],
//                           "flip_list": [[index, first_culprit, stable_from, tie 0/1]],
//                           "mixed": [{"names", "float_nodes", "culprit_flips", "culprit_flips_removed",
//                                      "flips_removed", "new_disagreements", "disagreements", "accuracy"}]}}
#include "qualm/study/probe_cells.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "qualm/engine/evaluate.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/study/backend_matrix.h"
#include "qualm/study/flip_attribution.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace {
using nlohmann::json;

constexpr int kMaxTopLayers = 8;

template <typename T>
bool Contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Whether the int8 model's two largest softmax entries of a row are equal.
bool TopTwoTie(const float* row, int classes) {
  const int top = Argmax(row, classes);
  for (int c = 0; c < classes; ++c)
    if (c != top && row[c] == row[top]) return true;
  return false;
}

}  // namespace

Result<StudyProbes> ParseStudyProbes(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return InvalidArgument("study file: \"probes\" must be an object, e.g. {\"matrix\": true, \"attribution\": true}");
  static const std::set<std::string> kKeys = {"matrix", "attribution", "severities", "reference_rows", "top_layers"};
  StudyProbes p;
  for (const auto& [key, value] : j.items()) {
    if (!kKeys.count(key))
      return InvalidArgument("study file: unknown key \"" + key +
                             "\" in \"probes\"; valid: matrix, attribution, severities, reference_rows, top_layers");
    const bool boolean = key == "matrix" || key == "attribution" || key == "reference_rows";
    if (boolean && !value.is_boolean())
      return InvalidArgument("study file: \"probes\"." + key + " must be true or false");
    if (key == "top_layers" && !value.is_number_integer())
      return InvalidArgument("study file: \"probes\".top_layers must be an integer");
    if (key == "severities") {
      if (!value.is_array()) return InvalidArgument("study file: \"probes\".severities must be a list of severities");
      for (const auto& e : value)
        if (!e.is_number_integer()) return InvalidArgument("study file: \"probes\".severities must hold integers");
    }
  }
  p.matrix = j.value("matrix", p.matrix);
  p.attribution = j.value("attribution", p.attribution);
  p.reference_rows = j.value("reference_rows", p.reference_rows);
  p.top_layers = j.value("top_layers", p.top_layers);
  if (j.contains("severities")) p.severities = j["severities"].get<std::vector<int>>();
  return p;
}

Status ValidateStudyProbes(const StudySpec& spec) {
  const StudyProbes& p = spec.probes;
  if (p.top_layers < 0 || p.top_layers > kMaxTopLayers)
    return InvalidArgument("study: probes.top_layers must lie in 0..8");
  if (!p.any()) return Status::Ok();
  std::set<int> seen;
  for (int sev : p.severities) {
    if (!Contains(spec.severities, sev))
      return InvalidArgument("study: probes.severities holds " + std::to_string(sev) +
                             ", which the study does not evaluate (\"severities\")");
    if (!seen.insert(sev).second) return InvalidArgument("study: probes.severities holds a severity twice");
  }
  if (!Contains(spec.strategies, std::string("standard")) || !Contains(spec.variants, std::string("int8")))
    return InvalidArgument("study: the probes run on the int8 variant of the standard models; the spec asks for "
                           "probes without the \"standard\" strategy or the \"int8\" variant");
  return Status::Ok();
}

std::string StudyProbesJson(const StudyProbes& p) {
  return json{{"matrix", p.matrix},
              {"attribution", p.attribution},
              {"severities", p.severities},
              {"reference_rows", p.reference_rows},
              {"top_layers", p.top_layers}}
      .dump();
}

bool IsCleanTestSet(const std::string& set) {
  return set.find('~') == std::string::npos && set.size() > 5 && set.compare(set.size() - 5, 5, ":test") == 0;
}

bool InProbeScope(const StudySpec& spec, const std::string& set) {
  auto name = ParseEvalSetName(set);
  if (!name.ok()) return false;
  // The validation split is where the analyses fit; nothing is reported on it.
  if (name->shift.empty()) return set.size() < 11 || set.compare(set.size() - 11, 11, ":validation") != 0;
  return Contains(spec.probes.severities, name->severity);
}

void AppendProbeCells(const StudySpec& spec, const StudyRuntime& rt, const std::string& version, StudyGrid* grid) {
  if (!spec.probes.any()) return;
  std::vector<Cell> probes;
  for (const Cell& v : grid->cells) {
    if (v.kind != CellKind::kVariant || v.strategy != "standard" || v.variant != "int8") continue;
    if (!v.protocol.empty()) continue;  // a retrained model's variant (RQ4): not one of the grid's models
    const StudyTask& task = spec.tasks[static_cast<std::size_t>(v.task)];
    // The QAT rows' model: the qat cell of the same task and seed, when trained.
    std::string qat;
    for (const Cell& t : grid->cells)
      if (t.kind == CellKind::kTrain && t.strategy == "qat" && t.task == v.task && t.seed == v.seed) qat = t.id;
    for (const std::string& set : TaskEvalSets(spec, task)) {
      if (!InProbeScope(spec, set)) continue;
      const bool clean = IsCleanTestSet(set);
      Cell p;
      p.kind = CellKind::kProbe;
      p.group = v.group;
      p.task = v.task;
      p.strategy = v.strategy;
      p.seed = v.seed;
      p.parent = v.id;
      p.variant = v.variant;
      p.data = set;
      // Only what changes the result: the full matrix's extra rows exist on the clean test set only.
      json key = {{"stage", "probe"},
                  {"version", version},
                  {"model", v.id},
                  {"float_model", v.parent},
                  {"data", set},
                  {"limit", spec.eval_limit},
                  {"backend", BackendName(rt.backend)},
                  {"calibration_samples", spec.calibration_samples},
                  {"matrix", spec.probes.matrix},
                  {"attribution", spec.probes.attribution}};
      if (spec.probes.attribution) key["top_layers"] = spec.probes.top_layers;
      if (clean && spec.probes.matrix) {
        key["reference_rows"] = spec.probes.reference_rows;
        if (spec.probes.reference_rows && !qat.empty()) key["qat_model"] = qat;
      }
      if (set.find('~') != std::string::npos) key["shift_seed"] = spec.shift_seed;
      p.key = key.dump();
      p.id = Fnv1a64Hex(p.key);
      p.label = TaskName(task) + " standard seed " + std::to_string(v.seed) + " int8 probes on " + set;
      probes.push_back(p);
    }
  }
  grid->cells.insert(grid->cells.end(), probes.begin(), probes.end());
}

Result<std::string> RunProbe(const ProbeInputs& in) {
  if (!in.float_model || !in.int8_model || !in.data || (in.probes.matrix && !in.calibration))
    return InvalidArgument("probe: the float model, the int8 model, the data and the calibration set are required");
  const Dataset& data = *in.data;
  json out = {{"set", data.name}, {"inputs", data.size()}, {"matrix", nullptr}, {"attribution", nullptr}};

  // The variant against the float model, with the variant's softmax for the ties.
  EvalOptions eo;
  eo.backend = in.runtime.backend;
  eo.threads = in.runtime.threads;
  eo.keep_probabilities = false;
  QUALM_ASSIGN_OR_RETURN(EvalResult fr, Evaluate(*in.float_model, data, eo));
  eo.keep_probabilities = true;
  QUALM_ASSIGN_OR_RETURN(EvalResult qr, Evaluate(*in.int8_model, data, eo));
  std::vector<std::uint8_t> tie(data.size(), 0);
  std::size_t disagreements = 0, ties = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    tie[i] = TopTwoTie(&qr.probabilities[i * static_cast<std::size_t>(qr.num_classes)], qr.num_classes);
    if (fr.predictions[i] == qr.predictions[i]) continue;
    ++disagreements;
    ties += tie[i];
  }
  out["int8"] = {{"path", qr.path}, {"disagreements", disagreements}, {"ties", ties}};

  if (in.probes.matrix) {
    BackendMatrixOptions mo;
    mo.calibration.samples = in.calibration_samples;  // as the variant cell quantizes
    mo.threads = in.runtime.threads;
    const bool full = in.clean_test && in.probes.reference_rows;
    mo.backends = full ? std::vector<Backend>{Backend::kReference, Backend::kFast} : std::vector<Backend>{in.runtime.backend};
    mo.float_backends = mo.backends;
    mo.qat_model = full ? in.qat_model : nullptr;
    auto m = BuildBackendMatrix(*in.float_model, *in.calibration, data, mo);
    if (!m.ok()) return m.status().WithContext("backend matrix");
    json rows = json::array(), unavailable = json::array();
    for (const auto& r : m->rows) rows.push_back({{"label", r.label}, {"path", r.path}, {"accuracy", r.accuracy}});
    for (const auto& u : m->unavailable) unavailable.push_back({{"label", u.label}, {"reason", u.reason}});
    out["matrix"] = {{"rows", rows}, {"unavailable", unavailable}, {"counts", m->counts}};
  }

  if (in.probes.attribution) {
    FlipAttributionOptions ao;
    ao.float_backend = in.runtime.backend;  // the eval cells' float predictions, so the flips are theirs
    ao.int8_backend = Backend::kFast;       // bit-identical to the reference
    ao.threads = in.runtime.threads;
    ao.top_layers = in.probes.top_layers;
    ao.mixed_check = in.probes.top_layers > 0;
    auto a = AttributeFlips(*in.float_model, *in.int8_model, data, ao);
    if (!a.ok()) return a.status().WithContext("flip attribution");
    json layers = json::array(), flips = json::array(), mixed = json::array();
    std::vector<std::size_t> first_ties(a->layers.size(), 0);
    std::size_t lowering_ties = 0;
    for (const Flip& f : a->flips) {
      flips.push_back({f.index, f.first_culprit, f.stable_from, static_cast<int>(tie[f.index])});
      if (!tie[f.index]) continue;
      if (f.first_culprit < 0) ++lowering_ties;
      else ++first_ties[static_cast<std::size_t>(f.first_culprit)];
    }
    for (std::size_t k = 0; k < a->layers.size(); ++k) {
      const CulpritCount& c = a->layers[k];
      layers.push_back({{"node", c.node}, {"name", c.name}, {"op", c.op}, {"first", c.first}, {"stable", c.stable},
                        {"first_ties", first_ties[k]}});
    }
    for (const MixedCheck& c : a->mixed)
      mixed.push_back({{"names", c.names}, {"float_nodes", c.float_nodes}, {"culprit_flips", c.culprit_flips},
                       {"culprit_flips_removed", c.culprit_flips_removed}, {"flips_removed", c.flips_removed},
                       {"new_disagreements", c.new_disagreements}, {"disagreements", c.disagreements},
                       {"accuracy", c.accuracy}});
    out["attribution"] = {{"flips", a->flips.size()},
                          {"float_accuracy", a->float_accuracy},
                          {"int8_accuracy", a->int8_accuracy},
                          {"culprit_lowering", a->culprit_lowering},
                          {"culprit_lowering_ties", lowering_ties},
                          {"sweep_mismatches", a->sweep_mismatches},
                          {"layers", layers},
                          {"flip_list", flips},
                          {"mixed", mixed}};
  }
  return out.dump() + "\n";
}

Status WriteProbeIndex(const std::string& out, const StudySpec& spec, const StudyGrid& grid) {
  json probes = json::array();
  std::size_t missing = 0;
  for (const Cell& c : grid.cells) {
    if (c.kind != CellKind::kProbe) continue;
    if (!CellDone(out, c.id)) {
      ++missing;
      continue;
    }
    const StudyTask& task = spec.tasks[static_cast<std::size_t>(c.task)];
    auto set = ParseEvalSetName(c.data);
    if (!set.ok()) return set.status().WithContext("probe cell " + c.id);
    probes.push_back({{"task", TaskName(task)},
                      {"arch", task.arch},
                      {"strategy", c.strategy},
                      {"seed", c.seed},
                      {"variant", c.variant},
                      {"set", c.data},
                      {"shift", set->shift},
                      {"severity", set->severity},
                      {"probe", "cells/" + c.id + "/probe.json"}});
  }
  const json index = {{"study", spec.name},
                      {"probes", json::parse(StudyProbesJson(spec.probes))},
                      {"missing", missing},
                      {"cells", probes}};
  return frontends::WriteFileAtomically(out + "/probes.json", index.dump(1) + "\n");
}

}  // namespace qualm::study

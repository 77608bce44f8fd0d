// The probe cells' numbers (analysis_probes.h): the backend matrix, the int8
// ties and flip attribution, read through probes.json and pooled per task and scope.
#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "analysis_internal.h"

namespace qualm::study::internal {
namespace {
using nlohmann::json;

Result<json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": missing");
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return DataLoss(path + ": not valid JSON");
  return j;
}

// Where a probed set belongs: the clean test set, the natural (text) shifts, the synthetic shifts.
std::string ScopeOf(const std::string& set, const std::string& shift, const std::string& severities) {
  if (!shift.empty()) return "synthetic shifts (severity " + severities + ")";
  return IsCleanTest(set) ? "clean test set" : "natural shifts";
}

struct MatrixAcc {
  MatrixSummary m;
  std::map<std::uint64_t, std::vector<std::vector<double>>> sums;  // per seed
  std::map<std::uint64_t, std::size_t> sets, inputs;
  std::vector<double> accuracy;
  std::size_t probes = 0;
};

struct AttributionAcc {
  AttributionSummary a;
  std::map<std::uint64_t, std::size_t> sets, inputs;
  std::vector<std::string> mixed_order;
  std::map<std::string, MixedSummary> mixed;
};

Result<ProbeRecord> ReadProbe(const json& p, const std::string& where) {
  ProbeRecord r;
  r.inputs = p.at("inputs").get<std::size_t>();
  r.int8_disagreements = p.at("int8").at("disagreements").get<std::size_t>();
  r.int8_ties = p.at("int8").at("ties").get<std::size_t>();
  if (r.int8_ties > r.int8_disagreements) return DataLoss(where + ": more ties than disagreements");
  if (!p.at("matrix").is_null()) {
    for (const auto& row : p["matrix"].at("rows")) r.labels.push_back(row.at("label").get<std::string>());
    r.counts = p["matrix"].at("counts").get<std::vector<std::vector<std::size_t>>>();
    if (r.counts.size() != r.labels.size()) return DataLoss(where + ": the matrix is not square in its rows");
    for (const auto& c : r.counts)
      if (c.size() != r.labels.size()) return DataLoss(where + ": the matrix is not square in its rows");
  }
  if (!p.at("attribution").is_null()) {
    const json& a = p["attribution"];
    r.flips = a.at("flips").get<std::size_t>();
    for (const auto& l : a.at("layers"))
      r.layers.push_back({l.at("node").get<int>(), l.at("name").get<std::string>(), l.at("op").get<std::string>(),
                          l.at("first").get<std::size_t>(), l.at("first_ties").get<std::size_t>(),
                          l.at("stable").get<std::size_t>()});
    const double int8_acc = a.at("int8_accuracy").get<double>();
    for (const auto& m : a.at("mixed")) {
      MixedSummary s;
      // In node order, so the same layers pool whatever order their probe ranked them in.
      const auto nodes = m.at("float_nodes").get<std::vector<int>>();
      const auto names = m.at("names").get<std::vector<std::string>>();
      if (nodes.size() != names.size()) return DataLoss(where + ": a mixed check's nodes and names differ in number");
      std::vector<std::pair<int, std::string>> kept;
      for (std::size_t k = 0; k < nodes.size(); ++k) kept.emplace_back(nodes[k], names[k]);
      std::sort(kept.begin(), kept.end());
      for (const auto& [node, name] : kept) {
        if (!s.names.empty()) s.names += "+";
        s.names += name;
      }
      s.probes = 1;
      s.culprit_flips = m.at("culprit_flips").get<std::size_t>();
      s.culprit_flips_removed = m.at("culprit_flips_removed").get<std::size_t>();
      s.flips = r.flips;
      s.flips_removed = m.at("flips_removed").get<std::size_t>();
      s.disagreements_after = m.at("disagreements").get<std::size_t>();
      s.new_disagreements = m.at("new_disagreements").get<std::size_t>();
      s.accuracy_change_pp = 100.0 * (m.at("accuracy").get<double>() - int8_acc);
      r.mixed.push_back(s);
    }
  }
  return r;
}

}  // namespace

Result<ProbeAnalysis> AnalyzeProbes(const std::string& dir) {
  ProbeAnalysis out;
  auto index = ReadJson(dir + "/probes.json");
  if (!index.ok()) return out;  // a folder from before the probes: not measured
  std::vector<std::string> m_order, a_order;
  std::map<std::string, MatrixAcc> matrices;
  std::map<std::string, AttributionAcc> attributions;
  try {
    const json& spec = index->at("probes");
    out.matrix = spec.value("matrix", false);
    out.attribution = spec.value("attribution", false);
    out.present = out.matrix || out.attribution;
    out.spec = spec.dump();
    out.missing = index->value("missing", std::size_t{0});
    std::string severities;
    for (const auto& s : spec.value("severities", json::array())) {
      if (!severities.empty()) severities += ", ";
      severities += s.dump();
    }
    for (const auto& e : index->at("cells")) {
      const std::string path = e.at("probe").get<std::string>();
      QUALM_ASSIGN_OR_RETURN(json p, ReadJson(dir + "/" + path));
      QUALM_ASSIGN_OR_RETURN(ProbeRecord r, ReadProbe(p, path));
      r.task = e.at("task").get<std::string>();
      r.set = e.at("set").get<std::string>();
      r.seed = e.at("seed").get<std::uint64_t>();
      r.scope = ScopeOf(r.set, e.value("shift", std::string()), severities);
      const std::string key = r.task + "|" + r.scope;

      if (!r.labels.empty()) {
        auto [it, fresh] = matrices.try_emplace(key);
        MatrixAcc& m = it->second;
        if (fresh) {
          m_order.push_back(key);
          m.m.task = r.task;
          m.m.scope = r.scope;
          m.m.labels = r.labels;
          m.m.accuracy_pct.assign(r.labels.size(), 0.0);
          for (const auto& u : p["matrix"].at("unavailable"))
            m.m.unavailable.push_back(u.at("label").get<std::string>() + ": " + u.at("reason").get<std::string>());
        }
        if (m.m.labels != r.labels)
          return DataLoss(path + ": its matrix rows differ from the other probes of " + r.task + ", " + r.scope);
        auto& sum = m.sums[r.seed];
        if (sum.empty()) sum.assign(r.labels.size(), std::vector<double>(r.labels.size(), 0.0));
        for (std::size_t i = 0; i < r.labels.size(); ++i)
          for (std::size_t j = 0; j < r.labels.size(); ++j) sum[i][j] += static_cast<double>(r.counts[i][j]);
        const auto& rows = p["matrix"].at("rows");
        for (std::size_t i = 0; i < r.labels.size(); ++i) m.m.accuracy_pct[i] += 100.0 * rows[i].at("accuracy").get<double>();
        ++m.probes;
        ++m.sets[r.seed];
        m.inputs[r.seed] += r.inputs;
        m.m.int8_disagreements += r.int8_disagreements;
        m.m.int8_ties += r.int8_ties;
      }
      if (!p.at("attribution").is_null()) {
        auto [it, fresh] = attributions.try_emplace(key);
        AttributionAcc& a = it->second;
        if (fresh) {
          a_order.push_back(key);
          a.a.task = r.task;
          a.a.scope = r.scope;
          a.a.layers = r.layers;
          for (auto& l : a.a.layers) l.first = l.first_ties = l.stable = 0;
        }
        if (a.a.layers.size() != r.layers.size())
          return DataLoss(path + ": its layers differ from the other probes of " + r.task);
        for (std::size_t k = 0; k < r.layers.size(); ++k) {
          if (a.a.layers[k].name != r.layers[k].name)
            return DataLoss(path + ": its layers differ from the other probes of " + r.task);
          a.a.layers[k].first += r.layers[k].first;
          a.a.layers[k].first_ties += r.layers[k].first_ties;
          a.a.layers[k].stable += r.layers[k].stable;
        }
        const json& at = p["attribution"];
        a.a.flips += r.flips;
        a.a.culprit_lowering += at.at("culprit_lowering").get<std::size_t>();
        a.a.sweep_mismatches += at.at("sweep_mismatches").get<std::size_t>();
        for (const auto& f : at.at("flip_list")) a.a.ties += f.at(3).get<int>() != 0;
        ++a.sets[r.seed];
        a.inputs[r.seed] += r.inputs;
        for (const MixedSummary& s : r.mixed) {
          auto [mit, mfresh] = a.mixed.try_emplace(s.names);
          if (mfresh) {
            a.mixed_order.push_back(s.names);
            mit->second.names = s.names;
          }
          MixedSummary& t = mit->second;
          t.accuracy_change_pp += s.accuracy_change_pp;  // a sum until divided below
          t.probes += 1;
          t.culprit_flips += s.culprit_flips;
          t.culprit_flips_removed += s.culprit_flips_removed;
          t.flips += s.flips;
          t.flips_removed += s.flips_removed;
          t.disagreements_after += s.disagreements_after;
          t.new_disagreements += s.new_disagreements;
        }
      }
      out.records.push_back(std::move(r));
    }
  } catch (const json::exception& ex) {
    return DataLoss(dir + "/probes.json or a probe.json: " + ex.what());
  }

  for (const std::string& key : m_order) {
    MatrixAcc& m = matrices[key];
    const std::size_t n = m.m.labels.size();
    m.m.counts.assign(n, std::vector<double>(n, 0.0));
    for (const auto& [seed, sum] : m.sums) {
      m.m.seeds.push_back(seed);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) m.m.counts[i][j] += sum[i][j] / static_cast<double>(m.sums.size());
    }
    for (double& acc : m.m.accuracy_pct) acc /= static_cast<double>(m.probes);
    m.m.sets = m.sets.begin()->second;
    m.m.inputs = m.inputs.begin()->second;
    out.matrices.push_back(std::move(m.m));
  }
  for (const std::string& key : a_order) {
    AttributionAcc& a = attributions[key];
    for (const auto& [seed, sets] : a.sets) a.a.seeds.push_back(seed);
    a.a.sets = a.sets.begin()->second;
    a.a.inputs = a.inputs.begin()->second;
    for (const std::string& names : a.mixed_order) {
      MixedSummary s = a.mixed[names];
      s.accuracy_change_pp /= static_cast<double>(s.probes);
      a.a.mixed.push_back(s);
    }
    std::stable_sort(a.a.mixed.begin(), a.a.mixed.end(),
                     [](const MixedSummary& x, const MixedSummary& y) { return x.probes > y.probes; });
    out.attributions.push_back(std::move(a.a));
  }
  return out;
}

}  // namespace qualm::study::internal

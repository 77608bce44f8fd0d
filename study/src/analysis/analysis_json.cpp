// analysis.json (everything the analyses computed) and the CSV tables.
#include <nlohmann/json.hpp>

#include "analysis_internal.h"
#include "analysis_rq4.h"
#include "report_probes.h"

namespace qualm::study {
namespace {
using nlohmann::json;
using internal::Fmt;
using internal::Int;

json Opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json IntervalJson(const MeanInterval& m) {
  return {{"n", m.n}, {"mean", m.mean}, {"sd", Opt(m.sd)}, {"lo", m.lo}, {"hi", m.hi},
          {"fraction_above_zero", m.fraction_above_zero}, {"fraction_below_zero", m.fraction_below_zero}};
}
json OptInterval(const std::optional<MeanInterval>& m) { return m ? IntervalJson(*m) : json(nullptr); }

json RankingJson(const std::optional<RankingSummary>& r) {
  if (!r) return nullptr;
  return {{"positives", r->positives}, {"negatives", r->negatives}, {"auroc", Opt(r->auroc)},
          {"aupr", Opt(r->aupr)}, {"tnr_at_95tpr", Opt(r->tnr_at_95tpr)}};
}

json SetJson(const SetAnalysis& s) {
  json measures = json::object();
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const SeedMeasure& sm = s.measures[m];
    json v = IntervalJson(sm.stat);
    v["seeds"] = sm.seeds;
    v["values"] = sm.values;
    measures[MeasureName(static_cast<Measure>(m))] = v;
  }
  return {{"set", s.set}, {"kind", SetKindName(s.kind)}, {"shift", s.shift}, {"severity", s.severity},
          {"inputs", s.inputs}, {"measures", measures}};
}

json TallyJson(const MetricTally& t) {
  json per = json::object();
  for (std::size_t m = 0; m < 4; ++m)
    per[UncertaintyMetricName(kUncertaintyMetrics[m])] = {{"wins", t.wins[m]}, {"auroc", OptInterval(t.auroc[m])}};
  return {{"cases", t.cases}, {"all_tied", t.all_tied}, {"metrics", per}};
}

json PairsJson(const std::vector<std::pair<double, double>>& v) {
  json a = json::array();
  for (const auto& [x, y] : v) a.push_back({x, y});
  return a;
}

// RFC 4180: quoted when it holds a comma, a quote or a line break.
std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string Num(double v) { return Fmt("%.10g", v); }
std::string Num(const std::optional<double>& v) { return v ? Num(*v) : std::string(); }

}  // namespace

std::string AnalysisJson(const StudyAnalysis& a) {
  const StudyProvenance& p = a.provenance;
  json paths = json::object();
  for (const auto& [variant, set] : p.paths) paths[variant] = std::vector<std::string>(set.begin(), set.end());
  json spec = nullptr;
  if (!p.spec_json.empty()) spec = json::parse(p.spec_json, nullptr, false);
  json out = {
      {"study", p.name},
      {"provenance",
       {{"spec", spec}, {"runtime", p.runtime}, {"version", p.version}, {"cells", p.cells},
        {"missing_cells", p.missing_cells}, {"records", p.records}, {"kernel_paths", paths}}},
      {"options",
       {{"bootstrap", {{"resamples", a.options.bootstrap.resamples}, {"level", a.options.bootstrap.level},
                       {"seed", a.options.bootstrap.seed}}},
        {"regression", {{"holdout_fraction", a.options.regression.holdout_fraction},
                        {"seed", a.options.regression.seed}, {"folds", a.options.regression.cv.folds},
                        {"lambdas", a.options.regression.cv.lambdas}}},
        {"scatter_points", a.options.scatter_points}, {"plot_seed", a.options.plot_seed}}}};
  json rows = json::array();
  for (const RowAnalysis& r : a.rows) {
    json sets = json::array();
    for (const auto& s : r.sets) sets.push_back(SetJson(s));
    rows.push_back({{"task", r.task}, {"arch", r.arch}, {"strategy", r.strategy}, {"variant", r.variant},
                    {"quantized_layers", r.quantized_layers}, {"seeds", r.seeds}, {"sets", sets}});
  }
  json comparisons = json::array();
  for (const auto& c : a.comparisons)
    comparisons.push_back({{"task", c.task}, {"variant", c.variant}, {"strategy", c.strategy}, {"versus", "standard"},
                           {"seeds", c.seeds}, {"clean_rate_difference_pp", OptInterval(c.clean)},
                           {"shifted_rate_difference_pp", OptInterval(c.shifted)}});
  json rankings = json::array();
  for (const auto& r : a.rankings) {
    json order = json::array();
    for (const auto& [s, v] : r.by_shifted_rate) order.push_back({{"strategy", s}, {"shifted_rate_pct", v}});
    rankings.push_back({{"task", r.task}, {"variant", r.variant}, {"by_shifted_rate", order}});
  }
  out["rq1_rq2"] = {{"rows", rows}, {"strategy_vs_standard", comparisons}, {"strategy_rankings", rankings}};

  json cases = json::array();
  for (const Rq3Case& c : a.rq3) {
    json metrics = json::object();
    for (std::size_t m = 0; m < 4; ++m)
      metrics[UncertaintyMetricName(kUncertaintyMetrics[m])] = {{"paper", RankingJson(c.metrics[m].paper)},
                                                                {"ours", RankingJson(c.metrics[m].ours)}};
    cases.push_back({{"task", c.task}, {"strategy", c.strategy}, {"seed", c.seed}, {"variant", c.variant},
                     {"set", c.set}, {"kind", SetKindName(c.kind)}, {"inputs", c.inputs},
                     {"disagreements", c.disagreements}, {"metrics", metrics}, {"paper_note", c.paper_note},
                     {"ours_note", c.ours_note}});
  }
  json plots = json::array();
  for (const TaskPlots& t : a.plots) {
    json roc = json::object();
    for (std::size_t m = 0; m < 4; ++m) {
      json pts = json::array();
      for (const auto& pt : t.roc[m]) pts.push_back({pt.fpr, pt.tpr});
      roc[UncertaintyMetricName(kUncertaintyMetrics[m])] = {{"auroc", Opt(t.auroc[m])}, {"points", pts}};
    }
    plots.push_back({{"task", t.task}, {"source", t.source}, {"disagreements", t.disagreements},
                     {"agreements", t.agreements}, {"margin_bins", t.bins},
                     {"margin_histogram", {{"disagreements", t.margin_disagree}, {"agreements", t.margin_agree}}},
                     {"roc", roc},
                     {"top1_top2", {{"disagreements", PairsJson(t.scatter_disagree)},
                                    {"agreements", PairsJson(t.scatter_agree)}}}});
  }
  out["rq3"] = {{"protocols",
                 {{"paper", "RegressOnBalancedSample on the set's own records; numbers on its balanced holdout"},
                  {"ours", "regression fitted on the <family>:validation records of the same model and variant; "
                           "numbers on the whole set"}}},
                {"summary", {{"paper", TallyJson(a.rq3_summary.paper)}, {"ours", TallyJson(a.rq3_summary.ours)}}},
                {"cases", cases},
                {"plots", plots}};
  json findings = json::array();
  for (const Finding& f : a.findings) {
    json numbers = json::object();
    for (const auto& [k, v] : f.numbers) numbers[k] = v;
    findings.push_back({{"id", f.id}, {"claim", f.claim}, {"verdict", f.verdict}, {"evidence", f.evidence},
                        {"paper", f.paper}, {"differences", f.differences}, {"numbers", numbers}});
  }
  out["findings"] = findings;
  out["rq4"] = internal::Rq4Json(a);
  internal::AddProbesJson(a, &out);  // "guard" and "probes" (report_probes.cpp)
  return out.dump(1) + "\n";
}

std::vector<std::pair<std::string, std::string>> AnalysisCsvTables(const StudyAnalysis& a) {
  std::vector<std::pair<std::string, std::string>> t;
  std::string s = "task,strategy,variant,quantized_layers,set,kind,shift,severity,inputs,seeds";
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    const std::string n = MeasureName(static_cast<Measure>(m));
    s += "," + n + "_mean," + n + "_sd," + n + "_lo," + n + "_hi";
  }
  s += "\n";
  for (const RowAnalysis& r : a.rows)
    for (const SetAnalysis& x : r.sets) {
      s += Csv(r.task) + "," + r.strategy + "," + r.variant + "," + Int(r.quantized_layers) + "," + Csv(x.set) +
           "," + SetKindName(x.kind) + "," + x.shift + "," + Int(x.severity) + "," +
           Int(x.inputs) + "," + Int(x.measures[0].seeds.size());
      for (const SeedMeasure& m : x.measures)
        for (const std::string& v : {Num(m.stat.mean), Num(m.stat.sd), Num(m.stat.lo), Num(m.stat.hi)}) (s += ',') += v;
      s += "\n";
    }
  t.emplace_back("rq1_rq2_sets.csv", s);

  s = "task,variant,strategy,versus,seeds,clean_diff_pp_mean,clean_diff_pp_lo,clean_diff_pp_hi,"
      "shifted_diff_pp_mean,shifted_diff_pp_lo,shifted_diff_pp_hi\n";
  for (const auto& c : a.comparisons) {
    s += Csv(c.task) + "," + c.variant + "," + c.strategy + ",standard," + Int(c.seeds);
    for (const auto* m : {&c.clean, &c.shifted})
      if (!*m) s += ",,,";
      else
        for (const std::string& v : {Num((*m)->mean), Num((*m)->lo), Num((*m)->hi)}) (s += ',') += v;
    s += "\n";
  }
  t.emplace_back("rq2_strategy_vs_standard.csv", s);

  s = "task,strategy,seed,variant,set,kind,inputs,disagreements";
  for (const char* protocol : {"paper", "ours"})
    for (auto m : kUncertaintyMetrics)
      for (const char* q : {"auroc", "aupr", "tnr95"})
        s += std::string(",") + protocol + "_" + UncertaintyMetricName(m) + "_" + q;
  s += ",paper_note,ours_note\n";
  for (const Rq3Case& c : a.rq3) {
    s += Csv(c.task) + "," + c.strategy + "," + Int(c.seed) + "," + c.variant + "," + Csv(c.set) + "," +
         SetKindName(c.kind) + "," + Int(c.inputs) + "," + Int(c.disagreements);
    for (int protocol = 0; protocol < 2; ++protocol)
      for (std::size_t m = 0; m < 4; ++m) {
        const auto& r = protocol == 0 ? c.metrics[m].paper : c.metrics[m].ours;
        if (!r) s += ",,,";
        else
          for (const std::string& v : {Num(r->auroc), Num(r->aupr), Num(r->tnr_at_95tpr)}) (s += ',') += v;
      }
    s += "," + Csv(c.paper_note) + "," + Csv(c.ours_note) + "\n";
  }
  t.emplace_back("rq3_cases.csv", s);

  s = "protocol,metric,cases,all_tied,wins,auroc_mean,auroc_lo,auroc_hi\n";
  for (int protocol = 0; protocol < 2; ++protocol) {
    const MetricTally& m = protocol == 0 ? a.rq3_summary.paper : a.rq3_summary.ours;
    for (std::size_t i = 0; i < 4; ++i) {
      s += std::string(protocol == 0 ? "paper" : "ours") + "," + UncertaintyMetricName(kUncertaintyMetrics[i]) + "," +
           Int(m.cases) + "," + Int(m.all_tied) + "," + Int(m.wins[i]);
      if (!m.auroc[i]) s += ",,,";
      else
        for (const std::string& v : {Num(m.auroc[i]->mean), Num(m.auroc[i]->lo), Num(m.auroc[i]->hi)}) (s += ',') += v;
      s += "\n";
    }
  }
  t.emplace_back("rq3_metrics.csv", s);

  s = "id,verdict,claim,evidence,paper,differences\n";
  for (const Finding& f : a.findings)
    s += f.id + "," + Csv(f.verdict) + "," + Csv(f.claim) + "," + Csv(f.evidence) + "," + Csv(f.paper) + "," +
         Csv(f.differences) + "\n";
  t.emplace_back("findings.csv", s);
  t.emplace_back("rq4_retraining.csv", internal::Rq4Csv(a));
  internal::AddProbeCsvTables(a, &t);
  return t;
}

}  // namespace qualm::study

#include "report_tables.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace qualm::study::internal {
namespace {

bool Integral(const SeedMeasure& m) {
  for (double v : m.values)
    if (v != static_cast<double>(static_cast<long long>(v))) return false;
  return m.values.size() == 1;
}
std::string Count(const SeedMeasure& m) { return FmtInterval(m.stat, Integral(m) ? "%.0f" : "%.1f"); }
std::string Pct(const SeedMeasure& m) { return FmtInterval(m.stat, "%.2f"); }

const SetAnalysis* CleanOf(const RowAnalysis& r) {
  for (const auto& s : r.sets)
    if (s.kind == SetKind::kClean) return &s;
  return nullptr;
}

std::string Flips(const SetAnalysis& s) {
  return Count(s[Measure::kRightToWrong]) + " / " + Count(s[Measure::kWrongToRight]) + " / " +
         Count(s[Measure::kWrongToOther]);
}

// A difference with its reading: "fewer" / "more" when the interval excludes 0.
std::string Difference(const std::optional<MeanInterval>& d) {
  if (!d) return "—";
  std::string s = FmtInterval(*d, "%.2f");
  if (d->mean > 0 && s.rfind("0.00", 0) != 0) s.insert(0, "+");
  if (d->hi < 0) s += " fewer";
  else if (d->lo > 0) s += " more";
  return s;
}

std::string Auroc(const std::optional<RankingSummary>& r) { return r ? FmtOpt("%.3f", r->auroc) : "—"; }

std::string Join(const nlohmann::json& j) {
  if (!j.is_array()) return j.is_string() ? j.get<std::string>() : j.dump();
  std::string s;
  for (const auto& v : j) s += (s.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
  return s.empty() ? "—" : s;
}

}  // namespace

std::vector<std::string> Tasks(const StudyAnalysis& a) {
  std::vector<std::string> t;
  for (const auto& r : a.rows)
    if (std::find(t.begin(), t.end(), r.task) == t.end()) t.push_back(r.task);
  return t;
}

TextTable FindingsTable(const StudyAnalysis& a) {
  TextTable t;
  t.header = {"finding (Hu et al.)", "verdict", "our numbers", "the paper", "what differs"};
  for (const Finding& f : a.findings) t.rows.push_back({f.claim, f.verdict, f.evidence, f.paper, f.differences});
  return t;
}

TextTable ProvenanceTable(const StudyAnalysis& a) {
  const StudyProvenance& p = a.provenance;
  TextTable t;
  t.header = {"", "value"};
  t.rows.push_back({"study", p.name.empty() ? "—" : p.name});
  t.rows.push_back({"qualm version / study cache", p.version.empty() ? "—" : p.version});
  t.rows.push_back({"runtime", p.runtime.empty() ? "—" : p.runtime});
  t.rows.push_back({"records", Int(p.records) + " (cells " + Int(p.cells) + ", missing " +
                                   Int(p.missing_cells) + ")"});
  if (!p.spec_json.empty()) {
    const auto spec = nlohmann::json::parse(p.spec_json, nullptr, false);
    if (spec.is_object()) {
      if (spec.contains("tasks") && spec["tasks"].is_array()) {
        std::string tasks;
        for (const auto& task : spec["tasks"]) {
          std::string one = task.value("arch", std::string("?")) + "@" + task.value("data", std::string("?"));
          if (task.value("epochs", 0) > 0) one += " (" + Int(task.value("epochs", 0)) + " epochs";
          else one += " (recipe epochs";
          if (task.value("train_limit", 0) > 0) one += ", " + Int(task.value("train_limit", 0)) + " training samples";
          tasks += (tasks.empty() ? "" : "; ") + one + ")";
        }
        t.rows.push_back({"tasks", tasks});
      }
      for (const char* key : {"strategies", "seeds", "variants", "eval_limit", "image_shifts", "text_shifts",
                              "severities", "natural_shifts", "validation_sets", "shift_seed", "calibration_samples",
                              "finetune_epochs", "probes"})
        if (spec.contains(key)) t.rows.push_back({key, Join(spec[key])});
    }
  }
  for (const auto& [variant, paths] : p.paths) {
    std::string s;
    for (const auto& path : paths) s += (s.empty() ? "" : "; ") + path;
    t.rows.push_back({"kernel path: " + variant, s});
  }
  t.rows.push_back({"intervals", "95 % percentile bootstrap, " + Int(a.options.bootstrap.resamples) +
                                     " resamples, seed " + Int(a.options.bootstrap.seed)});
  t.rows.push_back({"RQ3 regression", "one-feature L2 logistic regression, " +
                                          Int(a.options.regression.cv.folds) + "-fold CV of the penalty, " +
                                          Fmt("%.0f", 100 * a.options.regression.holdout_fraction) +
                                          " % holdout, seed " + Int(a.options.regression.seed)});
  return t;
}

TextTable ShiftTable(const StudyAnalysis& a, const std::string& task) {
  bool natural = false, synthetic = false;
  for (const auto& r : a.rows)
    if (r.task == task) {
      natural |= r.Find(kNaturalShifts) != nullptr;
      synthetic |= r.Find(kSyntheticShifts) != nullptr;
    }
  TextTable t;
  t.header = {"variant", "float acc (%)", "quantized acc (%)", "change (pp)", "clean: disagreements",
              "clean rate (%)", "clean flips R→W / W→R / W→W"};
  if (natural) t.header.push_back("natural shifts rate (%)");
  if (synthetic) t.header.push_back("synthetic shifts rate (%)");
  t.header.push_back("all shifts rate (%)");
  for (const auto& r : a.rows) {
    if (r.task != task || r.strategy != "standard") continue;
    const SetAnalysis* c = CleanOf(r);
    std::vector<std::string> row = {r.variant};
    if (!r.Quantized()) {
      row.push_back(c ? Pct((*c)[Measure::kFloatAccuracy]) : "—");
      row.push_back("no layer quantized: the float model");
      row.resize(t.header.size(), "—");
      t.rows.push_back(row);
      continue;
    }
    if (c) {
      row.insert(row.end(), {Pct((*c)[Measure::kFloatAccuracy]), Pct((*c)[Measure::kQuantizedAccuracy]),
                             Pct((*c)[Measure::kAccuracyChange]), Count((*c)[Measure::kDisagreements]),
                             Pct((*c)[Measure::kDisagreementRate]), Flips(*c)});
    } else {
      row.resize(7, "—");
    }
    auto rate = [&](const char* agg) {
      const SetAnalysis* s = r.Find(agg);
      return s ? Pct((*s)[Measure::kDisagreementRate]) : std::string("—");
    };
    if (natural) row.push_back(rate(kNaturalShifts));
    if (synthetic) row.push_back(rate(kSyntheticShifts));
    row.push_back(rate(kAllShifts));
    t.rows.push_back(row);
  }
  t.note = "Standard training. Mean over seeds [95 % bootstrap interval]; a shifted rate is each seed's mean over "
           "its shifted sets. Flips: float right → quantized wrong, wrong → right, wrong → another wrong class.";
  return t;
}

TextTable SeverityTable(const StudyAnalysis& a, const std::string& task) {
  std::vector<int> sev;
  for (const auto& r : a.rows)
    if (r.task == task)
      for (const auto& s : r.sets)
        if (s.kind == SetKind::kAggregate && s.severity > 0 && std::find(sev.begin(), sev.end(), s.severity) == sev.end())
          sev.push_back(s.severity);
  std::sort(sev.begin(), sev.end());
  TextTable t;
  if (sev.empty()) return t;
  t.header = {"strategy", "variant", "clean"};
  for (int s : sev) t.header.push_back("severity " + Int(s));
  for (const auto& r : a.rows) {
    if (r.task != task || !r.Quantized()) continue;
    const SetAnalysis* c = CleanOf(r);
    std::vector<std::string> row = {r.strategy, r.variant, c ? Pct((*c)[Measure::kDisagreementRate]) : "—"};
    for (int s : sev) {
      const SetAnalysis* x = r.Find(SeverityAggregate(s));
      row.push_back(x ? Pct((*x)[Measure::kDisagreementRate]) : "—");
    }
    t.rows.push_back(row);
  }
  t.note = "Disagreement rate (%): per seed the mean over shift types at that severity, then over seeds.";
  return t;
}

TextTable StrategyTable(const StudyAnalysis& a, const std::string& task) {
  TextTable t;
  t.header = {"strategy", "variant", "float acc (%)", "change (pp)", "clean rate (%)", "all shifts rate (%)",
              "clean vs standard (pp)", "shifted vs standard (pp)"};
  for (const auto& r : a.rows) {
    if (r.task != task || !r.Quantized()) continue;
    const SetAnalysis* c = CleanOf(r);
    const SetAnalysis* s = r.Find(kAllShifts);
    std::vector<std::string> row = {r.strategy, r.variant, c ? Pct((*c)[Measure::kFloatAccuracy]) : "—",
                                    c ? Pct((*c)[Measure::kAccuracyChange]) : "—",
                                    c ? Pct((*c)[Measure::kDisagreementRate]) : "—",
                                    s ? Pct((*s)[Measure::kDisagreementRate]) : "—", "—", "—"};
    for (const auto& cmp : a.comparisons)
      if (cmp.task == task && cmp.variant == r.variant && cmp.strategy == r.strategy) {
        row[6] = Difference(cmp.clean);
        row[7] = Difference(cmp.shifted);
      }
    t.rows.push_back(row);
  }
  t.note = "Differences: strategy − standard in disagreement rate (percentage points), paired over seeds; "
           "\"fewer\" / \"more\" when the 95 % bootstrap interval excludes 0.";
  return t;
}

TextTable RankingTable(const StudyAnalysis& a) {
  TextTable t;
  t.header = {"task", "variant", "strategies by mean shifted disagreement rate (%), most stable first"};
  for (const auto& r : a.rankings) {
    std::string s;
    for (const auto& [strategy, rate] : r.by_shifted_rate)
      s += (s.empty() ? "" : " < ") + strategy + " " + Fmt("%.2f", rate);
    t.rows.push_back({r.task, r.variant, s});
  }
  return t;
}

TextTable MetricTable(const StudyAnalysis& a) {
  TextTable t;
  t.header = {"protocol", "metric", "cases", "highest AUROC (ties shared)", "mean AUROC [95 % CI]"};
  for (int protocol = 0; protocol < 2; ++protocol) {
    const MetricTally& m = protocol == 0 ? a.rq3_summary.ours : a.rq3_summary.paper;
    const std::string name = protocol == 0 ? "ours (fit on validation, scored on the whole set)"
                                           : "paper (balanced sample of the set, 10 % holdout)";
    for (std::size_t i = 0; i < 4; ++i)
      t.rows.push_back({name, MetricLabel(i), Int(m.cases) + " (" + Int(m.all_tied) + " all tied)",
                        Int(m.wins[i]), m.auroc[i] ? FmtInterval(*m.auroc[i], "%.3f") : "—"});
  }
  t.note = "A case is one (task, strategy, seed, variant, set) with at least 3 disagreements and 3 agreements "
           "(and, for ours, a validation split with as many). Cases where the four AUROCs are equal (always so with two "
           "classes) count as a win for each metric. Both protocols rank by the fitted probability, as the paper reports; "
           "probabilities that saturate at 1 tie, so an AUROC can sit slightly below the raw metric's.";
  return t;
}

TextTable CaseTable(const StudyAnalysis& a, bool clean_only) {
  TextTable t;
  t.header = {"task", "strategy", "seed", "variant", "set", "disagreements / inputs"};
  for (std::size_t m = 0; m < 4; ++m) t.header.push_back(std::string(MetricLabel(m)) + " AUROC ours / paper");
  t.header.push_back("AUPR ours (Margin)");
  t.header.push_back("TNR@95TPR ours (Margin)");
  for (const Rq3Case& c : a.rq3) {
    if (clean_only && c.kind != SetKind::kClean) continue;
    std::vector<std::string> row = {c.task, c.strategy, Int(c.seed), c.variant, c.set,
                                    Int(c.disagreements) + " / " + Int(c.inputs)};
    for (std::size_t m = 0; m < 4; ++m) row.push_back(Auroc(c.metrics[m].ours) + " / " + Auroc(c.metrics[m].paper));
    const auto& margin = c.metrics[0].ours;
    row.push_back(margin ? FmtOpt("%.3f", margin->aupr) : "—");
    row.push_back(margin ? FmtOpt("%.3f", margin->tnr_at_95tpr) : "—");
    t.rows.push_back(row);
  }
  t.note = "— : not computed (fewer than 3 disagreements or agreements, or no validation records; the CSV says which).";
  return t;
}

TextTable FullSetTable(const StudyAnalysis& a, const std::string& task) {
  TextTable t;
  t.header = {"strategy", "variant", "set", "inputs", "float acc (%)", "quantized acc (%)", "change (pp)",
              "disagreements", "rate (%)", "R→W / W→R / W→W"};
  for (const auto& r : a.rows) {
    if (r.task != task || !r.Quantized()) continue;
    for (const auto& s : r.sets)
      t.rows.push_back({r.strategy, r.variant, s.set, Int(s.inputs), Pct(s[Measure::kFloatAccuracy]),
                        Pct(s[Measure::kQuantizedAccuracy]), Pct(s[Measure::kAccuracyChange]),
                        Count(s[Measure::kDisagreements]), Pct(s[Measure::kDisagreementRate]), Flips(s)});
  }
  return t;
}

}  // namespace qualm::study::internal

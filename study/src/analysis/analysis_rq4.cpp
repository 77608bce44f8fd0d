// RQ4, retraining on disagreements: per (task, strategy, variant, protocol),
// the test-set disagreements before and after retraining, which of them are
// the same inputs (old), which appeared (new) and which vanished (removed), and
// the accuracies; then the paper's finding, judged from the "ours" protocol.
#include "../json_file.h"
#include "analysis_rq4.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "qualm/study/npy.h"
#include "qualm/study/svg_chart.h"

namespace qualm::study {

const char* Rq4MeasureName(Rq4Measure m) {
  switch (m) {
    case Rq4Measure::kFound: return "found";
    case Rq4Measure::kBefore: return "before";
    case Rq4Measure::kAfter: return "after";
    case Rq4Measure::kOld: return "old";
    case Rq4Measure::kNew: return "new";
    case Rq4Measure::kRemoved: return "removed";
    case Rq4Measure::kBeforeRate: return "before_rate_pct";
    case Rq4Measure::kAfterRate: return "after_rate_pct";
    case Rq4Measure::kRemovedShare: return "removed_share_pct";
    case Rq4Measure::kNewPerBefore: return "new_per_before_pct";
    case Rq4Measure::kFloatAccuracyBefore: return "float_accuracy_before_pct";
    case Rq4Measure::kFloatAccuracyAfter: return "float_accuracy_after_pct";
    case Rq4Measure::kQuantizedAccuracyBefore: return "quantized_accuracy_before_pct";
    case Rq4Measure::kQuantizedAccuracyAfter: return "quantized_accuracy_after_pct";
  }
  return "?";
}

namespace internal {
namespace {

Result<std::vector<std::int32_t>> ReadI32(const std::string& dir, const std::string& relative) {
  QUALM_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(dir + "/" + relative));
  return std::move(a.i32);
}

double Pct(std::size_t k, std::size_t n) { return n ? 100.0 * static_cast<double>(k) / static_cast<double>(n) : 0.0; }

// One entry's per-seed values; the shares are absent when nothing disagreed before.
struct SeedValues {
  std::array<std::optional<double>, kRq4MeasureCount> v;
  std::size_t inputs = 0;
};

Result<SeedValues> CountEntry(const std::string& dir, const nlohmann::json& e, const std::string& where) {
  QUALM_ASSIGN_OR_RETURN(auto labels, ReadI32(dir, e.at("labels").get<std::string>()));
  QUALM_ASSIGN_OR_RETURN(auto ft, ReadI32(dir, e.at("float_top1").get<std::string>()));
  QUALM_ASSIGN_OR_RETURN(auto qt, ReadI32(dir, e.at("quantized_top1").get<std::string>()));
  QUALM_ASSIGN_OR_RETURN(auto before_labels, ReadI32(dir, e.at("before_labels").get<std::string>()));
  QUALM_ASSIGN_OR_RETURN(auto bft, ReadI32(dir, e.at("before_float_top1").get<std::string>()));
  QUALM_ASSIGN_OR_RETURN(auto bqt, ReadI32(dir, e.at("before_quantized_top1").get<std::string>()));
  const std::size_t n = labels.size();
  if (ft.size() != n || qt.size() != n || bft.size() != n || bqt.size() != n || before_labels != labels)
    return DataLoss(where + ": the records before and after retraining are not of the same inputs");
  std::size_t before = 0, after = 0, old = 0, fresh = 0, removed = 0, fb = 0, fa = 0, qb = 0, qa = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool b = bft[i] != bqt[i], a = ft[i] != qt[i];
    before += b;
    after += a;
    old += b && a;
    fresh += a && !b;
    removed += b && !a;
    fb += bft[i] == labels[i];
    fa += ft[i] == labels[i];
    qb += bqt[i] == labels[i];
    qa += qt[i] == labels[i];
  }
  if (e.at("count").get<std::size_t>() != n || e.at("disagreements").get<std::size_t>() != after)
    return DataLoss(where + ": records.json states other counts than its .npy files give");
  SeedValues s;
  s.inputs = n;
  auto set = [&](Rq4Measure m, double x) { s.v[static_cast<std::size_t>(m)] = x; };
  set(Rq4Measure::kFound, static_cast<double>(e.value("found", std::size_t{0})));
  set(Rq4Measure::kBefore, static_cast<double>(before));
  set(Rq4Measure::kAfter, static_cast<double>(after));
  set(Rq4Measure::kOld, static_cast<double>(old));
  set(Rq4Measure::kNew, static_cast<double>(fresh));
  set(Rq4Measure::kRemoved, static_cast<double>(removed));
  set(Rq4Measure::kBeforeRate, Pct(before, n));
  set(Rq4Measure::kAfterRate, Pct(after, n));
  if (before > 0) {
    set(Rq4Measure::kRemovedShare, Pct(removed, before));
    set(Rq4Measure::kNewPerBefore, Pct(fresh, before));
  }
  set(Rq4Measure::kFloatAccuracyBefore, Pct(fb, n));
  set(Rq4Measure::kFloatAccuracyAfter, Pct(fa, n));
  set(Rq4Measure::kQuantizedAccuracyBefore, Pct(qb, n));
  set(Rq4Measure::kQuantizedAccuracyAfter, Pct(qa, n));
  return s;
}

// The rows the finding is judged on: our protocol's, or the paper's when ours is absent.
std::string JudgedProtocol(const StudyAnalysis& a) {
  for (const auto& r : a.rq4)
    if (r.protocol == "ours") return "ours";
  return "paper";
}

bool Informative(const Rq4Row& r) { return r[Rq4Measure::kBefore].stat.mean > 0; }

std::string ProtocolLabel(const std::string& p) {
  if (p == "ours") return "ours (found on validation + its shifts)";
  if (p == "paper") return "paper (found on the test set)";
  if (p == "control") return "control (nothing added)";
  return p;
}

// Means over the rows of a protocol (each row: the mean over its seeds).
struct ProtocolSummary {
  std::size_t rows = 0, informative = 0;
  double before = 0, after = 0, old = 0, fresh = 0, removed_share = 0, new_per_before = 0, qacc_change = 0;
};
ProtocolSummary Summarize(const StudyAnalysis& a, const std::string& protocol) {
  ProtocolSummary s;
  for (const auto& r : a.rq4) {
    if (r.protocol != protocol) continue;
    ++s.rows;
    s.qacc_change += r[Rq4Measure::kQuantizedAccuracyAfter].stat.mean - r[Rq4Measure::kQuantizedAccuracyBefore].stat.mean;
    if (!Informative(r)) continue;
    ++s.informative;
    s.before += r[Rq4Measure::kBefore].stat.mean;
    s.after += r[Rq4Measure::kAfter].stat.mean;
    s.old += r[Rq4Measure::kOld].stat.mean;
    s.fresh += r[Rq4Measure::kNew].stat.mean;
    s.removed_share += r[Rq4Measure::kRemovedShare].stat.mean;
    s.new_per_before += r[Rq4Measure::kNewPerBefore].stat.mean;
  }
  if (s.rows) s.qacc_change /= static_cast<double>(s.rows);
  if (s.informative) {
    const double k = static_cast<double>(s.informative);
    s.before /= k, s.after /= k, s.old /= k, s.fresh /= k, s.removed_share /= k, s.new_per_before /= k;
  }
  return s;
}

std::vector<std::string> Protocols(const StudyAnalysis& a) {
  std::vector<std::string> out;
  for (const char* p : {"ours", "paper", "control"})
    if (std::any_of(a.rq4.begin(), a.rq4.end(), [&](const Rq4Row& r) { return r.protocol == p; })) out.push_back(p);
  return out;
}

}  // namespace

Result<std::vector<Rq4Row>> AnalyzeRetraining(const std::string& dir, const AnalysisOptions& options) {
  QUALM_ASSIGN_OR_RETURN(nlohmann::json index, ReadJsonFile(dir + "/records.json"));
  std::vector<Rq4Row> rows;
  if (!index.contains("retrain")) return rows;
  const std::string where = dir + "/records.json";
  const auto& list = index["retrain"];
  if (!list.is_array()) return DataLoss(where + ": \"retrain\" is not a list");
  // (task, strategy, variant, protocol) -> seed -> values, in order of first appearance.
  std::vector<std::string> order;
  std::map<std::string, Rq4Row> meta;
  std::map<std::string, std::map<std::uint64_t, SeedValues>> values;
  try {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& e = list[i];
      Rq4Row r;
      r.task = e.at("task").get<std::string>();
      r.strategy = e.at("strategy").get<std::string>();
      r.variant = e.at("variant").get<std::string>();
      r.protocol = e.at("protocol").get<std::string>();
      const std::uint64_t seed = e.at("seed").get<std::uint64_t>();
      const std::string key = r.task + "|" + r.strategy + "|" + r.variant + "|" + r.protocol;
      QUALM_ASSIGN_OR_RETURN(SeedValues v, CountEntry(dir, e, where + " retrain entry " + Int(static_cast<long long>(i))));
      if (!meta.count(key)) {
        order.push_back(key);
        meta[key] = r;
      }
      if (!values[key].emplace(seed, v).second)
        return DataLoss(where + ": retrain entries repeat " + key + " seed " + Int(static_cast<long long>(seed)));
    }
  } catch (const nlohmann::json::exception& ex) {
    return DataLoss(where + ": " + ex.what());
  }
  for (const std::string& key : order) {
    Rq4Row r = meta[key];
    for (const auto& [seed, v] : values[key]) {
      r.seeds.push_back(seed);
      r.inputs = v.inputs;
    }
    for (std::size_t m = 0; m < kRq4MeasureCount; ++m) {
      SeedMeasure& sm = r.measures[m];
      for (const auto& [seed, v] : values[key])
        if (v.v[m]) {
          sm.seeds.push_back(seed);
          sm.values.push_back(*v.v[m]);
        }
      if (!sm.values.empty()) {
        QUALM_ASSIGN_OR_RETURN(sm.stat, BootstrapMean(sm.values, options.bootstrap));
      }
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<Finding> RetrainingFinding(const StudyAnalysis& a, VerdictRule verdict, const std::string& seeds_note) {
  Finding f;
  f.id = "retraining";
  f.claim = "Retraining on disagreements removes most old disagreements and creates a similar or larger number of new ones.";
  f.paper = "ResNet-20 TFLite-8: 456 -> 439 disagreements after retraining; 100 old kept, 380 new.";
  f.differences = "Disagreements are found on the validation split and its shifted versions, added with their true "
                  "labels to the training split, the model is fine-tuned from its weights for a few epochs with its own "
                  "recipe and re-quantized with the same scheme and calibration; Old / New are counted on the untouched "
                  "test set (the paper found and measured on the same test set; its protocol is reported too, and a "
                  "control that fine-tunes without adding anything). Small models (LeNet, GRU/LSTM) instead of ResNet-20.";
  if (a.rq4.empty()) {
    f.verdict = "not measured";
    f.evidence = "Not measured in this study folder: its spec has no \"retrain\" section (RQ4).";
    return f;
  }
  const std::string judged = JudgedProtocol(a);
  std::size_t total = 0, support = 0, against = 0, silent = 0;
  for (const auto& r : a.rq4) {
    if (r.protocol != judged) continue;
    if (!Informative(r)) {
      ++silent;
      continue;
    }
    ++total;
    const MeanInterval& removed = r[Rq4Measure::kRemovedShare].stat;
    const MeanInterval& fresh = r[Rq4Measure::kNewPerBefore].stat;
    support += removed.mean >= 50.0 && fresh.mean >= 75.0;
    against += removed.hi < 50.0 || fresh.hi < 50.0;
  }
  f.verdict = verdict(support, against, total);
  f.evidence = "Judged on the " + judged + " protocol's rows (task, strategy, variant): " + Int(support) + " of " +
               Int(total) + " support the finding, " + Int(against) + " contradict it (" + Int(silent) +
               " rows without a single test-set disagreement before retraining left out).";
  for (const std::string& p : Protocols(a)) {
    const ProtocolSummary s = Summarize(a, p);
    f.evidence += " " + ProtocolLabel(p) + ": mean over " + Int(s.informative) + " rows, before " +
                  Fmt("%.1f", s.before) + " -> after " + Fmt("%.1f", s.after) + " disagreements, old kept " +
                  Fmt("%.1f", s.old) + ", new " + Fmt("%.1f", s.fresh) + "; removed " + Fmt("%.0f", s.removed_share) +
                  " % of the old ones, new = " + Fmt("%.0f", s.new_per_before) + " % of before; quantized accuracy " +
                  Fmt("%+.2f", s.qacc_change) + " pp.";
    f.numbers.emplace_back(p + ".rows", static_cast<double>(s.informative));
    f.numbers.emplace_back(p + ".before", s.before);
    f.numbers.emplace_back(p + ".after", s.after);
    f.numbers.emplace_back(p + ".old", s.old);
    f.numbers.emplace_back(p + ".new", s.fresh);
    f.numbers.emplace_back(p + ".removed_share_pct", s.removed_share);
    f.numbers.emplace_back(p + ".new_per_before_pct", s.new_per_before);
    f.numbers.emplace_back(p + ".quantized_accuracy_change_pp", s.qacc_change);
  }
  // Why the paper's protocol flatters retraining: per row, paired over seeds,
  // the share of old disagreements removed under the paper's protocol minus ours.
  std::size_t paired = 0, paper_more = 0, paper_less = 0;
  double diff_sum = 0;
  for (const auto& o : a.rq4) {
    if (o.protocol != "ours") continue;
    for (const auto& p : a.rq4) {
      if (p.protocol != "paper" || p.task != o.task || p.strategy != o.strategy || p.variant != o.variant) continue;
      std::vector<double> xs, ys;
      const SeedMeasure& po = p[Rq4Measure::kRemovedShare];
      for (std::size_t i = 0; i < po.seeds.size(); ++i)
        if (auto v = o[Rq4Measure::kRemovedShare].Of(po.seeds[i])) {
          xs.push_back(po.values[i]);
          ys.push_back(*v);
        }
      if (xs.empty()) continue;
      QUALM_ASSIGN_OR_RETURN(MeanInterval d, PairedBootstrapDifference(xs, ys, a.options.bootstrap));
      ++paired;
      diff_sum += d.mean;
      paper_more += d.lo > 0;
      paper_less += d.hi < 0;
    }
  }
  if (paired) {
    f.evidence += " Paper's protocol against ours, paired over seeds: it removes a larger share of the old "
                  "disagreements in " + Int(static_cast<long long>(paper_more)) + " of " +
                  Int(static_cast<long long>(paired)) + " rows and a smaller one in " +
                  Int(static_cast<long long>(paper_less)) + " (interval excluding 0); mean difference " +
                  Fmt("%+.1f", diff_sum / static_cast<double>(paired)) + " pp.";
    f.numbers.emplace_back("paper_vs_ours.rows", static_cast<double>(paired));
    f.numbers.emplace_back("paper_vs_ours.removes_more", static_cast<double>(paper_more));
    f.numbers.emplace_back("paper_vs_ours.removes_less", static_cast<double>(paper_less));
    f.numbers.emplace_back("paper_vs_ours.removed_share_diff_pp", diff_sum / static_cast<double>(paired));
  }
  f.evidence += " Rule: a row supports the finding when retraining removes >= 50 % of the disagreements it had "
                "before and the new ones number >= 75 % of them (mean over seeds); it contradicts it when the interval "
                "of either share lies below 50 %. Confirmed when >= 75 % of rows support it and <= 10 % contradict it; "
                "not confirmed when <= 25 % support it." + seeds_note;
  f.numbers.insert(f.numbers.begin(), {{"rows", static_cast<double>(total)},
                                       {"support", static_cast<double>(support)},
                                       {"against", static_cast<double>(against)},
                                       {"rows_without_disagreements", static_cast<double>(silent)}});
  return f;
}

TextTable Rq4Table(const StudyAnalysis& a) {
  TextTable t;
  t.header = {"task", "strategy", "variant", "protocol", "seeds", "found", "before", "after", "old kept",
              "new", "removed", "removed (% of before)", "new (% of before)", "float acc before -> after (%)",
              "quantized acc before -> after (%)"};
  auto m = [](const Rq4Row& r, Rq4Measure x, const char* fmt) {
    const SeedMeasure& s = r[x];
    return s.values.empty() ? std::string("—") : FmtInterval(s.stat, fmt);
  };
  for (const auto& r : a.rq4)
    t.rows.push_back({r.task, r.strategy, r.variant, r.protocol, Int(static_cast<long long>(r.seeds.size())),
                      m(r, Rq4Measure::kFound, "%.1f"), m(r, Rq4Measure::kBefore, "%.1f"),
                      m(r, Rq4Measure::kAfter, "%.1f"), m(r, Rq4Measure::kOld, "%.1f"), m(r, Rq4Measure::kNew, "%.1f"),
                      m(r, Rq4Measure::kRemoved, "%.1f"), m(r, Rq4Measure::kRemovedShare, "%.0f"),
                      m(r, Rq4Measure::kNewPerBefore, "%.0f"),
                      m(r, Rq4Measure::kFloatAccuracyBefore, "%.2f") + " -> " + m(r, Rq4Measure::kFloatAccuracyAfter, "%.2f"),
                      m(r, Rq4Measure::kQuantizedAccuracyBefore, "%.2f") + " -> " +
                          m(r, Rq4Measure::kQuantizedAccuracyAfter, "%.2f")});
  t.note = "Counts of test-set inputs, mean over seeds [95 % bootstrap interval]. Before: the model and its variant; "
           "after: the retrained model and its re-quantized variant. Old kept: disagree before and after (same input); "
           "new: after only; removed: before only. Found: disagreements added to training, each retrain.repeat times (ours: validation split "
           "and its shifts; paper: the test set itself; control: none).";
  return t;
}

std::string Rq4Note(const StudyAnalysis& a) {
  (void)a;
  return "Each standard-grid model is fine-tuned from its weights with its own recipe on its training split plus the "
         "inputs where it and its variant disagree (true labels), then re-quantized with the same scheme and calibration "
         "and recounted on the clean test set. The paper's protocol finds those inputs on the test set it then measures "
         "on: the retrained model has been taught exactly the inputs counted as old, which can flatter retraining (more "
         "removed, fewer kept); the findings row compares it with ours, paired over seeds. The control adds nothing: "
         "what fine-tuning alone does to the disagreements, the baseline both are to be read against.";
}

std::string Rq4Chart(const StudyAnalysis& a) {
  // One small chart per (task, strategy, variant); its bins are the protocols,
  // so the x-axis label can name them (the bins carry no labels of their own).
  std::vector<std::string> groups;
  std::map<std::string, std::vector<const Rq4Row*>> rows;
  for (const auto& r : a.rq4) {
    const std::string g = r.task + " " + r.strategy + " " + r.variant;
    if (!rows.count(g)) groups.push_back(g);
    rows[g].push_back(&r);
  }
  std::string out;
  for (const std::string& g : groups) {
    std::vector<svg::Bars> bars = {{"old kept", {}, 0}, {"new", {}, 1}, {"removed", {}, 2}};
    double top = 0;
    std::string order;
    for (const Rq4Row* r : rows[g]) {
      const double v[3] = {(*r)[Rq4Measure::kOld].stat.mean, (*r)[Rq4Measure::kNew].stat.mean,
                           (*r)[Rq4Measure::kRemoved].stat.mean};
      for (std::size_t k = 0; k < 3; ++k) {
        bars[k].values.push_back(v[k]);
        top = std::max(top, v[k]);
      }
      if (!order.empty()) order += " | ";
      order += r->protocol;
    }
    if (top == 0) continue;  // no disagreement before or after under any protocol: the table says so
    svg::Chart c;
    c.title = g;
    c.x.label = "protocol: " + order;
    c.x.lo = 0;
    c.x.hi = static_cast<double>(rows[g].size());
    c.x.ticks = {-1};  // outside the range: no numeric ticks under the protocol bins
    c.y.label = "test inputs (mean over seeds)";
    c.y.lo = 0;
    c.y.hi = svg::NiceCeil(top);
    out += svg::BarChart(c, bars);
  }
  return out.empty() ? out : "<div class=\"charts\">" + out + "</div>\n";
}

nlohmann::json Rq4Json(const StudyAnalysis& a) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : a.rq4) {
    nlohmann::json measures = nlohmann::json::object();
    for (std::size_t m = 0; m < kRq4MeasureCount; ++m) {
      const SeedMeasure& sm = r.measures[m];
      nlohmann::json v = {{"seeds", sm.seeds}, {"values", sm.values}};
      if (!sm.values.empty()) {
        v["mean"] = sm.stat.mean;
        v["sd"] = sm.stat.sd ? nlohmann::json(*sm.stat.sd) : nlohmann::json(nullptr);
        v["lo"] = sm.stat.lo;
        v["hi"] = sm.stat.hi;
      }
      measures[Rq4MeasureName(static_cast<Rq4Measure>(m))] = v;
    }
    rows.push_back({{"task", r.task},     {"strategy", r.strategy}, {"variant", r.variant}, {"protocol", r.protocol},
                    {"inputs", r.inputs}, {"seeds", r.seeds},       {"measures", measures}});
  }
  return rows;
}

std::string Rq4Csv(const StudyAnalysis& a) {
  std::string s = "task,strategy,variant,protocol,inputs,seeds";
  for (std::size_t m = 0; m < kRq4MeasureCount; ++m) {
    const std::string n = Rq4MeasureName(static_cast<Rq4Measure>(m));
    for (const char* q : {"_mean", "_lo", "_hi"}) ((s += ',') += n) += q;
  }
  s += "\n";
  for (const auto& r : a.rq4) {
    ((s += '"') += r.task) += '"';
    for (const std::string& x : {r.strategy, r.variant, r.protocol, Int(static_cast<long long>(r.inputs)),
                                 Int(static_cast<long long>(r.seeds.size()))})
      (s += ',') += x;
    for (const SeedMeasure& sm : r.measures)
      for (double v : {sm.stat.mean, sm.stat.lo, sm.stat.hi}) {
        s += ',';
        if (!sm.values.empty()) s += Fmt("%.6g", v);
      }
    s += "\n";
  }
  return s;
}

}  // namespace internal
}  // namespace qualm::study

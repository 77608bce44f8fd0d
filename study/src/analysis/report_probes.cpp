// The report's probe and guard sections (report_probes.h).
#include "report_probes.h"

#include <algorithm>
#include <optional>

#include "qualm/study/svg_chart.h"

namespace qualm::study::internal {
namespace {
using nlohmann::json;

std::string Pct(const std::optional<MeanInterval>& m) { return m ? FmtInterval(*m, "%.1f") : "—"; }

std::string Seeds(const std::vector<std::uint64_t>& seeds) { return Int(static_cast<long long>(seeds.size())); }

std::optional<std::size_t> Row(const MatrixSummary& m, const std::string& label) {
  for (std::size_t i = 0; i < m.labels.size(); ++i)
    if (m.labels[i] == label) return i;
  return std::nullopt;
}
std::optional<double> Entry(const MatrixSummary& m, const std::string& a, const std::string& b) {
  auto i = Row(m, a), j = Row(m, b);
  if (!i || !j) return std::nullopt;
  return m.counts[*i][*j];
}
// The backend of the rows every scope has: the last float row's ("fast" in a default study).
std::string MainBackend(const MatrixSummary& m) {
  std::string b = "fast";
  for (const auto& l : m.labels)
    if (l.rfind("float/", 0) == 0) b = l.substr(6);
  return b;
}
std::string Count(const std::optional<double>& v) { return v ? Fmt(*v == static_cast<long long>(*v) ? "%.0f" : "%.1f", *v) : "—"; }

// The largest reference-vs-fast count over the row families that have both.
std::optional<double> ReferenceVsFast(const MatrixSummary& m) {
  std::optional<double> worst;
  for (const char* family : {"float/", "int8/gemmlowp/", "int8/single/", "int8/fp32/", "qat/int8/"}) {
    auto v = Entry(m, std::string(family) + "reference", std::string(family) + "fast");
    if (v && (!worst || *v > *worst)) worst = v;
  }
  return worst;
}

std::string TiesText(std::size_t ties, std::size_t of) {
  if (!of) return "0 / 0";
  std::string s = Int(static_cast<long long>(ties));
  s += " / ";
  s += Int(static_cast<long long>(of));
  s += Fmt(" (%.0f %%)", 100.0 * static_cast<double>(ties) / static_cast<double>(of));
  return s;
}

ReportSection MatrixSection(const StudyAnalysis& a) {
  ReportSection s;
  s.id = "matrix";
  s.title = "Backend disagreement matrix";
  s.intro = "How many flips come from arithmetic choices alone, not from quantization: the float model, its int8 "
            "PTQ models under the three requantization modes (gemmlowp, single, fp32; the variant cells' calibration), "
            "on the int8 reference and fast paths, and (clean test set, when the study trains qat) the QAT model's "
            "float weights, QAT forward pass and int8 conversion. Cells count the inputs where two rows' top-1 "
            "differ (argmax, ties to the lowest class): per seed summed over the scope's sets, then the mean over "
            "seeds. Standard-trained models, int8 variant (probe_cells.h).";
  if (!a.probes.present || !a.probes.matrix) {
    s.intro += " Not measured in this study folder (its spec has no \"probes\": {\"matrix\": true}).";
    return s;
  }
  ReportBlock summary;
  summary.heading = "Arithmetic alone";
  summary.table.header = {"task", "scope", "seeds", "sets", "inputs per seed", "float vs int8 (gemmlowp)",
                          "gemmlowp vs single", "gemmlowp vs fp32", "single vs fp32", "reference vs fast (largest)",
                          "QAT forward vs QAT int8", "int8 disagreements that are exact top-2 logit ties"};
  for (const MatrixSummary& m : a.probes.matrices) {
    const std::string b = "/" + MainBackend(m);
    summary.table.rows.push_back(
        {m.task, m.scope, Seeds(m.seeds), Int(static_cast<long long>(m.sets)), Int(static_cast<long long>(m.inputs)),
         Count(Entry(m, "float" + b, "int8/gemmlowp" + b)), Count(Entry(m, "int8/gemmlowp" + b, "int8/single" + b)),
         Count(Entry(m, "int8/gemmlowp" + b, "int8/fp32" + b)), Count(Entry(m, "int8/single" + b, "int8/fp32" + b)),
         Count(ReferenceVsFast(m)), Count(Entry(m, "qat/forward", "qat/int8" + b)),
         TiesText(m.int8_ties, m.int8_disagreements)});
  }
  summary.table.note = "Counts: mean over seeds of the per-seed sum over the scope's sets. Ties: summed over seeds "
                       "and sets; the int8 model's two largest logits are exactly equal and Argmax took the lower "
                       "class. The reference rows and QAT rows exist on the clean test set only (STUDY.md, Probes).";
  s.blocks.push_back(summary);
  for (const MatrixSummary& m : a.probes.matrices) {
    ReportBlock b;
    b.heading = m.task + ", " + m.scope;
    b.collapsed = m.scope != "clean test set";
    b.table.header = {"row", "accuracy %"};
    for (std::size_t j = 0; j < m.labels.size(); ++j) b.table.header.push_back("[" + Int(static_cast<long long>(j)) + "]");
    for (std::size_t i = 0; i < m.labels.size(); ++i) {
      std::vector<std::string> row = {"[" + Int(static_cast<long long>(i)) + "] " + m.labels[i],
                                      Fmt("%.2f", m.accuracy_pct[i])};
      for (std::size_t j = 0; j < m.labels.size(); ++j) row.push_back(Count(m.counts[i][j]));
      b.table.rows.push_back(row);
    }
    b.table.note = Int(static_cast<long long>(m.sets)) + " set(s) per seed, " + Int(static_cast<long long>(m.inputs)) +
                   " inputs per seed, seeds " + Seeds(m.seeds) + ".";
    for (const auto& u : m.unavailable) b.table.note += " Unavailable: " + u + ".";
    s.blocks.push_back(b);
  }
  return s;
}

ReportSection AttributionSection(const StudyAnalysis& a) {
  ReportSection s;
  s.id = "attribution";
  s.title = "Flip attribution";
  s.intro = "For each disagreement of the int8 variant (standard training), the first culprit: the earliest node k "
            "such that the int8 model up to k, dequantized, then the float graph from k + 1 on already gives the int8 "
            "prediction (counterfactual float suffix, flip_attribution.h). Recurrent models: the LSTM/GRU node is "
            "attributed as a whole (no time-step attribution). Then the mixed-precision check: the most frequent "
            "culprit layers kept in float (re-quantized at their output) on the whole set.";
  if (!a.probes.present || !a.probes.attribution) {
    s.intro += " Not measured in this study folder (its spec has no \"probes\": {\"attribution\": true}).";
    return s;
  }
  std::vector<std::string> tasks;
  for (const auto& at : a.probes.attributions)
    if (std::find(tasks.begin(), tasks.end(), at.task) == tasks.end()) tasks.push_back(at.task);
  for (const std::string& task : tasks) {
    std::vector<const AttributionSummary*> scopes;
    for (const auto& at : a.probes.attributions)
      if (at.task == task) scopes.push_back(&at);
    ReportBlock b;
    b.heading = task + ": first culprit layers";
    b.table.header = {"layer", "op"};
    for (const auto* sc : scopes) b.table.header.push_back(sc->scope + ": first culprit (ties)");
    const auto& layers = scopes.front()->layers;
    for (std::size_t k = 0; k < layers.size(); ++k) {
      bool any = false;
      for (const auto* sc : scopes) any |= sc->layers[k].first > 0;
      if (!any) continue;
      std::vector<std::string> row = {layers[k].name, layers[k].op};
      for (const auto* sc : scopes) {
        const CulpritSummary& c = sc->layers[k];
        std::string cell = Int(static_cast<long long>(c.first));
        if (sc->flips) cell += Fmt(" (%.0f %%)", 100.0 * static_cast<double>(c.first) / static_cast<double>(sc->flips));
        cell += ", ties ";
        cell += Int(static_cast<long long>(c.first_ties));
        row.push_back(cell);
      }
      b.table.rows.push_back(row);
    }
    std::vector<std::string> total = {"all flips", ""}, lowering = {"(the lowering alone)", ""};
    for (const auto* sc : scopes) {
      std::string t = Int(static_cast<long long>(sc->flips));
      t += ", ties ";
      t += Int(static_cast<long long>(sc->ties));
      t += " (";
      t += Int(static_cast<long long>(sc->sets));
      t += " sets x ";
      t += Seeds(sc->seeds);
      t += " seeds)";
      total.push_back(t);
      lowering.push_back(Int(static_cast<long long>(sc->culprit_lowering)));
    }
    b.table.rows.push_back(lowering);
    b.table.rows.push_back(total);
    std::size_t mismatches = 0;
    for (const auto* sc : scopes) mismatches += sc->sweep_mismatches;
    b.table.note = "Summed over seeds and sets. Ties: flips where the int8 model's two top logits are equal. Sweep "
                   "mismatches (the all-int8 end of a sweep not giving the int8 prediction; 0 unless broken): " +
                   Int(static_cast<long long>(mismatches)) + ".";
    s.blocks.push_back(b);
  }
  ReportBlock m;
  m.heading = "Mixed-precision suggestion: culprit layers kept in float";
  m.table.header = {"task", "scope", "kept in float", "checks (seed x set)", "its flips removed", "all flips removed",
                    "disagreements: int8 -> mixed (new)", "accuracy change (pp, mean)"};
  for (const auto& at : a.probes.attributions)
    for (const MixedSummary& x : at.mixed) {
      std::string d = Int(static_cast<long long>(x.flips));
      d += " -> ";
      d += Int(static_cast<long long>(x.disagreements_after));
      d += " (";
      d += Int(static_cast<long long>(x.new_disagreements));
      d += " new)";
      m.table.rows.push_back({at.task, at.scope, x.names, Int(static_cast<long long>(x.probes)),
                              TiesText(x.culprit_flips_removed, x.culprit_flips),
                              TiesText(x.flips_removed, x.flips), d, Fmt("%+.3f", x.accuracy_change_pp)});
    }
  m.table.note = "Each (seed, set) checks its own most frequent culprits (top_layers), so the rows pool the checks "
                 "that kept the same layers in float. \"Its flips\": the flips attributed to those layers.";
  s.blocks.push_back(m);
  return s;
}

// Recall against flagged fraction per evaluation set, one chart per task (standard training, first target).
std::string GuardChart(const StudyAnalysis& a, const std::string& task) {
  if (a.guard.empty()) return "";
  const double target = a.guard.front().target;
  std::vector<svg::Series> series;
  double xmax = 1;
  for (const GuardRow& r : a.guard) {
    if (r.task != task || r.strategy != "standard" || r.target != target) continue;
    svg::Series s;
    s.name = r.variant;
    s.color = series.size();
    s.line = false;
    for (const auto& set : r.sets) {
      if (set.aggregate || set.validation || !set.recall || !set.flagged) continue;
      s.points.emplace_back(set.flagged->mean, set.recall->mean);
      xmax = std::max(xmax, set.flagged->mean);
    }
    if (!s.points.empty()) series.push_back(s);
  }
  if (series.empty()) return "";
  svg::Chart c;
  c.title = task + ": guard at recall " + Fmt("%.2f", target) + " (standard)";
  c.x.label = "inputs flagged (%)";
  c.x.hi = svg::NiceCeil(xmax);
  c.y.label = "disagreements caught (%)";
  c.y.hi = 100;
  return svg::LineChart(c, series);
}

ReportSection GuardSection(const StudyAnalysis& a) {
  ReportSection s;
  s.id = "guard";
  s.title = "Disagreement guard";
  s.intro = "A deployment guard flags inputs whose float margin p1 - p2 is at most a threshold fitted on the "
            "validation split so that the target fraction of its disagreements fall under it (MarginThresholdForRecall, "
            "the rule of disagreement_guard.h's float-margin threshold). Measured on the test set and every shift: "
            "recall of the true disagreements and the fraction of inputs flagged (the cost). Per seed, then mean over "
            "seeds with a 95 % bootstrap interval; \"all shifts\" pools a seed's shifted sets. From the records alone.";
  if (a.guard.empty()) {
    s.intro += " No quantized variant has validation records in this folder.";
    return s;
  }
  ReportBlock t;
  t.table.header = {"task", "strategy", "variant", "target", "seeds", "threshold", "test recall %", "test flagged %",
                    "all shifts recall %", "all shifts flagged %", "note"};
  for (const GuardRow& r : a.guard) {
    const GuardSetResult* test = nullptr;
    for (const auto& x : r.sets)
      if (!x.aggregate && IsCleanTest(x.set)) test = &x;
    const GuardSetResult* all = r.Find(kAllShifts);
    t.table.rows.push_back({r.task, r.strategy, r.variant, Fmt("%.2f", r.target), Seeds(r.seeds),
                            r.threshold ? FmtInterval(*r.threshold, "%.4f") : "—", test ? Pct(test->recall) : "—",
                            test ? Pct(test->flagged) : "—", all ? Pct(all->recall) : "—", all ? Pct(all->flagged) : "—",
                            r.note});
  }
  t.table.note = "Recall is undefined on a set without disagreements (those seeds are left out of its mean). Every set: "
                 "tables/guard.csv.";
  std::vector<std::string> tasks;
  for (const auto& r : a.guard)
    if (std::find(tasks.begin(), tasks.end(), r.task) == tasks.end()) tasks.push_back(r.task);
  for (const auto& task : tasks) t.charts += GuardChart(a, task);
  if (!t.charts.empty())
    t.charts = "<p class=\"caption\">One point per evaluation set (test set and each shift), mean over seeds.</p>"
               "<div class=\"charts\">" + t.charts + "</div>\n";
  s.blocks.push_back(t);
  return s;
}

std::string Csv(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string Num(double v) { return Fmt("%.10g", v); }
json Interval(const std::optional<MeanInterval>& m) {
  if (!m) return nullptr;
  return {{"mean", m->mean}, {"lo", m->lo}, {"hi", m->hi}, {"n", m->n}};
}

}  // namespace

std::vector<ReportSection> ProbeSections(const StudyAnalysis& a) {
  return {MatrixSection(a), AttributionSection(a), GuardSection(a)};
}

void AddProbesJson(const StudyAnalysis& a, json* out) {
  json guard = json::array();
  for (const GuardRow& r : a.guard) {
    json sets = json::array();
    for (const auto& x : r.sets)
      sets.push_back({{"set", x.set}, {"aggregate", x.aggregate}, {"validation", x.validation},
                      {"inputs", x.inputs}, {"disagreements", x.disagreements}, {"recall_seeds", x.recall_seeds},
                      {"recall_pct", x.recall_pct}, {"flagged_pct", x.flagged_pct}, {"recall", Interval(x.recall)},
                      {"flagged", Interval(x.flagged)}});
    guard.push_back({{"task", r.task}, {"strategy", r.strategy}, {"variant", r.variant}, {"target", r.target},
                     {"seeds", r.seeds}, {"thresholds", r.thresholds}, {"threshold", Interval(r.threshold)},
                     {"note", r.note}, {"sets", sets}});
  }
  (*out)["guard"] = {{"margin", "float softmax p1 - p2"}, {"rows", guard}};
  json matrices = json::array(), attributions = json::array();
  for (const MatrixSummary& m : a.probes.matrices)
    matrices.push_back({{"task", m.task}, {"scope", m.scope}, {"seeds", m.seeds}, {"sets", m.sets},
                        {"inputs", m.inputs}, {"labels", m.labels}, {"accuracy_pct", m.accuracy_pct},
                        {"counts_mean_over_seeds", m.counts}, {"unavailable", m.unavailable},
                        {"int8_disagreements", m.int8_disagreements}, {"int8_ties", m.int8_ties}});
  for (const AttributionSummary& at : a.probes.attributions) {
    json layers = json::array(), mixed = json::array();
    for (const auto& l : at.layers)
      layers.push_back({{"node", l.node}, {"name", l.name}, {"op", l.op}, {"first", l.first},
                        {"first_ties", l.first_ties}, {"stable", l.stable}});
    for (const auto& x : at.mixed)
      mixed.push_back({{"names", x.names}, {"checks", x.probes}, {"culprit_flips", x.culprit_flips},
                       {"culprit_flips_removed", x.culprit_flips_removed}, {"flips", x.flips},
                       {"flips_removed", x.flips_removed}, {"disagreements_after", x.disagreements_after},
                       {"new_disagreements", x.new_disagreements}, {"accuracy_change_pp", x.accuracy_change_pp}});
    attributions.push_back({{"task", at.task}, {"scope", at.scope}, {"seeds", at.seeds}, {"sets", at.sets},
                            {"flips", at.flips}, {"ties", at.ties}, {"culprit_lowering", at.culprit_lowering},
                            {"sweep_mismatches", at.sweep_mismatches}, {"layers", layers}, {"mixed", mixed}});
  }
  json spec = a.probes.spec.empty() ? json(nullptr) : json::parse(a.probes.spec, nullptr, false);
  (*out)["probes"] = {{"measured", a.probes.present}, {"spec", spec},      {"missing_cells", a.probes.missing},
                      {"matrix", matrices},           {"attribution", attributions}};
}

void AddProbeCsvTables(const StudyAnalysis& a, std::vector<std::pair<std::string, std::string>>* t) {
  std::string s = "task,strategy,variant,target,set,aggregate,validation,inputs,disagreements,seeds,threshold_mean,"
                  "recall_pct_mean,recall_pct_lo,recall_pct_hi,flagged_pct_mean,flagged_pct_lo,flagged_pct_hi\n";
  for (const GuardRow& r : a.guard)
    for (const auto& x : r.sets) {
      s += Csv(r.task) + "," + r.strategy + "," + r.variant + "," + Num(r.target) + "," + Csv(x.set) + "," +
           (x.aggregate ? "1" : "0") + "," + (x.validation ? "1" : "0") + "," + Int(static_cast<long long>(x.inputs)) +
           "," + Int(static_cast<long long>(x.disagreements)) + "," + Int(static_cast<long long>(r.seeds.size())) + "," +
           (r.threshold ? Num(r.threshold->mean) : std::string());
      for (const auto* m : {&x.recall, &x.flagged})
        for (const std::string& v : *m ? std::vector<std::string>{Num((*m)->mean), Num((*m)->lo), Num((*m)->hi)}
                                       : std::vector<std::string>{"", "", ""})
          (s += ',') += v;
      s += "\n";
    }
  t->emplace_back("guard.csv", s);

  s = "task,scope,seeds,sets,row,column,mean_count,row_accuracy_pct\n";
  for (const MatrixSummary& m : a.probes.matrices)
    for (std::size_t i = 0; i < m.labels.size(); ++i)
      for (std::size_t j = 0; j < m.labels.size(); ++j)
        s += Csv(m.task) + "," + Csv(m.scope) + "," + Int(static_cast<long long>(m.seeds.size())) + "," +
             Int(static_cast<long long>(m.sets)) + "," + m.labels[i] + "," + m.labels[j] + "," + Num(m.counts[i][j]) +
             "," + Num(m.accuracy_pct[i]) + "\n";
  t->emplace_back("backend_matrix.csv", s);

  std::string cells = "task,seed,set,scope,inputs,int8_disagreements,int8_ties,flips\n";
  std::string layers = "task,seed,set,node,name,op,first,first_ties,stable\n";
  std::string mixed = "task,seed,set,kept_in_float,culprit_flips,culprit_flips_removed,flips,flips_removed,"
                      "disagreements_after,new_disagreements,accuracy_change_pp\n";
  for (const ProbeRecord& r : a.probes.records) {
    const std::string head = Csv(r.task) + "," + Int(static_cast<long long>(r.seed)) + "," + Csv(r.set);
    cells += head + "," + Csv(r.scope) + "," + Int(static_cast<long long>(r.inputs)) + "," +
             Int(static_cast<long long>(r.int8_disagreements)) + "," + Int(static_cast<long long>(r.int8_ties)) + "," +
             Int(static_cast<long long>(r.flips)) + "\n";
    for (const auto& l : r.layers)
      if (l.first || l.stable)
        layers += head + "," + Int(l.node) + "," + Csv(l.name) + "," + l.op + "," + Int(static_cast<long long>(l.first)) +
                  "," + Int(static_cast<long long>(l.first_ties)) + "," + Int(static_cast<long long>(l.stable)) + "\n";
    for (const auto& x : r.mixed)
      mixed += head + "," + Csv(x.names) + "," + Int(static_cast<long long>(x.culprit_flips)) + "," +
               Int(static_cast<long long>(x.culprit_flips_removed)) + "," + Int(static_cast<long long>(x.flips)) + "," +
               Int(static_cast<long long>(x.flips_removed)) + "," + Int(static_cast<long long>(x.disagreements_after)) +
               "," + Int(static_cast<long long>(x.new_disagreements)) + "," + Num(x.accuracy_change_pp) + "\n";
  }
  t->emplace_back("probe_cells.csv", cells);
  t->emplace_back("flip_attribution_layers.csv", layers);
  t->emplace_back("flip_attribution_mixed.csv", mixed);
}

}  // namespace qualm::study::internal

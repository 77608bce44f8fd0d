// The disagreement guard of every quantized variant, from the records
// (analysis_probes.h): the threshold rule of disagreement_guard.h applied to the
// float margins the records keep, fitted on validation, measured everywhere else.
#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "analysis_internal.h"
#include "qualm/study/disagreement_guard.h"
#include "qualm/study/npy.h"

namespace qualm::study::internal {
namespace {

// One record's per-input guard inputs: the float margin and the disagreement label.
struct GuardInputs {
  std::vector<double> margins;
  std::vector<std::uint8_t> disagree;
};

// Float margins per softmax file (shared by a model's variants), then the labels per record.
class GuardLoader {
 public:
  explicit GuardLoader(const std::string& dir) : dir_(dir) {}
  Result<GuardInputs> Load(const RecordMeta& r) {
    auto& m = margins_[r.float_softmax];
    if (!m) {
      QUALM_ASSIGN_OR_RETURN(NpyArray soft, ReadNpy(dir_ + "/" + r.float_softmax));
      if (soft.dtype != "<f4" || soft.shape.size() != 2) return DataLoss(r.float_softmax + ": not an n x classes float32");
      QUALM_ASSIGN_OR_RETURN(std::vector<double> v, SoftmaxMargins(soft.f32, static_cast<int>(soft.shape[1])));
      m = std::make_shared<std::vector<double>>(std::move(v));
    }
    auto& ft = top1_[r.float_top1];
    if (!ft) {
      QUALM_ASSIGN_OR_RETURN(NpyArray a, ReadNpy(dir_ + "/" + r.float_top1));
      ft = std::make_shared<std::vector<std::int32_t>>(std::move(a.i32));
    }
    QUALM_ASSIGN_OR_RETURN(NpyArray q, ReadNpy(dir_ + "/" + r.quantized_top1));
    if (q.i32.size() != ft->size() || m->size() != ft->size())
      return DataLoss(r.quantized_top1 + ": the float and quantized records differ in length");
    GuardInputs g;
    g.margins = *m;
    g.disagree.resize(q.i32.size());
    for (std::size_t i = 0; i < q.i32.size(); ++i) g.disagree[i] = (*ft)[i] != q.i32[i];
    return g;
  }
  void Clear() {
    margins_.clear();
    top1_.clear();
  }

 private:
  std::string dir_;
  std::map<std::string, std::shared_ptr<std::vector<double>>> margins_;
  std::map<std::string, std::shared_ptr<std::vector<std::int32_t>>> top1_;
};

// Per (row, target): per set, per seed, the outcome.
struct RowAcc {
  GuardRow row;
  std::vector<std::string> set_order;
  std::map<std::string, std::tuple<bool, int, bool>> set_meta;  // aggregate, severity, validation
  std::map<std::string, std::map<std::uint64_t, GuardOutcome>> outcomes;
  std::map<std::uint64_t, double> thresholds;
  std::string note;
};

void Add(RowAcc* acc, const std::string& set, bool aggregate, int severity, bool validation, std::uint64_t seed,
         const GuardOutcome& o) {
  if (!acc->set_meta.count(set)) {
    acc->set_order.push_back(set);
    acc->set_meta[set] = {aggregate, severity, validation};
  }
  GuardOutcome& g = acc->outcomes[set][seed];
  g.inputs += o.inputs;
  g.flagged += o.flagged;
  g.disagreements += o.disagreements;
  g.flagged_disagreements += o.flagged_disagreements;
}

Result<GuardRow> Finish(RowAcc& acc, const AnalysisOptions& o) {
  GuardRow row = acc.row;
  for (const auto& [seed, t] : acc.thresholds) {
    row.seeds.push_back(seed);
    row.thresholds.push_back(t);
  }
  if (!row.thresholds.empty()) {
    QUALM_ASSIGN_OR_RETURN(MeanInterval t, BootstrapMean(row.thresholds, o.bootstrap));
    row.threshold = t;
  }
  row.note = acc.note;
  // Individual sets first (report order), then the pooled ones.
  std::vector<std::string> order;
  for (const auto& s : acc.set_order)
    if (!std::get<0>(acc.set_meta[s])) order.push_back(s);
  for (const auto& s : acc.set_order)
    if (std::get<0>(acc.set_meta[s])) order.push_back(s);
  for (const std::string& name : order) {
    GuardSetResult s;
    s.set = name;
    std::tie(s.aggregate, s.severity, s.validation) = acc.set_meta[name];
    for (const auto& [seed, g] : acc.outcomes[name]) {
      s.inputs = g.inputs;
      s.disagreements += g.disagreements;
      s.flagged_pct.push_back(100.0 * static_cast<double>(g.flagged) / static_cast<double>(g.inputs));
      if (g.disagreements == 0) continue;
      s.recall_seeds.push_back(seed);
      s.recall_pct.push_back(100.0 * static_cast<double>(g.flagged_disagreements) /
                             static_cast<double>(g.disagreements));
    }
    if (!s.flagged_pct.empty()) {
      QUALM_ASSIGN_OR_RETURN(MeanInterval f, BootstrapMean(s.flagged_pct, o.bootstrap));
      s.flagged = f;
    }
    if (!s.recall_pct.empty()) {
      QUALM_ASSIGN_OR_RETURN(MeanInterval r, BootstrapMean(s.recall_pct, o.bootstrap));
      s.recall = r;
    }
    row.sets.push_back(std::move(s));
  }
  return row;
}

}  // namespace

Result<std::vector<GuardRow>> AnalyzeGuard(const std::string& dir, const std::vector<RecordMeta>& records,
                                           const AnalysisOptions& o) {
  for (double t : o.guard_recalls)
    if (!(t > 0.0 && t <= 1.0)) return InvalidArgument("guard: recall targets must lie in (0, 1]");
  // Records by float model (one model's files loaded at a time), in order of first appearance.
  std::vector<std::string> models;
  std::map<std::string, std::vector<std::size_t>> by_model;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const RecordMeta& r = records[i];
    if (r.quantized_layers == 0) continue;  // the variant is the float model: nothing to guard
    if (!by_model.count(r.float_model)) models.push_back(r.float_model);
    by_model[r.float_model].push_back(i);
  }
  std::vector<std::string> row_order;
  std::map<std::string, RowAcc> rows;
  GuardLoader loader(dir);
  for (const std::string& model : models) {
    loader.Clear();
    // The validation record of each variant of this model.
    std::map<std::string, const RecordMeta*> validation;
    for (std::size_t i : by_model[model])
      if (records[i].validation) validation[records[i].variant] = &records[i];
    for (std::size_t ti = 0; ti < o.guard_recalls.size(); ++ti) {
      const double target = o.guard_recalls[ti];
      std::map<std::string, double> threshold;  // per variant
      std::map<std::string, std::string> why;
      for (const auto& [variant, v] : validation) {
        QUALM_ASSIGN_OR_RETURN(GuardInputs g, loader.Load(*v));
        std::vector<double> dm;
        for (std::size_t k = 0; k < g.margins.size(); ++k)
          if (g.disagree[k]) dm.push_back(g.margins[k]);
        if (dm.empty()) {
          why[variant] = "no validation disagreement";
          continue;
        }
        QUALM_ASSIGN_OR_RETURN(threshold[variant], MarginThresholdForRecall(dm, target));
      }
      for (std::size_t i : by_model[model]) {
        const RecordMeta& r = records[i];
        const std::string key = r.task + "|" + r.strategy + "|" + r.variant + "|" + Int(static_cast<long long>(ti));
        auto [it, fresh] = rows.try_emplace(key);
        RowAcc& acc = it->second;
        if (fresh) {
          row_order.push_back(key);
          acc.row.task = r.task;
          acc.row.strategy = r.strategy;
          acc.row.variant = r.variant;
          acc.row.target = target;
        }
        auto t = threshold.find(r.variant);
        if (t == threshold.end()) {
          const std::string w = validation.count(r.variant) ? why[r.variant] : "no validation records";
          const std::string note = "seed " + Int(static_cast<long long>(r.seed)) + ": " + w;
          if (acc.note.find(note) == std::string::npos) acc.note += (acc.note.empty() ? "" : "; ") + note;
          continue;
        }
        acc.thresholds[r.seed] = t->second;
        QUALM_ASSIGN_OR_RETURN(GuardInputs g, loader.Load(r));
        QUALM_ASSIGN_OR_RETURN(GuardOutcome out, EvaluateGuard(g.margins, g.disagree, t->second));
        Add(&acc, r.set, false, r.severity, r.validation, r.seed, out);
        if (r.validation || r.kind == SetKind::kClean) continue;
        Add(&acc, kAllShifts, true, 0, false, r.seed, out);
        if (r.kind == SetKind::kNatural) Add(&acc, kNaturalShifts, true, 0, false, r.seed, out);
        if (r.kind == SetKind::kShifted) Add(&acc, SeverityAggregate(r.severity), true, r.severity, false, r.seed, out);
      }
    }
  }
  std::vector<GuardRow> out;
  for (const std::string& key : row_order) {
    QUALM_ASSIGN_OR_RETURN(GuardRow row, Finish(rows[key], o));
    out.push_back(std::move(row));
  }
  return out;
}

void AddGuardEvidence(StudyAnalysis* a) {
  auto f = std::find_if(a->findings.begin(), a->findings.end(), [](const Finding& x) { return x.id == "margin"; });
  if (f == a->findings.end() || a->guard.empty()) return;
  // int8 of the standard models at the first target, averaged over the tasks that have the numbers.
  const double target = a->guard.front().target;
  double sums[4] = {0, 0, 0, 0};
  std::size_t tasks = 0;
  for (const GuardRow& r : a->guard) {
    if (r.strategy != "standard" || r.variant != "int8" || r.target != target) continue;
    const GuardSetResult* test = nullptr;
    for (const auto& s : r.sets)
      if (!s.aggregate && IsCleanTest(s.set)) test = &s;
    const GuardSetResult* all = r.Find(kAllShifts);
    if (!test || !all || !test->recall || !test->flagged || !all->recall || !all->flagged) continue;
    sums[0] += test->recall->mean;
    sums[1] += test->flagged->mean;
    sums[2] += all->recall->mean;
    sums[3] += all->flagged->mean;
    ++tasks;
  }
  if (!tasks) return;
  for (double& v : sums) v /= static_cast<double>(tasks);
  f->evidence += " As a guard (a margin threshold fitted on the validation split for recall " + Fmt("%.2f", target) +
                 ", int8 of the standard models, mean over " + Int(static_cast<long long>(tasks)) +
                 " tasks): it caught " + Fmt("%.1f", sums[0]) + " % of the test-set disagreements flagging " +
                 Fmt("%.1f", sums[1]) + " % of the inputs, and " + Fmt("%.1f", sums[2]) + " % over all shifts flagging " +
                 Fmt("%.1f", sums[3]) + " % (section Disagreement guard).";
  f->numbers.emplace_back("guard_int8_test_recall_pct", sums[0]);
  f->numbers.emplace_back("guard_int8_test_flagged_pct", sums[1]);
  f->numbers.emplace_back("guard_int8_all_shifts_recall_pct", sums[2]);
  f->numbers.emplace_back("guard_int8_all_shifts_flagged_pct", sums[3]);
}

}  // namespace qualm::study::internal

namespace qualm::study {

const GuardSetResult* GuardRow::Find(const std::string& set) const {
  for (const auto& s : sets)
    if (s.set == set) return &s;
  return nullptr;
}

}  // namespace qualm::study

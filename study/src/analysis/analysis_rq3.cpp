// The per-input pass: every record's .npy files, model by model. Recounts the
// disagreements (RQ1/RQ2 aggregate these counts), then RQ3: the four
// uncertainty metrics of the float softmax ranked against the disagreements by
// the paper's protocol and ours, and the plot data of one model per task.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include "../stats/sampling.h"
#include "analysis_internal.h"
#include "qualm/engine/random.h"
#include "qualm/study/npy.h"

namespace qualm::study::internal {
namespace {

// What the float model said on one evaluation set, and what RQ3 derives from it.
struct FloatEval {
  std::vector<std::int32_t> labels, top1;
  std::size_t classes = 0;
  std::array<std::vector<double>, 4> scores;  // kUncertaintyMetrics order, higher = more likely to disagree
  std::vector<double> p1, p2;                 // the two largest probabilities per input
};

Result<std::shared_ptr<FloatEval>> LoadFloatEval(const std::string& dir, const RecordMeta& r) {
  auto f = std::make_shared<FloatEval>();
  QUALM_ASSIGN_OR_RETURN(NpyArray labels, ReadNpy(dir + "/" + r.labels));
  QUALM_ASSIGN_OR_RETURN(NpyArray top1, ReadNpy(dir + "/" + r.float_top1));
  QUALM_ASSIGN_OR_RETURN(NpyArray soft, ReadNpy(dir + "/" + r.float_softmax));
  if (labels.dtype != "<i4" || top1.dtype != "<i4" || soft.dtype != "<f4" || soft.shape.size() != 2)
    return DataLoss(r.float_softmax + ": expected int32 labels and top-1 and a float32 n x classes softmax");
  const std::size_t n = labels.i32.size();
  if (top1.i32.size() != n || soft.shape[0] != n)
    return DataLoss(r.float_softmax + ": labels, float top-1 and softmax differ in length (" + Int(n) + ", " +
                    Int(top1.i32.size()) + ", " + Int(soft.shape[0]) + ")");
  f->labels = std::move(labels.i32);
  f->top1 = std::move(top1.i32);
  f->classes = soft.shape[1];
  for (std::size_t m = 0; m < 4; ++m) {
    auto s = UncertaintyScores(soft.f32, f->classes, kUncertaintyMetrics[m]);
    if (!s.ok()) return s.status().WithContext(r.float_softmax);
    f->scores[m] = std::move(*s);
  }
  f->p1.resize(n);
  f->p2.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const TopTwo t = TopTwoOf(soft.f32.data() + i * f->classes, f->classes);
    f->p1[i] = t.p1;
    f->p2[i] = t.p2;
  }
  return f;
}

std::size_t Smaller(const std::vector<std::uint8_t>& y) {
  std::size_t pos = 0;
  for (auto v : y) pos += v;
  return std::min(pos, y.size() - pos);
}

// The pooled inputs of the representative model of one task (plots).
struct PlotPool {
  std::array<std::vector<double>, 4> scores;
  std::vector<std::uint8_t> labels;
  std::vector<double> p1, p2;
  std::vector<std::string> sets;
};

// Per task: standard (else the first strategy seen) at its lowest seed, and of
// that model the variant with the most disagreements over the test set and the
// shifts (int8 on a tie, then the first seen), so the plots have something to show.
std::map<std::string, std::tuple<std::string, std::uint64_t, std::string>> Representatives(
    const std::vector<RecordMeta>& records) {
  std::map<std::string, std::pair<std::string, std::uint64_t>> model;
  for (const auto& r : records) {
    if (r.quantized_layers == 0 || r.validation) continue;
    auto it = model.find(r.task);
    if (it == model.end()) model[r.task] = {r.strategy, r.seed};
    else if (r.strategy == "standard" && it->second.first != "standard") it->second = {r.strategy, r.seed};
    else if (r.strategy == it->second.first && r.seed < it->second.second) it->second.second = r.seed;
  }
  std::map<std::string, std::vector<std::pair<std::string, std::size_t>>> totals;  // variants, first seen first
  for (const auto& r : records) {
    if (r.quantized_layers == 0 || r.validation) continue;
    const auto& m = model[r.task];
    if (r.strategy != m.first || r.seed != m.second) continue;
    auto& list = totals[r.task];
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& v) { return v.first == r.variant; });
    if (it == list.end()) list.emplace_back(r.variant, r.stated_disagreements);
    else it->second += r.stated_disagreements;
  }
  std::map<std::string, std::tuple<std::string, std::uint64_t, std::string>> rep;
  for (const auto& [task, list] : totals) {
    const std::pair<std::string, std::size_t>* best = &list.front();
    for (const auto& v : list)
      if (v.second > best->second || (v.second == best->second && v.first == "int8" && best->first != "int8")) best = &v;
    rep[task] = {model[task].first, model[task].second, best->first};
  }
  return rep;
}

TaskPlots MakePlots(const std::string& task, const std::string& source, PlotPool& pool, const AnalysisOptions& o) {
  TaskPlots t;
  t.task = task;
  t.source = source;
  const std::size_t n = pool.labels.size();
  for (auto v : pool.labels) t.disagreements += v;
  t.agreements = n - t.disagreements;
  t.margin_disagree.assign(static_cast<std::size_t>(t.bins), 0.0);
  t.margin_agree.assign(static_cast<std::size_t>(t.bins), 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double m = pool.p1[i] - pool.p2[i];
    const auto bin = std::min<std::size_t>(static_cast<std::size_t>(t.bins - 1),
                                           static_cast<std::size_t>(std::max(0.0, m) * t.bins));
    (pool.labels[i] ? t.margin_disagree : t.margin_agree)[bin] += 1.0;
  }
  for (auto& v : t.margin_disagree) v = t.disagreements ? v / static_cast<double>(t.disagreements) : 0.0;
  for (auto& v : t.margin_agree) v = t.agreements ? v / static_cast<double>(t.agreements) : 0.0;
  for (std::size_t m = 0; m < 4; ++m) {
    auto ranked = RankedScores::Make(pool.scores[m], pool.labels);
    if (!ranked.ok()) continue;
    t.roc[m] = RocCurve(*ranked, o.roc_points);
    t.auroc[m] = Auroc(*ranked);
  }
  // A seeded subsample of each class, kept in input order.
  Rng rng(o.plot_seed);
  for (std::uint8_t cls : {std::uint8_t{1}, std::uint8_t{0}}) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < n; ++i)
      if (pool.labels[i] == cls) idx.push_back(i);
    Shuffle(idx, rng);
    if (idx.size() > o.scatter_points) idx.resize(o.scatter_points);
    std::sort(idx.begin(), idx.end());
    auto& out = cls ? t.scatter_disagree : t.scatter_agree;
    for (std::size_t i : idx) out.emplace_back(pool.p1[i], pool.p2[i]);
  }
  return t;
}

}  // namespace

Status CountAndRankRecords(const std::string& dir, const AnalysisOptions& o, std::vector<RecordMeta>* records,
                           std::vector<Rq3Case>* cases, std::vector<TaskPlots>* plots) {
  // Records grouped by their float model, in order of first appearance.
  std::vector<std::string> models;
  std::map<std::string, std::vector<std::size_t>> by_model;
  for (std::size_t i = 0; i < records->size(); ++i) {
    const std::string& m = (*records)[i].float_model;
    if (!by_model.count(m)) models.push_back(m);
    by_model[m].push_back(i);
  }
  const auto reps = Representatives(*records);
  std::map<std::string, PlotPool> pools;

  for (const std::string& model : models) {
    std::map<std::string, std::shared_ptr<FloatEval>> evals;  // by softmax path, this model only
    std::map<std::size_t, std::vector<std::uint8_t>> disagree;  // record -> per-input label
    for (std::size_t i : by_model[model]) {
      RecordMeta& r = (*records)[i];
      auto& fe = evals[r.float_softmax];
      if (!fe) {
        QUALM_ASSIGN_OR_RETURN(fe, LoadFloatEval(dir, r));
      }
      QUALM_ASSIGN_OR_RETURN(NpyArray q, ReadNpy(dir + "/" + r.quantized_top1));
      if (q.dtype != "<i4" || q.i32.size() != fe->labels.size())
        return DataLoss(r.quantized_top1 + ": not an int32 vector of the float records' length (" +
                        Int(fe->labels.size()) + ")");
      auto& y = disagree[i];
      y.resize(q.i32.size());
      for (std::size_t k = 0; k < q.i32.size(); ++k) {
        const bool fr = fe->top1[k] == fe->labels[k], qr = q.i32[k] == fe->labels[k];
        r.float_correct += fr;
        r.quantized_correct += qr;
        y[k] = fe->top1[k] != q.i32[k];
        if (!y[k]) continue;
        ++r.disagreements;
        if (fr) ++r.right_to_wrong;
        else if (qr) ++r.wrong_to_right;
        else ++r.wrong_to_other;
      }
      r.count = q.i32.size();
      if (r.count != r.stated_count || r.disagreements != r.stated_disagreements)
        return DataLoss(dir + "/records.json: " + r.task + " " + r.strategy + " seed " + Int(r.seed) + " " +
                        r.variant + " on " + r.set + " states " + Int(r.stated_disagreements) + " of " +
                        Int(r.stated_count) + " but its .npy files give " +
                        Int(r.disagreements) + " of " + Int(r.count));
    }

    // Ours: one regression per (variant, metric), fitted on the validation records.
    std::map<std::string, std::array<std::optional<LogisticModel>, 4>> fits;
    std::map<std::string, std::string> fit_note;
    for (std::size_t i : by_model[model]) {
      const RecordMeta& r = (*records)[i];
      if (!r.validation || r.quantized_layers == 0) continue;
      const auto& y = disagree[i];
      if (Smaller(y) < 3) {
        fit_note[r.variant] = "validation has " + Int(r.disagreements) + " disagreements (3 of each class needed)";
        continue;
      }
      const FloatEval& fe = *evals[r.float_softmax];
      for (std::size_t m = 0; m < 4; ++m) {
        QUALM_ASSIGN_OR_RETURN(DisagreementRegression reg, RegressOnBalancedSample(fe.scores[m], y, o.regression));
        fits[r.variant][m] = reg.model;
      }
    }

    for (std::size_t i : by_model[model]) {
      const RecordMeta& r = (*records)[i];
      if (r.validation || r.quantized_layers == 0) continue;
      const FloatEval& fe = *evals[r.float_softmax];
      const auto& y = disagree[i];
      auto rep = reps.find(r.task);
      if (rep != reps.end() && std::get<0>(rep->second) == r.strategy && std::get<1>(rep->second) == r.seed &&
          std::get<2>(rep->second) == r.variant) {
        PlotPool& pool = pools[r.task];
        for (std::size_t m = 0; m < 4; ++m)
          pool.scores[m].insert(pool.scores[m].end(), fe.scores[m].begin(), fe.scores[m].end());
        pool.labels.insert(pool.labels.end(), y.begin(), y.end());
        pool.p1.insert(pool.p1.end(), fe.p1.begin(), fe.p1.end());
        pool.p2.insert(pool.p2.end(), fe.p2.begin(), fe.p2.end());
        pool.sets.push_back(r.set);
      }
      if (r.disagreements == 0) continue;
      Rq3Case c;
      c.task = r.task;
      c.strategy = r.strategy;
      c.variant = r.variant;
      c.set = r.set;
      c.seed = r.seed;
      c.kind = r.kind;
      c.inputs = r.count;
      c.disagreements = r.disagreements;
      const bool paper = Smaller(y) >= 3;
      if (!paper) c.paper_note = "fewer than 3 disagreements";
      auto fit = fits.find(r.variant);
      if (fit == fits.end()) {
        auto note = fit_note.find(r.variant);
        c.ours_note = note != fit_note.end() ? note->second : "no validation records";
      }
      for (std::size_t m = 0; m < 4; ++m) {
        if (paper) {
          QUALM_ASSIGN_OR_RETURN(DisagreementRegression reg, RegressOnBalancedSample(fe.scores[m], y, o.regression));
          c.metrics[m].paper = reg.holdout;
        }
        if (fit != fits.end() && fit->second[m]) {
          // Exactly RegressAndEvaluate's population summary: the fit depends only on the validation records.
          std::vector<double> prob(y.size());
          for (std::size_t k = 0; k < y.size(); ++k) prob[k] = fit->second[m]->Probability(fe.scores[m][k]);
          QUALM_ASSIGN_OR_RETURN(RankingSummary s, SummarizeRanking(prob, y));
          c.metrics[m].ours = s;
        }
      }
      cases->push_back(std::move(c));
    }
  }

  for (const auto& [task, rep] : reps) {
    auto it = pools.find(task);
    if (it == pools.end() || it->second.labels.empty()) continue;
    const auto& [strategy, seed, variant] = rep;
    std::string source = task + ", " + strategy + ", seed " + Int(seed) + ", " + variant + ": " +
                         Int(it->second.sets.size()) + " sets pooled (test set and every shift)";
    plots->push_back(MakePlots(task, source, it->second, o));
  }
  // Plots in the order tasks first appear in the records.
  std::vector<std::string> task_order;
  for (const auto& r : *records)
    if (std::find(task_order.begin(), task_order.end(), r.task) == task_order.end()) task_order.push_back(r.task);
  std::stable_sort(plots->begin(), plots->end(), [&](const TaskPlots& a, const TaskPlots& b) {
    return std::find(task_order.begin(), task_order.end(), a.task) < std::find(task_order.begin(), task_order.end(), b.task);
  });
  return Status::Ok();
}

}  // namespace qualm::study::internal

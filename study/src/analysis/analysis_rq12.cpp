// RQ1 and RQ2 from the counted records: per (task, strategy, variant) and set,
// each quantity per seed, then mean, sd and bootstrap interval across seeds;
// strategies against standard (paired over seeds); the RQ3 metric tally.
#include <algorithm>
#include <map>

#include "analysis_internal.h"

namespace qualm::study::internal {
namespace {

using Values = std::array<double, kMeasureCount>;

Values RecordValues(const RecordMeta& r) {
  const double n = static_cast<double>(r.count);
  Values v{};
  if (r.count == 0) return v;
  v[static_cast<std::size_t>(Measure::kFloatAccuracy)] = 100.0 * static_cast<double>(r.float_correct) / n;
  v[static_cast<std::size_t>(Measure::kQuantizedAccuracy)] = 100.0 * static_cast<double>(r.quantized_correct) / n;
  v[static_cast<std::size_t>(Measure::kAccuracyChange)] =
      100.0 * (static_cast<double>(r.quantized_correct) - static_cast<double>(r.float_correct)) / n;
  v[static_cast<std::size_t>(Measure::kDisagreements)] = static_cast<double>(r.disagreements);
  v[static_cast<std::size_t>(Measure::kDisagreementRate)] = 100.0 * static_cast<double>(r.disagreements) / n;
  v[static_cast<std::size_t>(Measure::kRightToWrong)] = static_cast<double>(r.right_to_wrong);
  v[static_cast<std::size_t>(Measure::kWrongToRight)] = static_cast<double>(r.wrong_to_right);
  v[static_cast<std::size_t>(Measure::kWrongToOther)] = static_cast<double>(r.wrong_to_other);
  return v;
}

// Per set, per seed: the values and the input count.
struct SetSeeds {
  SetAnalysis meta;
  std::map<std::uint64_t, Values> by_seed;
  std::map<std::uint64_t, std::size_t> inputs;
};

Status Finish(SetSeeds& s, const BootstrapOptions& b, SetAnalysis* out) {
  *out = s.meta;
  out->inputs = s.inputs.empty() ? 0 : s.inputs.begin()->second;
  for (std::size_t m = 0; m < kMeasureCount; ++m) {
    SeedMeasure& sm = out->measures[m];
    for (const auto& [seed, v] : s.by_seed) {
      sm.seeds.push_back(seed);
      sm.values.push_back(v[m]);
    }
    QUALM_ASSIGN_OR_RETURN(sm.stat, BootstrapMean(sm.values, b));
  }
  return Status::Ok();
}

bool Within(double a, double b) { return a - b <= 1e-12 && b - a <= 1e-12; }

}  // namespace
}  // namespace qualm::study::internal

namespace qualm::study {

const char* MeasureName(Measure m) {
  switch (m) {
    case Measure::kFloatAccuracy: return "float_accuracy_pct";
    case Measure::kQuantizedAccuracy: return "quantized_accuracy_pct";
    case Measure::kAccuracyChange: return "accuracy_change_pp";
    case Measure::kDisagreements: return "disagreements";
    case Measure::kDisagreementRate: return "disagreement_rate_pct";
    case Measure::kRightToWrong: return "right_to_wrong";
    case Measure::kWrongToRight: return "wrong_to_right";
    case Measure::kWrongToOther: return "wrong_to_other";
  }
  return "?";
}

const char* SetKindName(SetKind k) {
  switch (k) {
    case SetKind::kClean: return "clean";
    case SetKind::kNatural: return "natural";
    case SetKind::kShifted: return "shifted";
    case SetKind::kAggregate: return "aggregate";
  }
  return "?";
}

std::optional<double> SeedMeasure::Of(std::uint64_t seed) const {
  for (std::size_t i = 0; i < seeds.size(); ++i)
    if (seeds[i] == seed) return values[i];
  return std::nullopt;
}

const SetAnalysis* RowAnalysis::Find(const std::string& name) const {
  for (const auto& s : sets)
    if (s.set == name) return &s;
  return nullptr;
}

}  // namespace qualm::study

namespace qualm::study::internal {

Result<std::vector<RowAnalysis>> BuildRows(const std::vector<RecordMeta>& records, const AnalysisOptions& o) {
  struct RowBuild {
    RowAnalysis row;
    std::vector<std::string> set_order;
    std::map<std::string, SetSeeds> sets;
  };
  std::vector<std::string> order;
  std::map<std::string, RowBuild> rows;
  for (const RecordMeta& r : records) {
    if (r.validation) continue;
    const std::string key = r.task + "\n" + r.strategy + "\n" + r.variant;
    auto [it, fresh] = rows.try_emplace(key);
    RowBuild& b = it->second;
    if (fresh) {
      order.push_back(key);
      b.row.task = r.task;
      b.row.arch = r.arch;
      b.row.strategy = r.strategy;
      b.row.variant = r.variant;
      b.row.quantized_layers = r.quantized_layers;
    }
    auto [sit, new_set] = b.sets.try_emplace(r.set);
    if (new_set) {
      b.set_order.push_back(r.set);
      sit->second.meta.set = r.set;
      sit->second.meta.kind = r.kind;
      sit->second.meta.shift = r.shift;
      sit->second.meta.severity = r.severity;
    }
    if (sit->second.by_seed.count(r.seed))
      return DataLoss("records.json: two records for " + r.task + " " + r.strategy + " seed " + Int(r.seed) +
                      " " + r.variant + " on " + r.set);
    sit->second.by_seed[r.seed] = RecordValues(r);
    sit->second.inputs[r.seed] = r.count;
  }

  std::vector<RowAnalysis> out;
  for (const std::string& key : order) {
    RowBuild& b = rows[key];
    // Aggregates, per seed first: the mean over that seed's sets of each group.
    std::map<std::string, SetSeeds> agg;
    std::vector<std::string> agg_order;
    std::map<std::string, std::map<std::uint64_t, int>> members;
    auto add = [&](const std::string& name, int severity, const SetSeeds& s) {
      auto [ait, fresh] = agg.try_emplace(name);
      if (fresh) {
        agg_order.push_back(name);
        ait->second.meta.set = name;
        ait->second.meta.kind = SetKind::kAggregate;
        ait->second.meta.severity = severity;
      }
      for (const auto& [seed, v] : s.by_seed) {
        Values& acc = ait->second.by_seed[seed];
        for (std::size_t m = 0; m < kMeasureCount; ++m) acc[m] += v[m];
        ++members[name][seed];
        ait->second.inputs[seed] += s.inputs.at(seed);
      }
    };
    for (const std::string& name : b.set_order) {
      const SetSeeds& s = b.sets[name];
      if (s.meta.kind == SetKind::kClean) continue;
      add(kAllShifts, 0, s);
      if (s.meta.kind == SetKind::kShifted) add(kSyntheticShifts, 0, s);
      if (s.meta.kind == SetKind::kNatural) add(kNaturalShifts, 0, s);
    }
    std::vector<int> severities;
    for (const std::string& name : b.set_order)
      if (b.sets[name].meta.kind == SetKind::kShifted) severities.push_back(b.sets[name].meta.severity);
    std::sort(severities.begin(), severities.end());
    severities.erase(std::unique(severities.begin(), severities.end()), severities.end());
    for (int sev : severities)
      for (const std::string& name : b.set_order)
        if (b.sets[name].meta.kind == SetKind::kShifted && b.sets[name].meta.severity == sev)
          add(SeverityAggregate(sev), sev, b.sets[name]);
    for (auto& [name, s] : agg)
      for (auto& [seed, v] : s.by_seed)
        for (double& x : v) x /= static_cast<double>(members[name][seed]);

    RowAnalysis row = b.row;
    std::set<std::uint64_t> seeds;
    for (const std::string& name : b.set_order) {
      for (const auto& [seed, v] : b.sets[name].by_seed) seeds.insert(seed);
      SetAnalysis sa;
      QUALM_RETURN_IF_ERROR(Finish(b.sets[name], o.bootstrap, &sa));
      row.sets.push_back(std::move(sa));
    }
    for (const std::string& name : agg_order) {
      SetAnalysis sa;
      QUALM_RETURN_IF_ERROR(Finish(agg[name], o.bootstrap, &sa));
      row.sets.push_back(std::move(sa));
    }
    row.seeds.assign(seeds.begin(), seeds.end());
    out.push_back(std::move(row));
  }
  return out;
}

Status CompareStrategies(const std::vector<RowAnalysis>& rows, const AnalysisOptions& o,
                         std::vector<StrategyComparison>* comparisons, std::vector<StrategyRanking>* rankings) {
  // Paired by seed: the values of the seeds both rows have, in seed order.
  auto paired = [&](const SetAnalysis* a, const SetAnalysis* b, std::size_t* n) -> Result<std::optional<MeanInterval>> {
    if (!a || !b) return std::optional<MeanInterval>();
    const SeedMeasure& x = (*a)[Measure::kDisagreementRate];
    const SeedMeasure& y = (*b)[Measure::kDisagreementRate];
    std::vector<double> xs, ys;
    for (std::size_t i = 0; i < x.seeds.size(); ++i)
      if (auto v = y.Of(x.seeds[i])) {
        xs.push_back(x.values[i]);
        ys.push_back(*v);
      }
    *n = std::max(*n, xs.size());
    if (xs.empty()) return std::optional<MeanInterval>();
    QUALM_ASSIGN_OR_RETURN(MeanInterval d, PairedBootstrapDifference(xs, ys, o.bootstrap));
    return std::optional<MeanInterval>(d);
  };
  auto clean_of = [](const RowAnalysis& r) -> const SetAnalysis* {
    for (const auto& s : r.sets)
      if (s.kind == SetKind::kClean) return &s;
    return nullptr;
  };
  for (const RowAnalysis& base : rows) {
    if (base.strategy != "standard" || !base.Quantized()) continue;
    StrategyRanking rank;
    rank.task = base.task;
    rank.variant = base.variant;
    for (const RowAnalysis& r : rows) {
      if (r.task != base.task || r.variant != base.variant || !r.Quantized()) continue;
      if (const SetAnalysis* s = r.Find(kAllShifts))
        rank.by_shifted_rate.emplace_back(r.strategy, (*s)[Measure::kDisagreementRate].stat.mean);
      if (&r == &base) continue;
      StrategyComparison c;
      c.task = r.task;
      c.variant = r.variant;
      c.strategy = r.strategy;
      QUALM_ASSIGN_OR_RETURN(c.clean, paired(clean_of(r), clean_of(base), &c.seeds));
      QUALM_ASSIGN_OR_RETURN(c.shifted, paired(r.Find(kAllShifts), base.Find(kAllShifts), &c.seeds));
      comparisons->push_back(std::move(c));
    }
    std::stable_sort(rank.by_shifted_rate.begin(), rank.by_shifted_rate.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
    if (rank.by_shifted_rate.size() > 1) rankings->push_back(std::move(rank));
  }
  return Status::Ok();
}

Result<Rq3Summary> SummarizeRq3(const std::vector<Rq3Case>& cases, const AnalysisOptions& o) {
  Rq3Summary s;
  for (int protocol = 0; protocol < 2; ++protocol) {
    MetricTally& t = protocol == 0 ? s.paper : s.ours;
    std::array<std::vector<double>, 4> aurocs;
    for (const Rq3Case& c : cases) {
      std::array<double, 4> a{};
      bool all = true;
      for (std::size_t m = 0; m < 4; ++m) {
        const auto& summary = protocol == 0 ? c.metrics[m].paper : c.metrics[m].ours;
        if (!summary || !summary->auroc) {
          all = false;
          break;
        }
        a[m] = *summary->auroc;
      }
      if (!all) continue;
      ++t.cases;
      const double best = *std::max_element(a.begin(), a.end());
      bool tied = true;
      for (std::size_t m = 0; m < 4; ++m) {
        if (Within(a[m], best)) ++t.wins[m];
        tied = tied && Within(a[m], a[0]);
        aurocs[m].push_back(a[m]);
      }
      t.all_tied += tied;
    }
    for (std::size_t m = 0; m < 4; ++m) {
      if (aurocs[m].empty()) continue;
      QUALM_ASSIGN_OR_RETURN(MeanInterval mi, BootstrapMean(aurocs[m], o.bootstrap));
      t.auroc[m] = mi;
    }
  }
  return s;
}

}  // namespace qualm::study::internal

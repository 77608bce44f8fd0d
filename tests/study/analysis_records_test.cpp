// The analyses on a synthetic study folder (analysis_synthetic.h): every
// count, rate, interval, paired difference and AUROC checked against an
// independent recomputation from the planted records; the findings' verdicts
// follow from how the records were planted; a corrupt index is an error.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "analysis_synthetic.h"
#include "qualm/study/analysis.h"

namespace qualm::study {
namespace {
namespace fs = std::filesystem;
using testing::MakeSynthRecords;
using testing::SynthRecord;

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("qualm-analysis-" + tag + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

const RowAnalysis& Row(const StudyAnalysis& a, const std::string& strategy, const std::string& variant) {
  for (const auto& r : a.rows)
    if (r.strategy == strategy && r.variant == variant) return r;
  FAIL("no row " << strategy << " " << variant);
  return a.rows.front();
}

const SynthRecord& Rec(const std::vector<SynthRecord>& rs, const std::string& strategy, std::uint64_t seed,
                       const std::string& variant, const std::string& set) {
  for (const auto& r : rs)
    if (r.strategy == strategy && r.seed == seed && r.variant == variant && r.set == set) return r;
  FAIL("no record");
  return rs.front();
}

double RatePct(const SynthRecord& r) { return 100.0 * static_cast<double>(r.disagreements) / testing::kInputs; }

// The raw margin score (1 - (p1 - p2)) and the labels of one record.
void MarginScores(const SynthRecord& r, std::vector<double>* s, std::vector<std::uint8_t>* y) {
  s->clear();
  y->clear();
  for (std::size_t i = 0; i < testing::kInputs; ++i) {
    std::vector<double> row(r.softmax.begin() + static_cast<std::ptrdiff_t>(i * testing::kClasses),
                            r.softmax.begin() + static_cast<std::ptrdiff_t>((i + 1) * testing::kClasses));
    std::sort(row.rbegin(), row.rend());
    s->push_back(1.0 - (row[0] - row[1]));
    y->push_back(r.float_top1[i] != r.quantized_top1[i]);
  }
}

// AUROC by counting every (positive, negative) pair: O(P N), ties 1/2.
double BruteAuroc(const std::vector<double>& s, const std::vector<std::uint8_t>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (!y[i] || y[j]) continue;
      pairs += 1;
      wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  return wins / pairs;
}

}  // namespace

TEST_CASE("analysis: counts, rates, seed intervals and aggregates match an independent recount") {
  const auto records = MakeSynthRecords();
  TempDir dir("counts");
  testing::WriteSynthFolder(dir.path, records);
  auto a = AnalyzeStudy(dir.path.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  // Rows: 2 strategies x 3 variants; sets: 5 reported (validation left out) + aggregates.
  CHECK(a->rows.size() == 6);
  const RowAnalysis& std_int8 = Row(*a, "standard", "int8");
  CHECK(std_int8.seeds == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(std_int8.Find("fashion-mnist:validation") == nullptr);
  REQUIRE(std_int8.Find("fashion-mnist:test") != nullptr);
  const SetAnalysis& clean = *std_int8.Find("fashion-mnist:test");
  CHECK(clean.kind == SetKind::kClean);
  CHECK(clean.inputs == testing::kInputs);

  std::vector<double> rates, counts, shifted, sev3;
  for (std::uint64_t seed : {1, 2, 3}) {
    const SynthRecord& r = Rec(records, "standard", seed, "int8", "fashion-mnist:test");
    REQUIRE(r.disagreements > 5);  // the planted rule gives a real signal
    CHECK(*clean[Measure::kDisagreements].Of(seed) == static_cast<double>(r.disagreements));
    CHECK(*clean[Measure::kRightToWrong].Of(seed) == static_cast<double>(r.right_to_wrong));
    CHECK(*clean[Measure::kWrongToRight].Of(seed) == static_cast<double>(r.wrong_to_right));
    CHECK(*clean[Measure::kWrongToOther].Of(seed) == static_cast<double>(r.wrong_to_other));
    CHECK(r.right_to_wrong + r.wrong_to_right + r.wrong_to_other == r.disagreements);
    CHECK(*clean[Measure::kFloatAccuracy].Of(seed) == doctest::Approx(100.0 * r.float_correct / testing::kInputs));
    CHECK(*clean[Measure::kAccuracyChange].Of(seed) ==
          doctest::Approx(100.0 * (double(r.quantized_correct) - double(r.float_correct)) / testing::kInputs));
    rates.push_back(RatePct(r));
    counts.push_back(static_cast<double>(r.disagreements));
    double sum = 0, sum3 = 0;
    for (const char* s : {"fashion-mnist:test~fog@1", "fashion-mnist:test~fog@3", "fashion-mnist:test~rotate@1",
                          "fashion-mnist:test~rotate@3"})
      sum += RatePct(Rec(records, "standard", seed, "int8", s));
    for (const char* s : {"fashion-mnist:test~fog@3", "fashion-mnist:test~rotate@3"})
      sum3 += RatePct(Rec(records, "standard", seed, "int8", s));
    shifted.push_back(sum / 4);
    sev3.push_back(sum3 / 2);
  }
  const SeedMeasure& rate = clean[Measure::kDisagreementRate];
  CHECK(rate.values == rates);
  const double mean = (rates[0] + rates[1] + rates[2]) / 3;
  CHECK(rate.stat.mean == doctest::Approx(mean).epsilon(1e-14));
  double ss = 0;
  for (double r : rates) ss += (r - mean) * (r - mean);
  REQUIRE(rate.stat.sd.has_value());
  CHECK(*rate.stat.sd == doctest::Approx(std::sqrt(ss / 2)).epsilon(1e-12));
  auto boot = BootstrapMean(rates, BootstrapOptions{});
  REQUIRE(boot.ok());
  CHECK(rate.stat.lo == boot->lo);
  CHECK(rate.stat.hi == boot->hi);
  CHECK(rate.stat.lo <= mean);
  CHECK(mean <= rate.stat.hi);
  CHECK(rate.stat.lo >= *std::min_element(rates.begin(), rates.end()));
  CHECK(rate.stat.hi <= *std::max_element(rates.begin(), rates.end()));
  CHECK(clean[Measure::kDisagreements].values == counts);

  const SetAnalysis* all = std_int8.Find("all shifts");
  REQUIRE(all != nullptr);
  CHECK(all->kind == SetKind::kAggregate);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(all->measures[static_cast<std::size_t>(Measure::kDisagreementRate)].values[i] ==
          doctest::Approx(shifted[i]).epsilon(1e-13));
    CHECK(shifted[i] > rates[i]);  // planted: shifts give more disagreements
  }
  const SetAnalysis* s3 = std_int8.Find("severity 3");
  REQUIRE(s3 != nullptr);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK((*s3)[Measure::kDisagreementRate].values[i] == doctest::Approx(sev3[i]).epsilon(1e-13));
  CHECK(std_int8.Find("synthetic shifts") != nullptr);
  CHECK(std_int8.Find("natural shifts") == nullptr);  // no natural shift in this folder

  // The variant that quantized nothing: zero disagreements, marked.
  const RowAnalysis& wo = Row(*a, "standard", "weight-only-int8");
  CHECK_FALSE(wo.Quantized());
  CHECK(wo.Find("fashion-mnist:test")->measures[static_cast<std::size_t>(Measure::kDisagreements)].stat.mean == 0);

  // RQ2: qat against standard, paired over seeds.
  const StrategyComparison* cmp = nullptr;
  for (const auto& c : a->comparisons)
    if (c.variant == "int8" && c.strategy == "qat") cmp = &c;
  REQUIRE(cmp != nullptr);
  CHECK(cmp->seeds == 3);
  const RowAnalysis& qat_int8 = Row(*a, "qat", "int8");
  const auto& q = (*qat_int8.Find("all shifts"))[Measure::kDisagreementRate].values;
  auto diff = PairedBootstrapDifference(q, shifted, BootstrapOptions{});
  REQUIRE(diff.ok());
  REQUIRE(cmp->shifted.has_value());
  CHECK(cmp->shifted->mean == doctest::Approx(diff->mean).epsilon(1e-13));
  CHECK(cmp->shifted->lo == diff->lo);
  CHECK(cmp->shifted->hi == diff->hi);
  CHECK(cmp->shifted->hi < 0);  // planted: qat halves the flip threshold
  bool ranked = false;
  for (const auto& r : a->rankings)
    if (r.variant == "int8") {
      ranked = true;
      CHECK(r.by_shifted_rate.front().first == "qat");
    }
  CHECK(ranked);
}

TEST_CASE("analysis: RQ3 under both protocols matches the stats library and a brute-force AUROC") {
  const auto records = MakeSynthRecords();
  TempDir dir("rq3");
  testing::WriteSynthFolder(dir.path, records);
  auto a = AnalyzeStudy(dir.path.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());

  // One case per (non-validation) record with disagreements of a variant that quantized something.
  std::size_t expected = 0;
  for (const auto& r : records) expected += r.quantized_layers != 0 && r.disagreements > 0 && r.set.find("validation") == std::string::npos;
  CHECK(a->rq3.size() == expected);

  for (const char* set : {"fashion-mnist:test", "fashion-mnist:test~fog@3"}) {
    const Rq3Case* c = nullptr;
    for (const auto& x : a->rq3)
      if (x.strategy == "standard" && x.seed == 2 && x.variant == "int8" && x.set == set) c = &x;
    REQUIRE(c != nullptr);
    const SynthRecord& test = Rec(records, "standard", 2, "int8", set);
    const SynthRecord& val = Rec(records, "standard", 2, "int8", "fashion-mnist:validation");
    CHECK(c->disagreements == test.disagreements);
    std::vector<double> ts, vs;
    std::vector<std::uint8_t> ty, vy;
    MarginScores(test, &ts, &ty);
    MarginScores(val, &vs, &vy);
    // Ours: fitted on validation, scored on the whole set.
    auto ours = RegressAndEvaluate(vs, vy, ts, ty, DisagreementRegressionOptions{});
    REQUIRE(ours.ok());
    REQUIRE(c->metrics[0].ours.has_value());
    CHECK(*c->metrics[0].ours->auroc == *ours->population->auroc);
    CHECK(*c->metrics[0].ours->aupr == *ours->population->aupr);
    CHECK(*c->metrics[0].ours->tnr_at_95tpr == *ours->population->tnr_at_95tpr);
    // The margin separates the planted flips exactly, and the fitted slope is
    // positive, so the AUROC is the raw score's: 1.
    CHECK(ours->model.slope > 0);
    CHECK(BruteAuroc(ts, ty) == 1.0);
    CHECK(*c->metrics[0].ours->auroc == 1.0);
    // The paper's: the set's own balanced sample, its holdout.
    auto paper = RegressOnBalancedSample(ts, ty, DisagreementRegressionOptions{});
    REQUIRE(paper.ok());
    REQUIRE(c->metrics[0].paper.has_value());
    CHECK(c->metrics[0].paper->positives == paper->holdout.positives);
    CHECK(*c->metrics[0].paper->auroc == *paper->holdout.auroc);
    // Entropy, through the same library path, is below the margin's perfect ranking here.
    auto entropy = UncertaintyScores(test.softmax, testing::kClasses, UncertaintyMetric::kEntropy);
    REQUIRE(entropy.ok());
    auto ranked = SummarizeRanking(*entropy, ty);
    REQUIRE(ranked.ok());
    REQUIRE(c->metrics[1].ours.has_value());
    CHECK(*c->metrics[1].ours->auroc == doctest::Approx(*ranked->auroc).epsilon(1e-12));
    CHECK(*c->metrics[1].ours->auroc < 1.0);
  }

  // Wins: the margin separates every set's flips; a fit on validation can
  // still tie a few test inputs at a saturated probability (logistic.h), so
  // "nearly always" rather than "always".
  const MetricTally& ours = a->rq3_summary.ours;
  CHECK(ours.cases > 30);
  CHECK(ours.wins[0] >= ours.cases - ours.cases / 20);
  for (std::size_t m = 1; m < 4; ++m) CHECK(ours.wins[m] < ours.cases / 4);
  CHECK(ours.auroc[0].has_value());
  CHECK(ours.auroc[0]->mean > 0.99);
  CHECK(ours.auroc[0]->mean > ours.auroc[1]->mean + 0.05);
  std::size_t all_defined = 0;
  for (const auto& c : a->rq3) {
    bool all = true;
    for (const auto& m : c.metrics) all = all && m.ours && m.ours->auroc;
    all_defined += all;
  }
  CHECK(ours.cases == all_defined);

  // Plot data: standard, seed 1, int8, test set and the four shifted sets pooled.
  REQUIRE(a->plots.size() == 1);
  const TaskPlots& p = a->plots[0];
  std::size_t d = 0;
  for (const auto& r : records)
    if (r.strategy == "standard" && r.seed == 1 && r.variant == "int8" && r.set.find("validation") == std::string::npos)
      d += r.disagreements;
  CHECK(p.disagreements == d);
  CHECK(p.agreements == 5 * testing::kInputs - d);
  double fd = 0, fa = 0;
  for (double v : p.margin_disagree) fd += v;
  for (double v : p.margin_agree) fa += v;
  CHECK(fd == doctest::Approx(1.0));
  CHECK(fa == doctest::Approx(1.0));
  CHECK(p.scatter_disagree.size() == std::min<std::size_t>(d, 300));
  CHECK(p.scatter_agree.size() == 300);
  // Pooled over sets with different flip thresholds the margin no longer
  // separates perfectly: the curve's AUROC is the raw pooled score's.
  std::vector<double> pooled;
  std::vector<std::uint8_t> pooled_y;
  for (const auto& r : records)
    if (r.strategy == "standard" && r.seed == 1 && r.variant == "int8" && r.set.find("validation") == std::string::npos) {
      std::vector<double> s;
      std::vector<std::uint8_t> y;
      MarginScores(r, &s, &y);
      pooled.insert(pooled.end(), s.begin(), s.end());
      pooled_y.insert(pooled_y.end(), y.begin(), y.end());
    }
  REQUIRE(p.auroc[0].has_value());
  CHECK(*p.auroc[0] == doctest::Approx(BruteAuroc(pooled, pooled_y)).epsilon(1e-12));
  CHECK(*p.auroc[0] < 1.0);
  CHECK(p.roc[0].front().fpr == 0.0);
  CHECK(p.roc[0].back().tpr == 1.0);
  for (const auto& [p1, p2] : p.scatter_disagree) CHECK(p1 - p2 < 0.10 * 3.5 + 1e-6);  // below the largest threshold
}

TEST_CASE("analysis: findings follow the planted records") {
  const auto records = MakeSynthRecords();
  TempDir dir("findings");
  testing::WriteSynthFolder(dir.path, records);
  auto a = AnalyzeStudy(dir.path.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  REQUIRE(a->findings.size() == 4);
  CHECK(a->findings[0].id == "shift");
  CHECK(a->findings[0].verdict == "confirmed");
  CHECK(a->findings[1].id == "qat");
  CHECK(a->findings[1].verdict == "confirmed");
  CHECK(a->findings[2].id == "margin");
  CHECK(a->findings[2].verdict == "confirmed");
  CHECK(a->findings[3].id == "retraining");
  CHECK(a->findings[3].verdict == "not measured");
  // Shift: both quantized variants of the standard model, each above its clean rate.
  auto number = [&](const Finding& f, const std::string& k) {
    for (const auto& [key, v] : f.numbers)
      if (key == k) return v;
    FAIL("no number " << k);
    return -1.0;
  };
  CHECK(number(a->findings[0], "pairs") == 2);
  CHECK(number(a->findings[0], "shifted_above_clean") == 2);
  CHECK(number(a->findings[1], "qat_lowest") == 2);

  // Without qat in the folder, the QAT finding is not measured.
  std::vector<SynthRecord> standard_only;
  for (const auto& r : records)
    if (r.strategy == "standard") standard_only.push_back(r);
  TempDir dir2("findings-std");
  testing::WriteSynthFolder(dir2.path, standard_only);
  auto b = AnalyzeStudy(dir2.path.string());
  REQUIRE(b.ok());
  CHECK(b->findings[1].verdict == "not measured");
  CHECK(b->comparisons.empty());
}

TEST_CASE("analysis: a records index that disagrees with its files, or is missing, is an error") {
  const auto records = MakeSynthRecords();
  TempDir dir("corrupt");
  testing::WriteSynthFolder(dir.path, records, 1);
  auto a = AnalyzeStudy(dir.path.string());
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().message().find("states") != std::string::npos);
  CHECK(a.status().message().find("seed 1") != std::string::npos);

  TempDir none("none");
  fs::create_directories(none.path);
  auto b = AnalyzeStudy(none.path.string());
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("records.json") != std::string::npos);

  TempDir gone("gone");
  testing::WriteSynthFolder(gone.path, records);
  fs::remove(gone.path / "cells" / "q-3" / "top1.npy");
  auto c = AnalyzeStudy(gone.path.string());
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().find("q-3") != std::string::npos);
}

}  // namespace qualm::study

// qualm/study/analysis.h: the study's analyses (RQ1-RQ3 and the findings of Hu
// et al., CAIN 2023), computed only from a study folder's per-input records
// (records.json and its .npy files, study_report.h), and the report built on them.
//
// What is computed (every statistic through stats.h):
//   RQ1/RQ2  per (task, strategy, variant) and evaluation set: float and quantized
//            accuracy, accuracy change, disagreement count and rate, flip
//            directions; per seed, then across seeds the mean, sample sd and a 95 %
//            percentile-bootstrap interval (BootstrapMean). Aggregates per seed
//            first (mean over all shifted sets, over the synthetic ones, over the
//            natural ones, over the shift types at each severity), then across
//            seeds. Strategies against standard per (task, variant): a paired
//            bootstrap over seeds of the rate difference.
//   RQ3      per (task, strategy, seed, variant, set) with disagreements: Margin,
//            Entropy, Gini and Least Confidence from the float softmax, ranked by
//            two protocols. "paper": RegressOnBalancedSample on the set's own
//            records (balanced sample, 90/10 split; read the holdout). "ours": the
//            regression fitted on the <family>:validation records of the same
//            model and variant, scored on the whole set (the fit does not depend
//            on the scored set, so it is fitted once per model, variant and
//            metric). How often each metric wins by AUROC; plot data.
//   Findings the paper's four findings, each with a verdict (confirmed, not
//            confirmed, mixed, not measured), the numbers behind it and what
//            differs from the paper's setting.
// The records themselves are recounted from the .npy files, and a count that
// differs from records.json is an error (the index and the files disagree).
//
// Also the disagreement guard, the backend matrix and flip attribution
// (analysis_probes.h), the last two from the probe cells' probe.json files.
//
// Outputs (WriteStudyAnalysis, each file written atomically): analysis.json
// (everything), report.md, tables/*.csv, report.html (self-contained, inline SVG).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "qualm/status.h"
#include "qualm/study/analysis_probes.h"
#include "qualm/study/stats.h"

namespace qualm::study {

// The per-seed quantities of one (row, set): percentages, percentage points and counts.
enum class Measure {
  kFloatAccuracy,      // % of inputs the float model gets right
  kQuantizedAccuracy,  // % the variant gets right
  kAccuracyChange,     // quantized - float, percentage points
  kDisagreements,      // count
  kDisagreementRate,   // % of inputs
  kRightToWrong,       // counts of disagreements by direction
  kWrongToRight,
  kWrongToOther,
};
inline constexpr std::size_t kMeasureCount = 8;
const char* MeasureName(Measure m);  // "float_accuracy_pct", ..., "wrong_to_other"

// One quantity across seeds.
struct SeedMeasure {
  std::vector<std::uint64_t> seeds;  // ascending
  std::vector<double> values;        // per seed
  MeanInterval stat;                 // BootstrapMean of values (sd empty with one seed)
  std::optional<double> Of(std::uint64_t seed) const;
};

enum class SetKind { kClean, kNatural, kShifted, kAggregate };
const char* SetKindName(SetKind k);  // "clean", "natural", "shifted", "aggregate"

struct SetAnalysis {
  std::string set;       // "fashion-mnist:test~fog@3", or an aggregate: "all shifts", "synthetic shifts",
                         // "natural shifts", "severity 3"
  SetKind kind = SetKind::kClean;
  std::string shift;     // shifted sets: the shift type
  int severity = 0;      // shifted sets and severity aggregates
  std::size_t inputs = 0;  // inputs per seed (aggregates: summed over their sets)
  std::array<SeedMeasure, kMeasureCount> measures;
  const SeedMeasure& operator[](Measure m) const { return measures[static_cast<std::size_t>(m)]; }
};

struct RowAnalysis {
  std::string task, arch, strategy, variant;
  int quantized_layers = -1;  // 0: the variant quantized no layer, so it is the float model
  std::vector<std::uint64_t> seeds;
  std::vector<SetAnalysis> sets;  // clean, natural, shifted (report order), then the aggregates
  const SetAnalysis* Find(const std::string& set) const;
  bool Quantized() const { return quantized_layers != 0; }
};

// RQ2: a strategy against standard for one (task, variant), paired over seeds:
// difference = strategy - standard, in percentage points of disagreement rate.
struct StrategyComparison {
  std::string task, variant, strategy;
  std::size_t seeds = 0;  // seeds both rows have
  std::optional<MeanInterval> clean;
  std::optional<MeanInterval> shifted;  // "all shifts"
};
// Strategies of one (task, variant) ordered by their mean "all shifts" rate (most stable first).
struct StrategyRanking {
  std::string task, variant;
  std::vector<std::pair<std::string, double>> by_shifted_rate;
};

// RQ3.
struct ProtocolScores {
  std::optional<RankingSummary> paper;  // holdout of RegressOnBalancedSample on the set itself
  std::optional<RankingSummary> ours;   // fitted on validation, scored on the whole set
};
struct Rq3Case {
  std::string task, strategy, variant, set;
  std::uint64_t seed = 0;
  SetKind kind = SetKind::kClean;
  std::size_t inputs = 0, disagreements = 0;
  std::array<ProtocolScores, 4> metrics;  // in kUncertaintyMetrics order
  std::string paper_note, ours_note;      // why a protocol gave no numbers, if it did not
};
struct MetricTally {
  std::size_t cases = 0;      // cases where every metric has an AUROC
  std::size_t all_tied = 0;   // cases where the four AUROCs are equal (e.g. two classes: one ranking)
  std::array<std::size_t, 4> wins{};  // highest AUROC, ties credited to each tied metric
  std::array<std::optional<MeanInterval>, 4> auroc;  // over the cases
};
struct Rq3Summary {
  MetricTally paper, ours;
};

// Plot data for one task, from one representative model (standard strategy,
// first seed, the int8 variant when there is one), its test and shifted sets pooled.
struct TaskPlots {
  std::string task, source;  // source: which records were pooled, for the caption
  std::size_t disagreements = 0, agreements = 0;
  int bins = 20;             // margin histogram over [0, 1]
  std::vector<double> margin_disagree, margin_agree;  // fraction of each class per bin
  std::array<std::vector<RocPoint>, 4> roc;           // raw metric scores
  std::array<std::optional<double>, 4> auroc;
  std::vector<std::pair<double, double>> scatter_disagree, scatter_agree;  // (p1, p2), seeded subsample
};

// RQ4 (retrain_cells.h): one (task, strategy, variant, protocol), from
// records.json's "retrain" list and the grid records before retraining, on the
// clean test set. Per seed, then across seeds as SeedMeasure.
//   old      inputs that disagree before and after retraining (the same input)
//   new      inputs that disagree after only;  removed: before only
enum class Rq4Measure {
  kFound,             // disagreements found on the protocol's sets (added to training)
  kBefore,            // test-set disagreements of the model and its variant
  kAfter,             // of the retrained model and its re-quantized variant
  kOld,
  kNew,
  kRemoved,
  kBeforeRate,        // % of inputs
  kAfterRate,
  kRemovedShare,      // removed / before, % (seeds with before > 0)
  kNewPerBefore,      // new / before, % (seeds with before > 0)
  kFloatAccuracyBefore,      // %
  kFloatAccuracyAfter,
  kQuantizedAccuracyBefore,
  kQuantizedAccuracyAfter,
};
inline constexpr std::size_t kRq4MeasureCount = 14;
const char* Rq4MeasureName(Rq4Measure m);  // "found", "before", ...

struct Rq4Row {
  std::string task, strategy, variant, protocol;
  std::size_t inputs = 0;  // test inputs per seed
  std::vector<std::uint64_t> seeds;
  std::array<SeedMeasure, kRq4MeasureCount> measures;
  const SeedMeasure& operator[](Rq4Measure m) const { return measures[static_cast<std::size_t>(m)]; }
};

struct Finding {
  std::string id;           // "shift", "qat", "margin", "retraining"
  std::string claim;        // the paper's finding
  std::string verdict;      // "confirmed", "not confirmed", "mixed", "not measured"
  std::string evidence;     // the numbers behind the verdict, in words
  std::string paper;        // what the paper reported
  std::string differences;  // what differs from the paper's setting
  std::vector<std::pair<std::string, double>> numbers;  // machine-readable
};

struct StudyProvenance {
  std::string name;
  std::string spec_json;     // study.json's spec, as written there ("" when absent)
  std::string runtime;       // "threads 1, backend fast"
  std::string version;       // from the cells' keys ("0.1.0/study-cache-1")
  std::size_t cells = 0, missing_cells = 0, records = 0;
  std::map<std::string, std::set<std::string>> paths;  // variant ("float" too) -> kernel paths of its evaluations
};

struct AnalysisOptions {
  BootstrapOptions bootstrap;                // seeds and RQ2 differences
  DisagreementRegressionOptions regression;  // RQ3, both protocols
  std::size_t scatter_points = 300;          // per class, at most
  std::uint64_t plot_seed = 1;
  std::size_t roc_points = 120;
  // The disagreement guard's recall targets (analysis_probes.h). A fixed array:
  // one more vector member here makes GCC 12 warn (-Wmaybe-uninitialized, a
  // false positive) wherever a defaulted AnalysisOptions is built.
  std::array<double, 2> guard_recalls = {0.90, 0.95};
};

struct StudyAnalysis {
  AnalysisOptions options;
  StudyProvenance provenance;
  std::vector<RowAnalysis> rows;  // records.json order of first appearance
  std::vector<StrategyComparison> comparisons;
  std::vector<StrategyRanking> rankings;
  std::vector<Rq3Case> rq3;
  Rq3Summary rq3_summary;
  std::vector<TaskPlots> plots;
  std::vector<Rq4Row> rq4;  // RQ4; empty when the folder has no retraining
  std::vector<Finding> findings;
  std::vector<GuardRow> guard;  // analysis_probes.h
  ProbeAnalysis probes;
};

// Reads <dir>/records.json (and study.json and the cells' cell.json when present).
Result<StudyAnalysis> AnalyzeStudy(const std::string& dir, const AnalysisOptions& options = {});

// Renderings (deterministic: the same analysis gives the same bytes).
std::string AnalysisJson(const StudyAnalysis& a);
std::string AnalysisMarkdown(const StudyAnalysis& a);
std::string AnalysisHtml(const StudyAnalysis& a);
std::vector<std::pair<std::string, std::string>> AnalysisCsvTables(const StudyAnalysis& a);  // file name, text

// AnalyzeStudy, then analysis.json, report.md, tables/*.csv and report.html into
// dir; returns the analysis (callers that only need the files take .status()).
Result<StudyAnalysis> WriteStudyAnalysis(const std::string& dir, const AnalysisOptions& options = {});

}  // namespace qualm::study

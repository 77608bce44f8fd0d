// Internal to the analyses (analysis.h): the loaded index of a study folder's
// records and the steps AnalyzeStudy runs over it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/study/analysis.h"

namespace qualm::study::internal {

// One entry of records.json, with its counts recomputed from the .npy files.
struct RecordMeta {
  std::string task, arch, strategy, variant, set, shift;
  std::uint64_t seed = 0;
  int severity = 0;
  int quantized_layers = -1;
  SetKind kind = SetKind::kClean;
  bool validation = false;  // <family>:validation: fits "ours", never reported as a set
  // Paths relative to the folder.
  std::string labels, float_top1, float_softmax, quantized_top1, float_model;
  // As records.json states them (checked against the recount).
  std::size_t stated_count = 0, stated_disagreements = 0;
  // Recounted from the .npy files.
  std::size_t count = 0, float_correct = 0, quantized_correct = 0;
  std::size_t disagreements = 0, right_to_wrong = 0, wrong_to_right = 0, wrong_to_other = 0;
};

// Reads records.json (required) and study.json and the cells' cell.json (for
// the provenance, when present).
Status ReadStudyIndex(const std::string& dir, std::vector<RecordMeta>* records, StudyProvenance* provenance);

// Loads every record's .npy files model by model, fills the counts, and runs RQ3
// (cases and the plot data).
Status CountAndRankRecords(const std::string& dir, const AnalysisOptions& options, std::vector<RecordMeta>* records,
                           std::vector<Rq3Case>* cases, std::vector<TaskPlots>* plots);

// RQ1/RQ2 from the counted records.
Result<std::vector<RowAnalysis>> BuildRows(const std::vector<RecordMeta>& records, const AnalysisOptions& options);
Status CompareStrategies(const std::vector<RowAnalysis>& rows, const AnalysisOptions& options,
                         std::vector<StrategyComparison>* comparisons, std::vector<StrategyRanking>* rankings);
Result<Rq3Summary> SummarizeRq3(const std::vector<Rq3Case>& cases, const AnalysisOptions& options);
Result<std::vector<Finding>> AssessFindings(const StudyAnalysis& a);
// The disagreement guard from the counted records (analysis_guard.cpp), and the
// probe cells through <dir>/probes.json (analysis_matrix.cpp; absent: not measured).
Result<std::vector<GuardRow>> AnalyzeGuard(const std::string& dir, const std::vector<RecordMeta>& records,
                                           const AnalysisOptions& options);
Result<ProbeAnalysis> AnalyzeProbes(const std::string& dir);
// The margin finding's evidence gains the guard's numbers (the practical use of the margin).
void AddGuardEvidence(StudyAnalysis* a);

// Which rows the findings and charts use: a variant that quantized nothing is the float model.
bool IsCleanTest(const std::string& set);
bool IsValidation(const std::string& set);
// The paper's names of the aggregates.
inline constexpr const char* kAllShifts = "all shifts";
inline constexpr const char* kSyntheticShifts = "synthetic shifts";
inline constexpr const char* kNaturalShifts = "natural shifts";
std::string SeverityAggregate(int severity);  // "severity 3"

// Formatting shared by the writers: printf-style, "—" for a missing value.
// Int is std::to_string through snprintf: GCC 12 sees through to_string's
// bounded length and warns (-Wrestrict, a false positive) on "literal" + to_string.
std::string Int(long long v);
std::string Fmt(const char* format, double v);
std::string FmtOpt(const char* format, const std::optional<double>& v);
// "1.20 [0.90, 1.50]" (mean [lo, hi]), or the mean alone when the interval is a point.
std::string FmtInterval(const MeanInterval& m, const char* format = "%.2f");
const char* MetricLabel(std::size_t metric_index);  // "Margin", "Entropy", "Gini", "Least confidence"

}  // namespace qualm::study::internal

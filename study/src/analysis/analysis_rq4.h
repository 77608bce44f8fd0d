// Internal: RQ4, retraining on disagreements (analysis.h, retrain_cells.h):
// the analysis of records.json's "retrain" list, its finding, and its table,
// JSON and CSV for the report writers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report_tables.h"

namespace qualm::study::internal {

// Reads records.json's "retrain" list (absent: no rows) and recounts every
// entry from its .npy files: the retrained pair and the pair before retraining
// on the same test inputs. A stated count that differs from the recount is an error.
Result<std::vector<Rq4Row>> AnalyzeRetraining(const std::string& dir, const AnalysisOptions& options);

// The paper's finding "retraining removes most old disagreements and creates a
// similar or larger number of new ones", judged by a stated rule; `verdict` is
// the findings' shared rule over (supporting, contradicting, total) cases.
using VerdictRule = std::string (*)(std::size_t support, std::size_t against, std::size_t total);
Result<Finding> RetrainingFinding(const StudyAnalysis& a, VerdictRule verdict, const std::string& seeds_note);

TextTable Rq4Table(const StudyAnalysis& a);
std::string Rq4Note(const StudyAnalysis& a);  // how the rows were made, for the report
// One bar chart per protocol (old kept, new, removed per row), inline SVG; "" without rows.
std::string Rq4Chart(const StudyAnalysis& a);
nlohmann::json Rq4Json(const StudyAnalysis& a);
std::string Rq4Csv(const StudyAnalysis& a);

}  // namespace qualm::study::internal

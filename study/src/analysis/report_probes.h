// Internal: the report's sections on the backend matrix, flip attribution and
// the disagreement guard (analysis_probes.h), built once as text tables and
// rendered by report.md and report.html alike; their analysis.json entries and
// CSV tables.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "report_tables.h"

namespace qualm::study::internal {

struct ReportBlock {
  std::string heading;     // a sub-heading (h3), or empty
  std::string text;        // a paragraph before the table, or empty
  TextTable table;         // may be empty
  bool collapsed = false;  // HTML: inside <details> (long tables)
  std::string charts;      // HTML only: inline SVG charts after the table
};
struct ReportSection {
  std::string id, title, intro;
  std::vector<ReportBlock> blocks;
};

// Backend matrix, flip attribution, disagreement guard (in that order).
std::vector<ReportSection> ProbeSections(const StudyAnalysis& a);

// analysis.json's "guard" and "probes" entries.
void AddProbesJson(const StudyAnalysis& a, nlohmann::json* out);
// guard.csv, backend_matrix.csv, probe_cells.csv, flip_attribution_layers.csv, flip_attribution_mixed.csv.
void AddProbeCsvTables(const StudyAnalysis& a, std::vector<std::pair<std::string, std::string>>* tables);

}  // namespace qualm::study::internal

// Internal: the report's tables as plain text cells, built once and rendered
// by both report.md and report.html, so the two always show the same numbers.
#pragma once

#include <string>
#include <vector>

#include "analysis_internal.h"

namespace qualm::study::internal {

struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string note;  // a sentence under the table (how to read it)
};

std::vector<std::string> Tasks(const StudyAnalysis& a);  // in order of appearance

TextTable FindingsTable(const StudyAnalysis& a);
TextTable ProvenanceTable(const StudyAnalysis& a);
// RQ1: standard-trained models of one task, clean against shifted.
TextTable ShiftTable(const StudyAnalysis& a, const std::string& task);
// Mean disagreement rate per severity (over shift types), one row per (strategy, variant) of a task.
TextTable SeverityTable(const StudyAnalysis& a, const std::string& task);
// RQ2: every strategy of one task, with the paired difference to standard.
TextTable StrategyTable(const StudyAnalysis& a, const std::string& task);
TextTable RankingTable(const StudyAnalysis& a);
// RQ3: per metric and protocol, wins and mean AUROC.
TextTable MetricTable(const StudyAnalysis& a);
// RQ3 cases; clean_only keeps the clean test set's.
TextTable CaseTable(const StudyAnalysis& a, bool clean_only);
// Every set of every row of one task (the full RQ1/RQ2 numbers).
TextTable FullSetTable(const StudyAnalysis& a, const std::string& task);

}  // namespace qualm::study::internal

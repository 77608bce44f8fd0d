// Internal: the report's charts (inline SVG through svg_chart.h), as HTML fragments.
#pragma once

#include <string>

#include "analysis_internal.h"

namespace qualm::study::internal {

// RQ1: disagreement rate against severity, one small chart per shift type (a
// line per variant, standard training; severity 0 is the clean test set).
std::string SeverityCharts(const StudyAnalysis& a, const std::string& task);
// RQ2: mean rate over shift types against severity, one chart per variant, a line per strategy.
std::string StrategyCharts(const StudyAnalysis& a, const std::string& task);
// RQ3: margin histogram (disagreements vs agreements), ROC of the four metrics, top-1 vs top-2 scatter.
std::string Rq3Charts(const TaskPlots& p);

}  // namespace qualm::study::internal

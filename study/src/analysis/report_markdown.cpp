// report.md: the report's tables in Markdown (the HTML adds the charts).
#include "analysis_rq4.h"
#include "report_probes.h"
#include "report_tables.h"

namespace qualm::study {
namespace {

std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string Markdown(const internal::TextTable& t) {
  if (t.header.empty()) return "";
  std::string s = "|";
  for (const auto& h : t.header) ((s += ' ') += Cell(h)) += " |";
  s += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& row : t.rows) {
    s += "|";
    for (const auto& c : row) ((s += ' ') += Cell(c)) += " |";
    s += "\n";
  }
  if (!t.note.empty()) s += "\n" + t.note + "\n";
  return s + "\n";
}

}  // namespace

std::string AnalysisMarkdown(const StudyAnalysis& a) {
  using namespace internal;
  std::string md = "# Study " + a.provenance.name + ": quantization disagreements, RQ1-RQ3 and findings\n\n";
  md += "Computed by `qualm report` from the per-input records (records.json); the same numbers, with charts: "
        "report.html; every number: analysis.json; tables: tables/*.csv. An input *disagrees* when the float and the "
        "quantized model's top-1 differ.\n\n";
  if (a.provenance.missing_cells)
    md += "**Incomplete study:** " + Int(a.provenance.missing_cells) +
          " cells are missing; the numbers cover the finished ones.\n\n";
  md += "## Findings\n\n" + Markdown(FindingsTable(a));
  md += "## Configuration\n\n" + Markdown(ProvenanceTable(a));
  md += "## RQ1: disagreements under shift (standard training)\n\n";
  for (const auto& task : Tasks(a)) {
    md += "### " + task + "\n\n" + Markdown(ShiftTable(a, task));
    md += Markdown(SeverityTable(a, task));
  }
  md += "## RQ2: training strategies\n\n";
  for (const auto& task : Tasks(a)) md += "### " + task + "\n\n" + Markdown(StrategyTable(a, task));
  md += "### Most stable strategy per variant\n\n" + Markdown(RankingTable(a));
  md += "## RQ3: which inputs disagree\n\n" + Markdown(MetricTable(a));
  md += "### Clean test set cases\n\n" + Markdown(CaseTable(a, true));
  md += "Cases on every shifted set: tables/rq3_cases.csv.\n\n";
  // The backend matrix, flip attribution and the guard (report_probes.cpp).
  for (const ReportSection& s : ProbeSections(a)) {
    md += "## " + s.title + "\n\n" + s.intro + "\n\n";
    for (const ReportBlock& b : s.blocks) {
      if (!b.heading.empty()) md += "### " + b.heading + "\n\n";
      if (!b.text.empty()) md += b.text + "\n\n";
      md += Markdown(b.table);
    }
  }
  md += "## RQ4: retraining\n\n";
  md += a.rq4.empty() ? std::string("Not measured in this study folder (its spec has no \"retrain\" section).\n")
                      : Rq4Note(a) + "\n\n" + Markdown(Rq4Table(a));
  return md;
}

}  // namespace qualm::study

// report.html: one self-contained page (inline CSS and SVG, no scripts, no
// network resources) that reads with JavaScript off and prints: the findings
// first, then the configuration, RQ1-RQ3 with their charts, RQ4's status.
// Large tables sit in <details> (collapsed on screen; the CSV files hold them too).
#include <cctype>

#include "qualm/study/svg_chart.h"
#include "report_charts.h"
#include "analysis_rq4.h"
#include "report_probes.h"
#include "report_tables.h"

namespace qualm::study {
namespace {
using svg::Escape;
using internal::Int;

constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0;background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:20px;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid #d8dde3}
h3{font-size:16px;margin:22px 0 8px}h4{font-size:14px;margin:16px 0 6px;color:#333}
p{margin:6px 0 10px;max-width:960px}.lead{color:#444}
nav{font-size:13px;margin:10px 0 0}nav a{margin-right:14px;color:#0b5cad;text-decoration:none}
table{border-collapse:collapse;font-size:12px;margin:6px 0 8px;max-width:100%}
th,td{border:1px solid #d5d9de;padding:4px 7px;text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.note{font-size:12px;color:#555;margin-top:2px}
.verdict{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;font-size:12px;white-space:nowrap}
.v-confirmed{background:#d9f2e3;color:#11613a}.v-not-confirmed{background:#fbdcdc;color:#8a1c1c}
.v-mixed{background:#fdefc8;color:#7a5200}.v-not-measured{background:#e7e9ec;color:#444}
table.findings td:nth-child(1){width:18%}table.findings td:nth-child(3){width:38%}
table.findings td{font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:10px 14px;align-items:flex-start}
.chart-group{margin:4px 0 12px}
svg.chart{background:#fff;border:1px solid #eceef1}
details{margin:6px 0 12px}summary{cursor:pointer;color:#0b5cad;font-size:13px}
.caption{font-size:12px;color:#555;margin:2px 0 8px}
footer{margin-top:36px;font-size:12px;color:#666;border-top:1px solid #ddd;padding-top:8px}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}svg.chart,table{break-inside:avoid}
details::details-content{display:contents;content-visibility:visible}summary{display:none}nav{display:none}}
)";

std::string Table(const internal::TextTable& t, const std::string& cls = "") {
  if (t.header.empty()) return "";
  std::string s = "<table" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") + "><thead><tr>";
  for (const auto& h : t.header) s += "<th>" + Escape(h) + "</th>";
  s += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    s += "<tr>";
    for (const auto& c : row) {
      // Numbers (a digit, sign or dash first, short) keep together on one line.
      const bool num = !c.empty() && c.size() < 40 && (std::isdigit(static_cast<unsigned char>(c[0])) || c[0] == '-' || c[0] == '+');
      s += num ? "<td class=\"num\">" : "<td>";
      s += Escape(c) + "</td>";
    }
    s += "</tr>";
  }
  s += "</tbody></table>";
  if (!t.note.empty()) s += "<p class=\"note\">" + Escape(t.note) + "</p>";
  return s + "\n";
}

std::string Collapsed(const std::string& summary, const internal::TextTable& t) {
  if (t.rows.empty()) return "";
  return "<details><summary>" + Escape(summary) + " (" + Int(t.rows.size()) + " rows)</summary>" + Table(t) +
         "</details>\n";
}

std::string FindingsHtml(const StudyAnalysis& a) {
  internal::TextTable t = internal::FindingsTable(a);
  std::string s = "<table class=\"findings\"><thead><tr>";
  for (const auto& h : t.header) s += "<th>" + Escape(h) + "</th>";
  s += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    std::string cls = row[1];
    for (char& c : cls)
      if (c == ' ') c = '-';
    s += "<tr><td>" + Escape(row[0]) + "</td><td><span class=\"verdict v-" + Escape(cls) + "\">" + Escape(row[1]) +
         "</span></td>";
    for (std::size_t i = 2; i < row.size(); ++i) s += "<td>" + Escape(row[i]) + "</td>";
    s += "</tr>";
  }
  return s + "</tbody></table>\n";
}

}  // namespace

std::string AnalysisHtml(const StudyAnalysis& a) {
  using namespace internal;
  const std::string name = a.provenance.name.empty() ? "study" : a.provenance.name;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>qualm study " + Escape(name) + ": quantization disagreements</title><style>" +
                  std::string(kStyle) + "</style></head>\n<body><main>\n";
  h += "<h1>Study " + Escape(name) + ": quantization disagreements</h1>\n";
  h += "<p class=\"lead\">An input <em>disagrees</em> when the float model and its quantized variant predict different "
       "classes (ground truth is not involved). Following Hu et al., CAIN 2023: RQ1 (shift), RQ2 (training strategy), "
       "RQ3 (which inputs disagree), RQ4 (retraining). Numbers are means over seeds with 95 % bootstrap intervals in "
       "brackets; every number is in analysis.json and tables/*.csv next to this file.</p>\n";
  if (a.provenance.missing_cells)
    h += "<p><strong>Incomplete study:</strong> " + Int(a.provenance.missing_cells) +
         " cells are missing; the numbers cover the finished ones.</p>\n";
  h += "<nav><a href=\"#findings\">Findings</a><a href=\"#configuration\">Configuration</a><a href=\"#rq1\">RQ1 shift</a>"
       "<a href=\"#rq2\">RQ2 strategies</a><a href=\"#rq3\">RQ3 metrics</a><a href=\"#matrix\">Backend matrix</a>"
       "<a href=\"#attribution\">Flip attribution</a><a href=\"#guard\">Guard</a><a href=\"#rq4\">RQ4 retraining</a></nav>\n";

  h += "<section id=\"findings\"><h2>Findings</h2>\n" + FindingsHtml(a) + "</section>\n";
  h += "<section id=\"configuration\"><h2>Configuration</h2>\n<p>What the numbers were computed with: the study "
       "specification, the code version, and the kernel path each variant's evaluations ran on.</p>\n" +
       Table(ProvenanceTable(a)) + "</section>\n";

  h += "<section id=\"rq1\"><h2>RQ1: disagreements under shift</h2>\n";
  for (const auto& task : Tasks(a)) {
    h += "<h3>" + Escape(task) + "</h3>\n" + Table(ShiftTable(a, task));
    const std::string charts = SeverityCharts(a, task);
    if (!charts.empty()) {
      h += "<h4>Disagreement rate against severity, per shift type (standard training)</h4>\n" + charts;
    }
    h += Collapsed("Mean rate per severity, every strategy and variant", SeverityTable(a, task));
    h += Collapsed("Every evaluation set of " + task, FullSetTable(a, task));
  }
  h += "</section>\n";

  h += "<section id=\"rq2\"><h2>RQ2: training strategies</h2>\n";
  for (const auto& task : Tasks(a)) {
    h += "<h3>" + Escape(task) + "</h3>\n" + Table(StrategyTable(a, task));
    const std::string charts = StrategyCharts(a, task);
    if (!charts.empty()) h += "<h4>Mean disagreement rate over shift types against severity, per variant</h4>\n" + charts;
  }
  h += "<h3>Most stable strategy per variant</h3>\n" + Table(RankingTable(a)) + "</section>\n";

  h += "<section id=\"rq3\"><h2>RQ3: which inputs disagree</h2>\n<p>Margin, Entropy, Gini and Least confidence of the "
       "float softmax, each through a one-feature logistic regression. Two protocols: <em>ours</em> fits it on the "
       "validation split of the same model and variant and scores the whole test set and every shift; the "
       "<em>paper</em>'s fits and scores a balanced sample of the same set (10 % holdout).</p>\n" +
       Table(MetricTable(a));
  for (const TaskPlots& p : a.plots) {
    h += "<h3>" + Escape(p.task) + "</h3>\n<p class=\"caption\">" + Escape(p.source) + ": " +
         Int(p.disagreements) + " disagreements, " + Int(p.agreements) + " agreements.</p>\n" +
         Rq3Charts(p);
  }
  h += Collapsed("Clean test set cases", CaseTable(a, true));
  h += Collapsed("Every case (test set and shifts)", CaseTable(a, false));
  h += "</section>\n";
  // The backend matrix, flip attribution and the guard (report_probes.cpp).
  for (const ReportSection& s : ProbeSections(a)) {
    h += "<section id=\"" + s.id + "\"><h2>" + Escape(s.title) + "</h2>\n<p>" + Escape(s.intro) + "</p>\n";
    for (const ReportBlock& b : s.blocks) {
      if (!b.heading.empty() && !b.collapsed) h += "<h3>" + Escape(b.heading) + "</h3>\n";
      if (!b.text.empty()) h += "<p>" + Escape(b.text) + "</p>\n";
      h += b.collapsed ? Collapsed(b.heading, b.table) : Table(b.table);
      h += b.charts;
    }
    h += "</section>\n";
  }

  h += "<section id=\"rq4\"><h2>RQ4: retraining</h2>\n";
  h += a.rq4.empty() ? std::string("<p>Not measured in this study folder: its spec has no \"retrain\" section.</p>\n")
                     : "<p>" + Escape(Rq4Note(a)) + "</p>\n" + Table(Rq4Table(a)) + Rq4Chart(a);
  h += "</section>\n";
  h += "<footer>Generated by <code>qualm report</code> from records.json and the per-input .npy records";
  if (!a.provenance.version.empty()) h += " (qualm " + Escape(a.provenance.version) + ")";
  h += ". Deterministic: the same folder gives the same bytes.</footer>\n</main></body></html>\n";
  return h;
}

}  // namespace qualm::study

#include "report_charts.h"

#include <algorithm>

#include "qualm/study/svg_chart.h"

namespace qualm::study::internal {
namespace {

// The severities of a task's shifted sets, ascending.
std::vector<int> Severities(const StudyAnalysis& a, const std::string& task) {
  std::vector<int> sev;
  for (const auto& r : a.rows)
    if (r.task == task)
      for (const auto& s : r.sets)
        if (s.kind == SetKind::kShifted && std::find(sev.begin(), sev.end(), s.severity) == sev.end())
          sev.push_back(s.severity);
  std::sort(sev.begin(), sev.end());
  return sev;
}

svg::Axis SeverityAxis(const std::vector<int>& sev) {
  svg::Axis x;
  x.label = "severity (0 = clean test set)";
  x.lo = 0;
  x.hi = sev.empty() ? 1 : sev.back();
  x.ticks = {0};
  for (int s : sev) x.ticks.push_back(s);
  return x;
}

double Rate(const SetAnalysis& s) { return s[Measure::kDisagreementRate].stat.mean; }

const SetAnalysis* CleanOf(const RowAnalysis& r) {
  for (const auto& s : r.sets)
    if (s.kind == SetKind::kClean) return &s;
  return nullptr;
}

std::string Wrap(const std::string& legend, const std::string& charts) {
  return "<div class=\"chart-group\">" + legend + "<div class=\"charts\">" + charts + "</div></div>\n";
}

}  // namespace

std::string SeverityCharts(const StudyAnalysis& a, const std::string& task) {
  const std::vector<int> sev = Severities(a, task);
  if (sev.empty()) return "";
  std::vector<std::string> shifts;
  std::vector<const RowAnalysis*> rows;
  double top = 0;
  for (const auto& r : a.rows) {
    if (r.task != task || r.strategy != "standard" || !r.Quantized()) continue;
    rows.push_back(&r);
    for (const auto& s : r.sets) {
      if (s.kind == SetKind::kShifted && std::find(shifts.begin(), shifts.end(), s.shift) == shifts.end())
        shifts.push_back(s.shift);
      if (s.kind == SetKind::kShifted || s.kind == SetKind::kClean) top = std::max(top, Rate(s));
    }
  }
  if (rows.empty()) return "";
  std::vector<std::pair<std::string, std::size_t>> legend;
  for (std::size_t i = 0; i < rows.size(); ++i) legend.emplace_back(rows[i]->variant, i);
  std::string charts;
  for (const std::string& shift : shifts) {
    svg::Chart c;
    c.width = 250;
    c.height = 180;
    c.title = shift;
    c.legend = false;
    c.x = SeverityAxis(sev);
    c.y.label = "disagreement rate (%)";
    c.y.hi = svg::NiceCeil(top);
    std::vector<svg::Series> series;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      svg::Series s;
      s.name = rows[i]->variant;
      s.color = i;
      if (const SetAnalysis* clean = CleanOf(*rows[i])) s.points.emplace_back(0.0, Rate(*clean));
      for (const auto& set : rows[i]->sets)
        if (set.kind == SetKind::kShifted && set.shift == shift) s.points.emplace_back(set.severity, Rate(set));
      series.push_back(std::move(s));
    }
    charts += svg::LineChart(c, series);
  }
  return Wrap(svg::Legend(legend, 760), charts);
}

std::string StrategyCharts(const StudyAnalysis& a, const std::string& task) {
  const std::vector<int> sev = Severities(a, task);
  if (sev.empty()) return "";
  std::vector<std::string> variants, strategies;
  double top = 0;
  for (const auto& r : a.rows) {
    if (r.task != task || !r.Quantized()) continue;
    if (std::find(variants.begin(), variants.end(), r.variant) == variants.end()) variants.push_back(r.variant);
    if (std::find(strategies.begin(), strategies.end(), r.strategy) == strategies.end()) strategies.push_back(r.strategy);
    for (const auto& s : r.sets)
      if ((s.kind == SetKind::kAggregate && s.severity > 0) || s.kind == SetKind::kClean) top = std::max(top, Rate(s));
  }
  if (strategies.size() < 2) return "";
  std::vector<std::pair<std::string, std::size_t>> legend;
  for (std::size_t i = 0; i < strategies.size(); ++i) legend.emplace_back(strategies[i], i);
  std::string charts;
  for (const std::string& variant : variants) {
    svg::Chart c;
    c.width = 250;
    c.height = 180;
    c.title = variant;
    c.legend = false;
    c.x = SeverityAxis(sev);
    c.y.label = "mean disagreement rate (%)";
    c.y.hi = svg::NiceCeil(top);
    std::vector<svg::Series> series;
    for (std::size_t i = 0; i < strategies.size(); ++i)
      for (const auto& r : a.rows) {
        if (r.task != task || r.variant != variant || r.strategy != strategies[i]) continue;
        svg::Series s;
        s.name = r.strategy;
        s.color = i;
        if (const SetAnalysis* clean = CleanOf(r)) s.points.emplace_back(0.0, Rate(*clean));
        for (int v : sev)
          if (const SetAnalysis* x = r.Find(SeverityAggregate(v))) s.points.emplace_back(v, Rate(*x));
        series.push_back(std::move(s));
      }
    charts += svg::LineChart(c, series);
  }
  return Wrap(svg::Legend(legend, 760), charts);
}

std::string Rq3Charts(const TaskPlots& p) {
  std::string charts;
  {
    svg::Chart c;
    c.width = 360;
    c.height = 240;
    c.title = "Float margin p1 − p2";
    c.x.label = "margin (20 bins)";
    c.y.label = "fraction of the class";
    double top = 0;
    for (double v : p.margin_disagree) top = std::max(top, v);
    for (double v : p.margin_agree) top = std::max(top, v);
    c.y.hi = svg::NiceCeil(top);
    svg::Bars d{"disagreements (" + Int(p.disagreements) + ")", p.margin_disagree, 1};
    svg::Bars g{"agreements (" + Int(p.agreements) + ")", p.margin_agree, 0};
    charts += svg::BarChart(c, {d, g});
  }
  {
    svg::Chart c;
    c.width = 360;
    c.height = 240;
    c.title = "ROC: the metric ranks disagreements first";
    c.x.label = "false positive rate";
    c.y.label = "true positive rate";
    std::vector<svg::Series> series;
    svg::Series diagonal;
    diagonal.points = {{0, 0}, {1, 1}};
    diagonal.color = 6;
    diagonal.markers = false;
    diagonal.dashed = true;
    series.push_back(diagonal);
    for (std::size_t m = 0; m < 4; ++m) {
      if (p.roc[m].empty()) continue;
      svg::Series s;
      s.name = std::string(MetricLabel(m)) + " " + FmtOpt("%.3f", p.auroc[m]);
      s.color = m == 0 ? 1 : m == 1 ? 0 : m == 2 ? 2 : 3;
      s.markers = false;
      s.dashed = m == 3;
      for (const auto& pt : p.roc[m]) s.points.emplace_back(pt.fpr, pt.tpr);
      series.push_back(std::move(s));
    }
    charts += svg::LineChart(c, series);
  }
  {
    svg::Chart c;
    c.width = 360;
    c.height = 240;
    c.title = "Top-1 vs top-2 probability (subsample)";
    c.x.label = "p1 (float top-1 probability)";
    c.y.label = "p2";
    c.y.hi = 0.5;
    svg::Series agree, disagree;
    agree.name = "agreements (" + Int(p.scatter_agree.size()) + " shown)";
    agree.points = p.scatter_agree;
    agree.color = 0;
    agree.line = false;
    agree.radius = 1.8;
    agree.opacity = 0.35;
    disagree.name = "disagreements (" + Int(p.scatter_disagree.size()) + " shown)";
    disagree.points = p.scatter_disagree;
    disagree.color = 1;
    disagree.line = false;
    disagree.radius = 2.4;
    disagree.opacity = 0.85;
    charts += svg::LineChart(c, {agree, disagree});
  }
  return "<div class=\"charts\">" + charts + "</div>\n";
}

}  // namespace qualm::study::internal

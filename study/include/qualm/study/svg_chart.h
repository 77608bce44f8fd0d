// qualm/study/svg_chart.h: a tiny SVG chart helper for the study report: axes,
// ticks, grid, lines, points, histogram bars, a legend. Output is inline SVG
// text (no scripts, no external resources), printed with fixed decimals so the
// same data gives the same bytes; ticks are computed without libm.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace qualm::study::svg {

// &, <, >, " and ' escaped, for text and attribute values (HTML and SVG).
std::string Escape(const std::string& text);
// A palette that stays distinct for colour-blind readers and in print (Okabe-Ito); wraps around.
const char* Color(std::size_t i);

struct Axis {
  std::string label;
  double lo = 0.0, hi = 1.0;  // the range shown
  std::vector<double> ticks;  // empty: about five "nice" ticks over [lo, hi]
};
struct Chart {
  int width = 340, height = 230;  // of the plot and its axes; a legend adds rows below
  std::string title;
  Axis x, y;
  bool legend = true;
};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // in data units, drawn in this order
  std::size_t color = 0;                          // palette index
  bool line = true, markers = true, dashed = false;
  double radius = 2.5, opacity = 1.0;             // markers
};
// Lines and/or points: line charts, ROC curves, scatter plots.
std::string LineChart(const Chart& chart, const std::vector<Series>& series);

struct Bars {
  std::string name;
  std::vector<double> values;  // one per bin; bins split [x.lo, x.hi] evenly
  std::size_t color = 0;
};
// Side-by-side bars per bin (a histogram of each series).
std::string BarChart(const Chart& chart, const std::vector<Bars>& bars);

// A legend on its own, for a group of small charts that share one.
std::string Legend(const std::vector<std::pair<std::string, std::size_t>>& items, int width);

// Multiples of 1, 2 or 5 times a power of ten covering [lo, hi], about `target` of them.
std::vector<double> NiceTicks(double lo, double hi, int target = 5);
// The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v (1 for v <= 0).
double NiceCeil(double v);

}  // namespace qualm::study::svg

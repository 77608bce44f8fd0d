#include "qualm/study/svg_chart.h"

#include <algorithm>
#include <cstdio>

namespace qualm::study::svg {
namespace {

constexpr int kLeft = 50, kRight = 12, kTop = 24, kBottom = 38;  // room for the title, ticks and labels
constexpr int kLegendRow = 15;

// std::to_string through snprintf (see analysis_internal.h: GCC 12's -Wrestrict false positive).
std::string Int(long long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld", v);
  return buf;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string TickLabel(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return std::string(buf) == "-0" ? "0" : buf;
}

// The plot area of a chart and the mapping from data to pixels.
struct Frame {
  const Chart& c;
  double x0, y0, w, h;  // plot area in pixels
  explicit Frame(const Chart& chart)
      : c(chart), x0(kLeft), y0(kTop), w(chart.width - kLeft - kRight), h(chart.height - kTop - kBottom) {}
  double X(double v) const {
    const double span = c.x.hi - c.x.lo;
    return x0 + (span > 0 ? (v - c.x.lo) / span : 0.5) * w;
  }
  double Y(double v) const {
    const double span = c.y.hi - c.y.lo;
    return y0 + h - (span > 0 ? (v - c.y.lo) / span : 0.5) * h;
  }
};

// Legend items flow left to right and wrap; each is as wide as its name
// (about 6 px per character at the legend's font size).
struct LegendSlot {
  int x = 0, row = 0;
};
std::vector<LegendSlot> LegendLayout(const std::vector<std::pair<std::string, std::size_t>>& items, int width) {
  std::vector<LegendSlot> slots;
  int x = 10, row = 0;
  for (const auto& item : items) {
    const int w = 16 + 6 * static_cast<int>(std::min<std::size_t>(item.first.size(), 40)) + 14;
    if (x > 10 && x + w > width) {
      x = 10;
      ++row;
    }
    slots.push_back({x, row});
    x += w;
  }
  return slots;
}

int LegendRows(const std::vector<std::pair<std::string, std::size_t>>& items, int width) {
  const auto slots = LegendLayout(items, width);
  return slots.empty() ? 0 : slots.back().row + 1;
}

std::string LegendBody(const std::vector<std::pair<std::string, std::size_t>>& items, int width, int top) {
  const auto slots = LegendLayout(items, width);
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const double x = slots[i].x, y = top + slots[i].row * kLegendRow + 10;
    s += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y - 8) + "\" width=\"12\" height=\"8\" fill=\"" +
         Color(items[i].second) + "\"/>";
    std::string name = items[i].first;
    if (name.size() > 40) name = name.substr(0, 39) + "…";
    s += "<text x=\"" + Num(x + 16) + "\" y=\"" + Num(y) + "\">" + Escape(name) + "</text>";
  }
  return s;
}

std::string Open(const Chart& c, int total_height) {
  std::string s = "<svg class=\"chart\" width=\"" + Int(c.width) +
                  "\" height=\"" + Int(total_height) + "\" viewBox=\"0 0 " + Int(c.width) + " " +
                  Int(total_height) + "\" role=\"img\" aria-label=\"" + Escape(c.title) +
                  "\" font-family=\"sans-serif\" font-size=\"10\">";
  s += "<title>" + Escape(c.title) + "</title>";
  s += "<text x=\"" + Int(c.width / 2) + "\" y=\"14\" text-anchor=\"middle\" font-size=\"11\" "
       "font-weight=\"bold\">" + Escape(c.title) + "</text>";
  return s;
}

std::string Axes(const Frame& f) {
  const Chart& c = f.c;
  std::string s = "<rect x=\"" + Num(f.x0) + "\" y=\"" + Num(f.y0) + "\" width=\"" + Num(f.w) + "\" height=\"" +
                  Num(f.h) + "\" fill=\"none\" stroke=\"#999\"/>";
  const auto xt = c.x.ticks.empty() ? NiceTicks(c.x.lo, c.x.hi) : c.x.ticks;
  const auto yt = c.y.ticks.empty() ? NiceTicks(c.y.lo, c.y.hi) : c.y.ticks;
  for (double t : xt) {
    if (t < c.x.lo || t > c.x.hi) continue;
    const std::string x = Num(f.X(t));
    s += "<line x1=\"" + x + "\" y1=\"" + Num(f.y0) + "\" x2=\"" + x + "\" y2=\"" + Num(f.y0 + f.h) +
         "\" stroke=\"#e4e4e4\"/>";
    s += "<text x=\"" + x + "\" y=\"" + Num(f.y0 + f.h + 12) + "\" text-anchor=\"middle\">" + TickLabel(t) + "</text>";
  }
  for (double t : yt) {
    if (t < c.y.lo || t > c.y.hi) continue;
    const std::string y = Num(f.Y(t));
    s += "<line x1=\"" + Num(f.x0) + "\" y1=\"" + y + "\" x2=\"" + Num(f.x0 + f.w) + "\" y2=\"" + y +
         "\" stroke=\"#e4e4e4\"/>";
    s += "<text x=\"" + Num(f.x0 - 4) + "\" y=\"" + Num(f.Y(t) + 3) + "\" text-anchor=\"end\">" + TickLabel(t) +
         "</text>";
  }
  s += "<text x=\"" + Num(f.x0 + f.w / 2) + "\" y=\"" + Num(f.y0 + f.h + 28) + "\" text-anchor=\"middle\">" +
       Escape(c.x.label) + "</text>";
  s += "<text transform=\"translate(12 " + Num(f.y0 + f.h / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       Escape(c.y.label) + "</text>";
  return s;
}

}  // namespace

std::string Escape(const std::string& text) {
  std::string s;
  s.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': s += "&amp;"; break;
      case '<': s += "&lt;"; break;
      case '>': s += "&gt;"; break;
      case '"': s += "&quot;"; break;
      case '\'': s += "&#39;"; break;
      default: s += ch;
    }
  }
  return s;
}

const char* Color(std::size_t i) {
  static const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
                                         "#F0E442"};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo) || target < 1) return {lo};
  const double raw = (hi - lo) / target;
  double mag = 1.0;
  while (mag * 10.0 <= raw) mag *= 10.0;
  while (mag > raw) mag /= 10.0;
  const double step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
  // The first multiple of step at or above lo, found by counting (no floor()).
  double k = 0;
  if (lo >= 0) {
    while ((k + 1) * step <= lo + step * 1e-9) k += 1;
    if (k * step < lo - step * 1e-9) k += 1;
  } else {
    while (k * step > lo + step * 1e-9) k -= 1;
    if (k * step < lo - step * 1e-9) k += 1;
  }
  std::vector<double> ticks;
  for (int i = 0; i < 100; ++i) {
    double v = (k + i) * step;
    if (v > hi + step * 1e-9) break;
    if (v < step * 1e-9 && v > -step * 1e-9) v = 0;
    ticks.push_back(v);
  }
  return ticks;
}

double NiceCeil(double v) {
  if (!(v > 0)) return 1.0;
  double mag = 1.0;
  while (mag < v) mag *= 10.0;
  while (mag / 10.0 >= v) mag /= 10.0;
  // Now mag / 10 < v <= mag.
  for (double m : {0.1, 0.2, 0.25, 0.5, 1.0})
    if (m * mag >= v) return m * mag;
  return mag;
}

std::string LineChart(const Chart& c, const std::vector<Series>& series) {
  std::vector<std::pair<std::string, std::size_t>> items;
  for (const auto& s : series)
    if (!s.name.empty()) items.emplace_back(s.name, s.color);
  const int rows = c.legend ? LegendRows(items, c.width) : 0;
  const Frame f(c);
  std::string out = Open(c, c.height + rows * kLegendRow) + Axes(f);
  for (const auto& s : series) {
    const char* color = Color(s.color);
    if (s.line && s.points.size() > 1) {
      out += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"1.6\"";
      if (s.dashed) out += " stroke-dasharray=\"4 3\"";
      out += " points=\"";
      for (std::size_t i = 0; i < s.points.size(); ++i)
        (((out += i ? " " : "") += Num(f.X(s.points[i].first))) += ',') += Num(f.Y(s.points[i].second));
      out += "\"/>";
    }
    if (s.markers) {
      out += "<g fill=\"" + std::string(color) + "\"";
      if (s.opacity < 1.0) out += " fill-opacity=\"" + Num(s.opacity) + "\"";
      out += ">";
      for (const auto& [x, y] : s.points)
        out += "<circle cx=\"" + Num(f.X(x)) + "\" cy=\"" + Num(f.Y(y)) + "\" r=\"" + Num(s.radius) + "\"/>";
      out += "</g>";
    }
  }
  if (rows) out += LegendBody(items, c.width, c.height);
  return out + "</svg>";
}

std::string BarChart(const Chart& c, const std::vector<Bars>& bars) {
  std::vector<std::pair<std::string, std::size_t>> items;
  std::size_t bins = 0;
  for (const auto& b : bars) {
    if (!b.name.empty()) items.emplace_back(b.name, b.color);
    bins = std::max(bins, b.values.size());
  }
  const int rows = c.legend ? LegendRows(items, c.width) : 0;
  const Frame f(c);
  std::string out = Open(c, c.height + rows * kLegendRow) + Axes(f);
  if (bins && !bars.empty()) {
    const double bin_w = f.w / static_cast<double>(bins);
    const double bar_w = bin_w * 0.8 / static_cast<double>(bars.size());
    for (std::size_t k = 0; k < bars.size(); ++k) {
      out += "<g fill=\"" + std::string(Color(bars[k].color)) + "\">";
      for (std::size_t i = 0; i < bars[k].values.size(); ++i) {
        const double v = std::clamp(bars[k].values[i], c.y.lo, c.y.hi);
        if (v <= c.y.lo) continue;
        const double x = f.x0 + bin_w * static_cast<double>(i) + bin_w * 0.1 + bar_w * static_cast<double>(k);
        out += "<rect x=\"" + Num(x) + "\" y=\"" + Num(f.Y(v)) + "\" width=\"" + Num(bar_w) + "\" height=\"" +
               Num(f.Y(c.y.lo) - f.Y(v)) + "\"/>";
      }
      out += "</g>";
    }
  }
  if (rows) out += LegendBody(items, c.width, c.height);
  return out + "</svg>";
}

std::string Legend(const std::vector<std::pair<std::string, std::size_t>>& items, int width) {
  const int height = LegendRows(items, width) * kLegendRow + 4;
  return "<svg class=\"legend\" width=\"" + Int(width) +
         "\" height=\"" + Int(height) + "\" font-family=\"sans-serif\" font-size=\"10\">" +
         LegendBody(items, width, 0) + "</svg>";
}

}  // namespace qualm::study::svg

// The report files of a synthetic study folder: the HTML is well-formed
// (balanced tags), self-contained (no script, no network resource), has every
// section and its charts; the Markdown, CSV and JSON hold the same numbers;
// the same folder gives the same bytes. And the SVG chart helper's pieces.
#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "analysis_synthetic.h"
#include "tiny_study.h"
#include "qualm/study/analysis.h"
#include "qualm/study/svg_chart.h"

namespace qualm::study {
namespace {
namespace fs = std::filesystem;

using testing::Slurp;

std::size_t Occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// Every non-void element closed in order; returns "" or what went wrong.
std::string CheckBalanced(const std::string& html) {
  static const std::vector<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link", "rect", "circle",
                                                 "line", "polyline", "path"};
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = html.find('<', i)) != std::string::npos) {
    const std::size_t end = html.find('>', i);
    if (end == std::string::npos) return std::string("unterminated tag at ") += std::to_string(i);
    std::string tag = html.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty() || tag[0] == '!') continue;  // doctype
    const bool closing = tag[0] == '/';
    const bool self_closing = tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" /"));
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> closes <" + (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      stack.pop_back();
    } else if (!self_closing && std::find(kVoid.begin(), kVoid.end(), name) == kVoid.end()) {
      stack.push_back(name);
    }
  }
  return stack.empty() ? "" : "<" + stack.back() + "> never closed";
}

struct Folder {
  fs::path path;
  Folder() : path(fs::temp_directory_path() / ("qualm-report-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    testing::WriteSynthFolder(path, testing::MakeSynthRecords());
  }
  ~Folder() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("report: the HTML is balanced, self-contained, and has every section and chart") {
  Folder f;
  auto written = WriteStudyAnalysis(f.path.string());
  REQUIRE_MESSAGE(written.ok(), written.status().ToString());
  const std::string html = Slurp(f.path / "report.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(CheckBalanced(html) == "");
  for (const char* heading : {"<h2>Findings</h2>", "<h2>Configuration</h2>", "<h2>RQ1: disagreements under shift</h2>",
                              "<h2>RQ2: training strategies</h2>", "<h2>RQ3: which inputs disagree</h2>",
                              "<h2>RQ4: retraining</h2>", "<h3>lenet1@fashion-mnist</h3>",
                              "<h2>Backend disagreement matrix</h2>", "<h2>Flip attribution</h2>",
                              "<h2>Disagreement guard</h2>"})
    CHECK_MESSAGE(html.find(heading) != std::string::npos, heading);
  // Charts: 2 shift types (RQ1) + 2 variants (RQ2) + histogram, ROC, scatter (RQ3) + the guard's.
  CHECK(Occurrences(html, "<svg class=\"chart\"") == 8);
  CHECK(Occurrences(html, "<svg class=\"legend\"") == 2);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http") == std::string::npos);
  CHECK(html.find("<details>") != std::string::npos);
  CHECK(html.find("not measured") != std::string::npos);
  CHECK(html.find("synthetic (test)") != std::string::npos);  // the kernel path recorded by the cells
  CHECK(html.find("test/study-cache-0") != std::string::npos);

  // Same folder, same bytes.
  auto again = AnalyzeStudy(f.path.string());
  REQUIRE(again.ok());
  CHECK(AnalysisHtml(*again) == html);
  CHECK(AnalysisMarkdown(*again) == Slurp(f.path / "report.md"));
  CHECK(AnalysisJson(*again) == Slurp(f.path / "analysis.json"));
}

TEST_CASE("report: Markdown, CSV and JSON hold the analysis' numbers") {
  Folder f;
  auto a = WriteStudyAnalysis(f.path.string());
  REQUIRE(a.ok());
  const std::string md = Slurp(f.path / "report.md");
  CHECK(md.find("## Findings") != std::string::npos);
  CHECK(md.find("| confirmed |") != std::string::npos);
  const RowAnalysis* row = nullptr;
  for (const auto& r : a->rows)
    if (r.strategy == "standard" && r.variant == "int8") row = &r;
  REQUIRE(row != nullptr);
  const auto& rate = (*row->Find("fashion-mnist:test"))[Measure::kDisagreementRate].stat;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%.2f [%.2f, %.2f]", rate.mean, rate.lo, rate.hi);
  CHECK_MESSAGE(md.find(buf) != std::string::npos, buf);

  const auto json = nlohmann::json::parse(Slurp(f.path / "analysis.json"));
  CHECK(json["findings"].size() == 4);
  CHECK(json["rq1_rq2"]["rows"].size() == a->rows.size());
  CHECK(json["rq3"]["cases"].size() == a->rq3.size());
  CHECK(json["provenance"]["kernel_paths"]["int8"][0] == "synthetic (test)");

  const std::string sets = Slurp(f.path / "tables" / "rq1_rq2_sets.csv");
  std::size_t rows = 0;
  for (const auto& r : a->rows) rows += r.sets.size();
  CHECK(Occurrences(sets, "\n") == rows + 1);
  const std::string cases = Slurp(f.path / "tables" / "rq3_cases.csv");
  CHECK(Occurrences(cases, "\n") == a->rq3.size() + 1);
  for (const char* t : {"rq2_strategy_vs_standard.csv", "rq3_metrics.csv", "findings.csv"})
    CHECK_MESSAGE(fs::file_size(f.path / "tables" / t) > 40, t);
}

TEST_CASE("report: SVG chart helper") {
  CHECK(svg::NiceTicks(0, 1) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(svg::NiceTicks(0, 5, 5) == std::vector<double>{0, 1, 2, 3, 4, 5});
  CHECK(svg::NiceTicks(0, 37) == std::vector<double>{0, 10, 20, 30});
  CHECK(svg::NiceTicks(-1, 1, 4) == std::vector<double>{-1, -0.5, 0, 0.5, 1});
  CHECK(svg::NiceCeil(0.37) == 0.5);
  CHECK(svg::NiceCeil(3.2) == 5);
  CHECK(svg::NiceCeil(2.1) == 2.5);
  CHECK(svg::NiceCeil(10) == 10);
  CHECK(svg::NiceCeil(0) == 1);
  CHECK(svg::Escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;");

  svg::Chart c;
  c.width = 162;  // plot area 100 x 100 after the margins (50 + 12, 24 + 38)
  c.height = 162;
  c.title = "t<1>";
  c.x.hi = 10;
  c.y.hi = 10;
  svg::Series s;
  s.name = "line";
  s.points = {{0, 0}, {10, 10}};
  const std::string out = svg::LineChart(c, {s});
  CHECK(out.find("points=\"50.0,124.0 150.0,24.0\"") != std::string::npos);
  CHECK(out.find("<title>t&lt;1&gt;</title>") != std::string::npos);
  CHECK(out.find("<circle cx=\"150.0\" cy=\"24.0\"") != std::string::npos);
  CHECK(out.find(">line</text>") != std::string::npos);  // the legend
  svg::Bars b{"bars", {0.0, 5.0}, 0};
  const std::string bars = svg::BarChart(c, {b});
  // Two bins of 50 px; the first is empty (no rect), the second 10 % in and half the height.
  CHECK(Occurrences(bars, "<rect x=\"105.0\" y=\"74.0\" width=\"40.0\" height=\"50.0\"/>") == 1);
}

}  // namespace qualm::study

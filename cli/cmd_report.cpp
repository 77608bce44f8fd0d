// qualm report DIR: the study's analyses (RQ1-RQ3, the findings) and the report
// people read, regenerated from a study folder's per-input records: analysis.json,
// report.md, tables/*.csv and report.html (self-contained, inline SVG charts).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "qualm/study/analysis.h"
#include "qualm/study/study_report.h"

namespace qualm::cli {
namespace {

struct ReportArgs {
  std::string dir;
  bool keep_records = false;
  std::size_t resamples = 2000;
};

int RunReport(const ReportArgs& a) {
  const char* cmd = "report";
  // records.json is rebuilt from the cells first (when the folder is a study
  // run's), so the report never lags behind cells finished since.
  std::error_code ec;
  if (!a.keep_records && std::filesystem::exists(a.dir + "/study.json", ec)) {
    if (Status st = study::WriteStudyReport(a.dir); !st.ok()) return Fail(cmd, st);
  }
  study::AnalysisOptions o;
  o.bootstrap.resamples = a.resamples;
  auto analysis = study::WriteStudyAnalysis(a.dir, o);
  if (!analysis.ok()) return Fail(cmd, analysis.status());
  for (const auto& f : analysis->findings) std::printf("finding %-10s %s\n", f.id.c_str(), f.verdict.c_str());
  std::printf("Report: %s/report.html (also report.md, analysis.json, tables/*.csv)\n", a.dir.c_str());
  return 0;
}

}  // namespace

Runner RegisterReport(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  app.add_option("dir", a->dir, "Study folder (made by `qualm study`)")->required()->check(CLI::ExistingDirectory);
  app.add_flag("--keep-records", a->keep_records, "Analyse records.json as it is (do not rebuild it from the cells)");
  app.add_option("--resamples", a->resamples, "Bootstrap resamples per interval")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  return [a] { return RunReport(*a); };
}

}  // namespace qualm::cli

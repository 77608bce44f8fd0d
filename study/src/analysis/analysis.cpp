// AnalyzeStudy: the steps of the analyses in order; WriteStudyAnalysis: every
// output file, each written atomically.
#include "qualm/study/analysis.h"

#include <filesystem>

#include "analysis_internal.h"
#include "analysis_rq4.h"
#include "qualm/frontends/atomic_file.h"

namespace qualm::study {

Result<StudyAnalysis> AnalyzeStudy(const std::string& dir, const AnalysisOptions& options) {
  StudyAnalysis a;
  a.options = options;
  std::vector<internal::RecordMeta> records;
  QUALM_RETURN_IF_ERROR(internal::ReadStudyIndex(dir, &records, &a.provenance));
  QUALM_RETURN_IF_ERROR(internal::CountAndRankRecords(dir, options, &records, &a.rq3, &a.plots));
  QUALM_ASSIGN_OR_RETURN(a.rows, internal::BuildRows(records, options));
  QUALM_RETURN_IF_ERROR(internal::CompareStrategies(a.rows, options, &a.comparisons, &a.rankings));
  QUALM_ASSIGN_OR_RETURN(a.rq3_summary, internal::SummarizeRq3(a.rq3, options));
  QUALM_ASSIGN_OR_RETURN(a.rq4, internal::AnalyzeRetraining(dir, options));
  QUALM_ASSIGN_OR_RETURN(a.guard, internal::AnalyzeGuard(dir, records, options));
  QUALM_ASSIGN_OR_RETURN(a.probes, internal::AnalyzeProbes(dir));
  QUALM_ASSIGN_OR_RETURN(a.findings, internal::AssessFindings(a));
  internal::AddGuardEvidence(&a);
  return a;
}

Result<StudyAnalysis> WriteStudyAnalysis(const std::string& dir, const AnalysisOptions& options) {
  auto analysis = AnalyzeStudy(dir, options);
  if (!analysis.ok()) return analysis.status().WithContext("report " + dir);
  std::error_code ec;
  std::filesystem::create_directories(dir + "/tables", ec);
  if (ec) return IoError(dir + "/tables: cannot create: " + ec.message());
  for (const auto& [name, text] : AnalysisCsvTables(*analysis))
    QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/tables/" + name, text));
  QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/analysis.json", AnalysisJson(*analysis)));
  QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/report.md", AnalysisMarkdown(*analysis)));
  QUALM_RETURN_IF_ERROR(frontends::WriteFileAtomically(dir + "/report.html", AnalysisHtml(*analysis)));
  return analysis;
}

}  // namespace qualm::study

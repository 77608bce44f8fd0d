// qualm/study/study_report.h: what a study folder says, computed only from its
// cells (study_run.h), so a report, a merge of shards and a status check never
// run a model.
//
//   records.json  the index of the per-input records: one entry per (task,
//                 strategy, seed, variant, evaluation set) with its counts and
//                 the .npy files that hold the float top-1, the float softmax,
//                 the labels and the variant's top-1 (paths relative to the folder)
//   results.json  the same counts aggregated over seeds (mean, and min/max)
//   results.md    tables for people: float models; per (task, strategy,
//                 variant) the clean disagreements against the mean over
//                 shifted sets; the mean disagreement rate per severity
//   probes.json   the index of the finished probe cells (probe_cells.h)
// Everything is derived from the records (disagreement = float top-1 !=
// variant top-1), formatted deterministically, and free of timings and
// absolute paths: a merged sharded study gives byte-identical files.
#pragma once

#include <string>
#include <vector>

#include "qualm/study/study_cells.h"

namespace qualm::study {

Status WriteStudyJson(const std::string& out_dir, const StudySpec& spec, const StudyRuntime& runtime, int shard_index,
                      int shard_count);
struct StudyFolder {
  StudySpec spec;
  StudyRuntime runtime;
  int shard_index = 1, shard_count = 1;
};
Result<StudyFolder> ReadStudyJson(const std::string& out_dir);

// Rebuilds records.json, results.json and results.md from the cells.
Status WriteStudyReport(const std::string& out_dir);

struct StudyStatus {
  StudyFolder folder;
  std::size_t total = 0, done = 0;
  std::size_t kind_total[kCellKinds] = {}, kind_done[kCellKinds] = {};
  bool running = false;   // progress.json names a live process
  std::string current;    // its current cell
  double elapsed = 0, eta = -1;
  std::string Describe() const;
};
Result<StudyStatus> ReadStudyStatus(const std::string& out_dir);

// Combines shard folders (same spec and runtime, shards of one split) into
// `out_dir`, then writes the report; every cell of the grid must be present.
Status MergeStudies(const std::string& out_dir, const std::vector<std::string>& shard_dirs,
                    const std::function<void(const std::string&)>& message = {});

}  // namespace qualm::study

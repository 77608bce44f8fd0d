// qualm/study/study_run.h: running a study grid (study_cells.h) into a folder.
//
// Layout of <out>:
//   study.json       the resolved spec, runtime and shard of the last run (what was asked)
//   cells/<id>/      one folder per cell (study_cells.h), complete once cell.json exists
//   progress.json    the running process and its current cell (for `qualm study status`)
//   records.json, results.json, results.md: the report (study_report.h), rebuilt from
//                    the cells at the end of every run, by `merge` and by `report`
// Order: every train cell (a qat cell after the standard cell it fine-tunes),
// then every variant cell, then the evaluations grouped by evaluation set, so
// each (shifted) set is generated once per run. A finished cell is never
// recomputed; a training cell interrupted mid-way resumes from its last epoch
// checkpoint. Changing the spec and rerunning into the same folder reuses every
// cell whose key is unchanged.
//
// Reuse of committed models: a standard train cell on the full training split
// whose training configuration equals that of a model file in one of
// `reuse_model_dirs` (same architecture, data and configuration, compared after
// parsing so older files without newer keys match) copies that file instead of
// training. The copy is recorded in the cell (reused_from).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qualm/frontends/data_spec.h"
#include "qualm/study/study_cells.h"
#include "qualm/study/train_run.h"

namespace qualm::study {

struct StudyRunOptions {
  std::string out_dir;
  StudyRuntime runtime;
  int shard_index = 1, shard_count = 1;  // 1/1: the whole grid
  frontends::DataSpecOptions data_options;
  std::vector<std::string> reuse_model_dirs;
};

struct StudyProgress {
  const Cell* cell = nullptr;
  std::size_t done = 0, total = 0;  // cells of this run (shard), cached ones counted as done
  double elapsed = 0;               // seconds since the run started
  double eta = -1;                  // seconds; -1 while unknown
};

struct StudyCallbacks {
  std::function<void(const std::string&)> message;
  std::function<void(const StudyProgress&)> cell_started;  // before each cell that is computed
  TrainRunCallbacks train;                                 // inside train cells
};

struct StudyRunResult {
  std::size_t cells = 0, computed = 0, cached = 0, reused_models = 0;
  double seconds = 0;
};

Result<StudyRunResult> RunStudy(const StudySpec& spec, const StudyRunOptions& options,
                                const StudyCallbacks& callbacks = {});

// The folders of committed float models in the checkout this library was
// built from (study/results/models-*), the default for reuse_model_dirs.
std::vector<std::string> CommittedModelDirs();

// Where a cell's files live, and whether it is finished.
std::string CellDir(const std::string& out_dir, const std::string& id);
bool CellDone(const std::string& out_dir, const std::string& id);

}  // namespace qualm::study

// qualm/study/retrain_cells.h: RQ4, retraining on disagreements, as cells of
// the study grid (study_cells.h).
//
// Per standard-grid model (a train cell of a strategy in retrain.strategies),
// per scheme in retrain.variants and per protocol, one `retrain` cell:
//   1. finds the disagreements of the model and its variant (the grid's variant
//      cell of that scheme) on the protocol's sets:
//        ours     <family>:validation and each of the task's shifts applied to it
//                 at retrain.severity (the spec's highest by default): inputs the
//                 test set never sees
//        paper    <family>:test, the same subset the grid evaluates: Hu et al.'s
//                 protocol, which then measures on the very inputs it trained on
//        control  nothing: the same fine-tuning without added inputs, to tell
//                 the effect of the added inputs from that of training on
//      (every set with the study's eval_limit subset and shift seed);
//   2. appends those inputs with their true labels, retrain.repeat times, to
//      the task's training split (train_limit as the train cell);
//   3. fine-tunes the float model from its weights for retrain.epochs with the
//      train cell's own configuration (recipe, strategy, seed, threads,
//      backend; no early stopping), and writes model.qm.
// The retrained model then gets a `variant` cell of the same scheme (same
// calibration: the first calibration_samples of the training split, as the
// grid's variant cell) and `eval` cells of the retrained float and quantized
// model on the clean test set: the untouched set RQ4 recounts on.
// Keys: {"stage": "retrain", version, model (train cell), variant (variant
// cell), protocol, epochs, repeat, found_on (the sets), limit, shift_seed,
// train_limit, config}; the derived cells use the grid's variant and eval keys
// with the retrained models' ids, so no existing cell's key changes.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qualm/frontends/data_spec.h"
#include "qualm/study/study_cells.h"
#include "qualm/study/train_run.h"

namespace qualm::study {

std::vector<std::string> RetrainProtocols();  // ours, paper, control

// The "retrain" object of a study file, its checks against the rest of the
// spec, and its canonical JSON (every field written).
Status ParseRetrainSpec(const nlohmann::json& j, RetrainSpec* out);
Status ValidateRetrainSpec(const StudySpec& spec);
nlohmann::json RetrainSpecJson(const RetrainSpec& r);

// The sets a protocol finds disagreements on, for one task.
std::vector<std::string> RetrainFindSets(const StudySpec& spec, const StudyTask& task, const std::string& protocol);

// Appends the RQ4 cells of one train cell: retrain cells and the variant cells
// of the retrained models to `retrain`, their evaluations to `evals`.
// `variant_ids` maps each scheme of the grid to the train cell's variant cell.
void AppendRetrainCells(const StudySpec& spec, const StudyRuntime& runtime, const Cell& train,
                        const std::vector<std::pair<std::string, std::string>>& variant_ids, std::vector<Cell>* retrain,
                        std::vector<Cell>* evals);

// Computes a retrain cell into <out>/cells/<id>/model.qm; returns the fields of
// its cell.json (what was found where, how much was added, the training run).
struct RetrainContext {
  std::string out_dir;
  const StudySpec* spec = nullptr;
  const StudyGrid* grid = nullptr;
  StudyRuntime runtime;
  frontends::DataSpecOptions data_options;
  TrainRunCallbacks callbacks;
  // Optional, not owned: the found-on sets kept across retrain cells. An image
  // set does not depend on the model (a text set on its vocabulary and length,
  // part of the key), so the shifted validation sets are built once per study
  // run instead of once per (seed, variant): about 0.7 s each, 25 of them per
  // image task at the default preset's size.
  std::map<std::string, Dataset>* set_cache = nullptr;
  // Optional, not owned: the training splits as loaded, per (data, train_limit);
  // each retrain cell appends to its own copy.
  std::map<std::string, frontends::TrainingData>* train_cache = nullptr;
};
Result<nlohmann::json> RunRetrainCell(const Cell& cell, const RetrainContext& context);

// records.json's "retrain" list: one entry per finished (task, strategy, seed,
// variant, protocol) with the retrained models' test-set records (same fields
// and .npy files as a grid record) and the before records' files.
Result<nlohmann::json> RetrainRecords(const std::string& out_dir, const StudySpec& spec, const StudyGrid& grid);

}  // namespace qualm::study

// qualm/study/study_cells.h: a study spec expanded into cells, each cached
// under a hash of everything its result depends on.
//
// Four kinds of cell, each a folder <out>/cells/<id>/ that is complete once
// its cell.json exists (written last, atomically):
//   train    one trained model (task, strategy, seed): model.qm, the float
//            model; for strategy qat also qat-int8.qm, its int8 conversion
//   variant  one quantized model of a train cell (scheme): model.qm
//   eval     one model (the float model of a train cell, or a variant) on one
//            evaluation set: top1.npy (int32, n); for the float model also
//            softmax.npy (float32, n x classes) and labels.npy (int32, n)
//   retrain  RQ4: a train cell's model fine-tuned on the disagreements of one
//            of its variants (retrain_cells.h): model.qm; its re-quantized
//            variant and test-set evaluations are ordinary variant / eval cells
//   probe    the backend matrix and flip attribution of a standard model's
//            int8 variant on one evaluation set: probe.json (probe_cells.h);
//            only when the spec's "probes" asks, so other cells' keys never change
// A cell's id is the first 16 hex digits of FNV-1a 64 over its key, the
// canonical JSON of its configuration: code version (qualm's version and
// kStudyCacheVersion, bumped whenever a change alters results), the full
// training configuration, the parent cell's id, the data set, limits and
// seeds. So a rerun skips finished cells, an interrupted run resumes, and
// changing one axis recomputes only the cells that depend on it. Thread count
// and backend are part of the training key (the fast float path gives the same
// bits for every ISA and thread count since cache version 2, but the reference
// backend's bits differ from the fast one's); evaluation keys hold the backend.
// Version 2: the fast float GEMM became qualm's own fixed-order FMA kernel
// (Eigen's blocking gave other bits), so every trained model changed.
// Version 3: the float LSTM / GRU cells use qualm's own DetSigmoid / DetTanh
// (kernels detail/det_math.h) instead of libm's exp / tanh, so every float
// recurrent (text) model and its results changed.
//
// Shards: cells are grouped by (task, seed): a qat model needs the standard
// model of its task and seed, and every variant and evaluation belongs to its
// model's group. Shard i of n (1-based) runs the groups whose index g
// (tasks-major order) has g % n == i - 1: a deterministic slice that any shard
// computes the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/inference.h"
#include "qualm/engine/train.h"
#include "qualm/study/study_spec.h"

namespace qualm::study {

inline constexpr int kStudyCacheVersion = 3;

// kRetrain (RQ4, retrain_cells.h) and kProbe (probe_cells.h) come last so the other kinds keep their numbers.
enum class CellKind { kTrain, kVariant, kEval, kRetrain, kProbe };
inline constexpr int kCellKinds = 5;
const char* CellKindName(CellKind k);

struct Cell {
  CellKind kind = CellKind::kTrain;
  std::string id;      // 16 hex digits
  std::string key;     // canonical JSON the id hashes
  std::string label;   // for people: "lenet1@fashion-mnist standard seed 1 int8 on fashion-mnist:test~fog@3"
  int group = 0;       // (task, seed) index
  int task = 0;        // index into spec.tasks
  std::string strategy;
  std::uint64_t seed = 0;
  std::string parent;  // train (qat): the standard cell; variant: its train cell; eval: the model's cell
  std::string variant; // variant and eval cells: the scheme; "float" for the float model's evaluations
  std::string data;    // eval cells: the evaluation set's name (shifted_data.h)
  TrainConfig config;  // train cells: the resolved training configuration
  // RQ4: a retrain cell, and the variant and eval cells of its retrained model,
  // carry the protocol ("ours", "paper", "control"); empty for every other cell.
  std::string protocol;
};

struct StudyRuntime {
  int threads = 1;
  Backend backend = Backend::kFast;
};

struct StudyGrid {
  // train cells (parents first), then variant cells, then retrain cells and the
  // variant cells of retrained models (RQ4), then eval cells, then probes
  std::vector<Cell> cells;
  int groups = 0;
  std::size_t Count(CellKind k) const;
  const Cell* Find(const std::string& id) const;
};

// The evaluation sets of a task: the clean test set, the natural shifts (text)
// and every shift at every severity, in report order.
std::vector<std::string> TaskEvalSets(const StudySpec& spec, const StudyTask& task);

Result<StudyGrid> ExpandStudy(const StudySpec& spec, const StudyRuntime& runtime);
// Shard i of n (1-based); n == 1 keeps everything.
StudyGrid ShardGrid(const StudyGrid& grid, int index, int count);

std::string Fnv1a64Hex(const std::string& bytes);
// The code version every cell key holds: qualm's version and kStudyCacheVersion.
std::string StudyCellVersion();

}  // namespace qualm::study

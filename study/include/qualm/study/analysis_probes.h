// qualm/study/analysis_probes.h: the report's analyses of the probe cells
// (probe_cells.h: the backend matrix, the int8 ties, flip attribution) and of
// the disagreement guard (disagreement_guard.h), part of StudyAnalysis (analysis.h).
//
//   guard        per (task, strategy, variant, recall target) and seed: the margin
//                threshold fitted on the <family>:validation records by
//                MarginThresholdForRecall over the float margins (p1 - p2 of the
//                float softmax) of the validation disagreements, the rule
//                disagreement_guard.h stores as guard.float_margin_threshold, then
//                EvaluateGuard on the test set and every shift (recall of the true
//                disagreements, fraction flagged). "All shifts" pools one seed's
//                shifted sets (flagged disagreements over disagreements, flagged
//                inputs over inputs). Across seeds: mean and bootstrap interval;
//                a seed whose set has no disagreement has no recall there.
//                From the records alone: no model runs.
//   matrix       per task and scope (clean test set, natural shifts, synthetic
//                shifts at the probed severities): the pairwise disagreement
//                counts, summed over the scope's sets per seed, then the mean over
//                seeds; the int8 variant's disagreements and how many are exact
//                ties of its two top logits.
//   attribution  per task and scope: how often each layer is the first culprit
//                (summed over seeds and sets; with the ties among them) and the
//                mixed-precision checks pooled by the set of layers kept in float.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qualm/study/stats.h"

namespace qualm::study {

struct GuardSetResult {
  std::string set;               // an evaluation set, or "all shifts" / "natural shifts" (pooled per seed)
  bool aggregate = false;
  bool validation = false;       // the set the threshold was fitted on
  int severity = 0;
  std::size_t inputs = 0;        // per seed
  std::size_t disagreements = 0; // summed over seeds
  std::vector<std::uint64_t> recall_seeds;  // seeds with at least one disagreement on the set
  std::vector<double> recall_pct, flagged_pct;  // per seed (flagged: every fitted seed)
  std::optional<MeanInterval> recall, flagged;  // over seeds, percent
};

struct GuardRow {
  std::string task, strategy, variant;
  double target = 0.0;                  // requested recall on validation, in (0, 1]
  std::vector<std::uint64_t> seeds;     // seeds with a fitted threshold
  std::vector<double> thresholds;       // per seed
  std::optional<MeanInterval> threshold;
  std::vector<GuardSetResult> sets;     // validation, test, natural, shifted (report order), then the pooled ones
  std::string note;                     // seeds without a threshold, and why
  const GuardSetResult* Find(const std::string& set) const;
};

struct MatrixSummary {
  std::string task, scope;              // scope: "clean test set", "natural shifts", "synthetic shifts (severity 5)"
  std::vector<std::uint64_t> seeds;
  std::size_t sets = 0;                 // per seed
  std::size_t inputs = 0;               // per seed, summed over the sets
  std::vector<std::string> labels;      // the rows (backend_matrix.h)
  std::vector<double> accuracy_pct;     // mean over seeds and sets
  std::vector<std::vector<double>> counts;  // mean over seeds of the per-seed sums
  std::vector<std::string> unavailable; // "label: reason"
  std::size_t int8_disagreements = 0, int8_ties = 0;  // the variant, summed over seeds and sets
};

struct CulpritSummary {
  int node = 0;
  std::string name, op;
  std::size_t first = 0, first_ties = 0, stable = 0;  // summed over seeds and sets
};
struct MixedSummary {
  std::string names;                    // the layers kept in float, "+"-joined
  std::size_t probes = 0;               // (seed, set) pairs where this check ran
  std::size_t culprit_flips = 0, culprit_flips_removed = 0;
  std::size_t flips = 0, flips_removed = 0;  // all flips of those probes
  std::size_t disagreements_after = 0, new_disagreements = 0;
  double accuracy_change_pp = 0.0;      // mean over the probes, mixed - int8
};
struct AttributionSummary {
  std::string task, scope;
  std::vector<std::uint64_t> seeds;
  std::size_t sets = 0, inputs = 0;     // per seed
  std::size_t flips = 0, ties = 0, culprit_lowering = 0, sweep_mismatches = 0;
  std::vector<CulpritSummary> layers;   // node order, every node
  std::vector<MixedSummary> mixed;      // most probes first
};

// One probe cell's numbers, for the CSV tables.
struct ProbeRecord {
  std::string task, set, scope;
  std::uint64_t seed = 0;
  std::size_t inputs = 0, int8_disagreements = 0, int8_ties = 0, flips = 0;
  std::vector<std::string> labels;
  std::vector<std::vector<std::size_t>> counts;
  std::vector<CulpritSummary> layers;
  std::vector<MixedSummary> mixed;      // each with probes = 1
};

struct ProbeAnalysis {
  bool present = false;                 // probes.json exists and asks for probes
  bool matrix = false, attribution = false;
  std::string spec;                     // the probes section (JSON)
  std::size_t missing = 0;              // probe cells not finished
  std::vector<MatrixSummary> matrices;
  std::vector<AttributionSummary> attributions;
  std::vector<ProbeRecord> records;
};

}  // namespace qualm::study

// qualm/study/probe_cells.h: the study's probe cells, model runs beyond the
// evaluations that the backend matrix and flip attribution need.
//
// A probe cell (CellKind::kProbe) belongs to one int8 variant cell of a
// standard-trained model and one evaluation set in the probes' scope (the
// clean test set, the natural text shifts, the synthetic shifts at
// StudyProbes::severities). It runs, on that set:
//   matrix       BuildBackendMatrix (backend_matrix.h) on the float model with
//                the spec's calibration (so its int8/gemmlowp/<runtime backend>
//                row is the variant cell's model, bit for bit). Every set: the
//                float and the three requantization modes on the runtime's
//                backend. The clean test set with reference_rows also: the
//                reference kernels (float and the three modes) and, when the
//                study trains qat, the QAT rows (its float weights, its QAT
//                forward pass, its int8 conversion); those rows run on the
//                frozen reference kernels and cost most of a matrix, and the
//                stand-alone measurement found reference and fast never differ
//                (study/results/2026-12-03-backend-matrix.md), so once per model
//                is the check, not a number to repeat on every shift.
//   ties         the variant on the runtime's backend with its softmax: of its
//                disagreements with the float model, how many have the int8
//                model's two top logits exactly equal (equal int8 logits give
//                bit-equal softmax probabilities, and distinct ones differ by a
//                whole output step), so Argmax's lowest-index rule decided them.
//   attribution  AttributeFlips (flip_attribution.h) of the variant against the
//                float model (float on the runtime's backend, so its flips are
//                the eval cells' disagreements), with top_layers mixed checks.
// and writes probe.json (probe_cells.cpp documents its fields), then cell.json.
// Keys are canonical JSON as the other cells' (study_cells.h); adding probes to a
// spec adds cells and never changes an existing cell's key.
//
// Text models are probed too: both tools run the integer LSTM/GRU (the
// recurrent node is attributed as a whole; no time-step attribution).
//
// probes.json (WriteProbeIndex, from the cells only, like records.json): the
// finished probe cells with their task, seed, set and probe.json path, the
// probes section of the spec and the number of probe cells still missing.
#pragma once

#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"
#include "qualm/study/study_cells.h"

namespace qualm::study {

// The "probes" object of a spec file: keys matrix, attribution (booleans),
// severities (list), reference_rows (boolean), top_layers (0..8). Unknown keys
// and wrong types are errors naming the key.
Result<StudyProbes> ParseStudyProbes(const std::string& json_object_text);
Status ValidateStudyProbes(const StudySpec& spec);
std::string StudyProbesJson(const StudyProbes& probes);  // canonical object text

// Whether an evaluation set of the spec is in the probes' scope.
bool InProbeScope(const StudySpec& spec, const std::string& set);
// "<family>:test" unshifted: where the matrix runs its full rows.
bool IsCleanTestSet(const std::string& set);

// Appends the probe cells of the grid's int8 variants of standard models
// (nothing when spec.probes asks for nothing). `version` is the cache version
// string the other cells' keys hold.
void AppendProbeCells(const StudySpec& spec, const StudyRuntime& runtime, const std::string& version,
                      StudyGrid* grid);

struct ProbeInputs {
  const Model* float_model = nullptr;
  const Model* int8_model = nullptr;   // the variant cell's model
  const Model* qat_model = nullptr;    // the qat cell's int8 conversion, or null
  const Dataset* data = nullptr;
  const Dataset* calibration = nullptr;
  StudyProbes probes;
  int calibration_samples = 100;
  StudyRuntime runtime;
  bool clean_test = false;             // the clean test set: the matrix's full rows
};
// Runs the probes; returns probe.json's text.
Result<std::string> RunProbe(const ProbeInputs& in);

// probes.json of a (sharded) grid's finished probe cells.
Status WriteProbeIndex(const std::string& out_dir, const StudySpec& spec, const StudyGrid& grid);

}  // namespace qualm::study

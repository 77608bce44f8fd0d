// qualm/study/flip_attribution.h: which layer makes an int8 model flip
// (issue 10, "flip attribution"), and whether keeping that layer in float
// removes the flips.
//
// For every input where the int8 model and its float original predict
// different classes (a flip), the counterfactual float suffix
// (mixed_precision.h, SweepInt8Prefix): run the int8 model up to and including
// node k, dequantize, and run the lowered float model (the int8 model's own
// float graph, LowerForInt8) from node k + 1 on, for every k from -1 (nothing
// int8: the lowered float model) to the last node (the whole int8 model). Then
//   first culprit  the smallest k whose prediction already equals the int8
//                  model's (the definition);
//   stable from    the smallest k from which every larger k gives it too (the
//                  point after which the flip can no longer be undone by float
//                  layers; equal to the first culprit unless the prediction
//                  flickers along the sweep).
// k = -1 as the culprit means the lowering alone (batch norm folded in float,
// dropout removed) already gives the int8 prediction: the flip is not a
// quantization flip at all. Counted separately (culprit_lowering).
// Nodes that compute exactly in int8 (ReLU clamps, max pools on the input's
// parameters) cannot change a prediction, so the culprit is always a node
// that rounds: the input quantization, a conv / dense / add / pool output, an
// embedding table, a recurrent layer (the whole recurrent node: time-step
// attribution is not done).
//
// Mixed-precision check: for each of the `top_layers` most frequent culprit
// nodes, and for all of them together, the int8 model with those nodes
// computed in float (on the dequantized inputs) and re-quantized at their
// output, on the whole data set: accuracy, disagreements with the float
// model, how many of that layer's flips and of all flips disappear, and how
// many new disagreements appear. "In float" means what a deployment that
// keeps one layer in float does: the layer reads its dequantized int8 inputs,
// computes in float, and its result is quantized for its int8 consumers at the
// layer's own output parameters. So the check removes the layer's arithmetic
// error (int8 weights, accumulation, requantization) but not its output grid:
// a flip made by the grid's rounding stays (tests/study/flip_attribution_test.cpp
// shows both cases).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm::study {

struct FlipAttributionOptions {
  Backend float_backend = Backend::kReference;  // the float model and every float suffix
  Backend int8_backend = Backend::kFast;        // bit-identical to the reference
  int threads = 1;
  int batch_size = 256;
  int top_layers = 3;     // mixed-precision checks (0: none)
  bool mixed_check = true;
};

struct Flip {
  std::size_t index = 0;  // into the data set
  std::int32_t label = 0, float_prediction = 0, int8_prediction = 0;
  int first_culprit = 0;  // node index; -1: the lowering alone
  int stable_from = 0;
};

struct CulpritCount {
  int node = 0;
  std::string name, op;
  std::size_t first = 0;   // flips whose first culprit is this node
  std::size_t stable = 0;  // flips whose stable-from node is this node
};

struct MixedCheck {
  std::vector<int> float_nodes;
  std::vector<std::string> names;
  std::size_t culprit_flips = 0;          // flips attributed (first culprit) to these nodes
  std::size_t culprit_flips_removed = 0;  // of those, agreeing with the float model now
  std::size_t flips_removed = 0;          // of all flips, agreeing now
  std::size_t new_disagreements = 0;      // inputs that agreed before and disagree now
  std::size_t disagreements = 0;          // with the float model, on the whole set
  double accuracy = 0.0;
  std::string path;
};

struct FlipAttribution {
  std::string data;
  std::size_t inputs = 0;
  double float_accuracy = 0.0, int8_accuracy = 0.0;
  std::vector<Flip> flips;
  std::size_t culprit_lowering = 0;  // flips with first culprit -1
  // Flips where the whole-int8 end of the sweep (k = last) does not give the
  // int8 model's prediction: 0 unless the mechanism is broken (reported, not assumed).
  std::size_t sweep_mismatches = 0;
  std::vector<CulpritCount> layers;  // one per node, in node order
  std::vector<MixedCheck> mixed;
  std::string float_path, int8_path;
};

// `int8_model` must have been quantized from `float_model` (its graph is
// LowerForInt8(float_model), checked by node names and count).
Result<FlipAttribution> AttributeFlips(const Model& float_model, const Model& int8_model, const Dataset& data,
                                       const FlipAttributionOptions& options);

// The culprit table sorted by first-culprit count (then node order), rows with
// a count only, and the mixed checks: a readable text report.
std::string FormatFlipAttribution(const FlipAttribution& a);

}  // namespace qualm::study

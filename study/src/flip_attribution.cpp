// Flip attribution and the mixed-precision check (qualm/study/flip_attribution.h).
#include "qualm/study/flip_attribution.h"

#include <algorithm>
#include <cstdio>

#include "qualm/engine/evaluate.h"
#include "qualm/engine/mixed_precision.h"
#include "qualm/study/compare.h"

namespace qualm::study {
namespace {

Status CheckSameGraph(const Model& float_model, const Model& int8_model) {
  // The int8 graph is the lowered float graph: dropout removed, batch norms
  // folded or converted (names kept). Compare against what the lowering of
  // this float model keeps.
  std::vector<std::string> kept;
  for (const auto& n : float_model.nodes) kept.push_back(n.name);
  for (const auto& n : int8_model.nodes)
    if (std::find(kept.begin(), kept.end(), n.name) == kept.end())
      return InvalidArgument("the int8 model's node '" + n.name + "' is not in the float model: was it quantized from it?");
  return Status::Ok();
}

MixedPrecisionOptions MixedOptions(const FlipAttributionOptions& o) {
  MixedPrecisionOptions mo;
  mo.max_batch = o.batch_size;
  mo.float_backend = o.float_backend;
  mo.int8_backend = o.int8_backend;
  mo.threads = o.threads;
  return mo;
}

Result<MixedCheck> RunMixedCheck(const Model& int8_model, const Dataset& data, const std::vector<int>& nodes,
                                 const FlipAttribution& a, const std::vector<std::int32_t>& float_pred,
                                 const std::vector<std::int32_t>& int8_pred, const FlipAttributionOptions& o) {
  QUALM_ASSIGN_OR_RETURN(auto ex, MixedPrecisionExecutor::Create(int8_model, MixedOptions(o)));
  QUALM_RETURN_IF_ERROR(ex->SetFloatNodes(nodes));
  QUALM_ASSIGN_OR_RETURN(std::vector<std::int32_t> pred, PredictMixed(*ex, data));
  MixedCheck c;
  c.float_nodes = nodes;
  for (int k : nodes) c.names.push_back(int8_model.nodes[static_cast<std::size_t>(k)].name);
  c.path = ex->PathDescription();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    correct += pred[i] == data.labels[i];
    const bool now = pred[i] != float_pred[i];
    c.disagreements += now;
    c.new_disagreements += now && int8_pred[i] == float_pred[i];
  }
  c.accuracy = static_cast<double>(correct) / static_cast<double>(data.size());
  for (const Flip& f : a.flips) {
    const bool removed = pred[f.index] == float_pred[f.index];
    c.flips_removed += removed;
    if (std::find(nodes.begin(), nodes.end(), f.first_culprit) != nodes.end()) {
      ++c.culprit_flips;
      c.culprit_flips_removed += removed;
    }
  }
  return c;
}

}  // namespace

Result<FlipAttribution> AttributeFlips(const Model& float_model, const Model& int8_model, const Dataset& data,
                                       const FlipAttributionOptions& o) {
  if (float_model.quant.quantized())
    return InvalidArgument(std::string("flip attribution: the first model must be the float one, it is ") +
                           QuantSchemeName(float_model.quant.scheme));
  if (int8_model.quant.scheme != QuantScheme::kInt8)
    return InvalidArgument(std::string("flip attribution needs an int8 model, the second one is ") +
                           QuantSchemeName(int8_model.quant.scheme));
  QUALM_RETURN_IF_ERROR(CheckComparable(float_model, int8_model));
  QUALM_RETURN_IF_ERROR(CheckSameGraph(float_model, int8_model));
  if (o.batch_size <= 0) return InvalidArgument("flip attribution: batch size must be positive");

  EvalOptions fe;
  fe.backend = o.float_backend;
  fe.threads = o.threads;
  fe.batch_size = o.batch_size;
  fe.keep_probabilities = false;
  QUALM_ASSIGN_OR_RETURN(EvalResult fr, Evaluate(float_model, data, fe));
  EvalOptions qe = fe;
  qe.backend = o.int8_backend;
  QUALM_ASSIGN_OR_RETURN(EvalResult qr, Evaluate(int8_model, data, qe));

  FlipAttribution a;
  a.data = data.name;
  a.inputs = data.size();
  a.float_accuracy = fr.accuracy;
  a.int8_accuracy = qr.accuracy;
  a.float_path = fr.path;
  a.int8_path = qr.path;
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < data.size(); ++i)
    if (fr.predictions[i] != qr.predictions[i]) indices.push_back(i);
  const int nodes = static_cast<int>(int8_model.nodes.size());
  for (int k = 0; k < nodes; ++k) {
    const Node& n = int8_model.nodes[static_cast<std::size_t>(k)];
    a.layers.push_back({k, n.name, OpName(n.op), 0, 0});
  }
  if (indices.empty()) return a;

  QUALM_ASSIGN_OR_RETURN(auto sweep, SweepInt8Prefix(int8_model, data, indices, MixedOptions(o)));
  for (std::size_t j = 0; j < indices.size(); ++j) {
    Flip f;
    f.index = indices[j];
    f.label = data.labels[f.index];
    f.float_prediction = fr.predictions[f.index];
    f.int8_prediction = qr.predictions[f.index];
    if (sweep[static_cast<std::size_t>(nodes)][j] != f.int8_prediction) ++a.sweep_mismatches;
    // sweep[k + 1] is the run with nodes 0..k in int8.
    f.first_culprit = nodes - 1;
    for (int k = -1; k < nodes; ++k)
      if (sweep[static_cast<std::size_t>(k + 1)][j] == f.int8_prediction) {
        f.first_culprit = k;
        break;
      }
    f.stable_from = nodes - 1;
    for (int k = nodes - 1; k >= -1 && sweep[static_cast<std::size_t>(k + 1)][j] == f.int8_prediction; --k)
      f.stable_from = k;
    if (f.first_culprit < 0)
      ++a.culprit_lowering;
    else
      ++a.layers[static_cast<std::size_t>(f.first_culprit)].first;
    if (f.stable_from >= 0) ++a.layers[static_cast<std::size_t>(f.stable_from)].stable;
    a.flips.push_back(f);
  }

  if (o.mixed_check && o.top_layers > 0) {
    std::vector<CulpritCount> ranked = a.layers;
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const CulpritCount& x, const CulpritCount& y) { return x.first > y.first; });
    std::vector<int> top;
    for (const auto& c : ranked)
      if (c.first > 0 && static_cast<int>(top.size()) < o.top_layers) top.push_back(c.node);
    for (int k : top) {
      QUALM_ASSIGN_OR_RETURN(MixedCheck c, RunMixedCheck(int8_model, data, {k}, a, fr.predictions, qr.predictions, o));
      a.mixed.push_back(std::move(c));
    }
    if (top.size() > 1) {
      QUALM_ASSIGN_OR_RETURN(MixedCheck c, RunMixedCheck(int8_model, data, top, a, fr.predictions, qr.predictions, o));
      a.mixed.push_back(std::move(c));
    }
  }
  return a;
}

std::string FormatFlipAttribution(const FlipAttribution& a) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s: %zu inputs, float accuracy %.2f%%, int8 accuracy %.2f%%, %zu flips (int8 vs float)\n",
                a.data.c_str(), a.inputs, a.float_accuracy * 100.0, a.int8_accuracy * 100.0, a.flips.size());
  out += buf;
  if (a.flips.empty()) return out + "no flips: nothing to attribute\n";
  std::vector<CulpritCount> ranked = a.layers;
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const CulpritCount& x, const CulpritCount& y) { return x.first > y.first; });
  out += "first culprit layer (earliest k: int8 up to k, float after, gives the int8 prediction):\n";
  for (const auto& c : ranked) {
    if (c.first == 0 && c.stable == 0) continue;
    std::snprintf(buf, sizeof buf, "  %-28s %-16s %5zu  (%5.1f%%)  stable-from %5zu\n", c.name.c_str(), c.op.c_str(),
                  c.first, 100.0 * static_cast<double>(c.first) / static_cast<double>(a.flips.size()), c.stable);
    out += buf;
  }
  if (a.culprit_lowering) {
    std::snprintf(buf, sizeof buf, "  %-28s %-16s %5zu  (the lowered float model alone already gives it)\n",
                  "(lowering)", "-", a.culprit_lowering);
    out += buf;
  }
  if (a.sweep_mismatches) {
    std::snprintf(buf, sizeof buf, "  WARNING: %zu flips where the all-int8 sweep end differs from the int8 model\n",
                  a.sweep_mismatches);
    out += buf;
  }
  for (const auto& m : a.mixed) {
    std::string names;
    for (const auto& n : m.names) {
      if (!names.empty()) names += "+";
      names += n;
    }
    std::snprintf(buf, sizeof buf,
                  "keep %s in float: its flips removed %zu/%zu, all flips removed %zu/%zu, disagreements %zu "
                  "(%zu new), accuracy %.2f%%\n",
                  names.c_str(), m.culprit_flips_removed, m.culprit_flips, m.flips_removed, a.flips.size(),
                  m.disagreements, m.new_disagreements, m.accuracy * 100.0);
    out += buf;
  }
  return out;
}

}  // namespace qualm::study

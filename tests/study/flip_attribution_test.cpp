// Flip attribution: on a small model whose one layer is quantized coarsely,
// the attribution names that layer and keeping it in float removes its
// flips; the sweep's ends are the float and int8 predictions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "qualm/engine/calibration.h"
#include "qualm/engine/lower.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/study/flip_attribution.h"

namespace qualm::study {
namespace {

Model SmallCnn(std::uint64_t seed) {
  Model m;
  m.arch = "attribution-test";
  m.input_shape = {8, 8, 1};
  m.num_classes = 10;
  m.AddNode("input", InputOp{}, {});
  Conv2dOp c;
  c.out_channels = 6;
  c.kernel_h = c.kernel_w = 3;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = 1;
  const int a = m.AddNode("conv", c, {0});
  const int b = m.AddNode("relu", ReluOp{}, {a});
  MaxPoolOp mp;
  mp.kernel_h = mp.kernel_w = mp.stride_h = mp.stride_w = 2;
  const int p = m.AddNode("pool", mp, {b});
  DenseOp d1;
  d1.out_features = 32;
  const int d = m.AddNode("fc1", d1, {p});
  const int r = m.AddNode("fc1_relu", ReluOp{}, {d});
  DenseOp d2;
  d2.out_features = 10;
  m.AddNode("fc2", d2, {r});
  REQUIRE(InferShapes(m).ok());
  REQUIRE(InitializeParameters(m, seed).ok());
  return m;
}

Dataset RandomImages(int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.sample_shape = {8, 8, 1};
  d.num_classes = 10;
  Rng rng(seed);
  for (std::size_t i = 0; i < static_cast<std::size_t>(n) * 64; ++i) d.f32.push_back(rng.Uniform());
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(10)));
  return d;
}

int NodeIndex(const Model& m, const std::string& name) {
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    if (m.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

enum class Coarse { kOutputGrid, kWeights };

// PTQ as usual, except for one layer, fc1:
//   kOutputGrid  its (fused fc1 + ReLU) output grid is 48 times wider than the
//                calibrated one (same zero point): about 5 levels, not 255;
//   kWeights     its int8 weights are rounded to multiples of 32 (9 levels
//                instead of 255), its output grid is the calibrated one.
Model QuantizeWithCoarseLayer(const Model& f, const Dataset& calib, Coarse how) {
  auto lowered = LowerForInt8(f);
  REQUIRE(lowered.ok());
  CalibrationOptions co;
  co.samples = static_cast<int>(calib.size());
  auto cal = Calibrate(*lowered, calib, co);
  REQUIRE_MESSAGE(cal.ok(), cal.status().ToString());
  std::vector<kernels::QuantParams> params;
  for (const auto& v : cal->values) params.push_back(v.params);
  if (how == Coarse::kOutputGrid) params[static_cast<std::size_t>(NodeIndex(*lowered, "fc1_relu"))].scale *= 48.0f;
  Model q = std::move(lowered).value();
  auto spec = BuildInt8Spec(q, params, {});
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  q.quant = std::move(spec).value();
  if (how == Coarse::kWeights) {
    Tensor* w = q.quant.nodes[static_cast<std::size_t>(NodeIndex(q, "fc1"))].Find("weight");
    REQUIRE(w != nullptr);
    for (std::int64_t i = 0; i < w->elements(); ++i) {
      std::int8_t& v = w->data<std::int8_t>()[i];
      const int r = static_cast<int>(std::lround(v / 32.0)) * 32;
      v = static_cast<std::int8_t>(std::clamp(r, -127, 127));
    }
  }
  return q;
}

struct Attributed {
  FlipAttribution a;
  int fc1 = -1;
};

Attributed Attribute(const Model& f, const Model& q, const Dataset& data) {
  FlipAttributionOptions o;
  o.top_layers = 2;
  auto a = AttributeFlips(f, q, data, o);
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  MESSAGE(FormatFlipAttribution(*a));
  REQUIRE(a->flips.size() >= 60);
  // The ends of the sweep: nothing int8 is the float model (no batch norm to
  // fold: the lowered graph is the float graph), so no flip is "lowering";
  // everything int8 is the int8 model on every flip.
  CHECK(a->culprit_lowering == 0);
  CHECK(a->sweep_mismatches == 0);
  std::size_t total = 0;
  for (const auto& c : a->layers) total += c.first;
  CHECK(total == a->flips.size());
  const int fc1 = NodeIndex(q, "fc1");
  const CulpritCount& named = a->layers[static_cast<std::size_t>(fc1)];
  CHECK(named.name == "fc1");
  // The coarse layer is the first culprit of nearly every flip; the exact
  // nodes (the ReLUs, fused into their producers, and the max pool) never are.
  CHECK(static_cast<double>(named.first) >= 0.9 * static_cast<double>(a->flips.size()));
  CHECK(a->layers[static_cast<std::size_t>(NodeIndex(q, "fc1_relu"))].first == 0);
  CHECK(a->layers[static_cast<std::size_t>(NodeIndex(q, "relu"))].first == 0);
  CHECK(a->layers[static_cast<std::size_t>(NodeIndex(q, "pool"))].first == 0);
  for (const Flip& fl : a->flips) {
    CHECK(fl.stable_from >= fl.first_culprit);
    CHECK(fl.float_prediction != fl.int8_prediction);
  }
  REQUIRE(!a->mixed.empty());
  CHECK(a->mixed[0].float_nodes == std::vector<int>{fc1});
  CHECK(a->mixed[0].culprit_flips == named.first);
  return {std::move(a).value(), fc1};
}

TEST_CASE("study: flip attribution names a layer with coarse weights, and float there removes its flips") {
  const Model f = SmallCnn(3);
  const Dataset data = RandomImages(2000, 9);
  const Attributed r = Attribute(f, QuantizeWithCoarseLayer(f, data, Coarse::kWeights), data);
  const MixedCheck& m = r.a.mixed[0];
  // fc1 computed in float from its (fine) int8 input and re-quantized at its
  // fine output grid: the coarse weights are gone, and so are the flips.
  CHECK(static_cast<double>(m.culprit_flips_removed) >= 0.8 * static_cast<double>(m.culprit_flips));
  CHECK(m.disagreements < r.a.flips.size() / 2);
}

TEST_CASE("study: flip attribution names a layer with a coarse output grid, which float compute cannot fix") {
  const Model f = SmallCnn(3);
  const Dataset data = RandomImages(2000, 9);
  const Attributed r = Attribute(f, QuantizeWithCoarseLayer(f, data, Coarse::kOutputGrid), data);
  const MixedCheck& m = r.a.mixed[0];
  // "Kept in float" re-quantizes at the layer's output parameters (what its
  // int8 consumer reads), i.e. at the same coarse grid: the rounding that
  // makes the flips stays, and most flips with it. The check tells the two
  // causes (arithmetic, output grid) apart.
  CHECK(static_cast<double>(m.culprit_flips_removed) <= 0.5 * static_cast<double>(m.culprit_flips));
}

TEST_CASE("study: flip attribution with an ordinary int8 model, and its errors") {
  const Model f = SmallCnn(4);
  const Dataset data = RandomImages(300, 2);
  PtqOptions po;
  po.calibration.samples = 300;
  auto q = QuantizeModel(f, &data, po);
  REQUIRE(q.ok());
  auto a = AttributeFlips(f, *q, data, {});
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(a->sweep_mismatches == 0);
  CHECK(a->culprit_lowering == 0);
  CHECK(a->inputs == 300);
  CHECK_FALSE(AttributeFlips(*q, f, data, {}).ok());  // float and int8 swapped
  CHECK_FALSE(AttributeFlips(f, f, data, {}).ok());   // not an int8 model
  Model other = SmallCnn(4);
  other.nodes[1].name = "renamed";
  CHECK_FALSE(AttributeFlips(other, *q, data, {}).ok());
}

}  // namespace
}  // namespace qualm::study

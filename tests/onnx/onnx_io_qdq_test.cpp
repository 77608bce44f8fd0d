// tests/onnx/onnx_io_qdq_test.cpp: a QDQ-quantized ONNX model (int8 weights
// per channel, int32 biases, uint8 and int8 activations) imported as qualm's
// int8 scheme: the stored numbers carried over exactly, the outputs compared
// with ONNX's QDQ semantics run by the naive interpreter, and QDQ graphs that
// do not map onto qualm's int8 contract declined.
#include <doctest/doctest.h>

#include "onnx_io_graph.h"
#include "onnx_io_test_util.h"
#include "qualm/engine/quant_spec.h"
#include "qualm/frontends/onnx.h"

using namespace qualm_onnx_io;
namespace fe = qualm::frontends;

namespace {

constexpr float kInScale = 1.0f / 255.0f;
constexpr float kConvScale = 0.037f;
constexpr float kOutScale = 0.061f;

// input [N, 2, 8, 7] -> QDQ (uint8) -> Conv 5@3x3 (int8 w, int32 b) -> Relu ->
// QDQ -> MaxPool 2 -> QDQ -> Flatten -> Gemm 4 (transB) -> QDQ -> output.
GraphBuilder QdqCnn(std::mt19937& rng, bool pool_rescales = false) {
  GraphBuilder g(13);
  g.Input("x", -1, {2, 8, 7});
  const std::string xq = g.QDQ("x", kInScale, 0, /*uint8=*/true);
  std::vector<float> ws1, ws2;
  const std::string w1 = g.QWeight("w1", {5, 2, 3, 3}, rng, &ws1);
  const std::string b1 = g.QBias("b1", 5, kInScale, ws1, rng);
  g.Node("Conv", "conv", {xq, w1, b1}, {"conv"}, {Attr::Ints("pads", {1, 0, 1, 0})});
  g.Node("Relu", "relu", {"conv"}, {"relu"});
  const std::string rq = g.QDQ("relu", kConvScale, -128);
  g.Node("MaxPool", "pool", {rq}, {"pool"}, {Attr::Ints("kernel_shape", {2, 2}), Attr::Ints("strides", {2, 2})});
  const std::string pq = pool_rescales ? g.QDQ("pool", kConvScale * 2, -128) : g.QDQ("pool", kConvScale, -128);
  g.Node("Flatten", "flat", {pq}, {"flat"});
  const std::string w2 = g.QWeight("w2", {4, 5 * 4 * 2}, rng, &ws2);
  const std::string b2 = g.QBias("b2", 4, kConvScale, ws2, rng);
  g.Node("Gemm", "fc", {"flat", w2, b2}, {"fc"}, {Attr::Int("transB", 1)});
  const std::string out = g.QDQ("fc", kOutScale, 7);
  g.Node("Identity", "logits", {out}, {"logits"});
  g.Output("logits", 4);
  return g;
}

}  // namespace

TEST_CASE("onnx import QDQ: int8 constants carried over exactly, outputs within one step of ONNX's float rescale") {
  std::mt19937 rng(17);
  GraphBuilder g = QdqCnn(rng);
  WriteFuzzSeed("qdq-cnn", g.Bytes());
  auto m = fe::ImportOnnxBytes(g.Bytes(), "qdq.onnx");
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  REQUIRE(m->quant.scheme == qualm::QuantScheme::kInt8);
  REQUIRE(m->quant.nodes.size() == m->nodes.size());
  // The uint8 input (zero point 0) is int8 with zero point -128.
  CHECK(m->quant.nodes[0].output.scale == kInScale);
  CHECK(m->quant.nodes[0].output.zero_point == -128);
  // conv takes the ReLU's parameters; the pool keeps its input's.
  CHECK(m->quant.nodes[1].output.scale == kConvScale);
  CHECK(m->quant.nodes[3].output.scale == kConvScale);
  CHECK(m->quant.nodes.back().output.zero_point == 7);

  // Conv weights: ONNX OIHW int8 -> qualm OHWI int8, value for value.
  const onnx::TensorProto* w1 = nullptr;
  for (const auto& t : g.proto().graph().initializer())
    if (t.name() == "w1_q") w1 = &t;
  REQUIRE(w1);
  const qualm::Tensor* qw = m->quant.nodes[1].Find("weight");
  REQUIRE(qw);
  REQUIRE(qw->shape() == qualm::Shape({5, 3, 3, 2}));
  int mismatches = 0;
  for (int o = 0; o < 5; ++o)
    for (int c = 0; c < 2; ++c)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          mismatches += qw->data<std::int8_t>()[((o * 3 + y) * 3 + x) * 2 + c] != w1->int32_data(((o * 2 + c) * 3 + y) * 3 + x);
  CHECK(mismatches == 0);

  const int n = 31;
  const auto x = RandomImages(n * 2 * 8 * 7, rng);
  const NTensor want = NaiveRun(g.proto(), Nchw(x, {n, 2, 8, 7}));
  std::vector<float> ref;
  for (auto backend : {qualm::Backend::kReference, qualm::Backend::kFast}) {
    const auto logits = QualmLogits(*m, NchwToNhwc(x, n, 2, 8, 7), n, backend);
    REQUIRE(logits.size() == want.v.size());
    if (ref.empty()) ref = logits;
    CHECK(logits == ref);  // the fast int8 path is bit-exact to the reference
    // In output steps: ONNX rounds conv / s_out in float (half to even), qualm
    // requantizes the int32 accumulator with a fixed-point multiplier, so a
    // value near a rounding boundary may land one step away; the difference
    // can carry into the Gemm. A layout or parameter error moves many outputs
    // by many steps.
    int exact = 0, worst = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const int steps = static_cast<int>(std::lround(std::fabs(logits[i] - want.v[i]) / kOutScale));
      exact += steps == 0;
      worst = std::max(worst, steps);
    }
    INFO(qualm::BackendName(backend) << ": " << exact << " of " << logits.size() << " exact, worst " << worst << " steps");
    CHECK(worst <= 2);
    CHECK(exact * 10 >= static_cast<int>(logits.size()) * 9);
  }
}

TEST_CASE("onnx import QDQ: graphs outside qualm's int8 contract are declined with the reason") {
  std::mt19937 rng(2);
  {
    GraphBuilder g = QdqCnn(rng, /*pool_rescales=*/true);
    auto m = fe::ImportOnnxBytes(g.Bytes(), "qdq.onnx");
    REQUIRE_FALSE(m.ok());
    INFO(m.status().message());
    CHECK(m.status().message().find("pool") != std::string::npos);
    CHECK(m.status().message().find("keep their input's parameters") != std::string::npos);
  }
  {
    // A float weight in an otherwise quantized graph.
    GraphBuilder g(13);
    g.Input("x", 1, {6});
    const std::string xq = g.QDQ("x", 0.01f, 0);
    g.Random("w", {3, 6}, 0.5f, rng);
    g.Node("Gemm", "fc_float_w", {xq, "w"}, {"y"}, {Attr::Int("transB", 1)});
    const std::string y = g.QDQ("y", 0.02f, 0);
    g.Node("Identity", "out", {y}, {"out"});
    g.Output("out", 3);
    auto m = fe::ImportOnnxBytes(g.Bytes(), "qdq.onnx");
    REQUIRE_FALSE(m.ok());
    INFO(m.status().message());
    CHECK(m.status().message().find("fc_float_w") != std::string::npos);
    CHECK(m.status().message().find("int8 tensor behind DequantizeLinear") != std::string::npos);
  }
  {
    // A weight zero point other than 0 (asymmetric weights).
    GraphBuilder g(13);
    g.Input("x", 1, {6});
    const std::string xq = g.QDQ("x", 0.01f, 0);
    g.Int("wq", onnx::TensorProto::INT8, {3, 6}, std::vector<std::int64_t>(18, 5));
    g.Float("ws", {}, {0.1f});
    g.Int("wz", onnx::TensorProto::INT8, {}, {3});
    g.Node("DequantizeLinear", "wdq", {"wq", "ws", "wz"}, {"w"});
    g.Node("Gemm", "fc_asym", {xq, "w"}, {"y"}, {Attr::Int("transB", 1)});
    const std::string y = g.QDQ("y", 0.02f, 0);
    g.Node("Identity", "out", {y}, {"out"});
    g.Output("out", 3);
    auto m = fe::ImportOnnxBytes(g.Bytes(), "qdq.onnx");
    REQUIRE_FALSE(m.ok());
    INFO(m.status().message());
    CHECK(m.status().message().find("zero point 3") != std::string::npos);
  }
}

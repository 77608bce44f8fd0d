// Mixed-precision runs of an int8 model: the two ends of the int8-prefix sweep
// are the int8 model and the lowered float model bit for bit, an exact node
// (ReLU) kept in float changes nothing, and bad settings are errors.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/lower.h"
#include "qualm/engine/mixed_precision.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"

namespace qualm {
namespace {

Conv2dOp Conv(int out, int k, int pad) {
  Conv2dOp c;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = pad;
  return c;
}

// conv -> bn -> relu -> conv -> add (fan-out of the first conv) -> relu ->
// max pool -> dense: batch norm to fold and convert, a residual add, a fused
// and an unfused ReLU.
Model SmallResidualModel(std::uint64_t seed) {
  Model m;
  m.arch = "mixed-test";
  m.input_shape = {8, 8, 1};
  m.num_classes = 6;
  m.AddNode("input", InputOp{}, {});
  const int a = m.AddNode("conv1", Conv(4, 3, 1), {0});
  const int b = m.AddNode("bn", BatchNormOp{}, {a});
  const int c = m.AddNode("relu1", ReluOp{}, {b});
  const int d = m.AddNode("conv2", Conv(4, 3, 1), {c});
  const int e = m.AddNode("add", AddOp{}, {d, a});
  const int f = m.AddNode("relu2", ReluOp{}, {e});
  MaxPoolOp mp;
  mp.kernel_h = mp.kernel_w = 2;
  mp.stride_h = mp.stride_w = 2;
  const int g = m.AddNode("pool", mp, {f});
  DenseOp fc;
  fc.out_features = 6;
  m.AddNode("fc", fc, {g});
  REQUIRE(InferShapes(m).ok());
  REQUIRE(InitializeParameters(m, seed).ok());
  Rng rng(seed + 1);
  for (auto& n : m.nodes)
    if (std::holds_alternative<BatchNormOp>(n.op))
      for (std::int64_t k = 0; k < n.params[0].value.elements(); ++k) {
        n.params[0].value.f32()[k] = 0.5f + rng.Uniform();
        n.params[1].value.f32()[k] = 0.2f * (rng.Uniform() - 0.5f);
        n.params[2].value.f32()[k] = 0.3f * (rng.Uniform() - 0.5f);
        n.params[3].value.f32()[k] = 0.5f + rng.Uniform();
      }
  return m;
}

Dataset RandomImages(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  for (std::size_t i = 0; i < static_cast<std::size_t>(n) * d.sample_size(); ++i) d.f32.push_back(rng.Uniform());
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(6)));
  return d;
}

std::vector<float> Logits(Inference& ex, const Dataset& d) {
  ex.Run(d.f32.data(), static_cast<int>(d.size()));
  return std::vector<float>(ex.logits(), ex.logits() + d.size() * static_cast<std::size_t>(ex.num_classes()));
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Fixture {
  Model float_model = SmallResidualModel(11);
  Dataset data = RandomImages(float_model, 64, 5);
  Model int8;
  Fixture() {
    PtqOptions o;
    o.calibration.samples = 64;
    auto q = QuantizeModel(float_model, &data, o);
    REQUIRE_MESSAGE(q.ok(), q.status().ToString());
    int8 = std::move(q).value();
  }
};

TEST_CASE("engine: mixed precision, all int8 is the int8 model and all float the lowered float model, bit for bit") {
  Fixture f;
  for (Backend b : {Backend::kReference, Backend::kFast}) {
    INFO("int8 backend " << std::string(BackendName(b)));
    MixedPrecisionOptions mo;
    mo.max_batch = 64;
    mo.int8_backend = b;
    auto mx = MixedPrecisionExecutor::Create(f.int8, mo);
    REQUIRE_MESSAGE(mx.ok(), mx.status().ToString());
    Int8ExecutorOptions io;
    io.backend = b;
    auto ix = Int8Executor::Create(&f.int8, 64, io);
    REQUIRE(ix.ok());
    const std::vector<float> int8_logits = Logits(**ix, f.data);

    REQUIRE((*mx)->SetInt8Prefix((*mx)->num_nodes() - 1).ok());
    CHECK(SameBits(Logits(**mx, f.data), int8_logits));

    // The lowered float model on the reference float kernels.
    auto lowered = LowerForInt8(f.float_model);
    REQUIRE(lowered.ok());
    // The batch norm cannot be folded (conv1 also feeds the add): it became a
    // depthwise 1x1 convolution, which the float suffix runs too.
    CHECK(std::holds_alternative<Conv2dOp>(lowered->nodes[2].op));
    ExecutorOptions eo;
    eo.max_batch = 64;
    eo.backend = Backend::kReference;
    auto fx = Executor::Create(*lowered, eo);
    REQUIRE(fx.ok());
    const std::vector<float> float_logits = Logits(**fx, f.data);
    REQUIRE((*mx)->SetInt8Prefix(-1).ok());
    CHECK(SameBits(Logits(**mx, f.data), float_logits));
    // Every node float through SetFloatNodes is the same run.
    std::vector<int> all;
    for (int i = 0; i < (*mx)->num_nodes(); ++i) all.push_back(i);
    REQUIRE((*mx)->SetFloatNodes(all).ok());
    CHECK(SameBits(Logits(**mx, f.data), float_logits));
    // The two ends differ: the int8 model is not the float one.
    CHECK_FALSE(SameBits(int8_logits, float_logits));
  }
}

TEST_CASE("engine: mixed precision, an exact node kept in float changes nothing, a rounding one does") {
  Fixture f;
  MixedPrecisionOptions mo;
  mo.max_batch = 64;
  auto mx = MixedPrecisionExecutor::Create(f.int8, mo);
  REQUIRE(mx.ok());
  auto ix = Int8Executor::Create(&f.int8, 64);
  REQUIRE(ix.ok());
  const std::vector<float> int8_logits = Logits(**ix, f.data);
  int relu1 = -1, conv2 = -1;
  for (std::size_t i = 0; i < f.int8.nodes.size(); ++i) {
    if (f.int8.nodes[i].name == "relu1") relu1 = static_cast<int>(i);
    if (f.int8.nodes[i].name == "conv2") conv2 = static_cast<int>(i);
  }
  REQUIRE(relu1 > 0);
  REQUIRE(conv2 > 0);
  // relu1 is fused into its producer (the batch norm, converted to a
  // depthwise convolution: conv1 also feeds the add, so it cannot be folded),
  // so both share the ReLU's parameters: a float ReLU of the dequantized value,
  // re-quantized at the same parameters, gives the int8 values back exactly.
  REQUIRE(f.int8.quant.nodes[static_cast<std::size_t>(relu1)].output.scale ==
          f.int8.quant.nodes[static_cast<std::size_t>(relu1 - 1)].output.scale);
  REQUIRE((*mx)->SetFloatNodes({relu1}).ok());
  CHECK(SameBits(Logits(**mx, f.data), int8_logits));
  // conv2 in float skips its requantization rounding: the logits move.
  REQUIRE((*mx)->SetFloatNodes({conv2}).ok());
  CHECK_FALSE(SameBits(Logits(**mx, f.data), int8_logits));
  std::string conv2_float = "float ";
  conv2_float += std::to_string(conv2);
  CHECK((*mx)->PathDescription().find(conv2_float) != std::string::npos);
}

TEST_CASE("engine: mixed precision sweep, the prefix predictions match the single runs") {
  Fixture f;
  MixedPrecisionOptions mo;
  mo.max_batch = 16;  // several batches of the 40 picked inputs
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < 40; ++i) picked.push_back((i * 7) % f.data.size());
  auto sweep = SweepInt8Prefix(f.int8, f.data, picked, mo);
  REQUIRE_MESSAGE(sweep.ok(), sweep.status().ToString());
  REQUIRE(sweep->size() == f.int8.nodes.size() + 1);
  auto mx = MixedPrecisionExecutor::Create(f.int8, mo);
  REQUIRE(mx.ok());
  for (int k : {-1, 2, static_cast<int>(f.int8.nodes.size()) - 1}) {
    REQUIRE((*mx)->SetInt8Prefix(k).ok());
    auto all = PredictMixed(**mx, f.data);
    REQUIRE(all.ok());
    for (std::size_t j = 0; j < picked.size(); ++j) CHECK((*sweep)[static_cast<std::size_t>(k + 1)][j] == (*all)[picked[j]]);
  }
}

TEST_CASE("engine: mixed precision refuses float models and bad node settings") {
  Fixture f;
  CHECK_FALSE(MixedPrecisionExecutor::Create(f.float_model, {}).ok());
  auto mx = MixedPrecisionExecutor::Create(f.int8, {});
  REQUIRE(mx.ok());
  CHECK_FALSE((*mx)->SetInt8Prefix(-2).ok());
  CHECK_FALSE((*mx)->SetInt8Prefix((*mx)->num_nodes()).ok());
  CHECK_FALSE((*mx)->SetFloatNodes({(*mx)->num_nodes()}).ok());
  CHECK_FALSE((*mx)->SetPrecision({NodePrecision::kInt8}).ok());
  CHECK_FALSE(SweepInt8Prefix(f.int8, f.data, {f.data.size()}, {}).ok());
}

}  // namespace
}  // namespace qualm

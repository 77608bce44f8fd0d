// tests/onnx/onnx_io_roundtrip_test.cpp: qualm -> ONNX -> qualm on zoo
// models (float and int8): the exported file passes onnx::checker, the
// re-imported model computes bit-identical logits, and the exported graph,
// run by the naive NCHW interpreter, agrees with qualm (an independent check
// of the export's layouts and QDQ form).
#include <doctest/doctest.h>

#include <cstring>

#include "onnx_io_graph.h"
#include "onnx_io_test_util.h"
#include "qualm/engine/dataset.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/zoo.h"
#include "qualm/frontends/onnx.h"

using namespace qualm_onnx_io;
namespace fe = qualm::frontends;

namespace {

// A zoo model with seeded weights and, for batch norm, random statistics (the
// initial gamma 1 / beta 0 / mean 0 / var 1 would hide a mix-up).
qualm::Model ZooModel(const std::string& arch, std::mt19937& rng) {
  qualm::ZooOptions zo;
  zo.input_shape = {28, 28, 1};
  zo.num_classes = 10;
  auto m = qualm::BuildZooModel(arch, zo);
  REQUIRE(m.ok());
  REQUIRE(qualm::InitializeParameters(*m, 7).ok());
  std::uniform_real_distribution<float> u(0.5f, 1.5f), s(-0.2f, 0.2f);
  for (auto& node : m->nodes)
    if (std::holds_alternative<qualm::BatchNormOp>(node.op))
      for (auto& p : node.params)
        for (std::int64_t i = 0; i < p.value.elements(); ++i)
          p.value.f32()[i] = (p.name == "gamma" || p.name == "running_var") ? u(rng) : s(rng);
  return std::move(m).value();
}

qualm::Dataset RandomData(int count, std::mt19937& rng) {
  qualm::Dataset d;
  d.name = "random";
  d.sample_shape = {28, 28, 1};
  d.f32 = RandomImages(count * 28 * 28, rng);
  d.labels.assign(static_cast<std::size_t>(count), 0);
  d.num_classes = 10;
  return d;
}

std::vector<float> NhwcToNchw(const std::vector<float>& v, std::int64_t n, std::int64_t c, std::int64_t h,
                              std::int64_t w) {
  std::vector<float> out(v.size());
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < c; ++b)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((a * c + b) * h + y) * w + x] = v[((a * h + y) * w + x) * c + b];
  return out;
}

void RoundTrip(const qualm::Model& m, const std::vector<float>& nhwc, int n, double naive_tolerance) {
  auto bytes = fe::ExportOnnxBytes(m);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
  CHECK(fe::CheckOnnxBytes(*bytes, "exported").ok());
  WriteFuzzSeed("export-" + m.arch + "-" +
                    (m.quant.scheme == qualm::QuantScheme::kInt8 ? qualm::kernels::RequantModeName(m.quant.mode)
                                                                 : std::string("float")),
                *bytes);
  auto back = fe::ImportOnnxBytes(*bytes, "exported.onnx");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->quant.scheme == m.quant.scheme);
  CHECK(back->quant.mode == m.quant.mode);
  const auto a = QualmLogits(m, nhwc, n);
  const auto b = QualmLogits(*back, nhwc, n);
  REQUIRE(a.size() == static_cast<std::size_t>(n * 10));
  REQUIRE(b.size() == a.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);  // bit-identical logits
  // The exported graph, run by the naive interpreter.
  onnx::ModelProto proto;
  REQUIRE(proto.ParseFromString(*bytes));
  const NTensor want = NaiveRun(proto, Nchw(NhwcToNchw(nhwc, n, 1, 28, 28), {n, 1, 28, 28}));
  std::vector<double> ad(a.begin(), a.end());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - want.v[i]));
  double range = 0;
  for (double v : want.v) range = std::max(range, std::fabs(v));
  INFO("max |qualm - naive ONNX| " << worst << " (logits up to " << range << ")");
  const std::string scheme = m.quant.scheme == qualm::QuantScheme::kInt8
                                 ? std::string("int8 ") + qualm::kernels::RequantModeName(m.quant.mode)
                                 : std::string("float");
  MESSAGE(std::string(m.arch + " " + scheme + ": max |qualm - naive ONNX| " + std::to_string(worst) + ", logits up to " +
          std::to_string(range)));
  CHECK(range > 0.01);  // not a degenerate all-zero output
  CHECK(worst <= naive_tolerance);
  const auto pa = Argmax(ad, 10), pw = Argmax(want.v, 10);
  int same = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) same += pa[i] == pw[i];
  CHECK(same * 10 >= n * 9);
}

}  // namespace

TEST_CASE("onnx round trip: zoo models, float and int8, identical logits, exported graphs agree with a naive run") {
  for (const char* arch : {"lenet5", "lenet1", "resnet20", "nin"}) {
    std::mt19937 rng(23);
    INFO(std::string(arch));
    const qualm::Model f = ZooModel(arch, rng);
    const int n = 13;
    const auto x = RandomImages(n * 28 * 28, rng);
    RoundTrip(f, x, n, 1e-3);

    const qualm::Dataset calib = RandomData(40, rng);
    for (auto mode : {qualm::kernels::RequantMode::kGemmlowp, qualm::kernels::RequantMode::kFloat}) {
      qualm::PtqOptions po;
      po.calibration.samples = 40;
      po.mode = mode;
      auto q = qualm::QuantizeModel(f, &calib, po);
      REQUIRE_MESSAGE(q.ok(), q.status().message());
      // int8 against ONNX's float-rescale QDQ semantics: rounding differences
      // of one step per layer (docs/onnx.md) add up over ResNet-20's 20
      // layers; a layout or parameter error moves logits by tens of steps.
      const float out_scale = q->quant.nodes.back().output.scale;
      RoundTrip(*q, x, n, 8.0 * out_scale);
    }
  }
}

TEST_CASE("onnx round trip: text models (embedding -> LSTM / GRU -> dense), float, identical logits") {
  for (const char* arch : {"lstm", "gru"}) {
    INFO(std::string(arch));
    qualm::ZooOptions zo;
    zo.input_shape = {11};  // prime sequence length
    zo.vocab = 53;
    zo.num_classes = 3;
    auto m = qualm::BuildZooModel(arch, zo);
    REQUIRE(m.ok());
    REQUIRE(qualm::InitializeParameters(*m, 9).ok());
    // Larger embeddings than the initial +-0.05, so that the gates saturate somewhere.
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto& p : m->nodes[1].params)
      for (std::int64_t i = 0; i < p.value.elements(); ++i) p.value.f32()[i] = u(rng);
    auto bytes = fe::ExportOnnxBytes(*m);
    REQUIRE_MESSAGE(bytes.ok(), bytes.status().message());
    CHECK(fe::CheckOnnxBytes(*bytes, "exported").ok());
    WriteFuzzSeed(std::string("export-") + arch, *bytes);
    auto back = fe::ImportOnnxBytes(*bytes, "text.onnx");
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    const int n = 7;
    std::vector<std::int32_t> ids(static_cast<std::size_t>(n * 11));
    std::uniform_int_distribution<int> tok(0, 52);
    for (auto& t : ids) t = tok(rng);
    auto logits = [&](const qualm::Model& model) {
      auto run = qualm::Inference::Create(model, {n, qualm::Backend::kReference, 1});
      REQUIRE(run.ok());
      (*run)->Run(ids.data(), n);
      return std::vector<float>((*run)->logits(), (*run)->logits() + n * 3);
    };
    const auto a = logits(*m), b = logits(*back);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    onnx::ModelProto proto;
    REQUIRE(proto.ParseFromString(*bytes));
    const NTensor want = NaiveRun(proto, {{n, 11}, std::vector<double>(ids.begin(), ids.end()), onnx::TensorProto::INT32});
    double range = 0;
    for (double v : want.v) range = std::max(range, std::fabs(v));
    CHECK(range > 0.01);
    CHECK(MaxRelDiff(a, want.v) < 1e-5);
  }
}

TEST_CASE("onnx export: declined schemes and inputs say why") {
  std::mt19937 rng(1);
  const qualm::Model f = ZooModel("lenet5", rng);
  qualm::PtqOptions po;
  po.scheme = qualm::QuantScheme::kDynamic;
  auto d = qualm::QuantizeModel(f, nullptr, po);
  REQUIRE(d.ok());
  auto bytes = fe::ExportOnnxBytes(*d);
  REQUIRE_FALSE(bytes.ok());
  CHECK(bytes.status().message().find("dynamic") != std::string::npos);
  // int8 recurrent ops (TFLite's 8x8_16 LSTM) have no QDQ form.
  qualm::ZooOptions zo;
  zo.input_shape = {16};
  zo.vocab = 50;
  auto lstm = qualm::BuildZooModel("lstm", zo);
  REQUIRE(lstm.ok());
  REQUIRE(qualm::InitializeParameters(*lstm, 1).ok());
  qualm::Dataset ids;
  ids.sample_type = qualm::SampleType::kInt32;
  ids.sample_shape = {16};
  ids.i32.assign(16 * 8, 3);
  ids.labels.assign(8, 0);
  ids.num_classes = 10;
  qualm::PtqOptions p8;
  p8.calibration.samples = 8;
  auto q = qualm::QuantizeModel(*lstm, &ids, p8);
  REQUIRE_MESSAGE(q.ok(), q.status().message());
  auto lb = fe::ExportOnnxBytes(*q);
  REQUIRE_FALSE(lb.ok());
  CHECK(lb.status().message().find("no QDQ") != std::string::npos);
}

// Backend::kOnednn through the executors (engine/include/qualm/engine/inference.h):
//  * in a build without oneDNN, every executor refuses it with the "not
//    available in this build" message (the no-onednn CI build runs this); in a
//    build with it, a training executor refuses it (weights packed once);
//  * int8 models: identical int8 values at every layer and identical logits to
//    the reference executor (oneDNN's s32 accumulators + qualm's requantization),
//    for LeNet-5, ResNet-20 and NiN, every requantization mode, 1 and 2
//    threads, and a batch smaller than the executor was made for;
//  * float models: logits within a normalized 1e-4 of the reference (oneDNN
//    sums in its own order), and the path description names oneDNN.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "qualm/engine/executor.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/onednn.h"

namespace qualm {
namespace {

Model ImageZoo(const std::string& arch, std::uint64_t seed) {
  ZooOptions o;
  o.input_shape = {28, 28, 1};
  o.num_classes = 10;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  Rng rng(seed + 1);  // non-trivial batch-norm statistics: folding makes real depthwise convs
  for (auto& n : m->nodes)
    if (std::holds_alternative<BatchNormOp>(n.op))
      for (std::int64_t c = 0; c < n.params[0].value.elements(); ++c) {
        n.params[0].value.f32()[c] = 0.5f + rng.Uniform();
        n.params[1].value.f32()[c] = 0.2f * (rng.Uniform() - 0.5f);
        n.params[2].value.f32()[c] = 0.3f * (rng.Uniform() - 0.5f);
        n.params[3].value.f32()[c] = 0.5f + rng.Uniform();
      }
  return std::move(m).value();
}

Dataset RandomImages(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.sample_type = SampleType::kFloat32;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  for (std::size_t i = 0; i < static_cast<std::size_t>(n) * d.sample_size(); ++i) d.f32.push_back(rng.Uniform());
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(10)));
  return d;
}

Model QuantizeInt8(const Model& m, const Dataset& calib, kernels::RequantMode mode) {
  PtqOptions o;
  o.mode = mode;
  o.calibration.samples = static_cast<int>(calib.size());
  auto q = QuantizeModel(m, &calib, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q).value();
}

std::unique_ptr<Int8Executor> MakeInt8(const Model& q, int max_batch, Backend backend, int threads) {
  Int8ExecutorOptions o;
  o.backend = backend;
  o.threads = threads;
  auto ex = Int8Executor::Create(&q, max_batch, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  return std::move(ex).value();
}

void CheckIdentical(const Model& q, const Int8Executor& ref, const Int8Executor& got, int n) {
  for (int i = 1; i < static_cast<int>(q.nodes.size()); ++i) {
    const std::size_t bytes = static_cast<std::size_t>(n * ref.sample_shape(i).elements());
    const auto* a = ref.value(i).data<std::int8_t>();
    const auto* b = got.value(i).data<std::int8_t>();
    std::size_t differ = 0;
    for (std::size_t k = 0; k < bytes; ++k) differ += a[k] != b[k];
    INFO("node " << q.nodes[static_cast<std::size_t>(i)].name << ": " << differ << " of " << bytes
                 << " int8 values differ");
    CHECK(differ == 0);
  }
  CHECK(std::memcmp(ref.logits(), got.logits(), static_cast<std::size_t>(n * q.num_classes) * sizeof(float)) == 0);
}

TEST_CASE("engine: the onednn backend is named, and refused where it cannot run") {
  CHECK(std::string(BackendName(Backend::kOnednn)) == "onednn");
  auto parsed = ParseBackend("onednn");
  REQUIRE(parsed.ok());
  CHECK(*parsed == Backend::kOnednn);
  Model m = ImageZoo("lenet5", 3);
  InferenceOptions io;
  io.max_batch = 2;
  io.backend = Backend::kOnednn;
  auto run = Inference::Create(m, io);
  const Model q = QuantizeInt8(m, RandomImages(m, 4, 4), kernels::RequantMode::kGemmlowp);
  auto run8 = Inference::Create(q, io);
  if (!kernels::onednn::Available()) {
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().message() == kernels::onednn::kUnavailableMessage);
    REQUIRE_FALSE(run8.ok());
    CHECK(run8.status().message() == kernels::onednn::kUnavailableMessage);
    MESSAGE("no oneDNN in this build: --backend onednn says '" << run.status().message() << "'");
    return;
  }
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  REQUIRE_MESSAGE(run8.ok(), run8.status().ToString());
  CHECK((*run)->PathDescription().find("onednn (conv2d/dense: oneDNN ") == 0);
  CHECK((*run8)->PathDescription().find("int8 onednn (conv2d/dense: oneDNN ") == 0);
  MESSAGE("float: " << (*run)->PathDescription());
  MESSAGE("int8:  " << (*run8)->PathDescription());
  ExecutorOptions train;
  train.backend = Backend::kOnednn;
  auto t = Executor::CreateForTraining(&m, train);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message().find("inference only") != std::string::npos);
}

TEST_CASE("engine: int8 models on the onednn backend are bit-identical to the reference at every layer") {
  if (!kernels::onednn::Available()) {
    MESSAGE("skipped: " << std::string(kernels::onednn::kUnavailableMessage));
    return;
  }
  std::uint64_t seed = 41;
  for (const std::string arch : {"lenet5", "resnet20", "nin"}) {
    Model m = ImageZoo(arch, seed);
    const Dataset calib = RandomImages(m, 8, seed + 2);
    const Dataset d = RandomImages(m, 6, seed + 3);
    for (kernels::RequantMode mode :
         {kernels::RequantMode::kGemmlowp, kernels::RequantMode::kSingle, kernels::RequantMode::kFloat}) {
      const std::string what = arch + " requant " + kernels::RequantModeName(mode);
      CAPTURE(what);
      const Model q = QuantizeInt8(m, calib, mode);
      auto ref = MakeInt8(q, 6, Backend::kReference, 1);
      ref->Forward(d.f32.data(), 6);
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        auto dnn = MakeInt8(q, 6, Backend::kOnednn, threads);
        dnn->Forward(d.f32.data(), 6);
        CheckIdentical(q, *ref, *dnn, 6);
      }
      auto dnn = MakeInt8(q, 6, Backend::kOnednn, 2);  // n = 3 of max 6: primitives for 2 and 1
      auto ref3 = MakeInt8(q, 3, Backend::kReference, 1);
      dnn->Forward(d.f32.data(), 3);
      ref3->Forward(d.f32.data(), 3);
      CheckIdentical(q, *ref3, *dnn, 3);
    }
    seed += 10;
  }
}

TEST_CASE("engine: float models on the onednn backend match the reference within the float tolerance") {
  if (!kernels::onednn::Available()) {
    MESSAGE("skipped: " << std::string(kernels::onednn::kUnavailableMessage));
    return;
  }
  std::uint64_t seed = 61;
  for (const std::string arch : {"lenet5", "resnet20", "nin"}) {
    CAPTURE(arch);
    const Model m = ImageZoo(arch, seed);
    const Dataset d = RandomImages(m, 7, seed + 1);
    for (int n : {7, 5}) {
      CAPTURE(n);
      InferenceOptions o;
      o.max_batch = 7;
      o.backend = Backend::kReference;
      auto ref = Inference::Create(m, o);
      REQUIRE(ref.ok());
      o.backend = Backend::kOnednn;
      o.threads = 2;
      auto dnn = Inference::Create(m, o);
      REQUIRE_MESSAGE(dnn.ok(), dnn.status().ToString());
      (*ref)->Run(d.f32.data(), n);
      (*dnn)->Run(d.f32.data(), n);
      double max_want = 0, max_err = 0;
      for (int i = 0; i < n * m.num_classes; ++i) {
        max_want = std::max(max_want, std::fabs(static_cast<double>((*ref)->logits()[i])));
        max_err = std::max(max_err, std::fabs(static_cast<double>((*dnn)->logits()[i]) - (*ref)->logits()[i]));
      }
      INFO("max |onednn - reference| = " << max_err << ", max |logit| = " << max_want);
      CHECK(max_want > 1e-3);
      CHECK(max_err <= 1e-4 * max_want);
    }
    seed += 10;
  }
}

}  // namespace
}  // namespace qualm

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
#include "engine/int8_executor_util.h"
#include "qualm/kernels/onednn.h"

namespace qualm {
namespace {

using testing::CheckIdentical;
using testing::ImageZoo;
using testing::QuantizeInt8;
using testing::RandomImages;
using testing::MakeInt8;

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
  CHECK((*run)->PathDescription().find("onednn (conv2d/dense/lstm/gru: oneDNN ") == 0);
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

// The int8 executor on the fast int8 kernels (Int8ExecutorOptions::backend =
// kFast) against the same executor on the reference kernels: identical int8
// values at every layer and identical logits, for the zoo's image models, in
// every requantization mode, under every int8 kernel variant the machine runs,
// with 1 and 2 threads and a batch smaller than the executor was made for.
// Evaluate() picks the fast int8 path for EvalOptions::backend == kFast.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/train.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"

namespace qualm {
namespace {

Model ImageZoo(const std::string& arch, std::uint64_t seed) {
  ZooOptions o;
  o.input_shape = {28, 28, 1};
  o.num_classes = 10;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  // Non-trivial batch-norm statistics, so that folding makes real depthwise convs.
  Rng rng(seed + 1);
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

std::unique_ptr<Int8Executor> Make(const Model& q, int max_batch, Backend backend, int threads) {
  Int8ExecutorOptions o;
  o.backend = backend;
  o.threads = threads;
  auto ex = Int8Executor::Create(&q, max_batch, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  return std::move(ex).value();
}

// Every value (all n samples) and the logits of `fast` equal those of `ref`.
void CheckIdentical(const Model& q, const Int8Executor& ref, const Int8Executor& fast, int n) {
  int layers = 0;
  for (int i = 1; i < static_cast<int>(q.nodes.size()); ++i) {
    const std::size_t bytes = static_cast<std::size_t>(n * ref.sample_shape(i).elements());
    const auto* a = ref.value(i).data<std::int8_t>();
    const auto* b = fast.value(i).data<std::int8_t>();
    std::size_t differ = 0;
    for (std::size_t k = 0; k < bytes; ++k) differ += a[k] != b[k];
    INFO("node " << q.nodes[static_cast<std::size_t>(i)].name << ": " << differ << " of " << bytes
                 << " int8 values differ");
    CHECK(differ == 0);
    ++layers;
  }
  CHECK(layers > 3);
  const std::size_t logits = static_cast<std::size_t>(n * q.num_classes);
  CHECK(std::memcmp(ref.logits(), fast.logits(), logits * sizeof(float)) == 0);
}

TEST_CASE("engine: fast int8 executor is bit-identical to the reference at every layer") {
  const kernels::RequantMode modes[] = {kernels::RequantMode::kGemmlowp, kernels::RequantMode::kSingle,
                                        kernels::RequantMode::kFloat};
  std::uint64_t seed = 31;
  for (const std::string arch : {"lenet5", "resnet20", "nin"}) {
    Model m = ImageZoo(arch, seed);
    const Dataset calib = RandomImages(m, 8, seed + 2);
    const Dataset d = RandomImages(m, 6, seed + 3);
    for (kernels::RequantMode mode : modes) {
      const std::string what = arch + " requant " + kernels::RequantModeName(mode);
      CAPTURE(what);
      const Model q = QuantizeInt8(m, calib, mode);
      auto ref = Make(q, 6, Backend::kReference, 1);
      ref->Forward(d.f32.data(), 6);
      for (const auto& v : kernels::detail::RunnableInt8GemmVariants()) {
        kernels::detail::ScopedInt8GemmIsaForTesting scoped(v.isa);
        REQUIRE(scoped.ok());
        const std::string variant = v.name;
        CAPTURE(variant);
        for (int threads : {1, 2}) {
          CAPTURE(threads);
          auto fast = Make(q, 6, Backend::kFast, threads);
          fast->Forward(d.f32.data(), 6);
          CheckIdentical(q, *ref, *fast, 6);
          CHECK(fast->PathDescription().find(std::string("int8 fast (") + kernels::IsaName(v.isa) + ": " + v.name) ==
                0);
        }
      }
      // A smaller batch than the executor was made for (scratch sized for 6).
      auto fast = Make(q, 6, Backend::kFast, 2);
      auto ref3 = Make(q, 3, Backend::kReference, 1);
      fast->Forward(d.f32.data(), 3);
      ref3->Forward(d.f32.data(), 3);
      CheckIdentical(q, *ref3, *fast, 3);
    }
    seed += 10;
  }
}

TEST_CASE("engine: Evaluate runs int8 models on the fast int8 path unless the reference is asked for") {
  Model m = ImageZoo("resnet20", 5);
  const Dataset calib = RandomImages(m, 8, 6);
  Model q = QuantizeInt8(m, calib, kernels::RequantMode::kGemmlowp);
  const Dataset d = RandomImages(m, 11, 7);
  EvalOptions o;
  o.batch_size = 4;  // a partial last batch
  o.threads = 2;
  o.backend = Backend::kFast;
  auto fast = Evaluate(q, d, o);
  REQUIRE_MESSAGE(fast.ok(), fast.status().ToString());
  o.backend = Backend::kReference;
  auto ref = Evaluate(q, d, o);
  REQUIRE_MESSAGE(ref.ok(), ref.status().ToString());
  CHECK(fast->path.find("int8 fast (") == 0);
  CHECK(ref->path.find("int8 reference") == 0);
  CHECK(fast->predictions == ref->predictions);
  REQUIRE(fast->probabilities.size() == ref->probabilities.size());
  CHECK(std::memcmp(fast->probabilities.data(), ref->probabilities.data(),
                    fast->probabilities.size() * sizeof(float)) == 0);
  CHECK(fast->loss == ref->loss);
}

TEST_CASE("engine: the int8 executor defaults to the reference path") {
  Model m = ImageZoo("lenet5", 9);
  const Model q = QuantizeInt8(m, RandomImages(m, 4, 10), kernels::RequantMode::kGemmlowp);
  auto ex = Int8Executor::Create(&q, 2);
  REQUIRE(ex.ok());
  CHECK((*ex)->options().backend == Backend::kReference);
  CHECK((*ex)->PathDescription() == "int8 reference (requant gemmlowp)");
  Int8ExecutorOptions bad;
  bad.threads = 0;
  CHECK(!Int8Executor::Create(&q, 2, bad).ok());
}

}  // namespace
}  // namespace qualm

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
#include "engine/int8_executor_util.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"

namespace qualm {
namespace {

using testing::CheckIdentical;
using testing::ImageZoo;
using testing::QuantizeInt8;
using testing::RandomImages;
constexpr auto Make = testing::MakeInt8;

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

// Training: determinism, resumption, learning on a separable synthetic task,
// optimizers, schedules, and data checks.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/random.h"
#include "qualm/engine/train.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm {
namespace {

// Ten classes of 28x28 images: class c lights up a horizontal band at rows
// 2c..2c+3 plus noise. Learnable by LeNet-1 within one epoch.
Dataset Bands(int count, std::uint64_t seed) {
  Dataset d;
  d.name = "bands";
  d.sample_shape = {28, 28, 1};
  d.num_classes = 10;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int c = static_cast<int>(rng.Below(10));
    d.labels.push_back(c);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool on = y >= 2 * c + 2 && y < 2 * c + 6;
        d.f32.push_back((on ? 0.8f : 0.1f) + 0.2f * rng.Uniform());
      }
  }
  return d;
}

Model Lenet1() {
  auto m = BuildZooModel("lenet1", ZooOptions{{28, 28, 1}, 10, 0});
  REQUIRE(m.ok());
  REQUIRE(InitializeParameters(*m, 3).ok());
  return std::move(m).value();
}

bool SameWeights(const Model& a, const Model& b) {
  for (std::size_t i = 0; i < a.nodes.size(); ++i)
    for (std::size_t k = 0; k < a.nodes[i].params.size(); ++k)
      if (std::memcmp(a.nodes[i].params[k].value.raw(), b.nodes[i].params[k].value.raw(),
                      a.nodes[i].params[k].value.bytes()) != 0)
        return false;
  return true;
}

TEST_CASE("training learns a separable task and is bit-identical for the same seed and threads") {
  const Dataset train = Bands(1024, 1), test = Bands(256, 2);
  for (Backend backend : {Backend::kFast, Backend::kReference}) {
    INFO(BackendName(backend));
    TrainConfig cfg;
    cfg.epochs = 2;
    cfg.batch_size = 32;
    cfg.lr = 0.05f;
    cfg.threads = 2;
    cfg.backend = backend;
    cfg.augment_shift = 1;
    Model a = Lenet1(), b = Lenet1();
    for (Model* m : {&a, &b}) {
      auto t = Trainer::Create(m, cfg);
      REQUIRE(t.ok());
      for (int e = 0; e < cfg.epochs; ++e) {
        auto r = (*t)->RunEpoch(train, nullptr);
        REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      }
    }
    CHECK(SameWeights(a, b));
    auto ev = Evaluate(a, test, EvalOptions{});
    REQUIRE(ev.ok());
    CHECK(ev->accuracy > 0.9);
    // A different seed gives different weights.
    Model c = Lenet1();
    cfg.seed = 2;
    auto t = Trainer::Create(&c, cfg);
    REQUIRE(t.ok());
    REQUIRE((*t)->RunEpoch(train, nullptr).ok());
    CHECK_FALSE(SameWeights(a, c));
  }
}

TEST_CASE("a run resumed from its end-of-epoch state continues bit-identically") {
  const Dataset train = Bands(512, 4);
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    TrainConfig cfg;
    cfg.epochs = 3;
    cfg.batch_size = 64;
    cfg.optimizer = opt;
    cfg.lr = opt == OptimizerKind::kAdam ? 1e-3f : 0.05f;
    Model straight = Lenet1();
    {
      auto t = Trainer::Create(&straight, cfg);
      REQUIRE(t.ok());
      for (int e = 0; e < 3; ++e) REQUIRE((*t)->RunEpoch(train, nullptr).ok());
    }
    Model resumed = Lenet1();
    Trainer::State saved;
    {
      auto t = Trainer::Create(&resumed, cfg);
      REQUIRE(t.ok());
      REQUIRE((*t)->RunEpoch(train, nullptr).ok());
      saved = (*t)->state();
    }
    Model copy = resumed;  // as if loaded from a checkpoint
    auto t = Trainer::Create(&copy, cfg);
    REQUIRE(t.ok());
    (*t)->state() = saved;
    for (int e = 1; e < 3; ++e) REQUIRE((*t)->RunEpoch(train, nullptr).ok());
    CHECK(SameWeights(straight, copy));
  }
}

TEST_CASE("learning-rate schedules") {
  Model m = Lenet1();
  TrainConfig cfg;
  cfg.epochs = 10;
  cfg.lr = 0.1f;
  cfg.schedule = LrSchedule::kCosine;
  auto t = Trainer::Create(&m, cfg);
  REQUIRE(t.ok());
  CHECK((*t)->LearningRate(0, 0, 100) == doctest::Approx(0.1));
  CHECK((*t)->LearningRate(5, 0, 100) == doctest::Approx(0.05));
  CHECK((*t)->LearningRate(9, 99, 100) < 0.001);
  cfg.schedule = LrSchedule::kStep;
  cfg.step_every = 3;
  cfg.step_gamma = 0.5f;
  cfg.warmup_epochs = 1;
  auto s = Trainer::Create(&m, cfg);
  REQUIRE(s.ok());
  CHECK((*s)->LearningRate(0, 0, 10) == doctest::Approx(0.01));
  CHECK((*s)->LearningRate(0, 9, 10) == doctest::Approx(0.1));
  CHECK((*s)->LearningRate(3, 0, 10) == doctest::Approx(0.05));
  CHECK((*s)->LearningRate(7, 0, 10) == doctest::Approx(0.025));
}

TEST_CASE("data sets that do not fit the model are rejected with a clear message") {
  Model m = Lenet1();
  Dataset d = Bands(8, 1);
  d.labels[3] = 12;
  auto s = CheckDataset(m, d);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("label 12") != std::string::npos);
  Dataset e = Bands(8, 1);
  e.sample_shape = {14, 56, 1};
  CHECK(CheckDataset(m, e).message().find("[14, 56, 1]") != std::string::npos);

  auto lstm = BuildZooModel("lstm", ZooOptions{{10}, 2, 50});
  REQUIRE(lstm.ok());
  Dataset text;
  text.name = "tokens";
  text.sample_type = SampleType::kInt32;
  text.sample_shape = {10};
  text.num_classes = 2;
  text.labels = {0, 1};
  text.i32.assign(20, 3);
  text.i32[15] = 50;
  auto st = CheckDataset(*lstm, text);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("vocabulary") != std::string::npos);
  CHECK(CheckDataset(m, text).message().find("token ids") != std::string::npos);
}

// The study's promise that a seed gives the same model on any machine
// (gemm.h, kernels/README.md "Determinism"): LeNet-5 trained for one short
// epoch under every gemm_f32 variant this CPU can run (the test hook stands in
// for QUALM_ISA=scalar / avx2 / avx512 on other machines), each with 1 and 2
// threads, ends with bit-identical weights. Variants the CPU cannot run are
// listed as skipped.
TEST_CASE("LeNet-5 trains to bit-identical weights under every gemm variant with 1 and 2 threads") {
  const Dataset train = Bands(256, 7);
  TrainConfig cfg;
  cfg.epochs = 1;
  cfg.batch_size = 32;
  cfg.lr = 0.05f;
  cfg.augment_shift = 1;
  cfg.backend = Backend::kFast;
  auto lenet5 = [] {
    auto m = BuildZooModel("lenet5", ZooOptions{{28, 28, 1}, 10, 0});
    REQUIRE(m.ok());
    REQUIRE(InitializeParameters(*m, 5).ok());
    return std::move(m).value();
  };
  for (const auto& v : kernels::detail::GemmVariants())
    if (!kernels::IsaAvailable(v.isa)) {
      const std::string skipped = std::string("skipped (ISA not available): ") + v.name;
      MESSAGE(skipped);
    }
  const Model init = lenet5();
  std::vector<Model> trained;
  std::vector<std::string> names;
  for (const auto& v : kernels::detail::RunnableGemmVariants()) {
    kernels::detail::ScopedGemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    for (int threads : {1, 2}) {
      cfg.threads = threads;
      Model m = lenet5();
      auto t = Trainer::Create(&m, cfg);
      REQUIRE(t.ok());
      auto r = (*t)->RunEpoch(train, nullptr);
      REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      trained.push_back(std::move(m));
      names.push_back(std::string(v.name) + " threads " + std::to_string(threads));
    }
  }
  REQUIRE(trained.size() >= 2);
  CHECK_FALSE(SameWeights(trained[0], init));  // it did train
  for (std::size_t i = 1; i < trained.size(); ++i) {
    const std::string pair = names[0] + " vs " + names[i];
    INFO(pair);
    CHECK(SameWeights(trained[0], trained[i]));
  }
}

}  // namespace
}  // namespace qualm

// Training with the adversarial and Mixup strategies: deterministic for a
// seed, resumable bit for bit at epoch boundaries, on images and on text; bad
// parameters and unsupported combinations are errors.
#include <doctest/doctest.h>

#include <cstring>

#include "qualm/engine/adversarial.h"
#include "qualm/engine/random.h"
#include "qualm/engine/train.h"
#include "qualm/engine/zoo.h"

namespace qualm {
namespace {

// Ten classes of 20x20 images: class c brightens rows 2c and 2c + 1.
Dataset Rows(int count, std::uint64_t seed) {
  Dataset d;
  d.name = "rows";
  d.sample_shape = {20, 20, 1};
  d.num_classes = 10;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int c = static_cast<int>(rng.Below(10));
    d.labels.push_back(c);
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 20; ++x) d.f32.push_back((y / 2 == c ? 0.7f : 0.1f) + 0.3f * rng.Uniform());
  }
  return d;
}

// Two classes of 8-token sequences: class 1 contains token 5.
Dataset Tokens(int count, std::uint64_t seed) {
  Dataset d;
  d.name = "tokens";
  d.sample_type = SampleType::kInt32;
  d.sample_shape = {8};
  d.num_classes = 2;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int c = static_cast<int>(rng.Below(2));
    d.labels.push_back(c);
    for (int t = 0; t < 8; ++t) d.i32.push_back(2 + static_cast<int>(rng.Below(3)));
    if (c == 1) d.i32[d.i32.size() - 1 - rng.Below(8)] = 5;
  }
  return d;
}

Model Build(const std::string& arch) {
  ZooOptions o;
  o.input_shape = arch == "lstm" ? std::vector<std::int64_t>{8} : std::vector<std::int64_t>{20, 20, 1};
  o.num_classes = arch == "lstm" ? 2 : 10;
  o.vocab = 8;
  auto m = BuildZooModel(arch, o);
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

TrainConfig Config(TrainingStrategy s) {
  TrainConfig cfg;
  cfg.epochs = 2;
  cfg.batch_size = 16;
  cfg.lr = 0.02f;
  cfg.strategy = s;
  cfg.adversarial.iterations = 3;
  cfg.adversarial.eps = 0.1f;
  cfg.adversarial.step = 0.05f;
  cfg.mixup.alpha = 0.4f;
  return cfg;
}

TEST_CASE("train strategies: deterministic, and 1 epoch + resume 1 equals 2 epochs, bit for bit") {
  const Dataset images = Rows(96, 1), text = Tokens(64, 2);
  for (const char* arch : {"lenet1", "lstm"}) {
    const Dataset& data = std::string(arch) == "lstm" ? text : images;
    for (TrainingStrategy s : {TrainingStrategy::kAdversarial, TrainingStrategy::kMixup}) {
      INFO(std::string(arch) << " " << std::string(StrategyName(s)));
      const TrainConfig cfg = Config(s);
      Model straight = Build(arch), again = Build(arch), resumed = Build(arch), standard = Build(arch);
      for (Model* m : {&straight, &again}) {
        auto t = Trainer::Create(m, cfg);
        REQUIRE_MESSAGE(t.ok(), t.status().ToString());
        for (int e = 0; e < 2; ++e) {
          auto r = (*t)->RunEpoch(data, nullptr);
          REQUIRE_MESSAGE(r.ok(), r.status().ToString());
          CHECK(std::isfinite(r->train_loss));
        }
      }
      CHECK(SameWeights(straight, again));
      Trainer::State saved;
      {
        auto t = Trainer::Create(&resumed, cfg);
        REQUIRE(t.ok());
        REQUIRE((*t)->RunEpoch(data, nullptr).ok());
        saved = (*t)->state();
      }
      Model copy = resumed;  // as if loaded from a checkpoint
      auto t = Trainer::Create(&copy, cfg);
      REQUIRE(t.ok());
      (*t)->state() = saved;
      REQUIRE((*t)->RunEpoch(data, nullptr).ok());
      CHECK(SameWeights(straight, copy));
      // The strategy changes training: standard training ends elsewhere.
      TrainConfig plain = cfg;
      plain.strategy = TrainingStrategy::kStandard;
      auto p = Trainer::Create(&standard, plain);
      REQUIRE(p.ok());
      for (int e = 0; e < 2; ++e) REQUIRE((*p)->RunEpoch(data, nullptr).ok());
      CHECK_FALSE(SameWeights(straight, standard));
    }
  }
}

TEST_CASE("train strategies: names, bad parameters and a hook with a strategy are errors") {
  for (TrainingStrategy s : {TrainingStrategy::kStandard, TrainingStrategy::kAdversarial, TrainingStrategy::kMixup}) {
    auto p = ParseStrategy(StrategyName(s));
    REQUIRE(p.ok());
    CHECK(*p == s);
  }
  CHECK_FALSE(ParseStrategy("qat").ok());
  Model m = Build("lenet1");
  auto bad = [&](auto edit) {
    TrainConfig cfg = Config(TrainingStrategy::kAdversarial);
    edit(cfg);
    auto t = Trainer::Create(&m, cfg);
    return t.ok() ? std::string() : t.status().message();
  };
  CHECK(bad([](TrainConfig& c) { c.adversarial.eps = 0; }).find("eps") != std::string::npos);
  CHECK(bad([](TrainConfig& c) { c.adversarial.step = -1; }).find("step") != std::string::npos);
  CHECK(bad([](TrainConfig& c) { c.adversarial.iterations = 0; }).find("iterations") != std::string::npos);
  CHECK(bad([](TrainConfig& c) { c.adversarial.fraction = 1.5f; }).find("fraction") != std::string::npos);
  CHECK(bad([](TrainConfig& c) {
          c.strategy = TrainingStrategy::kMixup;
          c.mixup.alpha = 0;
        }).find("alpha") != std::string::npos);
  // Parameters of a strategy not in use are not checked.
  CHECK(bad([](TrainConfig& c) {
          c.strategy = TrainingStrategy::kMixup;
          c.adversarial.eps = -1;
        }).empty());

  struct NoHook : TrainingHook {
    Status BeforeStep(int) override { return Status::Ok(); }
    void AfterNode(Executor&, int, int) override {}
    Result<double> Validate(const Dataset&) override { return 0.0; }
  } hook;
  auto t = Trainer::Create(&m, Config(TrainingStrategy::kMixup));
  REQUIRE(t.ok());
  (*t)->set_hook(&hook);
  auto r = (*t)->RunEpoch(Rows(16, 3), nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("mixup") != std::string::npos);
}

}  // namespace
}  // namespace qualm

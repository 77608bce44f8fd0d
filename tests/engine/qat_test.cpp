// QAT: training through the integer forward pass, and the converted int8
// model agreeing with it on every layer.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "qualm/engine/ptq.h"
#include "qualm/engine/qat.h"
#include "qualm/engine/random.h"
#include "qualm/engine/train.h"
#include "qualm/engine/zoo.h"

namespace qualm {
namespace {

Model Zoo(const std::string& arch, std::vector<std::int64_t> shape) {
  ZooOptions o;
  o.input_shape = std::move(shape);
  o.num_classes = IsTextArchitecture(arch) ? 2 : 4;
  o.vocab = 50;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, 3).ok());
  return std::move(m).value();
}

// Learnable synthetic data: images whose label is the brightest quadrant,
// token sequences whose label says whether token 7 occurs.
Dataset Synthetic(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "synthetic";
  d.sample_type = m.input_type;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    if (m.input_type == SampleType::kInt32) {
      const int label = static_cast<int>(rng.Below(2));
      for (std::size_t t = 0; t < d.sample_size(); ++t) {
        auto id = static_cast<std::int32_t>(2 + rng.Below(48));
        if (id == 7) id = 8;
        d.i32.push_back(id);
      }
      if (label) d.i32[d.i32.size() - 1 - rng.Below(d.sample_size())] = 7;
      d.labels.push_back(label);
    } else {
      const int label = static_cast<int>(rng.Below(4));
      const int h = d.sample_shape[0], w = d.sample_shape[1];
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const int quadrant = (y >= h / 2) * 2 + (x >= w / 2);
          d.f32.push_back(0.6f * rng.Uniform() + (quadrant == label ? 0.4f : 0.0f));
        }
      d.labels.push_back(label);
    }
  }
  return d;
}

struct QatRun {
  Model model;
  std::unique_ptr<Qat> qat;
  std::vector<double> losses;
};

QatRun TrainQat(const std::string& arch, std::vector<std::int64_t> shape, const Dataset& data, int epochs) {
  QatRun r;
  r.model = Zoo(arch, std::move(shape));
  QatOptions qo;
  qo.max_batch = 64;
  auto qat = Qat::Create(&r.model, qo);
  REQUIRE_MESSAGE(qat.ok(), qat.status().ToString());
  r.qat = std::move(qat).value();
  // The study's recipe (study/recipes.h) where it matters here, written out:
  // an engine test cannot include the study layer.
  TrainConfig c;
  if (IsTextArchitecture(arch)) {
    c.optimizer = OptimizerKind::kAdam;
    c.schedule = LrSchedule::kConstant;
    c.weight_decay = 0.0f;
    c.clip_grad_norm = 5.0f;
  } else if (arch == "resnet20" || arch == "nin") {
    c.augment_flip = true;
    c.augment_shift = 2;
  }
  c.batch_size = 16;
  c.epochs = epochs;
  c.threads = 1;
  c.lr = IsTextArchitecture(arch) ? 5e-3f : 0.02f;
  auto trainer = Trainer::Create(&r.model, c);
  REQUIRE_MESSAGE(trainer.ok(), trainer.status().ToString());
  (*trainer)->set_hook(r.qat.get());
  for (int e = 0; e < epochs; ++e) {
    auto rep = (*trainer)->RunEpoch(data, &data);
    REQUIRE_MESSAGE(rep.ok(), rep.status().ToString());
    r.losses.push_back(rep->train_loss);
  }
  return r;
}

TEST_CASE("engine: QAT trains and its int8 conversion agrees on every layer") {
  struct Case { std::string arch; std::vector<std::int64_t> shape; int epochs; };
  for (const Case& tc : {Case{"lenet5", {16, 16, 1}, 6}, Case{"lstm", {12}, 6}, Case{"resnet20", {8, 8, 1}, 2}}) {
    INFO(tc.arch);
    Model probe = Zoo(tc.arch, tc.shape);
    const Dataset data = Synthetic(probe, 96, 5);
    QatRun r = TrainQat(tc.arch, tc.shape, data, tc.epochs);
    INFO("losses ", r.losses.front(), " -> ", r.losses.back());
    if (tc.arch != "resnet20") CHECK(r.losses.back() < 0.8 * r.losses.front());  // it learns
    auto int8 = r.qat->Convert();
    REQUIRE_MESSAGE(int8.ok(), int8.status().ToString());
    CHECK(int8->quant.scheme == QuantScheme::kInt8);
    CHECK(int8->quant.info.count("qat") == 1);
    auto agree = CompareWithInt8(*r.qat, *int8, data, 32);
    REQUIRE_MESSAGE(agree.ok(), agree.status().ToString());
    CHECK(agree->samples == data.size());
    CHECK(agree->disagreements.empty());
    CHECK(agree->max_units() == 0);
    CHECK(agree->layers.size() >= 3);

    // The comparison can fail: against a PTQ model of the same weights (other
    // ranges: min/max on 20 samples), the layers differ.
    PtqOptions po;
    po.calibration.samples = 20;
    Model plain = r.model;  // already lowered; PTQ lowers again (a no-op)
    auto ptq = QuantizeModel(plain, &data, po);
    REQUIRE_MESSAGE(ptq.ok(), ptq.status().ToString());
    auto other = CompareWithInt8(*r.qat, *ptq, data, 32);
    REQUIRE(other.ok());
    CHECK(other->max_units() > 0);
  }
}

TEST_CASE("engine: QAT refuses quantized models and conversion before training") {
  Model m = Zoo("lenet5", {16, 16, 1});
  auto qat = Qat::Create(&m, QatOptions{});
  REQUIRE(qat.ok());
  CHECK(!(*qat)->Convert().ok());
  PtqOptions po;
  po.scheme = QuantScheme::kFp16Weights;
  auto half = QuantizeModel(Zoo("lenet5", {16, 16, 1}), nullptr, po);
  REQUIRE(half.ok());
  CHECK(!Qat::Create(&*half, QatOptions{}).ok());
}

}  // namespace
}  // namespace qualm

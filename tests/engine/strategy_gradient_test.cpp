// The gradients the training strategies rely on, against finite differences:
// the input gradient PGD follows (images, training and eval mode), the
// embedding-output gradient of the text attack, the soft-label Mixup loss,
// and Mixup's routing of gradients through mixed embedding rows. Plus: eval
// mode leaves batch-norm statistics alone, and lambda 1 is standard training.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/adversarial.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/mixup.h"
#include "qualm/engine/model.h"
#include "qualm/engine/random.h"
#include "qualm/kernels/softmax.h"

namespace qualm {
namespace {

Conv2dOp Conv(int out, int k, int pad) {
  Conv2dOp c;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = pad;
  return c;
}

// conv -> batch norm -> relu -> max pool -> dense, with non-trivial BN statistics.
Model TinyImageModel() {
  Model m;
  m.arch = "tiny-image";
  m.input_shape = {6, 6, 2};
  m.num_classes = 4;
  m.AddNode("input", InputOp{}, {});
  int a = m.AddNode("conv", Conv(3, 3, 1), {0});
  int b = m.AddNode("bn", BatchNormOp{}, {a});
  int c = m.AddNode("relu", ReluOp{}, {b});
  MaxPoolOp mp;
  mp.kernel_h = mp.kernel_w = mp.stride_h = mp.stride_w = 2;
  int d = m.AddNode("pool", mp, {c});
  DenseOp fc;
  fc.out_features = 4;
  m.AddNode("fc", fc, {d});
  REQUIRE(InitializeParameters(m, 5).ok());
  Rng rng(9);
  // gamma and running_var in [0.5, 1.5], beta and running_mean in [-0.3, 0.3]
  // (larger means would push every unit below the ReLU in eval mode).
  for (const char* name : {"gamma", "beta", "running_mean", "running_var"}) {
    Tensor& t = m.nodes[2].param(name).value;
    const bool centred = std::string(name) == "beta" || std::string(name) == "running_mean";
    for (std::int64_t j = 0; j < t.elements(); ++j) t.f32()[j] = centred ? rng.Uniform(-0.3f, 0.3f) : rng.Uniform(0.5f, 1.5f);
  }
  return m;
}

Model TinyTextModel() {
  Model m;
  m.arch = "tiny-text";
  m.input_type = SampleType::kInt32;
  m.input_shape = {5};
  m.num_classes = 3;
  m.AddNode("input", InputOp{}, {});
  EmbeddingOp e;
  e.vocab = 9;
  e.dim = 4;
  int x = m.AddNode("embedding", e, {0});
  LstmOp l;
  l.hidden = 3;
  x = m.AddNode("lstm", l, {x});
  DenseOp fc;
  fc.out_features = 3;
  m.AddNode("fc", fc, {x});
  REQUIRE(InitializeParameters(m, 4).ok());
  // Larger embeddings than the default init, so the LSTM is not in its linear regime.
  Tensor& t = m.nodes[1].param("table").value;
  for (std::int64_t j = 0; j < t.elements(); ++j) t.f32()[j] *= 10.0f;
  return m;
}

double Dot(const float* a, const std::vector<float>& r) {
  double s = 0;
  for (std::size_t i = 0; i < r.size(); ++i) s += static_cast<double>(a[i]) * r[i];
  return s;
}

bool Close(double fd, double an) { return std::fabs(fd - an) <= 2e-2 * std::max({1.0, std::fabs(fd), std::fabs(an)}); }

TEST_CASE("strategies: the input gradient matches finite differences (training and eval mode)") {
  for (bool eval : {false, true}) {
    for (Backend backend : {Backend::kReference, Backend::kFast}) {
      INFO(std::string(eval ? "eval" : "training") << " mode, " << std::string(BackendName(backend)));
      Model m = TinyImageModel();
      ExecutorOptions o;
      o.max_batch = 3;
      o.backend = backend;
      o.input_gradient = true;
      auto ex = Executor::CreateForTraining(&m, o);
      REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
      (*ex)->SetEvalMode(eval);
      const int n = 3;
      Rng rng(2);
      std::vector<float> x(static_cast<std::size_t>(n * 72)), r(static_cast<std::size_t>(n * 4));
      for (auto& v : x) v = rng.Uniform();
      for (auto& v : r) v = rng.Uniform(-1.0f, 1.0f);
      (*ex)->Forward(x.data(), n);
      (*ex)->ZeroParamGrads();
      (*ex)->Backward(r.data());
      const std::vector<float> an((*ex)->values()[0].grad.f32(), (*ex)->values()[0].grad.f32() + x.size());
      (*ex)->Forward(x.data(), n);
      const double l0 = Dot((*ex)->logits(), r);
      double largest = 0;
      int checked = 0;
      for (int t = 0; t < 60; ++t) {
        const std::size_t j = static_cast<std::size_t>(rng.Below(x.size()));
        const float saved = x[j], h = 1e-2f;
        x[j] = saved + h;
        (*ex)->Forward(x.data(), n);
        const double lp = Dot((*ex)->logits(), r);
        x[j] = saved - h;
        (*ex)->Forward(x.data(), n);
        const double lm = Dot((*ex)->logits(), r);
        x[j] = saved;
        // A ReLU or max-pool switch inside [x - h, x + h] makes the one-sided
        // differences disagree: no derivative to compare there.
        if (!Close((lp - l0) / h, (l0 - lm) / h)) continue;
        const double fd = (lp - lm) / (2.0 * h);
        INFO("x[" << j << "]: fd " << fd << " analytic " << an[j]);
        CHECK(Close(fd, an[j]));
        largest = std::max(largest, std::fabs(fd));
        ++checked;
      }
      CHECK(checked >= 40);
      CHECK(largest > 0.05);  // not a vacuous all-zero comparison
    }
  }
}

TEST_CASE("strategies: eval mode never updates batch-norm statistics, training mode does") {
  Model m = TinyImageModel();
  const Model before = m;
  ExecutorOptions o;
  o.max_batch = 4;
  o.input_gradient = true;
  auto ex = Executor::CreateForTraining(&m, o);
  REQUIRE(ex.ok());
  AdversarialConfig cfg;
  cfg.iterations = 3;
  auto attack = PgdAttack::Create(ex->get(), cfg);
  REQUIRE_MESSAGE(attack.ok(), attack.status().ToString());
  std::vector<float> x(4 * 72, 0.5f);
  std::vector<std::int32_t> labels{0, 1, 2, 3};
  Rng rng(1);
  (*attack)->Run(x.data(), labels.data(), 4, rng);
  CHECK_FALSE((*ex)->eval_mode());
  const Tensor& rm = m.nodes[2].param("running_mean").value;
  const Tensor& rm0 = before.nodes[2].param("running_mean").value;
  CHECK(std::memcmp(rm.raw(), rm0.raw(), rm.bytes()) == 0);
  (*ex)->Forward(x.data(), 4);  // a training forward moves them
  CHECK(std::memcmp(rm.raw(), rm0.raw(), rm.bytes()) != 0);
}

TEST_CASE("strategies: the embedding-output gradient the text attack follows matches finite differences") {
  Model m = TinyTextModel();
  ExecutorOptions o;
  o.max_batch = 2;
  o.backend = Backend::kReference;
  auto ex = Executor::CreateForTraining(&m, o);
  REQUIRE(ex.ok());
  AdversarialConfig cfg;
  cfg.iterations = 1;
  auto attack = PgdAttack::Create(ex->get(), cfg);
  REQUIRE(attack.ok());
  std::vector<std::int32_t> ids{1, 2, 3, 4, 5, 8, 7, 6, 0, 1}, labels{0, 2};
  Rng rng(3);
  (*attack)->Run(ids.data(), labels.data(), 2, rng);  // sets a random perturbation
  auto& delta = const_cast<std::vector<float>&>((*attack)->perturbation());
  CHECK(std::all_of(delta.begin(), delta.begin() + 40, [&](float d) { return std::fabs(d) <= (*attack)->radius(); }));
  std::vector<float> r{0.3f, -0.7f, 0.5f, 1.0f, -0.2f, -0.9f};
  (*ex)->SetEvalMode(true);
  (*ex)->Forward(ids.data(), 2, (*attack)->hook());
  (*ex)->ZeroParamGrads();
  (*ex)->Backward(r.data());
  const float* g = (*ex)->values()[1].grad.f32();
  for (std::size_t j = 0; j < 40; j += 3) {
    const float saved = delta[j], h = 1e-2f;
    delta[j] = saved + h;
    (*ex)->Forward(ids.data(), 2, (*attack)->hook());
    const double lp = Dot((*ex)->logits(), r);
    delta[j] = saved - h;
    (*ex)->Forward(ids.data(), 2, (*attack)->hook());
    const double lm = Dot((*ex)->logits(), r);
    delta[j] = saved;
    const double fd = (lp - lm) / (2.0 * h);
    INFO("delta[" << j << "]: fd " << fd << " analytic " << g[j]);
    CHECK(Close(fd, g[j]));
  }
}

TEST_CASE("strategies: Mixup's soft-label loss gradient matches finite differences") {
  const int n = 4, classes = 5;
  Rng rng(8);
  std::vector<float> logits(n * classes), probs(n * classes), d(n * classes, 0.0f);
  for (auto& v : logits) v = rng.Uniform(-3.0f, 3.0f);
  const std::vector<std::int32_t> labels{0, 3, 3, 1};
  const MixupPairing m = MakeMixup(0.3f, {2, 0, 3, 1});
  MixupCrossEntropy(n, classes, logits.data(), labels.data(), m, probs.data());
  MixupCrossEntropyBackward(n, classes, probs.data(), labels.data(), m, 1.0f / n, d.data());
  for (std::size_t j = 0; j < logits.size(); ++j) {
    const float saved = logits[j], h = 1e-2f;
    logits[j] = saved + h;
    const double lp = MixupCrossEntropy(n, classes, logits.data(), labels.data(), m, probs.data());
    logits[j] = saved - h;
    const double lm = MixupCrossEntropy(n, classes, logits.data(), labels.data(), m, probs.data());
    logits[j] = saved;
    const double fd = (lp - lm) / (2.0 * h);
    INFO("logit " << j << ": fd " << fd << " analytic " << d[j]);
    CHECK(std::fabs(fd - d[j]) < 2e-3);
  }
  // The loss is the lambda-weighted sum of the two hard-label losses.
  std::vector<std::int32_t> partner_labels{3, 0, 1, 3};
  const float la = kernels::ref::softmax_cross_entropy_f32(n, classes, logits.data(), labels.data(), probs.data());
  const float lb = kernels::ref::softmax_cross_entropy_f32(n, classes, logits.data(), partner_labels.data(), probs.data());
  CHECK(MixupCrossEntropy(n, classes, logits.data(), labels.data(), m, probs.data()) ==
        doctest::Approx(0.3 * la + 0.7 * lb).epsilon(1e-6));
}

TEST_CASE("strategies: Mixup on embeddings routes gradients to both rows of each pair (finite differences)") {
  Model m = TinyTextModel();
  ExecutorOptions o;
  o.max_batch = 3;
  o.backend = Backend::kReference;
  auto ex = Executor::CreateForTraining(&m, o);
  REQUIRE(ex.ok());
  std::vector<std::int32_t> ids{1, 2, 3, 4, 5, 8, 7, 6, 0, 1, 3, 3, 2, 2, 1};
  std::vector<float> r{0.3f, -0.7f, 0.5f, 1.0f, -0.2f, -0.9f, 0.4f, 0.1f, -0.6f};
  const MixupPairing pairing = MakeMixup(0.35f, {1, 2, 0});
  MixupEmbeddingHook hook(1);
  hook.set_pairing(&pairing);
  (*ex)->Forward(ids.data(), 3, &hook);
  (*ex)->ZeroParamGrads();
  (*ex)->Backward(r.data(), &hook);
  const std::vector<float> an((*ex)->param_grads()[1][0].f32(), (*ex)->param_grads()[1][0].f32() + 36);
  Tensor& table = m.nodes[1].param("table").value;
  int checked = 0;
  for (std::size_t j = 4; j < 36; ++j) {  // row 0 (padding id 0) too, but skip nothing else
    const float saved = table.f32()[j], h = 1e-2f;
    table.f32()[j] = saved + h;
    (*ex)->Forward(ids.data(), 3, &hook);
    const double lp = Dot((*ex)->logits(), r);
    table.f32()[j] = saved - h;
    (*ex)->Forward(ids.data(), 3, &hook);
    const double lm = Dot((*ex)->logits(), r);
    table.f32()[j] = saved;
    const double fd = (lp - lm) / (2.0 * h);
    INFO("table[" << j << "]: fd " << fd << " analytic " << an[j]);
    CHECK(Close(fd, an[j]));
    checked += std::fabs(fd) > 1e-3;
  }
  CHECK(checked > 10);
}

TEST_CASE("strategies: Mixup with lambda 1 is standard training, bit for bit") {
  for (bool text : {false, true}) {
    INFO((text ? "text" : "images"));
    Model a = text ? TinyTextModel() : TinyImageModel(), b = a;
    ExecutorOptions o;
    o.max_batch = 3;
    auto ea = Executor::CreateForTraining(&a, o), eb = Executor::CreateForTraining(&b, o);
    REQUIRE(ea.ok());
    REQUIRE(eb.ok());
    std::vector<std::int32_t> ids{1, 2, 3, 4, 5, 8, 7, 6, 0, 1, 3, 3, 2, 2, 1}, labels{2, 0, 1};
    Rng rng(4);
    std::vector<float> x(3 * 72);
    for (auto& v : x) v = rng.Uniform();
    const MixupPairing pairing = MakeMixup(1.0f, {2, 0, 1});
    std::vector<float> mixed = x, scratch;
    MixRows(pairing, 3, 72, mixed.data(), scratch);
    CHECK(mixed == x);
    MixupEmbeddingHook hook(1);
    hook.set_pairing(&pairing);
    const int classes = a.num_classes;
    std::vector<float> pa(3 * classes), pb(3 * classes), da(3 * classes, 0.0f), db(3 * classes, 0.0f);
    (*ea)->Forward(text ? static_cast<const void*>(ids.data()) : x.data(), 3);
    const float la = kernels::ref::softmax_cross_entropy_f32(3, classes, (*ea)->logits(), labels.data(), pa.data());
    kernels::ref::softmax_cross_entropy_backward_f32(3, classes, pa.data(), labels.data(), 1.0f / 3, da.data());
    (*ea)->ZeroParamGrads();
    (*ea)->Backward(da.data());
    (*eb)->Forward(text ? static_cast<const void*>(ids.data()) : mixed.data(), 3, text ? &hook : nullptr);
    const float lb = MixupCrossEntropy(3, classes, (*eb)->logits(), labels.data(), pairing, pb.data());
    MixupCrossEntropyBackward(3, classes, pb.data(), labels.data(), pairing, 1.0f / 3, db.data());
    (*eb)->ZeroParamGrads();
    (*eb)->Backward(db.data(), text ? &hook : nullptr);
    CHECK(la == lb);
    CHECK(da == db);
    for (std::size_t i = 0; i < a.nodes.size(); ++i)
      for (std::size_t k = 0; k < a.nodes[i].params.size(); ++k) {
        const Tensor& ga = (*ea)->param_grads()[i][k];
        if (ga.empty()) continue;
        CHECK(std::memcmp(ga.raw(), (*eb)->param_grads()[i][k].raw(), ga.bytes()) == 0);
      }
  }
}

}  // namespace
}  // namespace qualm

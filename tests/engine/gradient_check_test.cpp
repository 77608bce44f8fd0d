// Finite-difference gradient checks of every layer, through the executor.
//
// The kernels' own tests check each backward in double precision; these check
// the engine's wiring: that each node hands the right buffers to the right
// kernel, accumulates gradients across fan-out (residual adds), and handles
// the recurrent nodes' last-state outputs. Loss L = sum(logits * r) for a fixed
// random r, so dL/dlogits = r. Central differences in float with step 1e-2 on
// the reference backend; tolerance |fd - analytic| <= 2e-2 * max(1, |fd|, |an|)
// is loose for float but a wrong gradient (sign, missing term, wrong buffer)
// misses it by far.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/model.h"
#include "qualm/engine/random.h"

namespace qualm {
namespace {

double Loss(Executor& ex, const void* input, int n, const std::vector<float>& r) {
  ex.Forward(input, n);
  double l = 0;
  for (std::size_t i = 0; i < r.size(); ++i) l += static_cast<double>(ex.logits()[i]) * r[i];
  return l;
}

// Checks up to `per_param` entries of every trainable parameter.
void CheckGradients(Model& model, const void* input, int n, std::uint64_t seed, Backend backend,
                    int per_param = 12) {
  ExecutorOptions o;
  o.max_batch = n;
  o.training = true;
  o.backend = backend;
  auto ex = Executor::CreateForTraining(&model, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  Rng rng(seed);
  std::vector<float> r(static_cast<std::size_t>(n * model.num_classes));
  for (auto& v : r) v = rng.Uniform(-1.0f, 1.0f);
  (*ex)->Forward(input, n);
  (*ex)->ZeroParamGrads();
  (*ex)->Backward(r.data());
  // Copy analytic gradients: later forwards in training mode do not touch them,
  // but keep them safe from a future change.
  std::vector<std::vector<Tensor>> analytic = (*ex)->param_grads();
  int checked = 0;
  for (std::size_t i = 0; i < model.nodes.size(); ++i) {
    for (std::size_t k = 0; k < model.nodes[i].params.size(); ++k) {
      Param& p = model.nodes[i].params[k];
      if (!p.trainable) continue;
      const std::int64_t count = p.value.elements();
      for (int t = 0; t < per_param; ++t) {
        const std::int64_t j = static_cast<std::int64_t>(rng.Below(static_cast<std::uint64_t>(count)));
        float* w = p.value.f32() + j;
        const float saved = *w;
        const float h = 1e-2f;
        *w = saved + h;
        const double lp = Loss(**ex, input, n, r);
        *w = saved - h;
        const double lm = Loss(**ex, input, n, r);
        *w = saved;
        const double fd = (lp - lm) / (2.0 * h);
        const double an = analytic[i][k].f32()[j];
        const double tol = 2e-2 * std::max({1.0, std::fabs(fd), std::fabs(an)});
        INFO(model.nodes[i].name << "." << p.name << "[" << j << "]: fd " << fd << " analytic " << an);
        CHECK(std::fabs(fd - an) <= tol);
        ++checked;
      }
    }
  }
  CHECK(checked > 0);
}

void Randomize(Model& m, std::uint64_t seed) {
  REQUIRE(InitializeParameters(m, seed).ok());
  // Batch-norm gamma/beta away from 1/0 so their gradients are exercised.
  Rng rng(seed + 1);
  for (auto& node : m.nodes)
    if (std::holds_alternative<BatchNormOp>(node.op)) {
      for (int k = 0; k < 2; ++k)
        for (std::int64_t j = 0; j < node.params[k].value.elements(); ++j)
          node.params[k].value.f32()[j] = rng.Uniform(0.5f, 1.5f) - static_cast<float>(k);
    }
}

Conv2dOp MakeConv(int out, int k, int stride, int pad, int groups = 1, int dilation = 1) {
  Conv2dOp c;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.stride_h = c.stride_w = stride;
  c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = pad;
  c.groups = groups;
  c.dilation_h = c.dilation_w = dilation;
  return c;
}

Model ImageModel() {
  Model m;
  m.arch = "gradcheck-image";
  m.input_shape = {9, 7, 4};
  m.num_classes = 5;
  m.AddNode("input", InputOp{}, {});
  int a = m.AddNode("conv_s2", MakeConv(6, 3, 2, 1), {0});                  // 5x4x6
  int b = m.AddNode("bn", BatchNormOp{}, {a});
  int c = m.AddNode("relu", ReluOp{}, {b});
  int d = m.AddNode("conv_grouped", MakeConv(6, 3, 1, 2, 2, 2), {c});       // dilated, grouped: 5x4x6
  int e = m.AddNode("add", AddOp{}, {d, a});                                // fan-out of conv_s2
  ReluOp r6;
  r6.relu6 = true;
  int f = m.AddNode("relu6", r6, {e});
  MaxPoolOp mp;
  mp.kernel_h = mp.kernel_w = 2;
  mp.stride_h = mp.stride_w = 1;
  int g = m.AddNode("maxpool", mp, {f});                                    // 4x3x6
  AvgPoolOp ap;
  ap.kernel_h = ap.kernel_w = 2;
  ap.stride_h = ap.stride_w = 1;
  ap.pad_bottom = ap.pad_right = 1;
  int h = m.AddNode("avgpool", ap, {g});                                    // 4x3x6
  int i = m.AddNode("conv1x1", MakeConv(7, 1, 1, 0), {h});
  int j = m.AddNode("gap", GlobalAvgPoolOp{}, {i});
  DenseOp fc;
  fc.out_features = 5;
  int k = m.AddNode("flatten_dense", fc, {g});                              // dense on a rank-3 value
  DenseOp fc2;
  fc2.out_features = 5;
  int l = m.AddNode("dense", fc2, {j});
  m.AddNode("sum", AddOp{}, {k, l});
  return m;
}

TEST_CASE("gradients: conv (stride, dilation, groups), batch norm, relu, relu6, add, pools, dense") {
  for (Backend backend : {Backend::kReference, Backend::kFast}) {
    INFO("backend " << BackendName(backend));
    Model m = ImageModel();
    Randomize(m, 7);
    const int n = 3;
    std::vector<float> x(static_cast<std::size_t>(n * 9 * 7 * 4));
    Rng rng(3);
    for (auto& v : x) v = rng.Uniform(-1.0f, 1.0f);
    CheckGradients(m, x.data(), n, 11, backend);
  }
}

Model TextModel(bool gru_first) {
  Model m;
  m.arch = "gradcheck-text";
  m.input_type = SampleType::kInt32;
  m.input_shape = {6};
  m.num_classes = 3;
  m.AddNode("input", InputOp{}, {});
  EmbeddingOp e;
  e.vocab = 11;
  e.dim = 5;
  int x = m.AddNode("embedding", e, {0});
  LstmOp l;
  GruOp g;
  if (gru_first) {
    g.hidden = 4;
    g.return_sequences = true;
    l.hidden = 3;
    x = m.AddNode("gru_seq", g, {x});
    x = m.AddNode("lstm_last", l, {x});
  } else {
    l.hidden = 4;
    l.return_sequences = true;
    g.hidden = 3;
    x = m.AddNode("lstm_seq", l, {x});
    x = m.AddNode("gru_last", g, {x});
  }
  DenseOp fc;
  fc.out_features = 3;
  m.AddNode("fc", fc, {x});
  return m;
}

TEST_CASE("gradients: embedding, LSTM and GRU (sequence and last-state outputs), dense") {
  for (bool gru_first : {true, false}) {
    for (Backend backend : {Backend::kReference, Backend::kFast}) {
      INFO("gru_first " << gru_first << " backend " << BackendName(backend));
      Model m = TextModel(gru_first);
      Randomize(m, 5);
      const int n = 2;
      std::vector<std::int32_t> ids = {0, 0, 3, 7, 10, 1, 4, 4, 9, 2, 6, 5};
      CheckGradients(m, ids.data(), n, 13, backend, 16);
    }
  }
}

}  // namespace
}  // namespace qualm

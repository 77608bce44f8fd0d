// The fast batch-norm / ReLU / add kernels and the training executor's
// assigned gradients (NodeExec::AssignInputGrad), end to end: on a model made
// only of those ops (no conv or dense, whose fast path fuses multiply-adds and
// so differs from the reference), the fast backend must give the reference
// backend's bits exactly: outputs, running statistics, parameter gradients and
// the input gradient, over several steps, in training and in eval mode, under
// every norm/eltwise variant this machine runs, with 1 and 2 threads. The
// graph has values with one writer that assigns (batch norm, ReLU, the input)
// and values with two writers (a fan-out into batch norm and the residual add)
// that the executor must still zero.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/random.h"
#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"

namespace qualm {
namespace {

Model NormResidualModel() {
  Model m;
  m.arch = "norm-residual";
  m.input_shape = {5, 3, 10};  // 15 positions x 10 channels (one 8-lane vector plus a tail)
  m.num_classes = 10;
  m.AddNode("input", InputOp{}, {});
  const int a = m.AddNode("bn1", BatchNormOp{}, {0});   // grad: one writer (relu1), assigned
  const int b = m.AddNode("relu1", ReluOp{}, {a});      // grad: two writers (bn2, add), zeroed
  const int c = m.AddNode("bn2", BatchNormOp{}, {b});   // grad: one writer (relu2), assigned
  const int d = m.AddNode("relu2", ReluOp{}, {c});      // grad: one writer (add), which accumulates
  const int e = m.AddNode("add", AddOp{}, {d, b});
  m.AddNode("gap", GlobalAvgPoolOp{}, {e});
  return m;
}

void RandomizeParams(Model& m, std::uint64_t seed) {
  REQUIRE(InitializeParameters(m, seed).ok());
  Rng rng(seed + 1);
  for (auto& node : m.nodes)
    if (std::holds_alternative<BatchNormOp>(node.op))
      for (int k = 0; k < 2; ++k)
        for (std::int64_t j = 0; j < node.params[k].value.elements(); ++j)
          node.params[k].value.f32()[j] = rng.Uniform(0.5f, 1.5f) - static_cast<float>(k);
}

struct StepResult {
  std::vector<float> logits, input_grad, params, grads;
};

// Runs `steps` forward/backward steps (the last one in eval mode) and returns
// everything the executor produced, flattened.
StepResult Train(Backend backend, int threads, int steps) {
  Model m = NormResidualModel();
  RandomizeParams(m, 5);
  ExecutorOptions o;
  o.backend = backend;
  o.threads = threads;
  o.max_batch = 7;
  o.input_gradient = true;
  auto ex = Executor::CreateForTraining(&m, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  Rng rng(9);
  StepResult r;
  for (int step = 0; step < steps; ++step) {
    const int n = step % 2 == 0 ? 7 : 3;  // a batch below max_batch too
    std::vector<float> x(static_cast<std::size_t>(n) * 150), dl(static_cast<std::size_t>(n) * 10);
    for (auto& v : x) v = rng.Uniform(-2.0f, 2.0f);
    for (auto& v : dl) v = rng.Uniform(-1.0f, 1.0f);
    (*ex)->SetEvalMode(step == steps - 1);
    (*ex)->ZeroParamGrads();
    (*ex)->Forward(x.data(), n);
    (*ex)->Backward(dl.data());
    const float* lg = (*ex)->logits();
    r.logits.insert(r.logits.end(), lg, lg + n * 10);
    const float* ig = (*ex)->values()[0].grad.f32();
    r.input_grad.insert(r.input_grad.end(), ig, ig + n * 150);
    for (const auto& grads : (*ex)->param_grads())
      for (const auto& g : grads)
        if (!g.empty()) r.grads.insert(r.grads.end(), g.f32(), g.f32() + g.elements());
  }
  for (const auto& node : m.nodes)
    for (const auto& p : node.params) r.params.insert(r.params.end(), p.value.f32(), p.value.f32() + p.value.elements());
  return r;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  // Empty vectors may have a null data(): memcmp must not see it (UBSan).
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("batch norm + ReLU + residual add: fast backend = reference backend bit for bit, every variant") {
  const StepResult ref = Train(Backend::kReference, 1, 4);
  // Not degenerate: the input gradient and the running statistics moved.
  int nonzero = 0;
  for (float v : ref.input_grad) nonzero += v != 0.0f;
  CHECK(nonzero > static_cast<int>(ref.input_grad.size() / 2));
  for (const auto& v : kernels::detail::NormEltwiseF32Variants()) {
    kernels::detail::ScopedNormEltwiseF32IsaForTesting scoped(v.isa);
    if (!scoped.ok()) {
      const std::string skipped = std::string("skipped (ISA not available or capped): ") + v.name;
      MESSAGE(skipped);
      continue;
    }
    for (int threads : {1, 2}) {
      const std::string name = v.name;
      CAPTURE(name);
      CAPTURE(threads);
      const StepResult fast = Train(Backend::kFast, threads, 4);
      CHECK(SameBits(ref.logits, fast.logits));
      CHECK(SameBits(ref.input_grad, fast.input_grad));
      CHECK(SameBits(ref.grads, fast.grads));
      CHECK(SameBits(ref.params, fast.params));  // running statistics
    }
  }
}

}  // namespace qualm

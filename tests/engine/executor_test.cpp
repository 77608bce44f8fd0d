// Executor and graph validation: clear errors for bad graphs, reference vs
// fast agreement on whole models, and no allocation during execution.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"

// Counts heap allocations made by this test binary while `g_counting` is set.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them): left
// to the runtime's (ASan's) own, they would be freed by the free() above, an
// alloc-dealloc mismatch under the sanitizer.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace qualm {
namespace {

Model Zoo(const std::string& arch) {
  ZooOptions o;
  o.input_shape = IsTextArchitecture(arch) ? std::vector<std::int64_t>{40} : std::vector<std::int64_t>{28, 28, 1};
  o.num_classes = IsTextArchitecture(arch) ? 2 : 10;
  o.vocab = 300;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, 42).ok());
  return std::move(m).value();
}

std::vector<float> RandomImages(int n, std::uint64_t seed) {
  std::vector<float> x(static_cast<std::size_t>(n) * 28 * 28);
  Rng rng(seed);
  for (auto& v : x) v = rng.Uniform();
  return x;
}

std::vector<std::int32_t> RandomTokens(int n, int len, int vocab, std::uint64_t seed) {
  std::vector<std::int32_t> x(static_cast<std::size_t>(n * len));
  Rng rng(seed);
  for (auto& v : x) v = static_cast<std::int32_t>(rng.Below(static_cast<std::uint64_t>(vocab)));
  return x;
}

TEST_CASE("zoo: every architecture builds with the documented shapes") {
  const std::vector<std::pair<std::string, std::int64_t>> expected_params = {
      {"lenet1", 4 * 25 + 4 + 12 * 4 * 25 + 12 + 192 * 10 + 10},
      {"lenet5", 6 * 25 + 6 + 16 * 6 * 25 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10},
  };
  for (const auto& expected : expected_params) {
    const std::string& arch = expected.first;  // not a structured binding: clang 14 cannot capture one
    const std::int64_t count = expected.second;
    Model m = Zoo(arch);
    CHECK_MESSAGE(m.ParameterCount() == count, arch);
  }
  Model r = Zoo("resnet20");
  // 19 3x3 convs + 2 projections + fc; ~0.27M parameters as in He et al.
  CHECK(r.ParameterCount() > 260000);
  CHECK(r.ParameterCount() < 280000);
  Model l = Zoo("lstm");
  CHECK(l.ParameterCount() == 300 * 128 + 4 * 50 * (128 + 50 + 1) + 50 * 2 + 2);
  Model g = Zoo("gru");
  CHECK(g.ParameterCount() == 300 * 128 + 3 * 75 * (128 + 75 + 2) + 75 * 2 + 2);
  CHECK_FALSE(BuildZooModel("vgg", ZooOptions{{28, 28, 1}, 10, 0}).ok());
  auto bad = BuildZooModel("lenet5", ZooOptions{{200}, 10, 0});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("image") != std::string::npos);
}

TEST_CASE("graph validation gives clear errors") {
  Model m;
  m.arch = "bad";
  m.input_shape = {5, 5, 1};
  m.num_classes = 3;
  m.AddNode("input", InputOp{}, {});
  Conv2dOp c;
  c.out_channels = 2;
  c.kernel_h = c.kernel_w = 7;
  m.AddNode("too_big", c, {0});
  auto r = InferShapes(m);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("too_big") != std::string::npos);

  Model m2;
  m2.arch = "bad2";
  m2.input_shape = {4, 4, 1};
  m2.num_classes = 3;
  m2.AddNode("input", InputOp{}, {});
  m2.AddNode("forward_ref", ReluOp{}, {5});
  CHECK_FALSE(InferShapes(m2).ok());

  Model m3 = Zoo("lenet1");
  m3.nodes[1].params[0].value = Tensor(DType::kF32, Shape{4, 3, 3, 1});
  const Model& cm3 = m3;
  auto r3 = InferShapes(cm3);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.status().message().find("conv1") != std::string::npos);
  CHECK(r3.status().message().find("[4, 5, 5, 1]") != std::string::npos);
}

TEST_CASE("reference and fast backends agree on whole zoo models") {
  for (const std::string arch : {"lenet1", "lenet5", "resnet20", "nin", "lstm", "gru"}) {
    INFO(arch);
    Model m = Zoo(arch);
    const int n = 5;
    std::vector<float> img = RandomImages(n, 9);
    std::vector<std::int32_t> tok = RandomTokens(n, 40, 300, 9);
    const void* input = IsTextArchitecture(arch) ? static_cast<const void*>(tok.data()) : img.data();
    std::vector<float> out[2];
    int k = 0;
    for (Backend b : {Backend::kReference, Backend::kFast}) {
      ExecutorOptions o;
      o.max_batch = 8;
      o.backend = b;
      o.threads = 2;
      auto ex = Executor::Create(m, o);
      REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
      (*ex)->Forward(input, n);
      out[k++].assign((*ex)->logits(), (*ex)->logits() + n * m.num_classes);
    }
    double max_abs = 0, max_ref = 0;
    for (std::size_t i = 0; i < out[0].size(); ++i) {
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(out[0][i] - out[1][i])));
      max_ref = std::max(max_ref, static_cast<double>(std::fabs(out[0][i])));
    }
    CHECK(max_ref > 1e-3);  // not a degenerate all-zero output
    CHECK(max_abs <= 1e-4 * std::max(1.0, max_ref));
  }
}

TEST_CASE("Forward and Backward do not allocate (reference backend)") {
  for (const std::string arch : {"resnet20", "lstm"}) {
    INFO(arch);
    Model m = Zoo(arch);
    ExecutorOptions o;
    o.max_batch = 4;
    o.training = true;
    o.backend = Backend::kReference;
    auto ex = Executor::CreateForTraining(&m, o);
    REQUIRE(ex.ok());
    std::vector<float> img = RandomImages(4, 1);
    std::vector<std::int32_t> tok = RandomTokens(4, 40, 300, 1);
    const void* input = IsTextArchitecture(arch) ? static_cast<const void*>(tok.data()) : img.data();
    std::vector<float> dlogits(static_cast<std::size_t>(4 * m.num_classes), 0.1f);
    (*ex)->Forward(input, 4);  // warm-up
    g_allocations = 0;
    g_counting = true;
    (*ex)->Forward(input, 3);
    (*ex)->ZeroParamGrads();
    (*ex)->Backward(dlogits.data());
    g_counting = false;
    CHECK(g_allocations.load() == 0);
  }
}

TEST_CASE("engine: float, int8 and dynamic models execute without allocating (planned and not)") {
  for (const std::string arch : {"lenet5", "resnet20", "lstm", "gru"}) {
    INFO(arch);
    Model m = Zoo(arch);
    Dataset d;
    d.name = "calib";
    d.sample_type = m.input_type;
    for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
    d.num_classes = m.num_classes;
    if (IsTextArchitecture(arch)) d.i32 = RandomTokens(4, 40, 300, 1);
    else d.f32 = RandomImages(4, 1);
    d.labels.assign(4, 0);
    const void* input = IsTextArchitecture(arch) ? static_cast<const void*>(d.i32.data()) : d.f32.data();
    PtqOptions o;
    auto q = QuantizeModel(m, &d, o);
    REQUIRE_MESSAGE(q.ok(), q.status().ToString());
    for (const Backend backend : {Backend::kReference, Backend::kFast}) {
      INFO(BackendName(backend));
      Int8ExecutorOptions io;
      io.backend = backend;
      io.threads = 2;
      auto ix = Int8Executor::Create(&*q, 4, io);
      REQUIRE(ix.ok());
      (*ix)->Forward(input, 4);
      g_allocations = 0;
      g_counting = true;
      (*ix)->Forward(input, 3);
      g_counting = false;
      CHECK(g_allocations.load() == 0);
    }

    o.scheme = QuantScheme::kDynamic;
    auto dq = QuantizeModel(m, nullptr, o);
    REQUIRE(dq.ok());
    for (const Backend backend : {Backend::kReference, Backend::kFast}) {  // fast: the packed hybrid kernels
      INFO("dynamic ", BackendName(backend));
      ExecutorOptions eo;
      eo.max_batch = 4;
      eo.backend = backend;
      eo.threads = 2;
      auto dx = Executor::Create(*dq, eo);
      REQUIRE(dx.ok());
      (*dx)->Forward(input, 4);
      g_allocations = 0;
      g_counting = true;
      (*dx)->Forward(input, 3);
      g_counting = false;
      CHECK(g_allocations.load() == 0);
    }

    // The planned executors (one arena, memory_plan.h) that Inference::Create
    // makes, for the three model kinds.
    for (const Model* model : std::vector<const Model*>{&m, &*q, &*dq}) {
      for (const Backend backend : {Backend::kReference, Backend::kFast}) {
        INFO("planned ", QuantSchemeName(model->quant.scheme), " ", BackendName(backend));
        InferenceOptions po;
        po.max_batch = 4;
        po.backend = backend;
        po.threads = 2;
        auto run = Inference::Create(*model, po);
        REQUIRE_MESSAGE(run.ok(), run.status().ToString());
        (*run)->Run(input, 4);
        g_allocations = 0;
        g_counting = true;
        (*run)->Run(input, 3);
        (*run)->Run(input, 1);
        g_counting = false;
        CHECK(g_allocations.load() == 0);
      }
    }
  }
}

}  // namespace
}  // namespace qualm

namespace qualm {
namespace {
TEST_CASE("copying an empty tensor gives an empty tensor, and copies are deep") {
  Tensor empty;
  Tensor copy = empty;
  CHECK(copy.empty());
  CHECK(copy.raw() == nullptr);
  Tensor t(DType::kF32, Shape{3});
  t.Fill(2.0f);
  Tensor u = t;
  u.f32()[0] = 5.0f;
  CHECK(t.f32()[0] == 2.0f);
  CHECK(u.f32()[1] == 2.0f);
}
}  // namespace
}  // namespace qualm

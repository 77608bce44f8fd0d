// The activation memory plan (qualm/engine/memory_plan.h): the greedy planner
// against its overlap checker on random and awkward lifetimes, the checker
// catching planted overlaps, planned executors giving the same bits as
// unplanned ones on every zoo model in float, int8 and dynamic form, and the
// arena-size regression table (docs/memory-plan.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/memory_plan.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"

namespace qualm {
namespace {

// The largest sum of the (aligned) bytes live at one step: no arena can be
// smaller, whatever the planner.
std::size_t PeakLiveBytes(const std::vector<BufferLifetime>& b) {
  int steps = 0;
  for (const auto& x : b) steps = std::max(steps, x.last + 1);
  std::size_t peak = 0;
  for (int t = 0; t < steps; ++t) {
    std::size_t live = 0;
    for (const auto& x : b)
      if (x.first <= t && t <= x.last) live += (x.bytes + 63) / 64 * 64;
    peak = std::max(peak, live);
  }
  return peak;
}

TEST_CASE("memory plan: random lifetimes pass the overlap checker, arena between peak and sum") {
  Rng rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int count = 1 + static_cast<int>(rng.Below(41));  // 1..41 buffers
    const int steps = 1 + static_cast<int>(rng.Below(29));
    std::vector<BufferLifetime> b(static_cast<std::size_t>(count));
    for (auto& x : b) {
      // Sizes 0, 1, primes, exact multiples of 64 and large ones.
      const std::size_t sizes[] = {0, 1, 7, 63, 64, 65, 127, 4096, 12289};
      x.bytes = rng.Below(3) == 0 ? sizes[rng.Below(9)] : 1 + rng.Below(100000);
      x.first = static_cast<int>(rng.Below(static_cast<std::uint64_t>(steps)));
      x.last = x.first + static_cast<int>(rng.Below(static_cast<std::uint64_t>(steps - x.first)));
    }
    auto plan = PlanGreedyBySize(b);
    REQUIRE(plan.ok());
    INFO("trial ", trial);
    CHECK_MESSAGE(CheckMemoryPlan(b, *plan).ok(), CheckMemoryPlan(b, *plan).ToString());
    CHECK(plan->arena_bytes >= PeakLiveBytes(b));
    CHECK(plan->arena_bytes <= plan->sum_bytes);
  }
}

TEST_CASE("memory plan: a chain reuses two slots, and disjoint lifetimes share offset 0") {
  // a -> b -> c -> d, each read only by the next: two slots of the largest size suffice.
  std::vector<BufferLifetime> chain = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 3}};
  auto plan = PlanGreedyBySize(chain);
  REQUIRE(plan.ok());
  CHECK(plan->arena_bytes == 2 * 1024);
  CHECK(plan->sum_bytes == 4 * 1024);
  CHECK(plan->offsets[0] == plan->offsets[2]);
  CHECK(plan->offsets[1] == plan->offsets[3]);
  CHECK(plan->offsets[0] != plan->offsets[1]);
  // A buffer fits into a gap between two others live at its step.
  std::vector<BufferLifetime> gap = {{128, 0, 2}, {64, 0, 0}, {128, 0, 2}, {64, 2, 2}};
  auto g = PlanGreedyBySize(gap);
  REQUIRE(g.ok());
  CHECK(g->arena_bytes == 128 + 128 + 64);
  CHECK(CheckMemoryPlan(gap, *g).ok());
}

TEST_CASE("memory plan: the checker catches overlaps, unaligned offsets and overruns") {
  std::vector<BufferLifetime> b = {{100, 0, 2}, {100, 1, 3}, {100, 3, 4}};
  auto plan = PlanGreedyBySize(b);
  REQUIRE(plan.ok());
  REQUIRE(CheckMemoryPlan(b, *plan).ok());
  MemoryPlan bad = *plan;
  bad.offsets[1] = bad.offsets[0] + 64;  // live together with buffer 0, 36 bytes shared
  Status s = CheckMemoryPlan(b, bad);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("buffers 0 and 1") != std::string::npos);
  bad = *plan;
  bad.offsets[2] = 1;
  CHECK(CheckMemoryPlan(b, bad).message().find("unaligned") != std::string::npos);
  bad = *plan;
  bad.arena_bytes = 150;
  CHECK(CheckMemoryPlan(b, bad).message().find("past the arena") != std::string::npos);
  // Lifetimes that never meet may share bytes: buffers 0 and 2.
  bad = *plan;
  bad.offsets[2] = bad.offsets[0];
  bad.arena_bytes = std::max(bad.arena_bytes, bad.offsets[2] + 100);
  CHECK(CheckMemoryPlan(b, bad).ok() == (bad.offsets[2] + 100 <= bad.offsets[1] || bad.offsets[1] + 100 <= bad.offsets[2]));
  CHECK_FALSE(PlanGreedyBySize({{10, 3, 2}}).ok());
  CHECK_FALSE(PlanGreedyBySize({{10, -1, 2}}).ok());
}

TEST_CASE("memory plan: graph lifetimes end at the last reader, and outputs live to the end") {
  // 0 -> 1 -> 2 -> 3(add of 1 and 2) -> 4; node 1 is a skip read by 3.
  std::vector<std::vector<int>> inputs = {{}, {0}, {1}, {1, 2}, {3}};
  auto l = GraphLifetimes(inputs, {10, 20, 30, 40, 50}, {4});
  CHECK(l[0].first == 0);
  CHECK(l[0].last == 1);
  CHECK(l[1].last == 3);
  CHECK(l[2].last == 3);
  CHECK(l[3].last == 4);
  CHECK(l[4].first == 4);
  auto k = GraphLifetimes(inputs, {10, 20, 30, 40, 50}, {0, 4});
  CHECK(k[0].last == 4);
}

// ---- zoo models -----------------------------------------------------------

struct ZooCase {
  Model model;
  std::vector<float> images;
  std::vector<std::int32_t> tokens;
  const void* input() const { return tokens.empty() ? static_cast<const void*>(images.data()) : tokens.data(); }
};

// The zoo's architectures at the study's shapes: 28x28x1 images, 10 classes;
// 200-token mail, vocabulary 20000, 2 classes.
ZooCase MakeZoo(const std::string& arch, int n) {
  const bool text = IsTextArchitecture(arch);
  ZooOptions o;
  o.input_shape = text ? std::vector<std::int64_t>{200} : std::vector<std::int64_t>{28, 28, 1};
  o.num_classes = text ? 2 : 10;
  o.vocab = 20000;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, 42).ok());
  ZooCase z{std::move(m).value(), {}, {}};
  Rng rng(3);
  if (text) {
    z.tokens.resize(static_cast<std::size_t>(n) * 200);
    for (auto& t : z.tokens) t = static_cast<std::int32_t>(rng.Below(20000));
  } else {
    z.images.resize(static_cast<std::size_t>(n) * 28 * 28);
    for (auto& v : z.images) v = rng.Uniform();
  }
  return z;
}

Model Quantize(const ZooCase& z, QuantScheme scheme, int n) {
  Dataset d;
  d.name = "calib";
  d.sample_type = z.model.input_type;
  for (auto s : z.model.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = z.model.num_classes;
  d.f32 = z.images;
  d.i32 = z.tokens;
  d.labels.assign(static_cast<std::size_t>(n), 0);
  PtqOptions o;
  o.scheme = scheme;
  auto q = QuantizeModel(z.model, scheme == QuantScheme::kInt8 ? &d : nullptr, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q).value();
}

const char* const kArchs[] = {"lenet1", "lenet5", "resnet20", "nin", "lstm", "gru"};

TEST_CASE("memory plan: planned executors give the same bits as unplanned ones (float, int8, dynamic)") {
  const int n = 3, max_batch = 4;
  for (const std::string arch : kArchs) {
    INFO(arch);
    ZooCase z = MakeZoo(arch, n);
    const Model q8 = Quantize(z, QuantScheme::kInt8, n);
    const Model dyn = Quantize(z, QuantScheme::kDynamic, n);
    for (const Backend backend : {Backend::kReference, Backend::kFast}) {
      INFO(BackendName(backend));
      for (const Model* m : {static_cast<const Model*>(&z.model), &dyn}) {
        INFO(QuantSchemeName(m->quant.scheme));
        std::vector<float> out[2];
        for (int planned = 0; planned < 2; ++planned) {
          ExecutorOptions o;
          o.max_batch = max_batch;
          o.backend = backend;
          o.threads = 2;
          o.plan_memory = planned == 1;
          auto ex = Executor::Create(*m, o);
          REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
          if (planned) {
            CHECK((*ex)->memory_plan().arena_bytes < (*ex)->memory_plan().sum_bytes);
            CHECK(CheckMemoryPlan((*ex)->buffer_lifetimes(), (*ex)->memory_plan()).ok());
          }
          // Twice: stale bytes left in the arena by the first run must not matter.
          (*ex)->Forward(z.input(), n);
          (*ex)->Forward(z.input(), n);
          out[planned].assign((*ex)->logits(), (*ex)->logits() + n * m->num_classes);
        }
        CHECK(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)) == 0);
      }
      std::vector<float> out[2];
      for (int planned = 0; planned < 2; ++planned) {
        Int8ExecutorOptions io;
        io.backend = backend;
        io.threads = 2;
        io.plan_memory = planned == 1;
        auto ex = Int8Executor::Create(&q8, max_batch, io);
        REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
        if (planned) CHECK(CheckMemoryPlan((*ex)->buffer_lifetimes(), (*ex)->memory_plan()).ok());
        // The planned fast executor runs the ReLUs inside their producers
        // (every image model of the zoo has a conv or dense followed by a
        // ReLU; the text models have none): the comparison below is what
        // proves the fusion exact.
        const bool text = arch == "lstm" || arch == "gru";
        CHECK(((*ex)->fused_relus() > 0) == (planned == 1 && backend == Backend::kFast && !text));
        (*ex)->Forward(z.input(), n);
        (*ex)->Forward(z.input(), n);
        out[planned].assign((*ex)->logits(), (*ex)->logits() + n * q8.num_classes);
      }
      CHECK(std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("memory plan: a fused ReLU whose clamp bites gives the reference's bits") {
  // PTQ gives a conv and its ReLU the ReLU's params, whose zero point is -128
  // (the range starts at 0), so there the fused clamp never changes a value.
  // Here every value with zero point -128 (the ReLUs, their producers, the
  // pools that must keep their input's params) gets zero point 0, same scale:
  // the ReLU's clamp at 0 now cuts the lower half, and the fused producer
  // must apply it (dropping the fused clamp, or clamping one unit off, fails).
  const int n = 3;
  for (const std::string arch : {"lenet5", "resnet20", "nin"}) {
    INFO(arch);
    ZooCase z = MakeZoo(arch, n);
    Model q8 = Quantize(z, QuantScheme::kInt8, n);
    int moved = 0;
    for (NodeQuant& nq : q8.quant.nodes)
      if (nq.has_output && nq.output.zero_point == -128) nq.output.zero_point = 0, ++moved;
    REQUIRE(moved > 0);
    Int8ExecutorOptions ro;
    auto ref = Int8Executor::Create(&q8, n, ro);
    REQUIRE_MESSAGE(ref.ok(), ref.status().ToString());
    (*ref)->Forward(z.input(), n);
    // Not vacuous: some ReLU changes its input in the reference run.
    bool bites = false;
    for (std::size_t i = 0; i < q8.nodes.size() && !bites; ++i) {
      if (!std::holds_alternative<ReluOp>(q8.nodes[i].op)) continue;
      const Tensor& in = (*ref)->value(q8.nodes[i].inputs[0]);
      const Tensor& out = (*ref)->value(static_cast<int>(i));
      bites = std::memcmp(in.raw(), out.raw(), in.bytes()) != 0;
    }
    CHECK(bites);
    for (int threads : {1, 2}) {
      Int8ExecutorOptions fo;
      fo.backend = Backend::kFast;
      fo.plan_memory = true;
      fo.threads = threads;
      auto fast = Int8Executor::Create(&q8, n, fo);
      REQUIRE_MESSAGE(fast.ok(), fast.status().ToString());
      CHECK((*fast)->fused_relus() > 0);
      (*fast)->Forward(z.input(), n);
      CHECK(std::memcmp((*fast)->logits(), (*ref)->logits(), sizeof(float) * n * q8.num_classes) == 0);
    }
  }
}

// The recorded arena sizes (bytes, max_batch 1, the study's shapes): a change
// that makes a model's arena grow fails here; one that shrinks it should lower
// the number (docs/memory-plan.md has the table, with the sums it replaces).
// QUALM_PRINT_ARENA=1 prints the table rows.
struct ArenaRecord {
  const char* arch;
  std::size_t float_arena, int8_arena, dynamic_arena;
};
const ArenaRecord kRecorded[] = {
#include "engine/memory_plan_arenas.inc"
};

TEST_CASE("memory plan: zoo arenas do not grow beyond the recorded sizes") {
  const bool print = std::getenv("QUALM_PRINT_ARENA") != nullptr;
  for (const ArenaRecord& r : kRecorded) {
    INFO(std::string(r.arch));
    ZooCase z = MakeZoo(r.arch, 1);
    const Model q8 = Quantize(z, QuantScheme::kInt8, 1);
    const Model dyn = Quantize(z, QuantScheme::kDynamic, 1);
    ExecutorOptions o;
    o.max_batch = 1;
    o.plan_memory = true;
    auto fx = Executor::Create(z.model, o);
    auto dx = Executor::Create(dyn, o);
    Int8ExecutorOptions io;
    io.plan_memory = true;
    auto ix = Int8Executor::Create(&q8, 1, io);
    REQUIRE(fx.ok());
    REQUIRE(dx.ok());
    REQUIRE(ix.ok());
    const MemoryPlan& f = (*fx)->memory_plan();
    const MemoryPlan& i = (*ix)->memory_plan();
    const MemoryPlan& d = (*dx)->memory_plan();
    if (print)
      std::printf("| %s | %zu | %zu | %zu | %zu | %zu | %zu |\n", r.arch, f.arena_bytes, f.sum_bytes, i.arena_bytes,
                  i.sum_bytes, d.arena_bytes, d.sum_bytes);
    CHECK(f.arena_bytes <= r.float_arena);
    CHECK(i.arena_bytes <= r.int8_arena);
    CHECK(d.arena_bytes <= r.dynamic_arena);
    // Not a vacuous bound: every recorded size is within 2x of today's.
    CHECK(2 * f.arena_bytes > r.float_arena);
    CHECK(2 * i.arena_bytes > r.int8_arena);
    CHECK(2 * d.arena_bytes > r.dynamic_arena);
  }
  CHECK(std::size(kRecorded) == 6);
}

}  // namespace
}  // namespace qualm

// The int8 executor's LSTM / GRU nodes on the fast backend (fast::lstm_s8 /
// fast::gru_s8) against the same executor on the reference kernels: identical
// int8 values at every layer and identical logits, for the zoo's text models
// and a stacked model whose first LSTM returns its whole sequence (so y, not
// only h_n, feeds the next layer), in every requantization mode, under every
// (int8 GEMM, gate stage) variant pair the machine runs, and with a batch
// smaller than the executor was made for.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"

namespace qualm {
namespace {

// The embedding init is widened (as int8_model_test.cpp) so the recurrent layers
// see trained-like magnitudes rather than a state stuck near 0.
void Widen(Model& m) {
  for (auto& n : m.nodes)
    if (std::holds_alternative<EmbeddingOp>(n.op))
      for (std::int64_t k = 0; k < n.params[0].value.elements(); ++k) n.params[0].value.f32()[k] *= 20.0f;
}

Model TextZoo(const std::string& arch, int seq_len, std::uint64_t seed) {
  ZooOptions o;
  o.input_shape = {seq_len};
  o.num_classes = 2;
  o.vocab = 97;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  Widen(*m);
  return std::move(m).value();
}

// embedding -> LSTM (H = 23, every step) -> GRU (H = 17, last step) -> dense.
Model Stacked(int seq_len, std::uint64_t seed) {
  Model m;
  m.arch = "stacked_rnn";
  m.input_type = SampleType::kInt32;
  m.input_shape = {seq_len};
  m.num_classes = 3;
  m.AddNode("input", InputOp{}, {});
  EmbeddingOp e;
  e.vocab = 61;
  e.dim = 19;
  int x = m.AddNode("embedding", e, {0});
  LstmOp l;
  l.hidden = 23;
  l.return_sequences = true;
  x = m.AddNode("lstm", l, {x});
  GruOp g;
  g.hidden = 17;
  x = m.AddNode("gru", g, {x});
  DenseOp d;
  d.out_features = 3;
  m.AddNode("fc", d, {x});
  REQUIRE(InitializeParameters(m, seed).ok());
  Widen(m);
  return m;
}

Dataset RandomTokens(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.sample_type = SampleType::kInt32;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  const auto vocab = static_cast<std::uint64_t>(std::get<EmbeddingOp>(m.nodes[1].op).vocab);
  for (std::size_t i = 0; i < static_cast<std::size_t>(n) * d.sample_size(); ++i)
    d.i32.push_back(static_cast<std::int32_t>(rng.Below(vocab)));
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(static_cast<std::uint64_t>(d.num_classes))));
  return d;
}

std::unique_ptr<Int8Executor> Make(const Model& q, int max_batch, Backend backend) {
  Int8ExecutorOptions o;
  o.backend = backend;
  auto ex = Int8Executor::Create(&q, max_batch, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  return std::move(ex).value();
}

// Every int8 value of every node (n samples) and the logits agree.
void CheckIdentical(const Model& q, const Int8Executor& ref, const Int8Executor& fast, int n) {
  std::size_t spread = 0;
  for (int i = 1; i < static_cast<int>(q.nodes.size()); ++i) {
    const std::size_t bytes = static_cast<std::size_t>(n * ref.sample_shape(i).elements());
    const auto* a = ref.value(i).data<std::int8_t>();
    const auto* b = fast.value(i).data<std::int8_t>();
    std::size_t differ = 0;
    for (std::size_t k = 0; k < bytes; ++k) differ += a[k] != b[k];
    std::vector<bool> seen(256, false);
    for (std::size_t k = 0; k < bytes; ++k) seen[static_cast<std::size_t>(a[k] + 128)] = true;
    INFO("node " << q.nodes[static_cast<std::size_t>(i)].name << ": " << differ << " of " << bytes
                 << " int8 values differ");
    CHECK(differ == 0);
    if (std::holds_alternative<LstmOp>(q.nodes[static_cast<std::size_t>(i)].op) ||
        std::holds_alternative<GruOp>(q.nodes[static_cast<std::size_t>(i)].op))
      for (bool s : seen) spread += s;
  }
  CHECK(spread >= 16);  // the recurrent outputs are not degenerate
  const std::size_t logits = static_cast<std::size_t>(n * q.num_classes);
  CHECK(std::memcmp(ref.logits(), fast.logits(), logits * sizeof(float)) == 0);
}

TEST_CASE("engine: fast int8 LSTM / GRU nodes are bit-identical to the reference at every layer") {
  const kernels::RequantMode modes[] = {kernels::RequantMode::kGemmlowp, kernels::RequantMode::kSingle,
                                        kernels::RequantMode::kFloat};
  std::uint64_t seed = 41;
  for (const std::string arch : {"lstm", "gru", "stacked"}) {
    Model m = arch == "stacked" ? Stacked(13, seed) : TextZoo(arch, 29, seed);
    const Dataset calib = RandomTokens(m, 8, seed + 1);
    const Dataset d = RandomTokens(m, 5, seed + 2);
    for (kernels::RequantMode mode : modes) {
      const std::string what = arch + " requant " + kernels::RequantModeName(mode);
      CAPTURE(what);
      PtqOptions po;
      po.mode = mode;
      po.calibration.samples = static_cast<int>(calib.size());
      auto q = QuantizeModel(m, &calib, po);
      REQUIRE_MESSAGE(q.ok(), q.status().ToString());
      auto ref = Make(*q, 5, Backend::kReference);
      ref->Forward(d.i32.data(), 5);
      for (const auto& g : kernels::detail::RunnableInt8GemmVariants()) {
        kernels::detail::ScopedInt8GemmIsaForTesting sg(g.isa);
        REQUIRE(sg.ok());
        for (const auto& r : kernels::detail::RnnS8GatesVariants()) {
          if (!kernels::IsaAvailable(r.isa)) continue;
          kernels::detail::ScopedRnnS8GatesIsaForTesting sr(r.isa);
          REQUIRE(sr.ok());
          const std::string variant = std::string(g.name) + " + " + r.name;
          CAPTURE(variant);
          auto fast = Make(*q, 5, Backend::kFast);
          fast->Forward(d.i32.data(), 5);
          CheckIdentical(*q, *ref, *fast, 5);
        }
      }
      // A smaller batch than the executor was made for (scratch sized for 5).
      auto fast = Make(*q, 5, Backend::kFast);
      auto ref2 = Make(*q, 2, Backend::kReference);
      fast->Forward(d.i32.data(), 2);
      ref2->Forward(d.i32.data(), 2);
      CheckIdentical(*q, *ref2, *fast, 2);
    }
    seed += 10;
  }
}

}  // namespace
}  // namespace qualm

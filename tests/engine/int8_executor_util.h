// tests/engine/int8_executor_util.h: what the tests that hold one int8
// executor path against another share (int8_fast_executor_test: fast vs
// reference kernels; onednn_backend_test: oneDNN vs reference): an image zoo
// model with non-trivial batch-norm statistics, random images, int8 PTQ, an
// executor on a chosen backend, and the layer-by-layer identity check.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <variant>

#include "qualm/engine/int8_executor.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"

namespace qualm::testing {

inline Model ImageZoo(const std::string& arch, std::uint64_t seed) {
  ZooOptions o;
  o.input_shape = {28, 28, 1};
  o.num_classes = 10;
  auto m = BuildZooModel(arch, o);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, seed).ok());
  // Non-trivial batch-norm statistics, so that folding makes real depthwise convs.
  Rng rng(seed + 1);
  for (auto& n : m->nodes)
    if (std::holds_alternative<BatchNormOp>(n.op))
      for (std::int64_t c = 0; c < n.params[0].value.elements(); ++c) {
        n.params[0].value.f32()[c] = 0.5f + rng.Uniform();
        n.params[1].value.f32()[c] = 0.2f * (rng.Uniform() - 0.5f);
        n.params[2].value.f32()[c] = 0.3f * (rng.Uniform() - 0.5f);
        n.params[3].value.f32()[c] = 0.5f + rng.Uniform();
      }
  return std::move(m).value();
}

inline Dataset RandomImages(const Model& m, int n, std::uint64_t seed) {
  Dataset d;
  d.name = "random";
  d.sample_type = SampleType::kFloat32;
  for (auto s : m.input_shape) d.sample_shape.push_back(static_cast<int>(s));
  d.num_classes = m.num_classes;
  Rng rng(seed);
  for (std::size_t i = 0; i < static_cast<std::size_t>(n) * d.sample_size(); ++i) d.f32.push_back(rng.Uniform());
  for (int i = 0; i < n; ++i) d.labels.push_back(static_cast<std::int32_t>(rng.Below(10)));
  return d;
}

inline Model QuantizeInt8(const Model& m, const Dataset& calib, kernels::RequantMode mode) {
  PtqOptions o;
  o.mode = mode;
  o.calibration.samples = static_cast<int>(calib.size());
  auto q = QuantizeModel(m, &calib, o);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  return std::move(q).value();
}

inline std::unique_ptr<Int8Executor> MakeInt8(const Model& q, int max_batch, Backend backend, int threads) {
  Int8ExecutorOptions o;
  o.backend = backend;
  o.threads = threads;
  auto ex = Int8Executor::Create(&q, max_batch, o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().ToString());
  return std::move(ex).value();
}

// Every value (all n samples) and the logits of `got` equal those of `ref`.
inline void CheckIdentical(const Model& q, const Int8Executor& ref, const Int8Executor& got, int n) {
  int layers = 0;
  for (int i = 1; i < static_cast<int>(q.nodes.size()); ++i) {
    const std::size_t bytes = static_cast<std::size_t>(n * ref.sample_shape(i).elements());
    const auto* a = ref.value(i).data<std::int8_t>();
    const auto* b = got.value(i).data<std::int8_t>();
    std::size_t differ = 0;
    for (std::size_t k = 0; k < bytes; ++k) differ += a[k] != b[k];
    INFO("node " << q.nodes[static_cast<std::size_t>(i)].name << ": " << differ << " of " << bytes
                 << " int8 values differ");
    CHECK(differ == 0);
    ++layers;
  }
  CHECK(layers > 3);
  const std::size_t logits = static_cast<std::size_t>(n * q.num_classes);
  CHECK(std::memcmp(ref.logits(), got.logits(), logits * sizeof(float)) == 0);
}

}  // namespace qualm::testing

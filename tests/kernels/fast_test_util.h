// Helpers for the fast-path tests: 64-byte aligned scratch and the loop over
// every gemm variant this machine can run.
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/test_util.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/detail/gemm_variants.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

namespace qualm_test {

// Exactly `floats` long and 64-byte aligned, pre-filled with NaN so that a
// kernel reading scratch it did not write shows up in its output.
class Scratch {
 public:
  explicit Scratch(std::size_t floats) : storage_(floats + 16, std::numeric_limits<float>::quiet_NaN()) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    ptr_ = storage_.data() + ((64 - addr % 64) % 64) / sizeof(float);
    floats_ = floats;
  }
  qualm::kernels::KernelContext Context(int threads) const { return {threads, ptr_, floats_}; }

 private:
  std::vector<float> storage_;
  float* ptr_ = nullptr;
  std::size_t floats_ = 0;
};

// Runs body() once under each gemm variant the machine supports (test hook),
// with the variant name captured for failure messages.
inline void ForEachGemmVariant(const std::function<void()>& body) {
  for (const auto& v : qualm::kernels::detail::RunnableGemmVariants()) {
    qualm::kernels::detail::ScopedGemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    const std::string name = v.name;
    CAPTURE(name);
    body();
  }
}

// Runs body() under every pair (gemm variant, float RNN cell variant) the
// machine supports: the fast LSTM / GRU must give the same bits for all.
inline void ForEachGemmAndRnnCellVariant(const std::function<void()>& body) {
  ForEachGemmVariant([&] {
    for (const auto& v : qualm::kernels::detail::RunnableRnnCellF32Variants()) {
      qualm::kernels::detail::ScopedRnnCellF32IsaForTesting scoped(v.isa);
      REQUIRE(scoped.ok());
      const std::string cell = v.name;
      CAPTURE(cell);
      body();
    }
  });
}

}  // namespace qualm_test

// gemm_f32 dispatch (gemm.h): a best-first table of the per-ISA variants,
// resolved once (function-local static) against ActiveIsa(). The test-only
// override (detail::ScopedGemmIsaForTesting) is one relaxed atomic load per call.
#include <atomic>
#include <string>
#include <vector>

#include "fast/gemm_f32_tile.h"
#include "internal/isa_dispatch.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<const GemmVariant*> g_override{nullptr};

const GemmVariant& Chosen() {
  static const GemmVariant* chosen = [] {
    for (const GemmVariant& v : GemmVariants())
      if (IsaAvailable(v.isa)) return &v;
    return &GemmVariants().back();  // the baseline always runs
  }();
  const GemmVariant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : *chosen;
}

}  // namespace

namespace gemm_f32_internal {
// Static thread-local storage, so gemm_f32 never allocates (zeroed once per
// thread by the C library at thread creation).
Scratch& ThreadScratch() {
  static thread_local Scratch scratch;
  return scratch;
}
}  // namespace gemm_f32_internal

const std::vector<GemmVariant>& GemmVariants() {
  static const std::vector<GemmVariant> variants = {
      {Isa::kAvx512, "gemm_f32_8x32__avx512", &gemm_f32_8x32__avx512},
      {Isa::kAvx2, "gemm_f32_6x16__avx2", &gemm_f32_6x16__avx2},
      {Isa::kScalar, "gemm_f32_4x8__generic", &gemm_f32_4x8__generic},
  };
  return variants;
}

const GemmVariant& ActiveGemmVariant() { return Chosen(); }

std::vector<GemmVariant> RunnableGemmVariants() { return internal::RunnableVariants(GemmVariants()); }

std::string DescribeGemmDispatch() {
  return internal::DescribeDispatch(GemmVariants(), g_override.load(std::memory_order_relaxed));
}

Isa ActiveGemmIsa() { return Chosen().isa; }

ScopedGemmIsaForTesting::ScopedGemmIsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const GemmVariant* v = internal::RunnableVariantFor(GemmVariants(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedGemmIsaForTesting::~ScopedGemmIsaForTesting() {
  if (ok_) g_override.store(previous_);
}

}  // namespace detail

void gemm_f32(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  detail::Chosen().fn(p, a, b, c, threads);
}

const char* GemmPathName() { return detail::Chosen().name; }

}  // namespace qualm::kernels

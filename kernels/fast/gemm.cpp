// gemm_f32 dispatch (gemm.h): a best-first table of the per-ISA variants,
// resolved once (function-local static) against ActiveIsa(). The test-only
// override (detail::ScopedGemmIsaForTesting) is one relaxed atomic load per call.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "fast/gemm_f32_pack.h"
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
      {Isa::kAvx512, "gemm_f32_8x32__avx512", &gemm_f32_8x32__avx512, 32},
      {Isa::kAvx2, "gemm_f32_6x16__avx2", &gemm_f32_6x16__avx2, 16},
      {Isa::kScalar, "gemm_f32_4x8__generic", &gemm_f32_4x8__generic, 8},
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

namespace {

template <int kNr>
void PackAll(const GemmParams& p, const float* b, float* out) {
  using detail::gemm_f32_internal::kKc;
  using detail::gemm_f32_internal::kNc;
  for (std::ptrdiff_t n0 = 0; n0 < p.n; n0 += kNc) {
    const int nc = static_cast<int>(std::min<std::ptrdiff_t>(kNc, p.n - n0));
    const std::ptrdiff_t panels = (nc + kNr - 1) / kNr;
    for (std::ptrdiff_t k0 = 0; k0 < p.k; k0 += kKc) {
      const int kc = static_cast<int>(std::min<std::ptrdiff_t>(kKc, p.k - k0));
      detail::gemm_f32_internal::PackB<kNr>(p, b, k0, kc, n0, nc, out + n0 * p.k + panels * k0 * kNr);
    }
  }
}

}  // namespace

namespace {

// Every column block padded to whole panels: at most n + nr - 1 columns per block.
std::size_t PackedFloats(const GemmParams& p, int nr) {
  if (p.n <= 0 || p.k <= 0) return 0;
  const std::ptrdiff_t blocks = (p.n + detail::gemm_f32_internal::kNc - 1) / detail::gemm_f32_internal::kNc;
  return static_cast<std::size_t>((p.n + blocks * nr) * static_cast<std::ptrdiff_t>(p.k));
}

}  // namespace

std::size_t PackedGemmBFloats(const GemmParams& p) { return PackedFloats(p, 32); }  // 32: the widest panel

int PackGemmBInto(const GemmParams& p, const float* b, float* out) {
  const int nr = detail::Chosen().nr;
  if (p.n <= 0 || p.k <= 0) return 0;
  switch (nr) {
    case 32: PackAll<32>(p, b, out); break;
    case 16: PackAll<16>(p, b, out); break;
    case 8: PackAll<8>(p, b, out); break;
    default: return 0;
  }
  return nr;
}

PackedGemmB PackGemmB(const GemmParams& p, const float* b) {
  PackedGemmB out;
  out.data.assign(PackedFloats(p, detail::Chosen().nr), 0.0f);
  if (out.data.empty()) return out;
  out.nr = PackGemmBInto(p, b, out.data.data());
  if (out.nr == 0) return PackedGemmB{};
  out.k = p.k, out.n = p.n;
  return out;
}

}  // namespace qualm::kernels

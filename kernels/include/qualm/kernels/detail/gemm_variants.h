// qualm/kernels/detail/gemm_variants.h: the per-ISA variants behind gemm_f32
// (gemm.h), exposed for tests and benchmarks only. Engine code calls gemm_f32.
//
// Every variant has the gemm_f32 signature and contract. A variant may only be
// called when its ISA is available (IsaAvailable) on this machine.
#pragma once

#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/gemm.h"

namespace qualm::kernels::detail {

using GemmFn = void (*)(const GemmParams& p, const float* a, const float* b, float* c, int threads);

// Named <entry point>_<tile>__<isa> (kernels/NAMING.md); the table's names
// are these symbols. All three give identical bits (the contract in gemm.h).
void gemm_f32_4x8__generic(const GemmParams& p, const float* a, const float* b, float* c,
                           int threads);  // x86-64 baseline, std::fma
void gemm_f32_6x16__avx2(const GemmParams& p, const float* a, const float* b, float* c,
                         int threads);  // AVX2 + FMA
void gemm_f32_8x32__avx512(const GemmParams& p, const float* a, const float* b, float* c,
                           int threads);  // AVX-512F

struct GemmVariant {
  Isa isa;
  const char* name;
  GemmFn fn;
  int nr;  // panel width (the micro-kernel's kNr): the layout PackGemmB writes for it
};

// Best first, ending with the baseline; the dispatcher takes the first whose ISA is available.
const std::vector<GemmVariant>& GemmVariants();
// The variants this process may run (ISA available under the QUALM_ISA cap), best first.
std::vector<GemmVariant> RunnableGemmVariants();
// The variant gemm_f32 calls now (the dispatcher's choice, or the test override).
const GemmVariant& ActiveGemmVariant();
// "gemm_f32_8x32__avx512: chosen; gemm_f32_6x16__avx2: not needed; ..." and the like.
std::string DescribeGemmDispatch();
// The ISA of the variant gemm_f32 runs now (test override included). The
// implicit-GEMM conv (kernels/fast/conv2d_implicit_f32.cpp) follows it.
Isa ActiveGemmIsa();

// Test-only hook: while alive, gemm_f32 (and therefore every fast kernel) runs
// the variant for `isa` instead of the dispatcher's choice, so one test process
// can cover every path the machine supports (the QUALM_ISA cap is read once per
// process). ok() is false, and nothing changes, if the ISA is not available.
// Not thread-safe with concurrent gemm_f32 callers; meant for tests.
class ScopedGemmIsaForTesting {
 public:
  explicit ScopedGemmIsaForTesting(Isa isa);
  ~ScopedGemmIsaForTesting();
  ScopedGemmIsaForTesting(const ScopedGemmIsaForTesting&) = delete;
  ScopedGemmIsaForTesting& operator=(const ScopedGemmIsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const GemmVariant* previous_ = nullptr;
};

}  // namespace qualm::kernels::detail

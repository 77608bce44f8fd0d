// Dispatch of the fast float LSTM / GRU cells (detail/rnn_cell_f32_variants.h),
// as norm_eltwise_f32.cpp: a best-first table resolved once against ActiveIsa()
// (so capped by QUALM_ISA), plus a test-only override. fast/lstm.cpp and
// fast/gru.cpp fetch the active row once per call.
#include <atomic>
#include <string>
#include <vector>

#include "internal/isa_dispatch.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

namespace qualm::kernels::detail {
namespace {

std::atomic<const RnnCellF32Variant*> g_override{nullptr};

const RnnCellF32Variant& Chosen() {
  static const RnnCellF32Variant* chosen = [] {
    for (const RnnCellF32Variant& v : RnnCellF32Variants())
      if (IsaAvailable(v.isa)) return &v;
    return &RnnCellF32Variants().back();
  }();
  return *chosen;
}

}  // namespace

const std::vector<RnnCellF32Variant>& RnnCellF32Variants() {
  static const std::vector<RnnCellF32Variant> table = {
#if defined(__x86_64__) || defined(__i386__)  // x86 builds only, as in gemm.cpp
      RnnCellF32Avx512(),
      RnnCellF32Avx2(),
#endif
      RnnCellF32Generic(),
  };
  return table;
}

std::vector<RnnCellF32Variant> RunnableRnnCellF32Variants() { return internal::RunnableVariants(RnnCellF32Variants()); }

const RnnCellF32Variant& ActiveRnnCellF32Variant() {
  const RnnCellF32Variant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : Chosen();
}

const char* RnnCellF32PathName() { return ActiveRnnCellF32Variant().name; }

std::string DescribeRnnCellF32Dispatch() {
  return internal::DescribeDispatch(RnnCellF32Variants(), g_override.load(std::memory_order_relaxed));
}

ScopedRnnCellF32IsaForTesting::ScopedRnnCellF32IsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const RnnCellF32Variant* v = internal::RunnableVariantFor(RnnCellF32Variants(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedRnnCellF32IsaForTesting::~ScopedRnnCellF32IsaForTesting() {
  if (ok_) g_override.store(previous_);
}

}  // namespace qualm::kernels::detail

// Dispatch of the fast int8 elementwise-family kernels (fast::add_s8,
// rescale_s8, quantize_s8, dequantize_s8, max_pool2d_s8, avg_pool2d_s8,
// global_avg_pool_s8; table in fast/eltwise_s8_variants.h).
//
// As int8_gemm.cpp: a best-first table of per-ISA rows resolved once
// (function-local static) against ActiveIsa(), so capped by QUALM_ISA, plus a
// test-only override read with one relaxed atomic load per call. The last row
// is the frozen reference, which every CPU runs.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "fast/eltwise_s8_variants.h"
#include "internal/isa_dispatch.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<const S8EltwiseVariant*> g_override{nullptr};

const S8EltwiseVariant& Chosen() {
  static const S8EltwiseVariant* chosen = [] {
    for (const S8EltwiseVariant& v : S8EltwiseVariantTable())
      if (IsaAvailable(v.isa)) return &v;
    return &S8EltwiseVariantTable().back();
  }();
  return *chosen;
}

}  // namespace

const std::vector<S8EltwiseVariant>& S8EltwiseVariantTable() {
  static const std::vector<S8EltwiseVariant> table = {
#if defined(__x86_64__) || defined(__i386__)  // x86 builds only, as in int8_gemm.cpp
      {Isa::kAvx2, "s8_eltwise__avx2", &s8_add_u32__avx2, &s8_rescale_u32__avx2, &s8_quantize_u32__avx2,
       &s8_dequantize_u32__avx2, &s8_max_pool_32c__avx2, &s8_avg_pool_32c__avx2, &s8_global_avg_pool_32c__avx2},
#endif
      {Isa::kScalar, "s8_eltwise_ref__generic", &ref::add_s8, &ref::rescale_s8, &ref::quantize_s8,
       &ref::dequantize_s8, &ref::max_pool2d_s8, &ref::avg_pool2d_s8, &ref::global_avg_pool_s8},
  };
  return table;
}

const S8EltwiseVariant& ActiveS8EltwiseVariant() {
  const S8EltwiseVariant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : Chosen();
}

std::vector<S8EltwiseVariantInfo> S8EltwiseVariants() {
  std::vector<S8EltwiseVariantInfo> out;
  for (const S8EltwiseVariant& v : S8EltwiseVariantTable()) out.push_back({v.isa, v.name});
  return out;
}

const char* S8EltwisePathName() { return ActiveS8EltwiseVariant().name; }

std::string DescribeS8EltwiseDispatch() {
  return internal::DescribeDispatch(S8EltwiseVariantTable(), g_override.load(std::memory_order_relaxed));
}

ScopedS8EltwiseIsaForTesting::ScopedS8EltwiseIsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const S8EltwiseVariant* v = internal::RunnableVariantFor(S8EltwiseVariantTable(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedS8EltwiseIsaForTesting::~ScopedS8EltwiseIsaForTesting() {
  if (ok_) g_override.store(static_cast<const S8EltwiseVariant*>(previous_));
}

}  // namespace detail

namespace fast {

using detail::ActiveS8EltwiseVariant;

void add_s8(const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b, std::int8_t* y) {
  ActiveS8EltwiseVariant().add(p, a, b, y);
}
void PrepareAddS8Table(PreparedAddS8& p) {
  p.table.clear();
  const detail::S8EltwiseVariant& v = ActiveS8EltwiseVariant();
  if (v.isa == Isa::kScalar) return;  // the reference row never reads it
  // Every (a, b) pair, a-major, through the variant's own add without a table.
  constexpr std::int64_t kPairs = 65536;
  std::vector<std::int8_t> a(kPairs), b(kPairs), table(kAddS8TableBytes, 0);
  for (std::int64_t i = 0; i < kPairs; ++i) {
    a[static_cast<std::size_t>(i)] = static_cast<std::int8_t>((i >> 8) - 128);
    b[static_cast<std::size_t>(i)] = static_cast<std::int8_t>((i & 255) - 128);
  }
  PreparedAddS8 all = p;
  all.count = kPairs;
  v.add(all, a.data(), b.data(), table.data());
  p.table = std::move(table);
}
void rescale_s8(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().rescale(p, x, y);
}
void quantize_s8(const QuantizeS8Params& p, const float* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().quantize(p, x, y);
}
void dequantize_s8(const QuantizeS8Params& p, const std::int8_t* x, float* y) {
  ActiveS8EltwiseVariant().dequantize(p, x, y);
}
void max_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().max_pool(p, x, y);
}
void avg_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().avg_pool(p, x, y);
}
void global_avg_pool_s8(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().global_avg_pool(p, x, y);
}

}  // namespace fast
}  // namespace qualm::kernels

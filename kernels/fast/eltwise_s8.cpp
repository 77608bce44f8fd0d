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
#include "qualm/kernels/context.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<const S8EltwiseVariant*> g_override{nullptr};

// The reference row's add on count elements: the reference reads p.count, so
// it gets a copy with that count (and without the table, which it never reads).
void RefAdd(const PreparedAddS8& p, std::int64_t count, const std::int8_t* a, const std::int8_t* b, std::int8_t* y) {
  PreparedAddS8 q;
  q.count = count;
  q.zero_point_a = p.zero_point_a, q.zero_point_b = p.zero_point_b, q.output_zero_point = p.output_zero_point;
  q.requant_a = p.requant_a, q.requant_b = p.requant_b, q.requant_out = p.requant_out;
  q.act_min = p.act_min, q.act_max = p.act_max, q.mode = p.mode;
  ref::add_s8(q, a, b, y);
}

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
      {Isa::kAvx512, "s8_eltwise__avx512", &s8_add_u16__avx512, &s8_rescale_u32__avx2, &s8_quantize_u32__avx2,
       &s8_dequantize_u32__avx2, &s8_max_pool_32c__avx2, &s8_avg_pool_32c__avx2, &s8_global_avg_pool_32c__avx2},
      {Isa::kAvx2, "s8_eltwise__avx2", &s8_add_u32__avx2, &s8_rescale_u32__avx2, &s8_quantize_u32__avx2,
       &s8_dequantize_u32__avx2, &s8_max_pool_32c__avx2, &s8_avg_pool_32c__avx2, &s8_global_avg_pool_32c__avx2},
#endif
      {Isa::kScalar, "s8_eltwise_ref__generic", &RefAdd, &ref::rescale_s8, &ref::quantize_s8,
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

namespace {

// An element of add or rescale costs a gather or a lane requantization, about
// 16 of the int8 GEMM's multiply-adds (ThreadsForWork's unit).
constexpr double kWorkPerElement = 16;
// Range boundaries in whole cache lines (and whole 32-element SIMD steps).
constexpr std::int64_t kRangeAlign = 64;

// run(begin, end) over [0, count) on up to `threads` threads: contiguous
// ranges, thread t near [count t / nt, count (t + 1) / nt), the split the
// direct conv makes of its output pixels (fast/conv2d_s8_direct.cpp), so an
// elementwise op after a conv reads what the same core wrote. Every element is
// computed alone: the bits never depend on the split.
template <typename Run>
void SplitElements(int threads, std::int64_t count, const Run& run) {
  const int nt = ThreadsForWork(threads, static_cast<double>(count) * kWorkPerElement);
  if (nt <= 1) {
    run(std::int64_t{0}, count);
    return;
  }
  auto bound = [&](int t) { return t == nt ? count : count * t / nt / kRangeAlign * kRangeAlign; };
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int t = 0; t < nt; ++t)
    if (bound(t + 1) > bound(t)) run(bound(t), bound(t + 1));
}

}  // namespace

void add_s8(const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b, std::int8_t* y) {
  ActiveS8EltwiseVariant().add(p, p.count, a, b, y);
}
void add_s8(const KernelContextS8& ctx, const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b,
            std::int8_t* y) {
  const detail::S8EltwiseVariant& v = ActiveS8EltwiseVariant();
  SplitElements(ctx.threads, p.count,
                [&](std::int64_t i0, std::int64_t i1) { v.add(p, i1 - i0, a + i0, b + i0, y + i0); });
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
  v.add(all, all.count, a.data(), b.data(), table.data());
  p.table = std::move(table);
}
void rescale_s8(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  ActiveS8EltwiseVariant().rescale(p, x, y);
}
void rescale_s8(const KernelContextS8& ctx, const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  const detail::S8EltwiseVariant& v = ActiveS8EltwiseVariant();
  SplitElements(ctx.threads, p.count, [&](std::int64_t i0, std::int64_t i1) {
    PreparedRescaleS8 part = p;
    part.count = i1 - i0;
    v.rescale(part, x + i0, y + i0);
  });
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

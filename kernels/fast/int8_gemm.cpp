// The fast int8 path's dispatch and weight packing (int8_gemm.h; the packing functions are declared in conv2d_s8.h / dense_s8.h).
//
// Dispatch mirrors gemm.cpp: a best-first table of per-ISA variants, resolved
// once (function-local static) against ActiveIsa(), plus a test-only override
// read with one relaxed atomic load per kernel call.
//
// Packing runs once per layer at prepare time, so it is plain scalar code.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fast/conv2d_s8_direct.h"
#include "internal/isa_dispatch.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"

namespace qualm::kernels {
namespace detail {
namespace {

std::atomic<const Int8GemmVariant*> g_override{nullptr};

const Int8GemmVariant& Chosen() {
  static const Int8GemmVariant* chosen = [] {
    for (const Int8GemmVariant& v : Int8GemmVariants())
      if (IsaAvailable(v.isa)) return &v;
    return &Int8GemmVariants().back();  // the baseline always runs
  }();
  return *chosen;
}

}  // namespace

const std::vector<Int8GemmVariant>& Int8GemmVariants() {
  // The x86 SIMD variants exist in x86 builds only (their translation units
  // are not compiled for ARM); the generic baseline closes every table.
  static const std::vector<Int8GemmVariant> variants = {
#if defined(__x86_64__) || defined(__i386__)
      {Isa::kAvx512Vnni, "s8u8_gemm_8x32c4__avx512vnni", S8Operands::kU8S8, nullptr, &s8u8_gemm_8x32c4__avx512vnni,
       &s8s16_depthwise_16c__avx2, &s8u8_igemm_24x16c4__avx512vnni, "s8u8_igemm_24x16c4__avx512vnni"},
      {Isa::kAvxVnni, "s8u8_gemm_6x16c4__avxvnni", S8Operands::kU8S8, nullptr, &s8u8_gemm_6x16c4__avxvnni,
       &s8s16_depthwise_16c__avx2, &s8u8_igemm_6x16c4__avxvnni, "s8u8_igemm_6x16c4__avxvnni"},
      {Isa::kAvx2, "s8s16_gemm_4x16c2__avx2", S8Operands::kS16, &s8s16_gemm_4x16c2__avx2, nullptr,
       &s8s16_depthwise_16c__avx2, nullptr, nullptr},
#endif
      {Isa::kScalar, "s8s16_gemm_1x16c2__generic", S8Operands::kS16, &s8s16_gemm_1x16c2__generic, nullptr,
       &s8s16_depthwise_1c__generic, nullptr, nullptr},
  };
  return variants;
}

std::vector<Int8GemmVariant> RunnableInt8GemmVariants() { return internal::RunnableVariants(Int8GemmVariants()); }

bool RunnableInt8GemmUsesU8S8() {
  static const bool uses = [] {
    for (const Int8GemmVariant& v : RunnableInt8GemmVariants())
      if (v.operands == S8Operands::kU8S8) return true;
    return false;
  }();
  return uses;
}

const Int8GemmVariant& ActiveInt8GemmVariant() {
  const Int8GemmVariant* o = g_override.load(std::memory_order_relaxed);
  return o ? *o : Chosen();
}

std::string DescribeInt8GemmDispatch() {
  return internal::DescribeDispatch(Int8GemmVariants(), g_override.load(std::memory_order_relaxed));
}

ScopedInt8GemmIsaForTesting::ScopedInt8GemmIsaForTesting(Isa isa) {
  previous_ = g_override.load();
  if (const Int8GemmVariant* v = internal::RunnableVariantFor(Int8GemmVariants(), isa)) {
    g_override.store(v);
    ok_ = true;
  }
}

ScopedInt8GemmIsaForTesting::~ScopedInt8GemmIsaForTesting() {
  if (ok_) g_override.store(previous_);
}

}  // namespace detail

const char* Int8GemmPathName() { return detail::ActiveInt8GemmVariant().name; }
const char* Int8GemmPathIsa() { return IsaName(detail::ActiveInt8GemmVariant().isa); }

namespace {

using detail::kS8PanelCols;

// The u8 x s8 panels and column corrections of p (int8_gemm.h), from the same
// weights. |sum_k w| <= 127 k and 0 <= zp_in + 128 <= 255, so |col_offset| <=
// k * 255 * 127 < 2^31, which Prepare guarantees (debug-checked here).
void PackU8S8Panels(const std::int8_t* w, std::int32_t zp_in, PackedS8Weights& p) {
  const int groups = p.groups, n = p.n, k = p.k;
  p.k_padded4 = (k + 3) / 4 * 4;
  p.zp_in = zp_in;
  const std::size_t panel_size = static_cast<std::size_t>(p.k_padded4) * kS8PanelCols;
  p.data_u8s8.assign(static_cast<std::size_t>(groups) * p.panels * panel_size, 0);
  p.col_offset.assign(static_cast<std::size_t>(groups) * p.panels * kS8PanelCols, 0);
  for (int g = 0; g < groups; ++g) {
    for (int col = 0; col < n; ++col) {
      const std::int8_t* row = w + (static_cast<std::size_t>(g) * n + col) * k;
      std::int8_t* panel =
          p.data_u8s8.data() + (static_cast<std::size_t>(g) * p.panels + col / kS8PanelCols) * panel_size;
      const int j = col % kS8PanelCols;
      std::int64_t sum = 0;
      for (int kk = 0; kk < k; ++kk) {
        panel[(static_cast<std::size_t>(kk / 4) * kS8PanelCols + j) * 4 + kk % 4] = row[kk];
        sum += row[kk];
      }
      const std::int64_t offset = -(std::int64_t{zp_in} + 128) * sum;
      QUALM_DCHECK(offset >= INT32_MIN && offset <= INT32_MAX);
      p.col_offset[static_cast<std::size_t>(g) * p.panels * kS8PanelCols + col] = static_cast<std::int32_t>(offset);
    }
  }
}

// groups x [n][k] row-major weights (row = output channel, as OHWI and dense
// store them) into kPanels, and into the u8 x s8 panels when a runnable variant
// needs them.
PackedS8Weights PackPanels(int groups, int n, int k, const std::int8_t* w, std::int32_t zp_in) {
  PackedS8Weights p;
  p.layout = PackedS8Weights::Layout::kPanels;
  p.groups = groups;
  p.n = n;
  p.k = k;
  p.k_padded = k + (k & 1);
  p.panels = (n + kS8PanelCols - 1) / kS8PanelCols;
  const std::size_t pairs = static_cast<std::size_t>(p.k_padded / 2);
  const std::size_t panel_size = pairs * kS8PanelCols * 2;
  p.data.assign(static_cast<std::size_t>(groups) * p.panels * panel_size, 0);
  for (int g = 0; g < groups; ++g) {
    for (int col = 0; col < n; ++col) {
      const std::int8_t* row = w + (static_cast<std::size_t>(g) * n + col) * k;
      std::int16_t* panel = p.data.data() + (static_cast<std::size_t>(g) * p.panels + col / kS8PanelCols) * panel_size;
      const int j = col % kS8PanelCols;
      for (int kk = 0; kk < k; ++kk)
        panel[(static_cast<std::size_t>(kk / 2) * kS8PanelCols + j) * 2 + kk % 2] = row[kk];
    }
  }
  if (detail::RunnableInt8GemmUsesU8S8()) PackU8S8Panels(w, zp_in, p);
  return p;
}

}  // namespace

PackedS8Weights PackConv2dS8Weights(const PreparedConv2dS8& pp, const std::int8_t* w) {
  const Conv2dParams& s = pp.shape;
  const int icg = s.in_c / s.groups, ocg = s.out_c / s.groups, taps = s.kernel_h * s.kernel_w;
  if (icg == 1 && ocg == 1) {
    // Depthwise: one channel per group, vectorized across channels instead.
    PackedS8Weights p;
    p.layout = PackedS8Weights::Layout::kDepthwise;
    p.groups = s.groups;
    p.n = 1;
    p.k = taps;
    p.k_padded = taps;
    p.channels_padded = (s.out_c + kS8PanelCols - 1) / kS8PanelCols * kS8PanelCols;
    p.data.assign(static_cast<std::size_t>(taps) * p.channels_padded, 0);
    for (int c = 0; c < s.out_c; ++c)
      for (int t = 0; t < taps; ++t)
        p.data[static_cast<std::size_t>(t) * p.channels_padded + c] = w[static_cast<std::size_t>(c) * taps + t];
    return p;
  }
  PackedS8Weights p = PackPanels(s.groups, ocg, taps * icg, w, pp.input_zero_point);
  // The implicit-GEMM conv's own quad layout, where it differs (fast/conv2d_s8_direct.h).
  if (!p.data_u8s8.empty() && fast::internal_s8::UsesDirectConv(s) && fast::internal_s8::DirectNeedsOwnPanels(s))
    p.direct_u8s8 = fast::internal_s8::PackDirectPanels(s, w);
  return p;
}

PackedS8Weights PackDenseS8Weights(const PreparedDenseS8& pp, const std::int8_t* w) {
  return PackPanels(1, pp.shape.out_features, pp.shape.in_features, w, pp.input_zero_point);
}

}  // namespace qualm::kernels

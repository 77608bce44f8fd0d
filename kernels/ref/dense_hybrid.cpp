// Frozen scalar reference for the hybrid dense layer (dense_hybrid.h).
//
// Per batch row b (the sample): QuantizeSampleDynamic(x[b], in) into scratch,
// then per output o ascending:
//   acc = sum over i ascending of int32(w[o][i]) * (int32(q[i]) - zp_x)   (int32, exact)
//   y[b][o] = HybridProduct(acc, s_x, s_w[o]) + bias[o]   (no add when bias is null)
// A non-finite row gives NaN for all its outputs. Rows are processed one at a
// time and share nothing, so a row's result does not depend on the batch.
// No intrinsics, no threads, no allocation, no validation (DCHECKs only).
#include <cstddef>
#include <cstdint>
#include <limits>

#include "qualm/kernels/dense_hybrid.h"

namespace qualm::kernels::ref {

std::size_t dense_hybrid_scratch_bytes(const DenseParams& p) { return static_cast<std::size_t>(p.in_features); }

void dense_hybrid(const PreparedDenseHybrid& pp, const float* x, const std::int8_t* w, const float* bias, float* y,
                  void* scratch) {
  using Index = std::int64_t;
  const DenseParams& p = pp.shape;
  QUALM_DCHECK(pp.weight_scales.size() == static_cast<std::size_t>(p.out_features));
  QUALM_DCHECK(scratch != nullptr);
  const Index in = p.in_features, out = p.out_features;
  std::int8_t* q = static_cast<std::int8_t*>(scratch);
  for (Index b = 0; b < p.batch; ++b) {
    float* yb = y + b * out;
    const DynamicQuant d = QuantizeSampleDynamic(x + b * in, in, q);
    if (!d.finite) {
      for (Index o = 0; o < out; ++o) yb[o] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const std::int32_t zp = d.params.zero_point;
    for (Index o = 0; o < out; ++o) {
      const std::int8_t* wo = w + o * in;
      std::int32_t acc = 0;
      for (Index i = 0; i < in; ++i) acc += static_cast<std::int32_t>(wo[i]) * (static_cast<std::int32_t>(q[i]) - zp);
      const float v = HybridProduct(acc, d.params.scale, pp.weight_scales[static_cast<std::size_t>(o)]);
      yb[o] = bias ? v + bias[o] : v;
    }
  }
}

}  // namespace qualm::kernels::ref

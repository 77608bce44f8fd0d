// Frozen scalar reference for int8 dense (dense_s8.h).
//
// Order of operations per output element (b, o), loops nested b, o, i:
//   acc = sum over i ascending of int32(w[o][i]) * (int32(x[b][i]) - zp_in)   (int32, exact)
//   acc += bias[o] (if bias)
//   y = RequantizeToRange(acc, requant[o], mode, zp_out, act_min, act_max)   (requant.h,
//       the only rounding, per the prepared RequantMode).
// No intrinsics, no threads, no scratch, no validation.
#include <cstddef>
#include <cstdint>

#include "qualm/kernels/dense_s8.h"

namespace qualm::kernels::ref {

void dense_s8(const PreparedDenseS8& pp, const std::int8_t* x, const std::int8_t* w, const std::int32_t* bias,
              std::int8_t* y) {
  using Index = std::int64_t;
  const DenseParams& p = pp.shape;
  QUALM_DCHECK(pp.output.requant.size() == static_cast<std::size_t>(p.out_features));
  const Index in = p.in_features, out = p.out_features;
  const std::int32_t zp_in = pp.input_zero_point;
  for (Index b = 0; b < p.batch; ++b) {
    const std::int8_t* xb = x + b * in;
    for (Index o = 0; o < out; ++o) {
      const std::int8_t* wo = w + o * in;
      std::int32_t acc = 0;
      for (Index i = 0; i < in; ++i) acc += static_cast<std::int32_t>(wo[i]) * (static_cast<std::int32_t>(xb[i]) - zp_in);
      if (bias) acc += bias[o];
      y[b * out + o] = RequantizeOutputS8(acc, pp.output, static_cast<std::size_t>(o));
    }
  }
}

}  // namespace qualm::kernels::ref

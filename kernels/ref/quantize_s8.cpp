// Frozen scalar reference for whole-tensor int8 quantize / dequantize
// (quantize_s8.h). Element by element through requant.h:
//   quantize:   y = QuantizeValue(x, s, zp, -128, 127, rounding)  (x / s in float,
//               round per RoundingMode, + zp, clamp; NaN -> zp)
//   dequantize: y = DequantizeValue(q, s, zp) = s * (float)(q - zp)
#include <cstdint>

#include "qualm/kernels/quantize_s8.h"

namespace qualm::kernels::ref {

void quantize_s8(const QuantizeS8Params& p, const float* x, std::int8_t* y) {
  for (std::int64_t i = 0; i < p.count; ++i)
    y[i] = static_cast<std::int8_t>(QuantizeValue(x[i], p.q.scale, p.q.zero_point, kInt8Min, kInt8Max, p.rounding));
}

void dequantize_s8(const QuantizeS8Params& p, const std::int8_t* x, float* y) {
  for (std::int64_t i = 0; i < p.count; ++i) y[i] = DequantizeValue(x[i], p.q.scale, p.q.zero_point);
}

}  // namespace qualm::kernels::ref

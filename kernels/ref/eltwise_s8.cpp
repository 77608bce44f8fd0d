// Frozen scalar reference for int8 ADD and rescale/clamp (eltwise_s8.h).
//
// add_s8, per element (TFLite integer_ops::Add with left_shift 20):
//   a' = MultiplyByQuantizedMultiplier((a - zp_a) << 20, requant_a, mode)
//   b' = MultiplyByQuantizedMultiplier((b - zp_b) << 20, requant_b, mode)
//   y  = RequantizeToRange(a' + b', requant_out, mode, zp_out, act_min, act_max)
// rescale_s8, per element:
//   y  = RequantizeToRange(x - zp_in, requant, mode, zp_out, act_min, act_max)
// All rounding is requant.h's; the shifts and sums here are exact in int32.
#include <cstdint>

#include "qualm/kernels/eltwise_s8.h"

namespace qualm::kernels::ref {

void add_s8(const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b, std::int8_t* y) {
  constexpr std::int32_t kLeft = std::int32_t{1} << kAddS8LeftShift;
  for (std::int64_t i = 0; i < p.count; ++i) {
    const std::int32_t sa = (static_cast<std::int32_t>(a[i]) - p.zero_point_a) * kLeft;
    const std::int32_t sb = (static_cast<std::int32_t>(b[i]) - p.zero_point_b) * kLeft;
    const std::int32_t ra = MultiplyByQuantizedMultiplier(sa, p.requant_a, p.mode);
    const std::int32_t rb = MultiplyByQuantizedMultiplier(sb, p.requant_b, p.mode);
    y[i] = static_cast<std::int8_t>(
        RequantizeToRange(ra + rb, p.requant_out, p.mode, p.output_zero_point, p.act_min, p.act_max));
  }
}

void rescale_s8(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y) {
  for (std::int64_t i = 0; i < p.count; ++i) {
    y[i] = static_cast<std::int8_t>(RequantizeToRange(static_cast<std::int32_t>(x[i]) - p.input_zero_point, p.requant,
                                                      p.mode, p.output_zero_point, p.act_min, p.act_max));
  }
}

}  // namespace qualm::kernels::ref

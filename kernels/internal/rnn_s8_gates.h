// internal/rnn_s8_gates.h: the requantized gate products shared by the int8
// LSTM and GRU references (recurrent_s8.h, "Shared step"). Not a public header.
//
//   acc = folded_bias[r] + sum_k w[r][k] * v[k]     int32, ascending k; exact
//         (Prepare bounds K * 127 * 128 + |folded_bias| < 2^31)
//   GateProduct(...) = RQ(acc, requant[r]) as an int32 (not yet saturated)
#pragma once

#include <cstdint>

#include "qualm/kernels/requant.h"

namespace qualm::kernels::internal {

inline std::int32_t GateProductS8(const std::int8_t* w_row, const std::int8_t* v, std::int64_t k,
                                  std::int32_t folded_bias, const Requant& rq, RequantMode mode) {
  std::int32_t acc = folded_bias;
  for (std::int64_t i = 0; i < k; ++i) acc += static_cast<std::int32_t>(w_row[i]) * static_cast<std::int32_t>(v[i]);
  return MultiplyByQuantizedMultiplier(acc, rq, mode);
}

inline std::int16_t Sat16(std::int64_t v) { return SaturatingCast<std::int16_t>(v); }

}  // namespace qualm::kernels::internal

// qualm/kernels/eltwise_s8.h: int8 elementwise ops: residual ADD with
// rescaling (TFLite's int8 ADD) and a standalone rescale + clamp (ReLU / ReLU6 /
// plain requantization to another scale). Flat tensors of `count` elements, no
// broadcasting (the study's residual adds have equal shapes).
//
// ADD (TFLite reference integer_ops::Add, left_shift = 20):
//   twice_max = 2 * max(s_a, s_b)                                   (double)
//   requant_a   = QuantizeMultiplier(s_a / twice_max)               (<= 0.5)
//   requant_b   = QuantizeMultiplier(s_b / twice_max)               (<= 0.5)
//   requant_out = QuantizeMultiplier(twice_max / (2^20 * s_out))
//   per element:
//     a' = MultiplyByQuantizedMultiplier((a - zp_a) * 2^20, requant_a, mode)
//     b' = MultiplyByQuantizedMultiplier((b - zp_b) * 2^20, requant_b, mode)
//     y  = RequantizeToRange(a' + b', requant_out, mode, zp_out, act_min, act_max)
//   i.e. y ~= clamp(round((s_a (a - zp_a) + s_b (b - zp_b)) / s_out) + zp_out).
//   |a - zp_a| <= 255, so (a - zp_a) * 2^20 < 2^28 and a' + b' < 2^28: no int32 overflow.
//   The 2^20 headroom makes the two input roundings negligible (< 2^-19 of an
//   output unit for comparable scales); the final RequantizeToRange is the
//   rounding that matters. In kFloat mode the same three multiplications use the
//   float scale (requant.h), so the whole op is a function of `mode` only.
//
// RESCALE / CLAMP (TFLite int8 ReLU / ReLU6 / Requantize):
//   requant = QuantizeMultiplier(s_in / s_out)
//   y = RequantizeToRange(x - zp_in, requant, mode, zp_out, act_min, act_max)
//   With s_in == s_out this is exact (multiplier 1 = M 2^30, shift 1), so with
//   zp_in == zp_out it is a plain clamp; ReLU is act_min = zp_out
//   (FusedActivationRange(kRelu, output)), ReLU6 adds act_max = q(6).
//
// Prepare checks (op names "add_s8", "rescale_s8"): count >= 0, every scale > 0
// and finite, zero points in [-128, 127], -128 <= act_min <= act_max <= 127, and
// that every multiplier is representable (QuantizeMultiplier).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

inline constexpr int kAddS8LeftShift = 20;
// PreparedAddS8::table's size when filled: 65536 entries, 4 bytes of gather padding.
inline constexpr std::size_t kAddS8TableBytes = 65536 + 4;

struct AddS8Params {
  std::int64_t count = 0;
  QuantParams input_a, input_b, output;
  std::int32_t act_min = kInt8Min;
  std::int32_t act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
};

struct PreparedAddS8 {
  std::int64_t count = 0;
  std::int32_t zero_point_a = 0, zero_point_b = 0, output_zero_point = 0;
  Requant requant_a, requant_b, requant_out;
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
  // The whole op as a table, y = table[(a + 128) * 256 + (b + 128)], filled by
  // fast::PrepareAddS8Table (65536 entries, then 4 bytes of padding for the
  // 4-byte gathers that read it); empty otherwise. Only fast::add_s8 reads it,
  // and only its SIMD variants; the reference never does.
  std::vector<std::int8_t> table;
};

Result<PreparedAddS8> PrepareAddS8(const AddS8Params& p);

struct RescaleS8Params {
  std::int64_t count = 0;
  QuantParams input, output;
  std::int32_t act_min = kInt8Min;
  std::int32_t act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
};

struct PreparedRescaleS8 {
  std::int64_t count = 0;
  std::int32_t input_zero_point = 0, output_zero_point = 0;
  Requant requant;
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
};

Result<PreparedRescaleS8> PrepareRescaleS8(const RescaleS8Params& p);

// Whether a prepared rescale is a plain clamp, y = clamp(x, act_min, act_max):
// equal zero points and a requantization that is the identity on x - zp_in
// (which lies in [-255, 255]). kGemmlowp with M = 2^30, shift 1 is SRDHM(2d,
// 2^30) = floor((2d 2^30 + 2^30) / 2^31) = d (2d never saturates), then RDBPOT
// by 0; kSingle is (d 2^30 + 2^29) >> 30 = d; kFloat uses the float scale only,
// and (float)d * 1.0f rounds to d. Equal input and output params give exactly
// these (QuantizeMultiplier(1.0) = 2^30, shift 1): every int8 ReLU PTQ builds
// after a conv, dense or affine (ptq.h gives the producer the ReLU's params).
inline bool IsPlainClamp(const PreparedRescaleS8& p) {
  if (p.input_zero_point != p.output_zero_point) return false;
  if (p.mode == RequantMode::kFloat) return p.requant.scale == 1.0f;
  return p.requant.multiplier == (std::int32_t{1} << 30) && p.requant.shift == 1;
}

namespace ref {
void add_s8(const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b, std::int8_t* y);
// Rescale + clamp; relu_s8 / relu6_s8 are this op with FusedActivationRange bounds.
void rescale_s8(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y);
}  // namespace ref

// Fast versions: bit-identical to ref:: on every variant (AVX2 lanes through the
// same requantization, internal/requant_avx2.h); no scratch; dispatch in
// quantize_s8.h ("Fast elementwise-family dispatch"). Without a context they
// run on the calling thread; with one, on up to ctx.threads threads, each a
// contiguous range of the elements (ThreadsForWork decides how many; ctx's
// scratch is not used). Every element is computed alone, so the bits are the
// same on any thread count.
namespace fast {
void add_s8(const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b, std::int8_t* y);
void add_s8(const KernelContextS8& ctx, const PreparedAddS8& p, const std::int8_t* a, const std::int8_t* b,
            std::int8_t* y);
// Fills p.table (64 KB, allocated here, once, at prepare) when the active
// variant reads it; leaves it empty under the reference row (QUALM_ISA=scalar,
// non-x86 builds), where it would be 64 KB for nothing. The table holds the op's
// output for every one of the 65536 (a, b) pairs, computed by the active
// variant's own lane code, which is bit-identical to ref::add_s8; so a lookup
// is the op. Building it costs about as much as one add of 65536 elements.
void PrepareAddS8Table(PreparedAddS8& p);
void rescale_s8(const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y);
void rescale_s8(const KernelContextS8& ctx, const PreparedRescaleS8& p, const std::int8_t* x, std::int8_t* y);
}  // namespace fast

}  // namespace qualm::kernels

// qualm/kernels/quantize_s8.h: the pieces every int8 op shares.
//
// Role: float <-> int8 conversion of whole tensors, fused-activation bounds,
// the output stage of the requantizing GEMM-like ops (OutputQuantS8), validation of quantization parameters (scales, zero points, activation
// ranges, weights, biases) and the post-training quantization helper that turns
// float OHWI weights + float bias into int8 per-channel weights + int32 bias.
// The arithmetic itself lives in requant.h (QuantizeValue, DequantizeValue,
// QuantizeMultiplier, RequantizeToRange): nothing here re-implements it.
//
// Formats (requant.h): activations int8 [-128, 127] with per-tensor scale and
// zero point; weights int8 in [-127, 127] (narrow symmetric, zp 0) per output
// channel; bias int32 at scale s_in * s_w[c], zp 0.
//
// Validation messages have the form "<op>: <field> ... got <value>", e.g.
//   "conv2d_s8: output.scale must be positive and finite, got nan".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

inline constexpr std::int32_t kInt8Min = -128;
inline constexpr std::int32_t kInt8Max = 127;
inline constexpr std::int32_t kWeightS8Max = 127;  // weights in [-127, 127]

// ---------------------------------------------------------------------------
// Fused activations. Bounds follow TFLite's CalculateActivationRangeQuantized:
//   kNone  -> [-128, 127]
//   kRelu  -> [max(-128, q(0)), 127]            q(0) = zp_out
//   kRelu6 -> [max(-128, q(0)), min(127, q(6))] q(6) = QuantizeValue(6.0f, s_out,
//             zp_out, -128, 127, kHalfAwayFromZero)
// The result always satisfies -128 <= min <= max <= 127 for a valid `output`.
enum class FusedActivation : std::uint8_t { kNone = 0, kRelu = 1, kRelu6 = 2 };
struct ActivationRange {
  std::int32_t min = kInt8Min, max = kInt8Max;
};
ActivationRange FusedActivationRange(FusedActivation act, const QuantParams& output);

// ---------------------------------------------------------------------------
// The output stage of every requantizing GEMM-like int8 op (conv2d_s8,
// dense_s8, qlinear_conv_s8, qlinear_matmul_s8), per output channel c:
//   y = RequantizeToRange(acc, requant[c], mode, zero_point, act_min, act_max)
// (requant.h: the op's one and only rounding). OutputQuantS8 is what the caller
// gives; the op's Prepare validates it (messages name the fields "output.scale",
// "output.zero_point", "act_min", "act_max") and computes one Requant per channel
// from its real multiplier, giving PreparedOutputQuantS8.
struct OutputQuantS8 {
  QuantParams params;                         // s_out, zp_out
  std::int32_t act_min = kInt8Min;            // fused activation bounds (FusedActivationRange)
  std::int32_t act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;  // how RequantizeToRange rounds
};
struct PreparedOutputQuantS8 {
  std::int32_t zero_point = 0;  // zp_out
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
  std::vector<Requant> requant;  // [channels]
};
// The output stage of channel c applied to acc (bias already added).
inline std::int8_t RequantizeOutputS8(std::int32_t acc, const PreparedOutputQuantS8& o, std::size_t c) {
  return static_cast<std::int8_t>(RequantizeToRange(acc, o.requant[c], o.mode, o.zero_point, o.act_min, o.act_max));
}

// ---------------------------------------------------------------------------
// Validation helpers (used by every Prepare*S8; public so that graph-level code
// can check parameters the same way). `op` and `field` name the culprit.
// scale > 0 and finite; zero point in [-128, 127].
Status ValidateQuantParamsS8(const char* op, const char* field, const QuantParams& q);
// -128 <= act_min <= act_max <= 127.
Status ValidateActivationRangeS8(const char* op, std::int32_t act_min, std::int32_t act_max);
// Every weight in [-127, 127] (rejects -128). `count` weights.
Status CheckWeightsS8(const char* op, const std::int8_t* w, std::int64_t count);

// ---------------------------------------------------------------------------
// Whole-tensor quantize / dequantize.
//   quantize_s8:   y[i] = QuantizeValue(x[i], q.scale, q.zero_point, -128, 127, rounding)
//                  (x / s in float, round with `rounding`, + zp, clamp; NaN -> zp)
//   dequantize_s8: y[i] = DequantizeValue(x[i], q.scale, q.zero_point) = s * (float)(q - zp)
struct QuantizeS8Params {
  std::int64_t count = 0;  // number of elements, >= 0
  QuantParams q;
  RoundingMode rounding = RoundingMode::kHalfAwayFromZero;
};
Status Validate(const QuantizeS8Params& p);

namespace ref {
void quantize_s8(const QuantizeS8Params& p, const float* x, std::int8_t* y);
void dequantize_s8(const QuantizeS8Params& p, const std::int8_t* x, float* y);
}  // namespace ref

// Fast versions, bit-identical to ref:: (the contracts above) on every variant;
// single-threaded, no scratch. Dispatched with the other elementwise-family
// kernels (see "Fast elementwise-family dispatch" below).
namespace fast {
void quantize_s8(const QuantizeS8Params& p, const float* x, std::int8_t* y);
void dequantize_s8(const QuantizeS8Params& p, const std::int8_t* x, float* y);
}  // namespace fast

// ---------------------------------------------------------------------------
// Fast elementwise-family dispatch. fast::add_s8 / fast::rescale_s8
// (eltwise_s8.h), fast::quantize_s8 / fast::dequantize_s8 (above) and
// fast::max_pool2d_s8 / avg_pool2d_s8 / global_avg_pool_s8 (pool_s8.h) run one
// per-ISA set of kernels chosen once, best first, among those the CPU runs under
// the QUALM_ISA cap: "s8_eltwise__avx2", else the reference kernels themselves
// ("s8_eltwise_ref__generic"). For tests and benchmarks only:
namespace detail {
struct S8EltwiseVariantInfo {
  Isa isa;
  const char* name;
};
std::vector<S8EltwiseVariantInfo> S8EltwiseVariants();  // every variant, best first
const char* S8EltwisePathName();                         // the one the fast kernels call now
// "s8_eltwise__avx2: chosen; s8_eltwise_ref__generic: not needed" and the like.
std::string DescribeS8EltwiseDispatch();
// While alive, the fast elementwise-family kernels run the variant for `isa`;
// ok() is false, and nothing changes, if there is none or the ISA is not
// available. Not thread-safe with concurrent kernel callers.
class ScopedS8EltwiseIsaForTesting {
 public:
  explicit ScopedS8EltwiseIsaForTesting(Isa isa);
  ~ScopedS8EltwiseIsaForTesting();
  ScopedS8EltwiseIsaForTesting(const ScopedS8EltwiseIsaForTesting&) = delete;
  ScopedS8EltwiseIsaForTesting& operator=(const ScopedS8EltwiseIsaForTesting&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  const void* previous_ = nullptr;
};
}  // namespace detail

// ---------------------------------------------------------------------------
// Post-training quantization of a conv/dense layer's constants.
//   w     float [out_c][per_channel] (OHWI for conv: per_channel = kh*kw*in_c/groups;
//         [out][in] for dense), bias float [out_c] or null.
//   scales[c]  = ChooseSymmetricParams(max_c |w|, 127).scale   (all-zero channel -> 1)
//   weights[i] = QuantizeValue(w[i], scales[c], 0, -127, 127, kHalfAwayFromZero)
//   bias[c]    = round_half_away_from_zero((double)b[c] / ((double)input_scale *
//                (double)scales[c])) saturated to int32 (empty if bias is null)
// Errors: non-finite weights or bias, input_scale not positive/finite, sizes <= 0.
struct QuantizedWeightsS8 {
  std::vector<std::int8_t> weights;  // same layout as w
  std::vector<float> scales;         // [out_c]
  std::vector<std::int32_t> bias;    // [out_c], empty when no bias was given
};
Result<QuantizedWeightsS8> QuantizeWeightsS8(int out_c, std::int64_t per_channel, const float* w,
                                             const float* bias, float input_scale);

// Bias quantization alone (same rule as above), exposed for tests and graph code.
std::int32_t QuantizeBiasS8(float bias, double input_scale, double weight_scale);

}  // namespace qualm::kernels

// qualm/kernels/requant.h: THE int8 arithmetic contract. Every integer result
// qualm produces is defined by the functions in this header, and nowhere else.
//
// (Declarations and rules; the implementer writes the definitions inline below
// the rules or in kernels/requant.cpp, keeping hot functions inline.)
//
// ---------------------------------------------------------------------------
// Number formats (TFLite's int8 scheme)
//   activations  int8 in [-128, 127], per-tensor float scale s > 0 and zero
//                point zp in [-128, 127]; real = s * (q - zp); real 0.0 is
//                exactly representable (q = zp).
//   weights      int8 in [-127, 127] (narrow, symmetric, zp 0), per output channel.
//   bias         int32, scale s_in * s_w[c], zp 0.
//
// Quantize (float -> int8): q = clamp(round(x / s) + zp, qmin, qmax).
//   The division is done in float (x / s, one IEEE division, as TFLite's
//   reference and PyTorch). Ties of round() follow the RoundingMode of the
//   variant: kHalfAwayFromZero (TFLite, default) or kHalfToEven (PyTorch,
//   ONNX QuantizeLinear, XNNPACK). NaN quantizes to zp.
// Dequantize: x = s * (float)(q - zp), computed in float.
//
// Requantization multiplier (QuantizeMultiplier), for a real m >= 0 (double):
//   m == 0 -> M = 0, shift = 0. Otherwise m = q * 2^shift with q in [0.5, 1)
//   (frexp); M = round(q * 2^31), ties away from zero; if M == 2^31 then
//   M = 2^30 and ++shift. shift < -31 flushes to M = 0, shift = 0. shift > 30
//   is an error (the multiplier does not fit) reported by the prepare step.
//   Result: M in [2^30, 2^31 - 1] (or 0), effective multiplier M * 2^(shift - 31).
//
// Requantize an int32 accumulator x by (M, shift), three named modes. The mode is
// a run-time property of a quantized model, never a build flag.
//   kGemmlowp (default; TFLite reference "double rounding"):
//     left = max(shift, 0), right = max(-shift, 0)
//     y = RDBPOT(SRDHM(x * 2^left, M), right)   (x * 2^left saturates to int32;
//       TFLite's reference overflows there instead. The saturation happens
//       before the multiply, so for shift > 0 |y| can stop short of the exact
//       value: m = 1 (M = 2^30, shift 1) maps INT32_MIN to -2^30. After the
//       int8/int16 clamp the results are the same.)
//     SRDHM(a, b): a == b == INT32_MIN -> INT32_MAX; else p = (int64)a*b,
//       nudge = p >= 0 ? 2^30 : 1 - 2^30, result = (p + nudge) / 2^31 truncated
//       toward zero. (Ties toward +infinity.)
//     RDBPOT(x, e): mask = 2^e - 1, rem = x & mask, threshold = (mask >> 1) +
//       (x < 0), result = (x >> e) + (rem > threshold). (Ties away from zero.)
//     Worked check: M = 2^30, shift = 0 (x 0.5): x = -1 -> 0, x = -3 -> -1.
//   kSingle (TFLite built with TFLITE_SINGLE_ROUNDING; CMSIS-NN built with
//   CMSIS_NN_USE_SINGLE_ROUNDING, whose default is kGemmlowp): t = 31 - shift;
//     y = (int64(x) * M + 2^(t-1)) >> t (arithmetic), saturated to int32.
//     (Ties toward +infinity.)
//   kFloat (XNNPACK / oneDNN / ONNX Runtime): y = nearbyint_even((float)x * scale)
//     with scale the float32 of the real multiplier, saturated to int32.
//     (Ties to even.) Uses the float scale, not (M, shift).
// Then: y += zp_out; clamp to [act_min, act_max]; store int8.
//
// Saturating helpers: SaturatingCast<int8>/<int16> clamp; int32 additions in
// kernels are exact (accumulators are sized so they cannot overflow for the
// shapes Prepare accepts: |acc| <= K * 255 * 127 + |bias| < 2^31 is checked).
// ---------------------------------------------------------------------------
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qualm/status.h"

namespace qualm::kernels {

enum class RequantMode : std::uint8_t { kGemmlowp = 0, kSingle = 1, kFloat = 2 };
enum class RoundingMode : std::uint8_t { kHalfAwayFromZero = 0, kHalfToEven = 1 };

const char* RequantModeName(RequantMode m);  // "gemmlowp", "single", "fp32"
Result<RequantMode> ParseRequantMode(const char* name);

// A prepared requantization of one output channel.
struct Requant {
  std::int32_t multiplier = 0;  // M
  int shift = 0;                // power-of-two exponent, as TFLite (positive = left)
  float scale = 0.0f;           // the real multiplier as float (kFloat mode)
};

// QuantizeMultiplier as above. InvalidArgument for m < 0, NaN/inf, or shift > 30.
Result<Requant> QuantizeMultiplier(double real_multiplier);

std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b);
std::int32_t RoundingDivideByPOT(std::int32_t x, int exponent);  // exponent in [0, 31]
// Requantize x (no zero point, no clamp) in the given mode.
std::int32_t MultiplyByQuantizedMultiplier(std::int32_t x, const Requant& r, RequantMode mode);

// Output stage: requantize, add zero point, clamp to [act_min, act_max].
std::int32_t RequantizeToRange(std::int32_t acc, const Requant& r, RequantMode mode, std::int32_t zp_out,
                               std::int32_t act_min, std::int32_t act_max);

// Float <-> int8 per the rules above.
std::int32_t QuantizeValue(float x, float scale, std::int32_t zero_point, std::int32_t qmin, std::int32_t qmax,
                           RoundingMode rounding);
float DequantizeValue(std::int32_t q, float scale, std::int32_t zero_point);

// Affine parameters of a real range [rmin, rmax] (widened to include 0) for
// integers [qmin, qmax]: scale = float((rmax - rmin) / (qmax - qmin)) (in
// double), zp = qmin - round(rmin / scale) with the float scale, ties away from
// zero, clamped to [qmin, qmax] (so 0.0 is exact: q = zp). A degenerate range
// (rmin == rmax == 0) gives scale 1 and zp = the integer of [qmin, qmax]
// nearest 0 (0 for int8 and uint8). InvalidArgument for NaN/inf bounds,
// rmin > rmax, qmin >= qmax, or a scale that is not a normal float.
struct QuantParams {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};
Result<QuantParams> ChooseQuantParams(float rmin, float rmax, std::int32_t qmin, std::int32_t qmax);
// Symmetric (zp 0) for weights: scale = max|w| / 127 (127 = narrow range); all-zero -> scale 1.
// (Also scale 1 for NaN/inf max_abs, qmax < 1, or a scale below the smallest normal float.)
QuantParams ChooseSymmetricParams(float max_abs, std::int32_t qmax = 127);

// Added helpers (not in the original API, same rules):
// Clamps an integer to the range of T (int8, int16, ...).
template <typename T, typename U>
constexpr T SaturatingCast(U x);
// Round half to even without reading the floating-point environment (nearbyint
// depends on fesetround; this does not). Used by kFloat and kHalfToEven.
float RoundHalfToEven(float x);
// Per-channel prepare: m[c] = s_in * s_w[c] / s_out (in double), then
// QuantizeMultiplier. InvalidArgument (naming the channel) if any scale is not
// finite and > 0 (s_w[c] == 0 is allowed: an all-zero channel, M = 0), or if a
// multiplier does not fit (shift > 30).
Status QuantizeMultipliers(float s_in, const float* s_w, int channels, float s_out, Requant* out);

// ---------------------------------------------------------------------------
// Inline definitions (the hot ones). Everything here is plain scalar code with
// no UB: products are formed in int64, shifts are of non-negative values or
// arithmetic right shifts of signed values (defined in C++20).
// ---------------------------------------------------------------------------

template <typename T, typename U>
constexpr T SaturatingCast(U x) {
  static_assert(std::is_integral_v<T> && std::is_integral_v<U> && std::is_signed_v<T> && std::is_signed_v<U>);
  if constexpr (sizeof(U) > sizeof(T)) {
    if (x < static_cast<U>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
    if (x > static_cast<U>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  }
  return static_cast<T>(x);
}

inline std::int32_t SaturatingRoundingDoublingHighMul(std::int32_t a, std::int32_t b) {
  // The only overflow: (-2^31)^2 * 2 / 2^32 = 2^31.
  if (a == b && a == std::numeric_limits<std::int32_t>::min()) return std::numeric_limits<std::int32_t>::max();
  const std::int64_t p = static_cast<std::int64_t>(a) * static_cast<std::int64_t>(b);
  const std::int64_t nudge = p >= 0 ? (std::int64_t{1} << 30) : (1 - (std::int64_t{1} << 30));
  // C++ division truncates toward zero: this is gemmlowp's rule, not a floor.
  return static_cast<std::int32_t>((p + nudge) / (std::int64_t{1} << 31));
}

inline std::int32_t RoundingDivideByPOT(std::int32_t x, int exponent) {
  QUALM_DCHECK(exponent >= 0 && exponent <= 31);
  const std::int32_t mask = static_cast<std::int32_t>((std::int64_t{1} << exponent) - 1);
  const std::int32_t rem = x & mask;
  const std::int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (rem > threshold ? 1 : 0);
}

inline float RoundHalfToEven(float x) {
  // For |x| >= 2^23 every float is an integer (and NaN/inf pass through).
  if (!(std::fabs(x) < 8388608.0f)) return x;
  const float fl = std::floor(x);
  const float diff = x - fl;  // exact: both operands are close, the result is representable
  float r = fl;
  if (diff > 0.5f || (diff == 0.5f && std::fmod(fl, 2.0f) != 0.0f)) r = fl + 1.0f;
  return std::copysign(r, x);  // -0.4 -> -0.0, as nearbyint
}

namespace detail {
// float -> int32 with saturation (the float is already integral or NaN).
inline std::int32_t SaturateFloatToInt32(float v) {
  if (v != v) return 0;
  if (v >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
  if (v < -2147483648.0f) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(v);
}
}  // namespace detail

inline std::int32_t MultiplyByQuantizedMultiplier(std::int32_t x, const Requant& r, RequantMode mode) {
  QUALM_DCHECK(r.shift >= -31 && r.shift <= 30);
  switch (mode) {
    case RequantMode::kGemmlowp: {
      const int left = r.shift > 0 ? r.shift : 0;
      const int right = r.shift > 0 ? 0 : -r.shift;
      const std::int32_t xl =
          SaturatingCast<std::int32_t>(static_cast<std::int64_t>(x) * (std::int64_t{1} << left));
      return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(xl, r.multiplier), right);
    }
    case RequantMode::kSingle: {
      // t in [1, 62]; |x * M| < 2^62 and the nudge <= 2^61: no int64 overflow.
      const int t = 31 - r.shift;
      const std::int64_t p = static_cast<std::int64_t>(x) * r.multiplier + (std::int64_t{1} << (t - 1));
      return SaturatingCast<std::int32_t>(p >> t);
    }
    case RequantMode::kFloat:
      return detail::SaturateFloatToInt32(RoundHalfToEven(static_cast<float>(x) * r.scale));
  }
  return 0;
}

inline std::int32_t RequantizeToRange(std::int32_t acc, const Requant& r, RequantMode mode, std::int32_t zp_out,
                                      std::int32_t act_min, std::int32_t act_max) {
  // The zero point is added in int64 so that a saturated requantization plus a
  // zero point clamps instead of wrapping.
  std::int64_t y = static_cast<std::int64_t>(MultiplyByQuantizedMultiplier(acc, r, mode)) + zp_out;
  if (y < act_min) y = act_min;
  if (y > act_max) y = act_max;
  return static_cast<std::int32_t>(y);
}

inline std::int32_t QuantizeValue(float x, float scale, std::int32_t zero_point, std::int32_t qmin,
                                  std::int32_t qmax, RoundingMode rounding) {
  const float v = x / scale;  // one IEEE float division
  double q = zero_point;      // NaN (x NaN, or 0/0) quantizes to the zero point
  if (v == v) {
    const float rv = rounding == RoundingMode::kHalfAwayFromZero ? std::round(v) : RoundHalfToEven(v);
    q = static_cast<double>(rv) + zero_point;  // exact in double; +-inf stays inf and clamps
  }
  if (q < qmin) q = qmin;
  if (q > qmax) q = qmax;
  return static_cast<std::int32_t>(q);
}

inline float DequantizeValue(std::int32_t q, float scale, std::int32_t zero_point) {
  return scale * static_cast<float>(static_cast<std::int64_t>(q) - zero_point);
}

}  // namespace qualm::kernels

// kernels/requant.cpp: the cold half of the int8 arithmetic contract
// (qualm/kernels/requant.h): mode names, QuantizeMultiplier and the choice of
// quantization parameters. The hot functions are inline in the header.
#include "qualm/kernels/requant.h"

#include <cmath>
#include <cstring>
#include <string>

namespace qualm::kernels {

const char* RequantModeName(RequantMode m) {
  switch (m) {
    case RequantMode::kGemmlowp: return "gemmlowp";
    case RequantMode::kSingle: return "single";
    case RequantMode::kFloat: return "fp32";
  }
  return "unknown";
}

Result<RequantMode> ParseRequantMode(const char* name) {
  if (name == nullptr) return InvalidArgument("requant mode: null name");
  for (RequantMode m : {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat}) {
    if (std::strcmp(name, RequantModeName(m)) == 0) return m;
  }
  return InvalidArgument(std::string("requant mode: unknown '") + name + "' (expected gemmlowp, single or fp32)");
}

Result<Requant> QuantizeMultiplier(double real_multiplier) {
  if (!std::isfinite(real_multiplier) || real_multiplier < 0.0) {
    return InvalidArgument("QuantizeMultiplier: multiplier " + std::to_string(real_multiplier) +
                           " is not finite and >= 0");
  }
  Requant r;
  r.scale = static_cast<float>(real_multiplier);
  if (real_multiplier == 0.0) return r;  // M = 0, shift = 0
  int shift = 0;
  const double q = std::frexp(real_multiplier, &shift);  // q in [0.5, 1)
  // q * 2^31 is exact (a power-of-two scaling); std::round ties away from zero.
  auto m = static_cast<std::int64_t>(std::round(q * 2147483648.0));
  if (m == (std::int64_t{1} << 31)) {  // q rounded up to 1.0
    m /= 2;
    ++shift;
  }
  if (shift < -31) return r;  // flush: every |x| < 2^31 would requantize to 0 anyway (M = 0, shift = 0)
  if (shift > 30) {
    return InvalidArgument("QuantizeMultiplier: multiplier " + std::to_string(real_multiplier) +
                           " is too large (shift " + std::to_string(shift) + " > 30)");
  }
  r.multiplier = static_cast<std::int32_t>(m);
  r.shift = shift;
  return r;
}

Status QuantizeMultipliers(float s_in, const float* s_w, int channels, float s_out, Requant* out) {
  if (!(std::isfinite(s_in) && s_in > 0.0f) || !(std::isfinite(s_out) && s_out > 0.0f)) {
    return InvalidArgument("QuantizeMultipliers: input scale " + std::to_string(s_in) + " and output scale " +
                           std::to_string(s_out) + " must be finite and > 0");
  }
  if (channels < 0 || (channels > 0 && (s_w == nullptr || out == nullptr))) {
    return InvalidArgument("QuantizeMultipliers: bad channel count or null array");
  }
  for (int c = 0; c < channels; ++c) {
    if (!(std::isfinite(s_w[c]) && s_w[c] >= 0.0f)) {
      return InvalidArgument("QuantizeMultipliers: weight scale of channel " + std::to_string(c) + " is " +
                             std::to_string(s_w[c]) + " (must be finite and >= 0)");
    }
    const double m = static_cast<double>(s_in) * static_cast<double>(s_w[c]) / static_cast<double>(s_out);
    Result<Requant> r = QuantizeMultiplier(m);
    if (!r.ok()) return r.status().WithContext("channel " + std::to_string(c));
    out[c] = *r;
  }
  return Status::Ok();
}

Result<QuantParams> ChooseQuantParams(float rmin, float rmax, std::int32_t qmin, std::int32_t qmax) {
  if (!(qmin < qmax)) {
    return InvalidArgument("ChooseQuantParams: empty integer range [" + std::to_string(qmin) + ", " +
                           std::to_string(qmax) + "]");
  }
  if (!std::isfinite(rmin) || !std::isfinite(rmax) || rmin > rmax) {
    return InvalidArgument("ChooseQuantParams: bad real range [" + std::to_string(rmin) + ", " +
                           std::to_string(rmax) + "]");
  }
  // Widen to include 0 so that real 0.0 is exactly representable (q = zp).
  const double lo = std::fmin(static_cast<double>(rmin), 0.0);
  const double hi = std::fmax(static_cast<double>(rmax), 0.0);
  QuantParams p;
  if (lo == hi) {
    // Degenerate range (only 0.0): any scale represents it; scale 1 and the
    // integer closest to 0 inside [qmin, qmax] as zero point (0 for int8/uint8).
    p.scale = 1.0f;
    p.zero_point = qmin > 0 ? qmin : (qmax < 0 ? qmax : 0);
    return p;
  }
  const double span = static_cast<double>(qmax) - static_cast<double>(qmin);
  p.scale = static_cast<float>((hi - lo) / span);
  if (!(p.scale >= std::numeric_limits<float>::min()) || !std::isfinite(p.scale)) {
    return InvalidArgument("ChooseQuantParams: range [" + std::to_string(rmin) + ", " + std::to_string(rmax) +
                           "] gives a scale that is not a normal float");
  }
  // zp = qmin - round(lo / scale) with the stored (float) scale, ties away
  // from zero, clamped (lo <= 0 so this is >= qmin up to rounding).
  double zp = static_cast<double>(qmin) - std::round(lo / static_cast<double>(p.scale));
  if (zp < qmin) zp = qmin;
  if (zp > qmax) zp = qmax;
  p.zero_point = static_cast<std::int32_t>(zp);
  return p;
}

QuantParams ChooseSymmetricParams(float max_abs, std::int32_t qmax) {
  QuantParams p;  // scale 1, zp 0
  const float a = std::fabs(max_abs);
  if (qmax < 1 || !std::isfinite(a) || a == 0.0f) return p;
  const float s = a / static_cast<float>(qmax);
  if (s >= std::numeric_limits<float>::min()) p.scale = s;
  return p;
}

}  // namespace qualm::kernels

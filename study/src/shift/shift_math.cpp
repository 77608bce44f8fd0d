// Deterministic arithmetic and image helpers for the image shifts; see shift_math.h.
#include "shift_math.h"

#include <algorithm>
#include <cmath>

namespace qualm::study::shift {

namespace {
constexpr double kLn2 = 0.69314718055994530942;
}  // namespace

// exp by range reduction x = n ln2 + r, |r| <= ln2/2, a Taylor series of r
// (terms summed until they stop changing the sum; 30 at most), and an exact
// scaling by 2^n. Relative error ~1e-16, identical bits everywhere.
double DetExp(double x) {
  if (x < -700.0) return 0.0;
  if (x > 700.0) x = 700.0;
  const double n = std::floor(x / kLn2 + 0.5);  // floor is exact
  const double r = x - n * kLn2;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 30; ++k) {
    term = term * r / k;
    const double next = sum + term;
    if (next == sum) break;
    sum = next;
  }
  return std::ldexp(sum, static_cast<int>(n));  // exact
}

// log by x = m 2^e with m in [sqrt(1/2), sqrt(2)), then ln m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| < 0.172, as a series in s^2.
double DetLog(double x) {
  if (!(x > 0.0)) return -1e300;
  int e = 0;
  double m = std::frexp(x, &e);  // exact: m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double power = s, sum = s;
  for (int k = 3; k < 80; k += 2) {
    power *= s2;
    const double next = sum + power / k;
    if (next == sum) break;
    sum = next;
  }
  return 2.0 * sum + e * kLn2;
}

// sin and cos by reduction to [-pi, pi] and Taylor series (the angles used
// here are small: rotations up to 1 rad, stroke directions).
void DetSinCos(double angle, double* s, double* c) {
  const double two_pi = 2.0 * kPi;
  const double a = angle - two_pi * std::floor(angle / two_pi + 0.5);
  const double a2 = a * a;
  double ts = a, tc = 1.0, ss = a, sc = 1.0;
  for (int k = 1; k < 40; ++k) {
    ts = -ts * a2 / ((2.0 * k) * (2.0 * k + 1.0));
    tc = -tc * a2 / ((2.0 * k - 1.0) * (2.0 * k));
    const double ns = ss + ts, nc = sc + tc;
    if (ns == ss && nc == sc) break;
    ss = ns;
    sc = nc;
  }
  *s = ss;
  *c = sc;
}

float NormalDraw(Rng& rng) {
  // Twelve 16-bit uniforms (k + 0.5) / 65536, summed in a fixed order.
  std::uint64_t sum = 0;
  for (int d = 0; d < 3; ++d) {
    const std::uint64_t r = rng.NextU64();
    sum += (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
  }
  // sum of (k_i + 0.5) / 65536 over 12 draws, minus 6; exact in double.
  return static_cast<float>((static_cast<double>(sum) + 6.0) / 65536.0 - 6.0);
}

double Uniform53(Rng& rng) { return static_cast<double>(rng.NextU64() >> 11) * (1.0 / 9007199254740992.0); }

std::vector<float> GaussianKernel(double sigma, double truncate) {
  const int radius = static_cast<int>(truncate * sigma + 0.5);
  std::vector<double> w(static_cast<std::size_t>(2 * radius + 1));
  double total = 0.0;
  for (int i = -radius; i <= radius; ++i) {
    const double v = DetExp(-0.5 * i * i / (sigma * sigma));
    w[static_cast<std::size_t>(i + radius)] = v;
    total += v;
  }
  std::vector<float> k(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) k[i] = static_cast<float>(w[i] / total);
  return k;
}

void ConvolvePlane(std::vector<float>& plane, int h, int w, const std::vector<float>& k) {
  // Edge-replicated copies of each row / column, so the inner loops need no
  // clamping; the sums run in the same order as with clamped indexes.
  const int r = static_cast<int>(k.size() / 2);
  const std::size_t taps = k.size();
  std::vector<float> tmp(plane.size());
  std::vector<float> line(static_cast<std::size_t>(std::max(h, w) + 2 * r));
  for (int y = 0; y < h; ++y) {
    const float* row = plane.data() + static_cast<std::size_t>(y) * w;
    for (int i = -r; i < w + r; ++i) line[static_cast<std::size_t>(i + r)] = row[std::clamp(i, 0, w - 1)];
    for (int x = 0; x < w; ++x) {
      const float* src = line.data() + x;
      float acc = 0.0f;
      for (std::size_t t = 0; t < taps; ++t) acc += k[t] * src[t];
      tmp[static_cast<std::size_t>(y) * w + x] = acc;
    }
  }
  for (int x = 0; x < w; ++x) {
    for (int i = -r; i < h + r; ++i)
      line[static_cast<std::size_t>(i + r)] = tmp[static_cast<std::size_t>(std::clamp(i, 0, h - 1)) * w + x];
    for (int y = 0; y < h; ++y) {
      const float* src = line.data() + y;
      float acc = 0.0f;
      for (std::size_t t = 0; t < taps; ++t) acc += k[t] * src[t];
      plane[static_cast<std::size_t>(y) * w + x] = acc;
    }
  }
}

void ConvolveSeparable(Image& img, const std::vector<float>& k) {
  const std::size_t n = static_cast<std::size_t>(img.h) * img.w;
  std::vector<float> plane(n);
  for (int ch = 0; ch < img.c; ++ch) {
    for (std::size_t i = 0; i < n; ++i) plane[i] = img.px[i * img.c + ch];
    ConvolvePlane(plane, img.h, img.w, k);
    for (std::size_t i = 0; i < n; ++i) img.px[i * img.c + ch] = plane[i];
  }
}

float SampleBilinear(const Image& img, double y, double x, int ch) {
  if (!(y > -1.0 && y < img.h && x > -1.0 && x < img.w)) return 0.0f;
  const double fy = std::floor(y), fx = std::floor(x);
  const int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
  const float wy = static_cast<float>(y - fy), wx = static_cast<float>(x - fx);
  auto px = [&](int yy, int xx) -> float {
    return (yy < 0 || yy >= img.h || xx < 0 || xx >= img.w) ? 0.0f : img.at(yy, xx, ch);
  };
  const float top = px(y0, x0) * (1.0f - wx) + px(y0, x0 + 1) * wx;
  const float bottom = px(y0 + 1, x0) * (1.0f - wx) + px(y0 + 1, x0 + 1) * wx;
  return top * (1.0f - wy) + bottom * wy;
}

void WarpAffine(const Image& in, Image& out, const double m[6]) {
  out.h = in.h;
  out.w = in.w;
  out.c = in.c;
  out.px.assign(in.px.size(), 0.0f);
  for (int y = 0; y < in.h; ++y) {
    for (int x = 0; x < in.w; ++x) {
      const double sx = m[0] * x + m[1] * y + m[2];
      const double sy = m[3] * x + m[4] * y + m[5];
      for (int ch = 0; ch < in.c; ++ch) out.at(y, x, ch) = SampleBilinear(in, sy, sx, ch);
    }
  }
}

void CenteredAffine(const Geometry& g, double a00, double a01, double a10, double a11, double m[6]) {
  const double cx = (g.w - 1) / 2.0, cy = (g.h - 1) / 2.0;
  m[0] = a00;
  m[1] = a01;
  m[2] = cx - (a00 * cx + a01 * cy);
  m[3] = a10;
  m[4] = a11;
  m[5] = cy - (a10 * cx + a11 * cy);
}

LineProfile::LineProfile() : table_(257) {
  // 256 steps over [0, kReach], linear interpolation between them.
  for (std::size_t i = 0; i < table_.size(); ++i) {
    const double d = kReach * static_cast<double>(i) / 256.0;
    const double v = d < 2.3 ? DetLog(1.0 - d / 2.3) + 1.0 : 0.0;
    table_[i] = static_cast<float>(std::clamp(v, 0.0, 1.0));
  }
}

float LineProfile::operator()(double d) const {
  if (d >= kReach) return 0.0f;
  const double pos = d / kReach * 256.0;
  const int i = static_cast<int>(pos);
  const float f = static_cast<float>(pos - i);
  return table_[static_cast<std::size_t>(i)] * (1.0f - f) + table_[static_cast<std::size_t>(i) + 1] * f;
}

void DrawSegment(Image& img, double x0, double y0, double x1, double y1, const LineProfile& profile, float gain,
                 double dash, double width) {
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  const double len = std::sqrt(len2);
  const double reach = LineProfile::kReach * width;
  const int xa = std::max(0, static_cast<int>(std::floor(std::min(x0, x1) - reach)));
  const int xb = std::min(img.w - 1, static_cast<int>(std::ceil(std::max(x0, x1) + reach)));
  const int ya = std::max(0, static_cast<int>(std::floor(std::min(y0, y1) - reach)));
  const int yb = std::min(img.h - 1, static_cast<int>(std::ceil(std::max(y0, y1) + reach)));
  for (int y = ya; y <= yb; ++y) {
    for (int x = xa; x <= xb; ++x) {
      // Distance to the segment: project onto it, clamp to its ends.
      double t = len2 > 0.0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0.0;
      t = std::clamp(t, 0.0, 1.0);
      if (dash > 0.0 && (static_cast<long>(std::floor(t * len / dash)) & 1) == 0) continue;
      const double ex = x0 + t * dx - x, ey = y0 + t * dy - y;
      const float v = profile(std::sqrt(ex * ex + ey * ey) / width) * gain;
      if (v <= 0.0f) continue;
      for (int ch = 0; ch < img.c; ++ch) img.at(y, x, ch) = std::min(1.0f, img.at(y, x, ch) + v);
    }
  }
}

}  // namespace qualm::study::shift

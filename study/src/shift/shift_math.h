// study/src/shift/shift_math.h: the deterministic arithmetic and image
// helpers the image shifts are built from (internal to the study layer).
//
// Everything here is + - * / and sqrt (IEEE correctly rounded) in a fixed
// order, compiled without FMA contraction: the same inputs give the same bits
// on every machine. Transcendental functions are our own series, evaluated
// once per set (kernels, tables) or per image (an angle), never per pixel.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "qualm/engine/random.h"

namespace qualm::study::shift {

// One image being corrupted: HWC floats on the 0..1 scale. It enters as k/255
// and leaves rounded to k/255 (ApplyImageShift does both).
struct Image {
  int h = 0, w = 0, c = 1;
  std::vector<float> px;
  float& at(int y, int x, int ch) { return px[(static_cast<std::size_t>(y) * w + x) * c + ch]; }
  float at(int y, int x, int ch) const { return px[(static_cast<std::size_t>(y) * w + x) * c + ch]; }
};

// The shape every image of a set has.
struct Geometry {
  int h = 0, w = 0, c = 1;
  // A length given in pixels of a 28 x 28 image (MNIST-C's size), scaled to this one.
  double Px(double px28) const { return px28 * (h < w ? h : w) / 28.0; }
};

// Corrupts one image in place with the image's own random stream. Built once
// per (type, severity, geometry) by the type's factory, which precomputes
// kernels and tables; called once per image.
// Returns false only when a codec fails (jpeg), which ApplyImageShift reports.
using ShiftFn = std::function<bool(Image&, Rng&)>;

// ---- deterministic scalar functions (series in double, see the .cpp)
double DetExp(double x);
double DetLog(double x);  // x > 0
void DetSinCos(double angle, double* s, double* c);
inline constexpr double kPi = 3.14159265358979323846;

// ---- random draws (on top of Rng's specified mt19937_64 output)
// Standard normal, approximated by Irwin-Hall: the sum of 12 uniforms on 16-bit
// grids (three 64-bit draws) minus 6. Mean 0, variance 1 up to the grid, tails
// cut at +-6; no libm, so the bits are portable. Box-Muller would need log/cos.
float NormalDraw(Rng& rng);
// Uniform double in [0, 1) with 53 random bits.
double Uniform53(Rng& rng);
// Uniform in [lo, hi).
inline double UniformIn(Rng& rng, double lo, double hi) { return lo + (hi - lo) * Uniform53(rng); }
// -1 or +1 with equal odds.
inline int RandomSign(Rng& rng) { return (rng.NextU64() >> 63) ? 1 : -1; }

// ---- filters
// A normalized 1-D Gaussian, radius int(truncate * sigma + 0.5) as scipy's
// gaussian_filter (truncate 4).
std::vector<float> GaussianKernel(double sigma, double truncate = 4.0);
// Separable convolution of every channel with `k` (odd length) along rows then
// columns; samples beyond the border repeat the edge pixel (scipy's "nearest",
// skimage.filters.gaussian's default).
void ConvolveSeparable(Image& img, const std::vector<float>& k);
// One channel plane (h x w), the same convolution.
void ConvolvePlane(std::vector<float>& plane, int h, int w, const std::vector<float>& k);

// Bilinear sample of channel ch at (y, x); pixels outside the image count as 0
// (skimage.transform.warp's mode="constant", order 1).
float SampleBilinear(const Image& img, double y, double x, int ch);
// out(y, x) = in(m[3] x + m[4] y + m[5], m[0] x + m[1] y + m[2]) -- the map
// takes output (x, y) to input (x, y), as skimage's inverse_map.
void WarpAffine(const Image& in, Image& out, const double m[6]);
// An inverse map that applies the 2x2 matrix `a` about the image centre
// ((w-1)/2, (h-1)/2), as MNIST-C's "keep the centre fixed" translation.
void CenteredAffine(const Geometry& g, double a00, double a01, double a10, double a11, double m[6]);

// ---- strokes
// MNIST-C's line profile, intensity clip(ln(1 - d/2.3) + 1, 0, 1) at distance d
// (pixels) from the line: 1 on it, 0 beyond 1.45 px. Tabulated with DetLog.
class LineProfile {
 public:
  LineProfile();
  float operator()(double d) const;
  static constexpr double kReach = 1.46;  // the profile is 0 from here on
 private:
  std::vector<float> table_;
};
// Adds profile(distance to segment / width) * gain to every channel, clipped to 1.
// With dash > 0 only the dashes are drawn: points whose position along the
// segment t (pixels from its start) has floor(t / dash) odd (MNIST-C's dotted line).
void DrawSegment(Image& img, double x0, double y0, double x1, double y1, const LineProfile& profile, float gain = 1.0f,
                 double dash = 0, double width = 1.0);

inline float Clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

}  // namespace qualm::study::shift

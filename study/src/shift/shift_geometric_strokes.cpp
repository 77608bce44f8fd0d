// The geometric family and MNIST-C's own corruptions (strokes, stripes, edges)
// of the image shifts (shift_types.h).
//
// Parameters follow MNIST-C's corruptions.py (Mu & Gilmer 2019). Its stroke,
// stripe and edge corruptions have one severity; ours grow from it as stated
// per type. Pixel lengths are for 28 x 28 and scale with the image.
#include <algorithm>
#include <cmath>
#include <array>
#include <memory>

#include "shift_types.h"

namespace qualm::study::shift {
namespace {

double Pick(const double (&table)[5], int severity) { return table[severity - 1]; }

// The affine map (as 6 numbers for WarpAffine) taking the three points
// from[i] to to[i], by Cramer's rule.
void AffineFromPoints(const double from[3][2], const double to[3][2], double m[6]) {
  const double det = from[0][0] * (from[1][1] - from[2][1]) - from[0][1] * (from[1][0] - from[2][0]) +
                     (from[1][0] * from[2][1] - from[2][0] * from[1][1]);
  for (int row = 0; row < 2; ++row) {
    const double t0 = to[0][row], t1 = to[1][row], t2 = to[2][row];
    const double a = t0 * (from[1][1] - from[2][1]) - from[0][1] * (t1 - t2) + (t1 * from[2][1] - t2 * from[1][1]);
    const double b = from[0][0] * (t1 - t2) - t0 * (from[1][0] - from[2][0]) + (from[1][0] * t2 - from[2][0] * t1);
    const double c = from[0][0] * (from[1][1] * t2 - from[2][1] * t1) - from[0][1] * (from[1][0] * t2 - from[2][0] * t1) +
                     t0 * (from[1][0] * from[2][1] - from[2][0] * from[1][1]);
    m[3 * row + 0] = a / det;
    m[3 * row + 1] = b / det;
    m[3 * row + 2] = c / det;
  }
}

ShiftFn Warp(const double m[6]) {
  const std::array<double, 6> map{m[0], m[1], m[2], m[3], m[4], m[5]};
  return [map](Image& img, Rng&) {
    Image out;
    WarpAffine(img, out, map.data());
    img = std::move(out);
    return true;
  };
}

}  // namespace

// ---------------------------------------------------------------- geometric

// Elastic: MNIST-C's recipe -- a random affine map (three points around the
// centre moved by up to `affine` px) and a displacement field (uniform noise
// blurred by sigma, truncated at 3 sigma, times alpha) -- composed into one
// bilinear resampling. MNIST-C's own five settings do not grow in strength
// (its severity 2 bends more than 5), so the strength rises here with alpha
// and the affine jitter at a fixed sigma of 3 px: the field's standard
// deviation (alpha / sqrt(3 * 4 pi sigma^2)) is about 0.4, 0.8, 1.1, 1.5, 1.9 px.
ShiftFn MakeElastic(int severity, const Geometry& g) {
  static constexpr double kAlpha[5] = {7, 14, 21, 28, 35};
  static constexpr double kAffine[5] = {0.56, 0.84, 1.12, 1.4, 1.68};
  const double alpha = g.Px(Pick(kAlpha, severity)), affine = g.Px(Pick(kAffine, severity));
  auto kernel = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(3.0), 3.0));
  return [=](Image& img, Rng& rng) {
    const double cx = std::floor(img.w / 2.0), cy = std::floor(img.h / 2.0);
    const double sq = std::min(img.h, img.w) / 3;
    const double from[3][2] = {{cx + sq, cy + sq}, {cx + sq, cy - sq}, {cx - sq, cy - sq}};
    double to[3][2];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j) to[i][j] = from[i][j] + UniformIn(rng, -affine, affine);
    double m[6];
    AffineFromPoints(to, from, m);  // output point -> input point
    const std::size_t n = static_cast<std::size_t>(img.h) * img.w;
    std::vector<float> dx(n), dy(n);
    for (float& v : dx) v = static_cast<float>(UniformIn(rng, -1, 1));
    for (float& v : dy) v = static_cast<float>(UniformIn(rng, -1, 1));
    ConvolvePlane(dx, img.h, img.w, *kernel);
    ConvolvePlane(dy, img.h, img.w, *kernel);
    Image out = img;
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * img.w + x;
        const double px = x + alpha * dx[i], py = y + alpha * dy[i];
        const double sx = m[0] * px + m[1] * py + m[2], sy = m[3] * px + m[4] * py + m[5];
        for (int ch = 0; ch < img.c; ++ch) out.at(y, x, ch) = Clamp01(SampleBilinear(img, sy, sx, ch));
      }
    img = std::move(out);
    return true;
  };
}

// MNIST-C rotate: c radians either way about the centre, bilinear, zeros outside.
ShiftFn MakeRotate(int severity, const Geometry& g) {
  static constexpr double kRadians[5] = {0.2, 0.4, 0.6, 0.8, 1.0};
  const double angle = Pick(kRadians, severity);
  return [angle, g](Image& img, Rng& rng) {
    double s, c, m[6];
    DetSinCos(angle * RandomSign(rng), &s, &c);
    CenteredAffine(g, c, -s, s, c, m);
    return Warp(m)(img, rng);
  };
}

// MNIST-C scale: the inverse map scales by 1/0.9 .. 1/0.5, i.e. the garment
// shrinks to 90 % .. 50 % about the centre.
ShiftFn MakeScale(int severity, const Geometry& g) {
  static constexpr double kSize[5] = {0.9, 0.8, 0.7, 0.6, 0.5};
  const double s = 1.0 / Pick(kSize, severity);
  double m[6];
  CenteredAffine(g, s, 0, 0, s, m);
  return Warp(m);
}

// MNIST-C shear: skimage's AffineTransform(shear=c) matrix [[1, -sin c], [0, cos c]],
// c either way, about the centre.
ShiftFn MakeShear(int severity, const Geometry& g) {
  static constexpr double kShear[5] = {0.2, 0.4, 0.6, 0.8, 1.0};
  const double shear = Pick(kShear, severity);
  return [shear, g](Image& img, Rng& rng) {
    double s, c, m[6];
    DetSinCos(shear * RandomSign(rng), &s, &c);
    CenteredAffine(g, 1, -s, 0, c, m);
    return Warp(m)(img, rng);
  };
}

// MNIST-C translate: c px along each axis, each direction drawn; zeros enter.
ShiftFn MakeTranslate(int severity, const Geometry& g) {
  static constexpr double kPixels[5] = {1, 2, 3, 4, 5};
  const int shift = std::max(1, static_cast<int>(g.Px(Pick(kPixels, severity)) + 0.5));
  return [shift](Image& img, Rng& rng) {
    const int dx = shift * RandomSign(rng), dy = shift * RandomSign(rng);
    Image out = img;
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x) {
        const int sy = y + dy, sx = x + dx;
        const bool inside = sy >= 0 && sy < img.h && sx >= 0 && sx < img.w;
        for (int ch = 0; ch < img.c; ++ch) out.at(y, x, ch) = inside ? img.at(sy, sx, ch) : 0.0f;
      }
    img = std::move(out);
    return true;
  };
}

// ---------------------------------------------------------------- MNIST-C's own

// MNIST-C stripe inverts columns [0, 7) and [21, 28): our severity 3. The band
// width on each side grows 3, 5, 7, 9, 11 px.
ShiftFn MakeStripe(int severity, const Geometry& g) {
  static constexpr double kWidth[5] = {3, 5, 7, 9, 11};
  const int width = std::min(std::max(1, static_cast<int>(g.Px(Pick(kWidth, severity)) + 0.5)), g.w / 2);
  return [width](Image& img, Rng&) {
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x)
        if (x < width || x >= img.w - width)
          for (int ch = 0; ch < img.c; ++ch) img.at(y, x, ch) = 1.0f - img.at(y, x, ch);
    return true;
  };
}

// MNIST-C dotted_line: a line from the left edge to the right edge between two
// random rows, drawn in 2 px dashes. Severity s draws s of them.
ShiftFn MakeDottedLine(int severity, const Geometry& g) {
  auto profile = std::make_shared<LineProfile>();
  const double dash = g.Px(2);
  return [severity, profile, dash](Image& img, Rng& rng) {
    const std::uint64_t rows = static_cast<std::uint64_t>(std::max(1, img.h - 1));
    for (int n = 0; n < severity; ++n) {
      const double r0 = static_cast<double>(rng.Below(rows)), r1 = static_cast<double>(rng.Below(rows));
      DrawSegment(img, 0, r0, img.w - 1, r1, *profile, 1.0f, dash);
    }
    return true;
  };
}

// MNIST-C zigzag: a zigzag of 2 px teeth (length and width) from column 2 to
// column 25, starting at a random row and drifting up to 5 rows. Severity s
// draws s of them.
ShiftFn MakeZigzag(int severity, const Geometry& g) {
  auto profile = std::make_shared<LineProfile>();
  const double tooth = g.Px(2);
  return [severity, profile, tooth](Image& img, Rng& rng) {
    const double c0 = tooth, c1 = img.w - 1 - tooth;
    if (!(c1 > c0)) return true;  // an image too narrow for a zigzag (w = 1)
    const std::uint64_t rows = static_cast<std::uint64_t>(std::max(1, img.h - 1));
    const int drift = std::max(1, static_cast<int>(5.0 * img.h / 28.0 + 0.5));
    for (int n = 0; n < severity; ++n) {
      const double r0 = static_cast<double>(rng.Below(rows));
      const double r1 = r0 + static_cast<double>(static_cast<int>(rng.Below(2 * static_cast<std::uint64_t>(drift))) - drift);
      // Direction without atan: cos = 1/sqrt(1 + t^2), sin = t cos, t the slope.
      const double t = (r1 - r0) / (c1 - c0), cs = 1.0 / std::sqrt(1.0 + t * t), sn = t * cs;
      const double length = (c1 - c0) / cs;
      double pu = 0, pv = 0;  // along and across the direction
      for (int i = 0; i < 4 * img.w + 4; ++i) {  // the last tooth ends the loop well before
        double u = (2 * i + 1) * tooth, v = (i % 2 == 0) ? tooth : -tooth;
        const bool last = u >= length;
        if (last) {
          u = length;
          v = 0;
        }
        DrawSegment(img, c0 + pu * cs - pv * sn, r0 + pu * sn + pv * cs, c0 + u * cs - v * sn, r0 + u * sn + v * cs,
                    *profile);
        if (last) break;
        pu = u;
        pv = v;
      }
    }
    return true;
  };
}

// MNIST-C canny_edges replaces the image by its Canny edge map (skimage's
// feature.canny: Gaussian sigma 1, Sobel gradients, non-maximum suppression,
// hysteresis between 0.1 and 0.2): our severity 5. Severities 1..4 blend it
// over the image with weight 0.2 .. 0.8.
ShiftFn MakeCannyEdges(int severity, const Geometry&) {
  static constexpr double kWeight[5] = {0.2, 0.4, 0.6, 0.8, 1.0};
  const float weight = static_cast<float>(Pick(kWeight, severity));
  auto smooth = std::make_shared<std::vector<float>>(GaussianKernel(1.0));
  return [weight, smooth](Image& img, Rng&) {
    const int h = img.h, w = img.w;
    const std::size_t n = static_cast<std::size_t>(h) * w;
    std::vector<float> grey(n);
    for (std::size_t i = 0; i < n; ++i) {
      const float* p = &img.px[i * img.c];
      grey[i] = img.c == 1 ? p[0] : 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
    ConvolvePlane(grey, h, w, *smooth);
    auto v = [&](int y, int x) { return grey[static_cast<std::size_t>(std::clamp(y, 0, h - 1)) * w + std::clamp(x, 0, w - 1)]; };
    std::vector<float> gx(n), gy(n), mag(n);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * w + x;
        gx[i] = (v(y - 1, x + 1) + 2 * v(y, x + 1) + v(y + 1, x + 1)) - (v(y - 1, x - 1) + 2 * v(y, x - 1) + v(y + 1, x - 1));
        gy[i] = (v(y + 1, x - 1) + 2 * v(y + 1, x) + v(y + 1, x + 1)) - (v(y - 1, x - 1) + 2 * v(y - 1, x) + v(y - 1, x + 1));
        mag[i] = std::sqrt(gx[i] * gx[i] + gy[i] * gy[i]);
      }
    // Non-maximum suppression along the gradient, quantized to 4 directions by
    // comparing |gx| and |gy| with tan(22.5 deg) = sqrt(2) - 1 (no atan).
    const float tan22 = static_cast<float>(std::sqrt(2.0) - 1.0);
    std::vector<unsigned char> state(n, 0);  // 0 none, 1 weak, 2 strong
    for (int y = 1; y + 1 < h; ++y)
      for (int x = 1; x + 1 < w; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * w + x;
        const float m = mag[i], ax = std::fabs(gx[i]), ay = std::fabs(gy[i]);
        if (m < 0.1f) continue;
        int oy = 0, ox = 0;
        if (ay <= tan22 * ax) ox = 1;
        else if (ax <= tan22 * ay) oy = 1;
        else {
          oy = 1;
          ox = (gx[i] > 0) == (gy[i] > 0) ? 1 : -1;
        }
        const float a = mag[static_cast<std::size_t>(y + oy) * w + x + ox];
        const float b = mag[static_cast<std::size_t>(y - oy) * w + x - ox];
        if (m >= a && m >= b) state[i] = m >= 0.2f ? 2 : 1;
      }
    // Hysteresis: weak pixels 8-connected to a strong one become edges.
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < n; ++i)
      if (state[i] == 2) stack.push_back(i);
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      const int y = static_cast<int>(i / w), x = static_cast<int>(i % w);
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const std::size_t j = static_cast<std::size_t>(yy) * w + xx;
          if (state[j] == 1) {
            state[j] = 2;
            stack.push_back(j);
          }
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
      const float edge = state[i] == 2 ? 1.0f : 0.0f;
      for (int ch = 0; ch < img.c; ++ch) {
        float& p = img.px[i * img.c + ch];
        p = Clamp01((1.0f - weight) * p + weight * edge);
      }
    }
    return true;
  };
}

}  // namespace qualm::study::shift

// The noise and blur families of the image shifts (shift_types.h).
//
// Sources of the parameters: MNIST-C's corruptions.py (Mu & Gilmer 2019,
// github.com/google-research/mnist-c), which sized CIFAR-10-C's (Hendrycks &
// Dietterich 2019) for 28 x 28 images -- the size of Fashion-MNIST. Pixel
// lengths are for 28 x 28 and scale with the image (Geometry::Px).
#include <algorithm>
#include <cmath>
#include <memory>

#include "shift_types.h"

namespace qualm::study::shift {
namespace {

double Pick(const double (&table)[5], int severity) { return table[severity - 1]; }

}  // namespace

// ---------------------------------------------------------------- noise

ShiftFn MakeGaussianNoise(int severity, const Geometry&) {
  static constexpr double kSigma[5] = {0.08, 0.12, 0.18, 0.26, 0.38};  // MNIST-C / CIFAR-10-C gaussian_noise
  const float sigma = static_cast<float>(Pick(kSigma, severity));
  return [sigma](Image& img, Rng& rng) {
    for (float& v : img.px) v = Clamp01(v + sigma * NormalDraw(rng));
    return true;
  };
}

// Poisson(x * c) / c per pixel. Drawn by inverting a CDF tabulated once per set
// for each of the 256 input levels (pmf by the recurrence p_k = p_{k-1} lambda / k
// from DetExp(-lambda)), so no per-pixel transcendental and portable bits.
ShiftFn MakeShotNoise(int severity, const Geometry&) {
  static constexpr double kPhotons[5] = {60, 25, 12, 5, 3};  // MNIST-C / CIFAR-10-C shot_noise
  const double c = Pick(kPhotons, severity);
  auto cdf = std::make_shared<std::vector<std::vector<double>>>(256);
  for (int level = 0; level < 256; ++level) {
    const double lambda = level / 255.0 * c;
    const int k_max = static_cast<int>(lambda + 12.0 * std::sqrt(lambda) + 20.0);
    std::vector<double>& t = (*cdf)[static_cast<std::size_t>(level)];
    double p = DetExp(-lambda), total = 0.0;
    for (int k = 0; k <= k_max; ++k) {
      if (k > 0) p = p * lambda / k;
      total += p;
      t.push_back(total);
    }
  }
  return [c, cdf](Image& img, Rng& rng) {
    for (float& v : img.px) {
      const auto level = static_cast<std::size_t>(v * 255.0f + 0.5f);
      const std::vector<double>& t = (*cdf)[level];
      const double u = Uniform53(rng);
      std::size_t k = 0;
      while (k + 1 < t.size() && u >= t[k]) ++k;
      v = Clamp01(static_cast<float>(k / c));
    }
    return true;
  };
}

// Salt and pepper: each value is hit with probability `amount`, then set to 0
// or 1 with equal odds (skimage.util.random_noise mode "s&p").
ShiftFn MakeImpulseNoise(int severity, const Geometry&) {
  static constexpr double kAmount[5] = {0.03, 0.06, 0.09, 0.17, 0.27};  // MNIST-C / CIFAR-10-C impulse_noise
  const double amount = Pick(kAmount, severity);
  return [amount](Image& img, Rng& rng) {
    for (float& v : img.px) {
      if (Uniform53(rng) < amount) v = (rng.NextU64() >> 63) ? 1.0f : 0.0f;
    }
    return true;
  };
}

ShiftFn MakeSpeckleNoise(int severity, const Geometry&) {
  static constexpr double kSigma[5] = {0.15, 0.2, 0.35, 0.45, 0.6};  // MNIST-C speckle_noise
  const float sigma = static_cast<float>(Pick(kSigma, severity));
  return [sigma](Image& img, Rng& rng) {
    for (float& v : img.px) v = Clamp01(v + v * (sigma * NormalDraw(rng)));
    return true;
  };
}

// ---------------------------------------------------------------- blur

// MNIST-C's sigmas of 1..6 px turn a 28 px garment into a uniform blob from
// severity 3 on; CIFAR-10-C's 0.4..1 px are for 32 px photos. We span 0.5..2 px:
// CIFAR-10-C's range at the low end, MNIST-C's severities 1 and 2 at the high end.
ShiftFn MakeGaussianBlur(int severity, const Geometry& g) {
  static constexpr double kSigma[5] = {0.5, 0.8, 1.1, 1.5, 2.0};
  auto kernel = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(Pick(kSigma, severity))));
  return [kernel](Image& img, Rng&) {
    ConvolveSeparable(img, *kernel);
    return true;
  };
}

// A disk of radius r, anti-aliased by a 3 x 3 Gaussian of sigma `alias`
// (MNIST-C's disk()), convolved in 2-D with edge pixels repeated. MNIST-C's
// radii 3..10 px erase a garment; CIFAR-10-C's 0.3..1.5 on 32 px barely show
// on 28 px: we use 1..3 px (MNIST-C's severity 1 is our 5).
ShiftFn MakeDefocusBlur(int severity, const Geometry& g) {
  static constexpr double kRadius[5] = {1.0, 1.5, 2.0, 2.5, 3.0};
  static constexpr double kAlias[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
  const double r = g.Px(Pick(kRadius, severity)), alias = Pick(kAlias, severity);
  const int reach = static_cast<int>(std::ceil(r)) + 1;  // + 1 for the 3 x 3 anti-aliasing
  const int size = 2 * reach + 1;
  std::vector<double> disk(static_cast<std::size_t>(size * size), 0.0);
  double count = 0;
  for (int y = -reach; y <= reach; ++y)
    for (int x = -reach; x <= reach; ++x)
      if (x * x + y * y <= r * r) {
        disk[static_cast<std::size_t>((y + reach) * size + x + reach)] = 1.0;
        count += 1.0;
      }
  const double a1 = DetExp(-0.5 / (alias * alias));  // 3-tap Gaussian: a1, 1, a1
  const double g3[3] = {a1 / (1 + 2 * a1), 1 / (1 + 2 * a1), a1 / (1 + 2 * a1)};
  auto kernel = std::make_shared<std::vector<float>>(disk.size(), 0.0f);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double acc = 0.0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= size || xx < 0 || xx >= size) continue;
          acc += g3[dy + 1] * g3[dx + 1] * disk[static_cast<std::size_t>(yy * size + xx)];
        }
      (*kernel)[static_cast<std::size_t>(y * size + x)] = static_cast<float>(acc / count);
    }
  return [kernel, reach, size](Image& img, Rng&) {
    // An edge-replicated copy, so the loops need no clamping.
    const int pw = img.w + 2 * reach;
    std::vector<float> pad(static_cast<std::size_t>(img.h + 2 * reach) * pw * img.c);
    for (int y = 0; y < img.h + 2 * reach; ++y)
      for (int x = 0; x < pw; ++x)
        for (int ch = 0; ch < img.c; ++ch)
          pad[(static_cast<std::size_t>(y) * pw + x) * img.c + ch] =
              img.at(std::clamp(y - reach, 0, img.h - 1), std::clamp(x - reach, 0, img.w - 1), ch);
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x)
        for (int ch = 0; ch < img.c; ++ch) {
          float acc = 0.0f;
          for (int ky = 0; ky < size; ++ky) {
            const float* src = &pad[(static_cast<std::size_t>(y + ky) * pw + x) * img.c + ch];
            const float* kr = &(*kernel)[static_cast<std::size_t>(ky * size)];
            for (int kx = 0; kx < size; ++kx) acc += kr[kx] * src[static_cast<std::size_t>(kx) * img.c];
          }
          img.at(y, x, ch) = Clamp01(acc);
        }
    return true;
  };
}

// MNIST-C glass_blur: blur, truncate to bytes, swap each pixel with a random
// neighbour within `delta` (a coin decides, in MNIST-C's bottom-up scan order),
// `iterations` times, blur again.
ShiftFn MakeGlassBlur(int severity, const Geometry& g) {
  static constexpr double kSigma[5] = {0.7, 0.9, 1.0, 1.1, 1.5};
  static constexpr int kDelta[5] = {1, 2, 2, 3, 4};
  static constexpr int kIterations[5] = {2, 1, 3, 2, 2};
  auto kernel = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(Pick(kSigma, severity))));
  const int delta = std::max(1, static_cast<int>(g.Px(kDelta[severity - 1]) + 0.5));
  const int iterations = kIterations[severity - 1];
  return [kernel, delta, iterations](Image& img, Rng& rng) {
    ConvolveSeparable(img, *kernel);
    for (float& v : img.px) v = std::floor(Clamp01(v) * 255.0f) / 255.0f;
    for (int it = 0; it < iterations; ++it)
      for (int y = img.h - delta; y > delta; --y)
        for (int x = img.w - delta; x > delta; --x) {
          if (rng.NextU64() >> 63) continue;
          const int dx = static_cast<int>(rng.Below(2 * static_cast<std::uint64_t>(delta))) - delta;
          const int dy = static_cast<int>(rng.Below(2 * static_cast<std::uint64_t>(delta))) - delta;
          for (int ch = 0; ch < img.c; ++ch) std::swap(img.at(y, x, ch), img.at(y + dy, x + dx, ch));
        }
    ConvolveSeparable(img, *kernel);
    for (float& v : img.px) v = Clamp01(v);
    return true;
  };
}

// ImageMagick's motion blur as MNIST-C calls it (radius, sigma, angle uniform
// in [-45, 45) degrees): a one-sided Gaussian of 2 ceil(radius) + 1 taps along
// the angle, tap i at the pixel offset (round(i cos a), round(i sin a)),
// edge pixels repeated.
ShiftFn MakeMotionBlur(int severity, const Geometry& g) {
  static constexpr double kRadius[5] = {10, 15, 15, 15, 20};
  static constexpr double kSigma[5] = {3, 5, 8, 12, 15};
  const double radius = g.Px(Pick(kRadius, severity)), sigma = g.Px(Pick(kSigma, severity));
  const int taps = 2 * static_cast<int>(std::ceil(radius)) + 1;
  auto weights = std::make_shared<std::vector<float>>(static_cast<std::size_t>(taps));
  double total = 0.0;
  std::vector<double> w(static_cast<std::size_t>(taps));
  for (int i = 0; i < taps; ++i) total += (w[static_cast<std::size_t>(i)] = DetExp(-0.5 * i * i / (sigma * sigma)));
  for (int i = 0; i < taps; ++i) (*weights)[static_cast<std::size_t>(i)] = static_cast<float>(w[static_cast<std::size_t>(i)] / total);
  return [weights, taps](Image& img, Rng& rng) {
    double s = 0, c = 1;
    DetSinCos(UniformIn(rng, -kPi / 4, kPi / 4), &s, &c);
    std::vector<int> ox(static_cast<std::size_t>(taps)), oy(static_cast<std::size_t>(taps));
    for (int i = 0; i < taps; ++i) {
      ox[static_cast<std::size_t>(i)] = static_cast<int>(std::floor(i * c + 0.5));
      oy[static_cast<std::size_t>(i)] = static_cast<int>(std::floor(i * s + 0.5));
    }
    const Image src = img;
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x)
        for (int ch = 0; ch < img.c; ++ch) {
          float acc = 0.0f;
          for (std::size_t i = 0; i < static_cast<std::size_t>(taps); ++i)
            acc += (*weights)[i] * src.at(std::clamp(y + oy[i], 0, img.h - 1), std::clamp(x + ox[i], 0, img.w - 1), ch);
          img.at(y, x, ch) = Clamp01(acc);
        }
    return true;
  };
}

// MNIST-C zoom_blur: the mean of the image and its centre zooms by each factor
// of the list (bilinear, about the image centre). Zooms are separable, so the
// taps per axis are computed once per set.
ShiftFn MakeZoomBlur(int severity, const Geometry& g) {
  // Factors 1 + k * step for k = 0 .. count-1 (MNIST-C: np.arange(1, end, step)).
  static constexpr int kStepHundredths[5] = {1, 1, 2, 2, 3};
  static constexpr int kCount[5] = {11, 16, 11, 13, 11};
  struct Tap {
    int i0, i1;
    float w1;
  };
  struct Zoom {
    std::vector<Tap> ty, tx;
  };
  auto zooms = std::make_shared<std::vector<Zoom>>();
  auto axis = [](int n, double z) {
    std::vector<Tap> taps(static_cast<std::size_t>(n));
    const double centre = (n - 1) / 2.0;
    for (int o = 0; o < n; ++o) {
      const double pos = centre + (o - centre) / z;
      const double f = std::floor(pos);
      const int i0 = std::clamp(static_cast<int>(f), 0, n - 1);
      taps[static_cast<std::size_t>(o)] = {i0, std::min(i0 + 1, n - 1), static_cast<float>(pos - f)};
    }
    return taps;
  };
  for (int k = 0; k < kCount[severity - 1]; ++k) {
    const double z = (100.0 + k * kStepHundredths[severity - 1]) / 100.0;
    zooms->push_back({axis(g.h, z), axis(g.w, z)});
  }
  return [zooms](Image& img, Rng&) {
    std::vector<float> sum(img.px);
    for (const Zoom& zm : *zooms)
      for (int y = 0; y < img.h; ++y) {
        const Tap& ty = zm.ty[static_cast<std::size_t>(y)];
        for (int x = 0; x < img.w; ++x) {
          const Tap& tx = zm.tx[static_cast<std::size_t>(x)];
          for (int ch = 0; ch < img.c; ++ch) {
            const float top = img.at(ty.i0, tx.i0, ch) * (1.0f - tx.w1) + img.at(ty.i0, tx.i1, ch) * tx.w1;
            const float bot = img.at(ty.i1, tx.i0, ch) * (1.0f - tx.w1) + img.at(ty.i1, tx.i1, ch) * tx.w1;
            sum[(static_cast<std::size_t>(y) * img.w + x) * img.c + ch] += top * (1.0f - ty.w1) + bot * ty.w1;
          }
        }
      }
    const float n = static_cast<float>(zooms->size() + 1);
    for (std::size_t i = 0; i < sum.size(); ++i) img.px[i] = Clamp01(sum[i] / n);
    return true;
  };
}

}  // namespace qualm::study::shift

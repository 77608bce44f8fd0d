// The weather and digital families of the image shifts (shift_types.h).
//
// Parameters follow MNIST-C's corruptions.py (Mu & Gilmer 2019), which sized
// CIFAR-10-C's (Hendrycks & Dietterich 2019) for 28 x 28 images; deviations are
// stated where they are made. Pixel lengths scale with the image (Geometry::Px).
#include <stb_image.h>        // declarations only: Debian's libstb provides the implementation
#include <stb_image_write.h>  // likewise

#include <algorithm>
#include <memory>
#include <string>

#include "qualm/frontends/image_folder.h"
#include "shift_types.h"

namespace qualm::study::shift {
namespace {

double Pick(const double (&table)[5], int severity) { return table[severity - 1]; }

// MNIST-C's plasma_fractal (diamond-square on a torus, each level's offsets
// wibble * U(-wibble, wibble), wibble divided by `decay` per level), on the
// smallest power-of-two map that covers the image instead of 256 x 256 (a
// 256-point map per image would cost 65k draws; MNIST-C crops 28 x 28 of it).
// The levels above the map's size are skipped, so the map starts at the wibble
// MNIST-C's 256 map reaches at that step size. Normalized to [0, 1].
std::vector<float> Plasma(int size, double decay, Rng& rng) {
  std::vector<double> map(static_cast<std::size_t>(size) * size, 0.0);
  auto at = [&](int y, int x) -> double& {
    return map[static_cast<std::size_t>(((y % size) + size) % size) * size + static_cast<std::size_t>(((x % size) + size) % size)];
  };
  double wibble = 100.0;
  for (int s = 256; s > size; s /= 2) wibble /= decay;
  for (int step = size; step >= 2; step /= 2, wibble /= decay) {
    const int half = step / 2;
    auto offset = [&]() { return wibble * UniformIn(rng, -wibble, wibble); };
    for (int y = 0; y < size; y += step)  // squares: centres from their four corners
      for (int x = 0; x < size; x += step)
        at(y + half, x + half) = (at(y, x) + at(y, x + step) + at(y + step, x) + at(y + step, x + step)) / 4 + offset();
    for (int y = 0; y < size; y += step)  // diamonds on the rows of corners
      for (int x = 0; x < size; x += step)
        at(y, x + half) = (at(y, x) + at(y, x + step) + at(y - half, x + half) + at(y + half, x + half)) / 4 + offset();
    for (int y = 0; y < size; y += step)  // diamonds on the columns of corners
      for (int x = 0; x < size; x += step)
        at(y + half, x) = (at(y, x) + at(y + step, x) + at(y + half, x - half) + at(y + half, x + half)) / 4 + offset();
  }
  const auto [lo, hi] = std::minmax_element(map.begin(), map.end());
  const double min = *lo, range = *hi - *lo > 0 ? *hi - *lo : 1.0;
  std::vector<float> out(map.size());
  for (std::size_t i = 0; i < map.size(); ++i) out[i] = static_cast<float>((map[i] - min) / range);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- weather

// MNIST-C fog: x + c * plasma, then rescaled by max / (max + c).
ShiftFn MakeFog(int severity, const Geometry& g) {
  static constexpr double kAmount[5] = {1.5, 2.0, 2.5, 2.5, 3.0};
  static constexpr double kDecay[5] = {2.0, 2.0, 1.7, 1.5, 1.4};
  const float amount = static_cast<float>(Pick(kAmount, severity));
  const double decay = Pick(kDecay, severity);
  int size = 2;
  while (size < std::max(g.h, g.w)) size *= 2;
  return [amount, decay, size](Image& img, Rng& rng) {
    const std::vector<float> fog = Plasma(size, decay, rng);
    const float max = *std::max_element(img.px.begin(), img.px.end());
    const float scale = max / (max + amount);
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x)
        for (int ch = 0; ch < img.c; ++ch) {
          const float f = fog[static_cast<std::size_t>(y) * size + x];
          img.at(y, x, ch) = Clamp01((img.at(y, x, ch) + amount * f) * scale);
        }
    return true;
  };
}

// Frost: c0 x + c1 frost (MNIST-C's blend weights). MNIST-C and CIFAR-10-C
// crop photographs of frost; we grow a texture instead (no image files): a
// grain of blurred uniform noise plus ice needles -- straight strokes at random
// angles with two side branches at +-60 degrees -- about 12 per 28 x 28 image, 0.6 px wide.
ShiftFn MakeFrost(int severity, const Geometry& g) {
  static constexpr double kImage[5] = {1.0, 0.8, 0.7, 0.65, 0.6};
  static constexpr double kFrost[5] = {0.4, 0.6, 0.7, 0.7, 0.75};
  const float c0 = static_cast<float>(Pick(kImage, severity)), c1 = static_cast<float>(Pick(kFrost, severity));
  auto grain_kernel = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(0.8)));
  auto profile = std::make_shared<LineProfile>();
  const int needles = std::max(1, static_cast<int>(12.0 * g.h * g.w / 784.0 + 0.5));
  const double min_len = g.Px(4), max_len = g.Px(12), needle_width = g.Px(0.6);
  return [=](Image& img, Rng& rng) {
    Image frost;
    frost.h = img.h;
    frost.w = img.w;
    frost.c = 1;
    frost.px.resize(static_cast<std::size_t>(img.h) * img.w);
    for (float& v : frost.px) v = static_cast<float>(Uniform53(rng));
    ConvolvePlane(frost.px, frost.h, frost.w, *grain_kernel);
    const auto [lo, hi] = std::minmax_element(frost.px.begin(), frost.px.end());
    const float min = *lo, range = *hi - *lo > 0 ? *hi - *lo : 1.0f;
    for (float& v : frost.px) v = 0.2f + 0.35f * ((v - min) / range);
    for (int n = 0; n < needles; ++n) {
      const double x0 = UniformIn(rng, 0, img.w), y0 = UniformIn(rng, 0, img.h);
      const double angle = UniformIn(rng, 0, 2 * kPi), len = UniformIn(rng, min_len, max_len);
      const float gain = static_cast<float>(UniformIn(rng, 0.4, 0.8));
      double s, c;
      DetSinCos(angle, &s, &c);
      DrawSegment(frost, x0, y0, x0 + len * c, y0 + len * s, *profile, gain, 0, needle_width);
      for (int b = 0; b < 2; ++b) {
        const double t = b == 0 ? 0.35 : 0.65;
        double bs, bc;
        DetSinCos(angle + (b == 0 ? kPi / 3 : -kPi / 3), &bs, &bc);
        const double bx = x0 + t * len * c, by = y0 + t * len * s;
        DrawSegment(frost, bx, by, bx + 0.5 * len * bc, by + 0.5 * len * bs, *profile, 0.7f * gain, 0, needle_width);
      }
    }
    for (int y = 0; y < img.h; ++y)
      for (int x = 0; x < img.w; ++x)
        for (int ch = 0; ch < img.c; ++ch)
          img.at(y, x, ch) = Clamp01(c0 * img.at(y, x, ch) + c1 * frost.at(y, x, 0));
    return true;
  };
}

// MNIST-C spatter (its mud branch): a normal field N(loc, scale), blurred by
// sigma, kept above a threshold; the mask blurred by sigma2 and kept where
// >= 0.8 paints mud of grey level 63 over the image. MNIST-C's severities 1..3
// as they are; its 4 and 5 (sigma 1, sigma2 1.5) erode the mask to fewer mud
// pixels than its 3, so LeNet-5's accuracy rose again. Ours keep severity 3's
// blob size (sigma 2, sigma2 0.5) and lower the threshold: the area above it
// grows from about 24 % (severity 3) to 40 % and 60 %.
ShiftFn MakeSpatter(int severity, const Geometry& g) {
  static constexpr double kLoc[5] = {0.65, 0.65, 0.65, 0.65, 0.65};
  static constexpr double kScale[5] = {0.3, 0.3, 0.3, 0.3, 0.3};
  static constexpr double kSigma[5] = {4, 3, 2, 2, 2};
  static constexpr double kThreshold[5] = {0.69, 0.68, 0.68, 0.66, 0.64};
  static constexpr double kSigma2[5] = {0.6, 0.6, 0.5, 0.5, 0.5};
  const float loc = static_cast<float>(Pick(kLoc, severity)), scale = static_cast<float>(Pick(kScale, severity));
  const float threshold = static_cast<float>(Pick(kThreshold, severity));
  auto k1 = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(Pick(kSigma, severity))));
  auto k2 = std::make_shared<std::vector<float>>(GaussianKernel(g.Px(Pick(kSigma2, severity))));
  return [=](Image& img, Rng& rng) {
    std::vector<float> liquid(static_cast<std::size_t>(img.h) * img.w);
    for (float& v : liquid) v = loc + scale * NormalDraw(rng);
    ConvolvePlane(liquid, img.h, img.w, *k1);
    std::vector<float> mask(liquid.size());
    for (std::size_t i = 0; i < liquid.size(); ++i) mask[i] = liquid[i] > threshold ? 1.0f : 0.0f;
    ConvolvePlane(mask, img.h, img.w, *k2);
    const float mud = 63.0f / 255.0f;
    for (std::size_t i = 0; i < mask.size(); ++i) {
      const float m = mask[i] < 0.8f ? 0.0f : mask[i];
      for (int ch = 0; ch < img.c; ++ch) {
        float& v = img.px[i * img.c + ch];
        v = Clamp01(v * (1.0f - m) + mud * m);
      }
    }
    return true;
  };
}

// ---------------------------------------------------------------- digital

// MNIST-C brightness: + c on the V channel of HSV. Keeping hue and saturation
// while raising V = max(r, g, b) scales the pixel by V'/V (grey: x + c).
ShiftFn MakeBrightness(int severity, const Geometry&) {
  static constexpr double kShift[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
  const float shift = static_cast<float>(Pick(kShift, severity));
  return [shift](Image& img, Rng&) {
    for (std::size_t p = 0; p < img.px.size(); p += static_cast<std::size_t>(img.c)) {
      float v = 0.0f;
      for (int ch = 0; ch < img.c; ++ch) v = std::max(v, img.px[p + ch]);
      const float target = std::min(1.0f, v + shift);
      for (int ch = 0; ch < img.c; ++ch) img.px[p + ch] = v > 0.0f ? Clamp01(img.px[p + ch] * (target / v)) : target;
    }
    return true;
  };
}

// MNIST-C contrast: (x - mean) * c + mean, the mean per image and channel.
ShiftFn MakeContrast(int severity, const Geometry&) {
  static constexpr double kFactor[5] = {0.4, 0.3, 0.2, 0.1, 0.05};
  const float factor = static_cast<float>(Pick(kFactor, severity));
  return [factor](Image& img, Rng&) {
    for (int ch = 0; ch < img.c; ++ch) {
      double sum = 0.0;
      for (std::size_t p = static_cast<std::size_t>(ch); p < img.px.size(); p += static_cast<std::size_t>(img.c)) sum += img.px[p];
      const float mean = static_cast<float>(sum / (static_cast<double>(img.h) * img.w));
      for (std::size_t p = static_cast<std::size_t>(ch); p < img.px.size(); p += static_cast<std::size_t>(img.c))
        img.px[p] = Clamp01((img.px[p] - mean) * factor + mean);
    }
    return true;
  };
}

// MNIST-C pixelate: box-downsample to c times the size (area averaging,
// frontends::ResizeImage), then back up by nearest neighbour (PIL's BOX filter
// when enlarging). MNIST-C's factors 0.6, 0.5, 0.4, 0.3, 0.25 give 16, 14, 11,
// 8, 7 px on 28 px, and 16 px (a 1.75 ratio, aliased) hurts LeNet-5 more than
// 14 px (a clean 2 x 2 average): the curve was not monotone. We drop 0.6 and
// add 0.2: 14, 11, 8, 7, 5 px.
ShiftFn MakePixelate(int severity, const Geometry& g) {
  static constexpr double kFactor[5] = {0.5, 0.4, 0.3, 0.25, 0.2};
  const double f = Pick(kFactor, severity);
  const int sh = std::max(1, static_cast<int>(g.h * f)), sw = std::max(1, static_cast<int>(g.w * f));
  return [sh, sw](Image& img, Rng&) {
    std::vector<float> small(static_cast<std::size_t>(sh) * sw * img.c);
    frontends::ResizeImage(img.px.data(), img.h, img.w, img.c, small.data(), sh, sw);
    for (int y = 0; y < img.h; ++y) {
      const int sy = static_cast<int>((static_cast<long>(2 * y + 1) * sh) / (2L * img.h));
      for (int x = 0; x < img.w; ++x) {
        const int sx = static_cast<int>((static_cast<long>(2 * x + 1) * sw) / (2L * img.w));
        for (int ch = 0; ch < img.c; ++ch)
          img.at(y, x, ch) = Clamp01(small[(static_cast<std::size_t>(sy) * sw + sx) * img.c + ch]);
      }
    }
    return true;
  };
}

// JPEG round trip through stb_image_write's baseline encoder and stb_image's
// decoder (both Debian's libstb). MNIST-C's qualities 25, 18, 15, 10, 7 cost
// LeNet-5 only 1.6 .. 5.4 points on Fashion-MNIST (a 4-point spread), so we
// keep its 25, 15 and (about) 7 and extend below: 25, 15, 8, 4, 1.
// A codec failure (out of memory) returns false, which ApplyImageShift reports.
ShiftFn MakeJpeg(int severity, const Geometry&) {
  static constexpr int kQuality[5] = {25, 15, 8, 4, 1};
  const int quality = kQuality[severity - 1];
  return [quality](Image& img, Rng&) {
    std::vector<unsigned char> bytes(img.px.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(img.px[i] * 255.0f + 0.5f);
    std::string encoded;
    auto sink = [](void* ctx, void* data, int size) {
      static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    if (!stbi_write_jpg_to_func(sink, &encoded, img.w, img.h, img.c, bytes.data(), quality)) return false;
    int w = 0, h = 0, n = 0;
    unsigned char* decoded = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(encoded.data()),
                                                   static_cast<int>(encoded.size()), &w, &h, &n, img.c);
    if (decoded == nullptr) return false;
    if (w == img.w && h == img.h)
      for (std::size_t i = 0; i < img.px.size(); ++i) img.px[i] = static_cast<float>(decoded[i]) / 255.0f;
    stbi_image_free(decoded);
    return true;
  };
}

}  // namespace qualm::study::shift

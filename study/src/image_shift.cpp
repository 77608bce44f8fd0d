// The image-shift registry and ApplyImageShift; see qualm/study/image_shift.h.
// The corruptions themselves are in shift/ (one factory per type, shift_types.h).
#include "qualm/study/image_shift.h"

#include <algorithm>
#include <cstdio>

#include "shift/shift_types.h"

namespace qualm::study {
namespace {

using shift::Geometry;
using shift::ShiftFn;

struct Entry {
  ImageShiftInfo info;
  ShiftFn (*make)(int severity, const Geometry& g);
};

// The fixed order: MNIST-C / CIFAR-10-C families, then MNIST-C's own.
const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
      {{"gaussian-noise", "noise", "additive Gaussian noise, sigma 0.08..0.38 (MNIST-C)"}, shift::MakeGaussianNoise},
      {{"shot-noise", "noise", "Poisson photon noise, 60..3 photons at full white (MNIST-C)"}, shift::MakeShotNoise},
      {{"impulse-noise", "noise", "salt and pepper on 3..27 % of values (MNIST-C)"}, shift::MakeImpulseNoise},
      {{"speckle-noise", "noise", "multiplicative Gaussian noise, sigma 0.15..0.6 (MNIST-C)"}, shift::MakeSpeckleNoise},
      {{"gaussian-blur", "blur", "Gaussian blur, sigma 0.5..2 px (between CIFAR-10-C and MNIST-C)"}, shift::MakeGaussianBlur},
      {{"defocus-blur", "blur", "anti-aliased disk blur, radius 1..3 px"}, shift::MakeDefocusBlur},
      {{"glass-blur", "blur", "blur, local pixel swaps within 1..4 px, blur (MNIST-C)"}, shift::MakeGlassBlur},
      {{"motion-blur", "blur", "one-sided Gaussian streak at +-45 deg, sigma 3..15 px (MNIST-C)"}, shift::MakeMotionBlur},
      {{"zoom-blur", "blur", "mean of centre zooms up to 1.10..1.30 (MNIST-C)"}, shift::MakeZoomBlur},
      {{"fog", "weather", "plasma-fractal fog, strength 1.5..3 (MNIST-C)"}, shift::MakeFog},
      {{"frost", "weather", "procedural ice texture blended in at 0.4..0.75 (MNIST-C weights)"}, shift::MakeFrost},
      {{"spatter", "weather", "mud blobs from a thresholded smooth noise field (after MNIST-C)"}, shift::MakeSpatter},
      {{"brightness", "digital", "HSV value + 0.1..0.5 (MNIST-C)"}, shift::MakeBrightness},
      {{"contrast", "digital", "contrast about the mean down to 0.4..0.05 (MNIST-C)"}, shift::MakeContrast},
      {{"pixelate", "digital", "box-downsample to 0.5..0.2 of the size and back (MNIST-C)"}, shift::MakePixelate},
      {{"jpeg", "digital", "JPEG round trip at quality 25..1 (MNIST-C: 25..7)"}, shift::MakeJpeg},
      {{"elastic", "geometric", "random affine plus smooth displacement field, 0.4..1.9 px (after MNIST-C)"}, shift::MakeElastic},
      {{"rotate", "geometric", "rotation by 0.2..1.0 rad either way (MNIST-C)"}, shift::MakeRotate},
      {{"scale", "geometric", "shrink to 90..50 % about the centre (MNIST-C)"}, shift::MakeScale},
      {{"shear", "geometric", "shear by 0.2..1.0 rad either way (MNIST-C)"}, shift::MakeShear},
      {{"translate", "geometric", "shift by 1..5 px along both axes (MNIST-C)"}, shift::MakeTranslate},
      {{"stripe", "mnist-c", "invert bands of 3..11 px at both sides (MNIST-C: 7 px)"}, shift::MakeStripe},
      {{"zigzag", "mnist-c", "1..5 zigzag strokes (MNIST-C: 1)"}, shift::MakeZigzag},
      {{"dotted-line", "mnist-c", "1..5 dotted lines across (MNIST-C: 1)"}, shift::MakeDottedLine},
      {{"canny-edges", "mnist-c", "Canny edge map blended in at 0.2..1 (MNIST-C: 1)"}, shift::MakeCannyEdges},
  };
  return entries;
}

const Entry* Find(const std::string& name) {
  for (const Entry& e : Entries())
    if (e.info.name == name) return &e;
  return nullptr;
}

// SplitMix64's finalizer: the per-image seed mixes (seed, type, severity, i)
// so that neighbouring images, severities and types get unrelated streams.
std::uint64_t Mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t Fnv1a(const unsigned char* p, std::size_t n, std::uint64_t h = 0xCBF29CE484222325ull) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

unsigned char ToByte(float v) {
  const float c = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  return static_cast<unsigned char>(c * 255.0f + 0.5f);
}

}  // namespace

const std::vector<ImageShiftInfo>& ImageShifts() {
  static const std::vector<ImageShiftInfo> infos = [] {
    std::vector<ImageShiftInfo> out;
    for (const Entry& e : Entries()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

bool IsImageShift(const std::string& name) { return Find(name) != nullptr; }

std::string ImageShiftNameList() {
  std::string list;
  for (const Entry& e : Entries()) {
    if (!list.empty()) list += ", ";
    list += e.info.name;
  }
  return list;
}

Result<Dataset> ApplyImageShift(const Dataset& clean, const std::string& type, int severity, std::uint64_t seed) {
  const Entry* entry = Find(type);
  if (entry == nullptr)
    return InvalidArgument("unknown image shift '" + type + "' (known: " + ImageShiftNameList() + ")");
  if (severity < 1 || severity > kShiftSeverities)
    return InvalidArgument("image shift severity must be 1.." + std::to_string(kShiftSeverities) + ", got " +
                           std::to_string(severity));
  if (clean.sample_type != SampleType::kFloat32 || clean.sample_shape.size() != 3 ||
      (clean.sample_shape[2] != 1 && clean.sample_shape[2] != 3) || clean.sample_shape[0] < 1 ||
      clean.sample_shape[1] < 1)
    return InvalidArgument("image shifts need images (f32 samples of shape H x W x 1 or 3); '" + clean.name +
                           "' is not");
  if (clean.f32.size() != clean.size() * clean.sample_size())
    return InvalidArgument("'" + clean.name + "' holds " + std::to_string(clean.f32.size()) + " values for " +
                           std::to_string(clean.size()) + " images");
  Geometry g;
  g.h = clean.sample_shape[0];
  g.w = clean.sample_shape[1];
  g.c = clean.sample_shape[2];
  const ShiftFn apply = entry->make(severity, g);
  const std::uint64_t type_seed =
      Mix(Mix(Mix(seed) ^ Fnv1a(reinterpret_cast<const unsigned char*>(type.data()), type.size())) ^
          static_cast<std::uint64_t>(severity));

  Dataset out;
  out.name = clean.name;
  out.name += "~";
  out.name += type;
  out.name += "@";
  out.name += std::to_string(severity);
  out.sample_type = clean.sample_type;
  out.sample_shape = clean.sample_shape;
  out.labels = clean.labels;
  out.num_classes = clean.num_classes;
  out.class_names = clean.class_names;
  out.f32.resize(clean.f32.size());
  const std::size_t size = clean.sample_size();
  shift::Image img;
  img.h = g.h;
  img.w = g.w;
  img.c = g.c;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const float* src = clean.f32.data() + i * size;
    img.h = g.h;
    img.w = g.w;
    img.c = g.c;
    img.px.resize(size);
    for (std::size_t k = 0; k < size; ++k) img.px[k] = static_cast<float>(ToByte(src[k])) / 255.0f;
    Rng rng(Mix(type_seed ^ static_cast<std::uint64_t>(i)));
    if (!apply(img, rng))
      return Internal(type + "@" + std::to_string(severity) + ": the codec failed on image " + std::to_string(i) +
                      " of '" + clean.name + "'");
    float* dst = out.f32.data() + i * size;
    for (std::size_t k = 0; k < size; ++k) dst[k] = static_cast<float>(ToByte(img.px[k])) / 255.0f;
  }
  return out;
}

std::uint64_t ImageBytesHash(const Dataset& images) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (float v : images.f32) {
    const unsigned char b = ToByte(v);
    h = Fnv1a(&b, 1, h);
  }
  return h;
}

}  // namespace qualm::study

// The image shifts (study/image_shift.h): registry and errors, golden bytes of
// every type at every severity, determinism, the prefix property, and -- on
// the committed LeNet-5 -- accuracy that falls as severity rises.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "qualm/engine/evaluate.h"
#include "qualm/frontends/datasets.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/image_shift.h"

namespace qualm::study {
namespace {

// A fixed small input: `n` h x w x c images of a garment-like blob (a bright
// trapezoid with a texture of stripes) on a dark background, each different.
Dataset Synthetic(int n, int h, int w, int c) {
  Dataset d;
  d.name = "synthetic";
  d.sample_shape = {h, w, c};
  d.num_classes = 3;
  d.class_names = {"a", "b", "c"};
  for (int i = 0; i < n; ++i) {
    d.labels.push_back(i % 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int ch = 0; ch < c; ++ch) {
          const int left = w / 5 + (y * (i + 1)) % 4, right = w - w / 6 - y / 4;
          const bool inside = y > h / 6 && y < h - h / 8 && x >= left && x < right;
          const int level = inside ? 120 + ((x + 2 * y + 37 * i + 50 * ch) % 9) * 15 : (x * y + i) % 7;
          d.f32.push_back(static_cast<float>(level) / 255.0f);
        }
  }
  return d;
}

// Golden FNV-1a hashes of Synthetic(3, 28, 28, 1) then Synthetic(2, 12, 16, 3)
// shifted with seed 7, per type, severities 1..5 (ImageBytesHash of each set,
// combined as grey ^ (rgb * 31)). Regenerate only for an intended change of a
// shift, and say so in the commit (the study's shifted sets change with it).
const std::map<std::string, std::vector<std::uint64_t>>& Golden() {
  static const std::map<std::string, std::vector<std::uint64_t>> golden = {
#include "image_shift_golden.inc"
  };
  return golden;
}

std::uint64_t Combined(const std::string& type, int severity) {
  auto grey = ApplyImageShift(Synthetic(3, 28, 28, 1), type, severity, 7);
  auto rgb = ApplyImageShift(Synthetic(2, 12, 16, 3), type, severity, 7);
  REQUIRE_MESSAGE(grey.ok(), grey.status().ToString());
  REQUIRE_MESSAGE(rgb.ok(), rgb.status().ToString());
  return ImageBytesHash(*grey) ^ (ImageBytesHash(*rgb) * 31);
}

// Types whose output does not depend on the seed.
const std::set<std::string> kSeedFree = {"gaussian-blur", "defocus-blur", "zoom-blur", "brightness", "contrast",
                                         "pixelate",      "jpeg",         "scale",     "stripe",     "canny-edges"};

TEST_CASE("image shifts: at least 20 types, unique names, known families") {
  const auto& shifts = ImageShifts();
  CHECK(shifts.size() >= 20);
  std::set<std::string> names;
  const std::set<std::string> families = {"noise", "blur", "weather", "digital", "geometric", "mnist-c"};
  for (const auto& s : shifts) {
    CHECK(names.insert(s.name).second);
    CHECK(families.count(s.family) == 1);
    CHECK(!s.description.empty());
    CHECK(IsImageShift(s.name));
  }
  CHECK(!IsImageShift("fog "));
  CHECK(!IsImageShift(""));
}

TEST_CASE("image shifts: errors are statuses that say what is wrong") {
  const Dataset d = Synthetic(2, 28, 28, 1);
  auto bad_type = ApplyImageShift(d, "snowstorm", 1, 1);
  REQUIRE(!bad_type.ok());
  CHECK(bad_type.status().message().find("snowstorm") != std::string::npos);
  CHECK(bad_type.status().message().find("gaussian-noise, shot-noise") != std::string::npos);
  for (int s : {0, 6, -1}) {
    auto bad = ApplyImageShift(d, "fog", s, 1);
    REQUIRE(!bad.ok());
    CHECK(bad.status().message().find("1..5") != std::string::npos);
  }
  Dataset text;
  text.name = "spam:test";
  text.sample_type = SampleType::kInt32;
  text.sample_shape = {200};
  text.i32.assign(200, 3);
  text.labels = {0};
  auto not_images = ApplyImageShift(text, "fog", 1, 1);
  REQUIRE(!not_images.ok());
  CHECK(not_images.status().message().find("spam:test") != std::string::npos);
  Dataset two_channels = Synthetic(1, 8, 8, 1);
  two_channels.sample_shape = {8, 4, 2};
  CHECK(!ApplyImageShift(two_channels, "fog", 1, 1).ok());
}

TEST_CASE("image shifts: tiny and odd-sized images work for every type at every severity") {
  for (const auto& shape : std::vector<std::vector<int>>{{1, 1, 1}, {2, 3, 3}, {3, 1, 1}, {5, 40, 1}, {33, 7, 3}}) {
    const Dataset d = Synthetic(2, shape[0], shape[1], shape[2]);
    for (const auto& s : ImageShifts())
      for (int sev = 1; sev <= kShiftSeverities; ++sev) {
        auto r = ApplyImageShift(d, s.name, sev, 3);
        REQUIRE_MESSAGE(r.ok(), s.name, "@", sev, ": ", r.status().ToString());
        CHECK(r->f32.size() == d.f32.size());
        CHECK(std::all_of(r->f32.begin(), r->f32.end(), [](float v) { return v >= 0.0f && v <= 1.0f; }));
      }
  }
}

TEST_CASE("image shifts: name, labels and classes kept -- every output is k/255") {
  const Dataset d = Synthetic(4, 28, 28, 1);
  auto r = ApplyImageShift(d, "rotate", 3, 5);
  REQUIRE(r.ok());
  CHECK(r->name == "synthetic~rotate@3");
  CHECK(r->labels == d.labels);
  CHECK(r->class_names == d.class_names);
  CHECK(r->num_classes == 3);
  CHECK(r->sample_shape == d.sample_shape);
  for (float v : r->f32) {
    const float k = v * 255.0f;
    CHECK(std::abs(k - static_cast<float>(static_cast<int>(k + 0.5f))) < 1e-3f);
  }
}

TEST_CASE("image shifts: golden bytes of every type at every severity (grey 28x28 and RGB 12x16)") {
  std::string regenerate;
  bool all_match = Golden().size() == ImageShifts().size();
  for (const auto& s : ImageShifts()) {
    std::vector<std::uint64_t> got;
    for (int sev = 1; sev <= kShiftSeverities; ++sev) got.push_back(Combined(s.name, sev));
    char line[256];
    std::snprintf(line, sizeof line, "    {\"%s\", {0x%016llxull, 0x%016llxull, 0x%016llxull, 0x%016llxull, 0x%016llxull}},\n",
                  s.name.c_str(), static_cast<unsigned long long>(got[0]), static_cast<unsigned long long>(got[1]),
                  static_cast<unsigned long long>(got[2]), static_cast<unsigned long long>(got[3]),
                  static_cast<unsigned long long>(got[4]));
    regenerate += line;
    auto it = Golden().find(s.name);
    const bool match = it != Golden().end() && it->second == got;
    CHECK_MESSAGE(match, s.name, " changed its bytes (or has no golden hashes)");
    all_match = all_match && match;
  }
  CHECK(Golden().size() == ImageShifts().size());
  if (!all_match) MESSAGE("tests/study/image_shift_golden.inc for the current code:\n", regenerate);
}

TEST_CASE("image shifts: same seed same bytes, another seed other bytes, and the clean image changes") {
  // Eight images: for the types whose only draw is a direction (rotate, shear,
  // translate) two seeds then differ somewhere but by a 2^-8 chance.
  const Dataset d = Synthetic(8, 28, 28, 1);
  for (const auto& s : ImageShifts()) {
    for (int sev : {1, 5}) {
      auto a = ApplyImageShift(d, s.name, sev, 11), b = ApplyImageShift(d, s.name, sev, 11);
      auto other = ApplyImageShift(d, s.name, sev, 12);
      REQUIRE(a.ok());
      CHECK_MESSAGE(a->f32 == b->f32, s.name, "@", sev);
      CHECK_MESSAGE(a->f32 != d.f32, s.name, "@", sev, " left the images as they were");
      if (kSeedFree.count(s.name)) CHECK_MESSAGE(a->f32 == other->f32, s.name, " depends on the seed");
      else CHECK_MESSAGE(a->f32 != other->f32, s.name, "@", sev, " ignores the seed");
    }
  }
}

TEST_CASE("image shifts: a prefix of the set gives a prefix of the result -- images get their own streams") {
  const Dataset full = Synthetic(6, 28, 28, 1);
  const Dataset head = Subset(full, {0, 1, 2}, full.name);
  // Image 0 repeated: the random types must still corrupt the copies differently.
  const Dataset same = Subset(full, {0, 0, 0, 0, 0, 0, 0, 0}, full.name);
  for (const auto& s : ImageShifts()) {
    auto a = ApplyImageShift(full, s.name, 3, 9), b = ApplyImageShift(head, s.name, 3, 9);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK_MESSAGE(std::equal(b->f32.begin(), b->f32.end(), a->f32.begin()), s.name);
    if (!kSeedFree.count(s.name)) {
      auto r = ApplyImageShift(same, s.name, 3, 9);
      REQUIRE(r.ok());
      const auto n = static_cast<std::ptrdiff_t>(same.sample_size());
      bool differ = false;
      for (std::ptrdiff_t k = 1; k < 8; ++k)
        differ = differ || !std::equal(r->f32.begin(), r->f32.begin() + n, r->f32.begin() + k * n);
      CHECK_MESSAGE(differ, s.name, ": eight copies of one image got the same corruption");
    }
  }
}

TEST_CASE("image shifts: LeNet-5's accuracy falls as severity rises, for every type (1,000 test images)") {
  const char* src = std::getenv("QUALM_SOURCE_DIR");
  const std::string root = src ? src : QUALM_SOURCE_DIR;
  const std::string model_path = root + "/study/results/models-2026-11-25/lenet5.qm";
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  auto model = frontends::LoadModel(model_path);
  REQUIRE_MESSAGE(model.ok(), model.status().ToString());
  frontends::DataOptions o;
  o.limit = 1000;
  auto data = frontends::LoadNamedDataset("fashion-mnist:test", o);
  REQUIRE(data.ok());
  EvalOptions eo;
  eo.keep_probabilities = false;
  eo.threads = 1;
  auto clean = Evaluate(*model, *data, eo);
  REQUIRE(clean.ok());
  for (const auto& s : ImageShifts()) {
    double acc[kShiftSeverities + 1];
    acc[0] = clean->accuracy;
    for (int sev = 1; sev <= kShiftSeverities; ++sev) {
      auto shifted = ApplyImageShift(*data, s.name, sev, 1);
      REQUIRE(shifted.ok());
      auto r = Evaluate(*model, *shifted, eo);
      REQUIRE(r.ok());
      acc[sev] = r->accuracy;
    }
    INFO(s.name, ": clean ", acc[0], ", severities ", acc[1], " ", acc[2], " ", acc[3], " ", acc[4], " ", acc[5]);
    // Non-increasing up to sampling noise on 1,000 images (one point), and
    // severity 5 clearly below severity 1 (five points): a flat curve fails.
    for (int sev = 2; sev <= kShiftSeverities; ++sev) CHECK(acc[sev] <= acc[sev - 1] + 0.01);
    CHECK(acc[kShiftSeverities] <= acc[1] - 0.05);
    CHECK(acc[1] <= acc[0] + 0.01);
  }
}

}  // namespace
}  // namespace qualm::study

// Shifted sets as files (study/image_shift_io.h): an image folder reads back
// through frontends::LoadImageFolder with the same classes, labels and pixel
// bytes, grey and RGB; folders that are not ours are never replaced.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "qualm/frontends/image_folder.h"
#include "qualm/study/image_shift.h"
#include "qualm/study/image_shift_io.h"

namespace qualm::study {
namespace {

// Concatenation by append (GCC 12 warns, wrongly, about "x" + std::string).
std::string Cat(std::string a, const std::string& b, const std::string& c = "") {
  a += b;
  a += c;
  return a;
}

Dataset Noise(int n, int h, int w, int c, int classes) {
  Dataset d;
  d.name = "noise";
  d.sample_shape = {h, w, c};
  d.num_classes = classes;
  for (int k = 0; k < classes; ++k) d.class_names.push_back(k == 1 ? std::string("T-shirt/top") : Cat("c", std::to_string(k)));
  std::uint32_t s = 12345;
  for (int i = 0; i < n; ++i) {
    d.labels.push_back((i * 7) % classes);
    for (int p = 0; p < h * w * c; ++p) {
      s = s * 1664525u + 1013904223u;
      d.f32.push_back(static_cast<float>(s >> 24) / 255.0f);
    }
  }
  return d;
}

std::filesystem::path TempDir(const std::string& tag) {
  auto dir = std::filesystem::temp_directory_path() / Cat("qualm-shift-", tag, Cat("-", std::to_string(::getpid())));
  std::filesystem::remove_all(dir);
  return dir;
}

void CheckRoundTrip(const Dataset& d) {
  const auto dir = TempDir(Cat("rt", std::to_string(d.sample_shape[2])));
  REQUIRE(WriteImageFolder(d, dir.string(), "{}").ok());
  frontends::ImageFolderOptions o;
  o.height = d.sample_shape[0];
  o.width = d.sample_shape[1];
  o.color = d.sample_shape[2] == 3 ? frontends::ColorMode::kRgb : frontends::ColorMode::kGrey;
  auto back = frontends::LoadImageFolder(dir.string(), o);
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  REQUIRE(back->size() == d.size());
  CHECK(back->num_classes == d.num_classes);
  CHECK(back->class_names[1] == (d.num_classes > 10 ? "01-T-shirt-top" : "1-T-shirt-top"));
  // The loader groups by class, files in name (= data-set) order within a class.
  std::vector<std::size_t> order;
  for (int k = 0; k < d.num_classes; ++k)
    for (std::size_t i = 0; i < d.size(); ++i)
      if (d.labels[i] == k) order.push_back(i);
  const Dataset expected = Subset(d, order, d.name);
  CHECK(back->labels == expected.labels);
  CHECK(back->f32 == expected.f32);
  std::filesystem::remove_all(dir);
}

TEST_CASE("image shift folders: grey and RGB sets read back with the same classes, labels and bytes") {
  CheckRoundTrip(Noise(23, 9, 7, 1, 3));
  CheckRoundTrip(Noise(12, 5, 6, 3, 12));  // 12 classes: ids padded to two digits keep their order
}

TEST_CASE("image shift folders: replace only our own output, atomically") {
  const auto dir = TempDir("own");
  const Dataset a = Noise(6, 4, 4, 1, 3), b = Noise(9, 4, 4, 1, 3);
  REQUIRE(WriteImageFolder(a, dir.string(), "{\"n\": 6}").ok());
  REQUIRE(WriteImageFolder(b, dir.string(), "{\"n\": 9}").ok());
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) files += e.path().extension() == ".png";
  CHECK(files == 9);
  for (const auto& e : std::filesystem::directory_iterator(dir.parent_path()))
    CHECK(e.path().filename().string().find(Cat(".qualm-shift-own-", std::to_string(::getpid()), ".")) == std::string::npos);
  std::filesystem::remove_all(dir);

  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.txt") << "keep";
  const Status st = WriteImageFolder(a, dir.string(), "{}");
  REQUIRE(!st.ok());
  CHECK(st.message().find("not written by") != std::string::npos);
  CHECK(std::filesystem::exists(dir / "mine.txt"));
  CHECK(!std::filesystem::exists(dir / kShiftFolderMarker));
  std::filesystem::remove_all(dir);

  Dataset missing = Noise(2, 4, 4, 1, 3);  // labels 0 and 1: class 2 has no image
  const Status st2 = WriteImageFolder(missing, dir.string(), "{}");
  REQUIRE(!st2.ok());
  CHECK(st2.message().find("no image of class 2") != std::string::npos);
  CHECK(!std::filesystem::exists(dir));
}

TEST_CASE("image shift contact sheet: a PNG of every type and severity, bad sample index refused") {
  const auto dir = TempDir("sheet");
  std::filesystem::create_directories(dir);
  const Dataset d = Noise(2, 10, 12, 1, 2);
  REQUIRE(WriteContactSheet(d, 1, 1, 2, (dir / "s.png").string()).ok());
  auto img = frontends::DecodeImageFile((dir / "s.png").string(), frontends::ColorMode::kGrey);
  REQUIRE(img.ok());
  CHECK(img->height > static_cast<int>(ImageShifts().size()) * 10 * 2);
  CHECK(img->width > (kShiftSeverities + 1) * 12 * 2);
  CHECK(!WriteContactSheet(d, 2, 1, 2, (dir / "t.png").string()).ok());
  CHECK(!std::filesystem::exists(dir / "t.png"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qualm::study

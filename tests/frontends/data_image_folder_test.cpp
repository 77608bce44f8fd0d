// Image-folder loader on PNG/BMP/JPEG files written by stb_image_write, plus
// corrupt files, empty class folders and the resize rules.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>  // implementation in Debian's libstb

#include "frontends/data_test_util.h"
#include "qualm/frontends/image_folder.h"

namespace {

using qualm::frontends::ColorMode;
using qualm::frontends::ImageFolderOptions;
using qualm::frontends::LoadImageFolder;
using qualm::testing::ScratchDir;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// w x h grey ramp: pixel (y, x) = 10 * (y * w + x) + base.
std::vector<unsigned char> Grey(int h, int w, int base) {
  std::vector<unsigned char> p(static_cast<std::size_t>(h * w));
  for (int i = 0; i < h * w; ++i) p[static_cast<std::size_t>(i)] = static_cast<unsigned char>(10 * i + base);
  return p;
}

void MakeFolder(const ScratchDir& dir) {
  std::filesystem::create_directories(dir.path() / "imgs/cat");
  std::filesystem::create_directories(dir.path() / "imgs/dog");
  auto g = Grey(4, 4, 5);
  REQUIRE(stbi_write_png((dir / "imgs/cat/a.png").c_str(), 4, 4, 1, g.data(), 4));
  auto g2 = Grey(4, 4, 0);
  REQUIRE(stbi_write_bmp((dir / "imgs/cat/b.BMP").c_str(), 4, 4, 1, g2.data()));
  // A pure red RGB image.
  std::vector<unsigned char> rgb(4 * 4 * 3, 0);
  for (int i = 0; i < 16; ++i) rgb[static_cast<std::size_t>(3 * i)] = 255;
  REQUIRE(stbi_write_png((dir / "imgs/dog/red.png").c_str(), 4, 4, 3, rgb.data(), 12));
  qualm::testing::WriteText(dir / "imgs/dog/README", "not an image");
}

}  // namespace

TEST_CASE("data/images: class folders with sorted class ids and grey PNG/BMP pixels / 255") {
  ScratchDir dir("img");
  MakeFolder(dir);
  ImageFolderOptions opt;
  opt.height = 4;
  opt.width = 4;
  qualm::frontends::ImageFolderReport report;
  auto ds = LoadImageFolder(dir / "imgs", opt, &report);
  REQUIRE_MESSAGE(ds.ok(), ds.status().ToString());
  CHECK(ds->class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(ds->num_classes == 2);
  CHECK(ds->labels == std::vector<std::int32_t>{0, 0, 1});
  CHECK(ds->sample_shape == std::vector<int>{4, 4, 1});
  CHECK(report.loaded == 3);
  CHECK(report.ignored == 1);
  // What was left out reaches the user with the data set (the CLI prints it).
  REQUIRE(ds->load_notes.size() == 1);
  CHECK(Has(ds->load_notes[0], "1 file in"));
  CHECK(Has(ds->load_notes[0], "ignored"));
  REQUIRE(ds->f32.size() == 3 * 16);
  for (int i = 0; i < 16; ++i) {
    CHECK(ds->f32[static_cast<std::size_t>(i)] == doctest::Approx((10 * i + 5) / 255.0));
    CHECK(ds->f32[static_cast<std::size_t>(16 + i)] == doctest::Approx((10 * i) / 255.0));
    CHECK(ds->f32[static_cast<std::size_t>(32 + i)] == doctest::Approx(((77 * 255) >> 8) / 255.0));  // stb luma of red
  }
}

TEST_CASE("data/images: RGB mode and resize and native size") {
  ScratchDir dir("img");
  MakeFolder(dir);
  ImageFolderOptions opt;
  opt.height = 2;
  opt.width = 2;
  opt.color = ColorMode::kRgb;
  auto ds = LoadImageFolder(dir / "imgs", opt);
  REQUIRE(ds.ok());
  CHECK(ds->sample_shape == std::vector<int>{2, 2, 3});
  // Red image: R = 1, G = B = 0 everywhere.
  for (int i = 0; i < 4; ++i) {
    CHECK(ds->f32[2 * 12 + static_cast<std::size_t>(3 * i)] == doctest::Approx(1.0));
    CHECK(ds->f32[2 * 12 + static_cast<std::size_t>(3 * i + 1)] == doctest::Approx(0.0));
  }
  // Grey replicated into 3 channels; 4x4 -> 2x2 area average of pixels 0,1,4,5 = (0+10+40+50)/4 + 5.
  CHECK(ds->f32[0] == doctest::Approx(30.0 / 255.0));
  CHECK(ds->f32[1] == ds->f32[0]);

  opt.height = 0;
  opt.width = 0;
  opt.color = ColorMode::kGrey;
  ds = LoadImageFolder(dir / "imgs", opt);
  REQUIRE(ds.ok());
  CHECK(ds->sample_shape == std::vector<int>{4, 4, 1});
  auto g = Grey(5, 5, 0);
  REQUIRE(stbi_write_png((dir / "imgs/dog/z.png").c_str(), 5, 5, 1, g.data(), 5));
  ds = LoadImageFolder(dir / "imgs", opt);
  REQUIRE_FALSE(ds.ok());
  CHECK(Has(ds.status().message(), "z.png"));
}

TEST_CASE("data/images: ResizeImage area and bilinear rules") {
  // 4x4 -> 2x2 area: block means.
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[static_cast<std::size_t>(i)] = static_cast<float>(i);
  std::vector<float> dst(4);
  qualm::frontends::ResizeImage(src.data(), 4, 4, 1, dst.data(), 2, 2);
  CHECK(dst == std::vector<float>{2.5f, 4.5f, 10.5f, 12.5f});
  // 3 -> 2 (non-integer factor, 1x3 row): [0, 3, 6] -> covers [0,1.5) and [1.5,3).
  std::vector<float> row = {0, 3, 6}, out2(2);
  qualm::frontends::ResizeImage(row.data(), 1, 3, 1, out2.data(), 1, 2);
  CHECK(out2[0] == doctest::Approx(1.0));
  CHECK(out2[1] == doctest::Approx(5.0));
  // 2 -> 4 bilinear, centres at -0.25, 0.25, 0.75, 1.25 (edges replicated).
  std::vector<float> two = {0, 4}, four(4);
  qualm::frontends::ResizeImage(two.data(), 1, 2, 1, four.data(), 1, 4);
  CHECK(four == std::vector<float>{0, 1, 3, 4});
  // Constant images stay constant through any resize.
  std::vector<float> flat(7 * 5 * 3, 0.25f), big(11 * 13 * 3), small(3 * 2 * 3);
  qualm::frontends::ResizeImage(flat.data(), 7, 5, 3, big.data(), 11, 13);
  qualm::frontends::ResizeImage(flat.data(), 7, 5, 3, small.data(), 3, 2);
  for (float v : big) CHECK(v == doctest::Approx(0.25f));
  for (float v : small) CHECK(v == doctest::Approx(0.25f));
}

TEST_CASE("data/images: a corrupt image is an error naming it or skipped on request") {
  ScratchDir dir("img");
  MakeFolder(dir);
  qualm::testing::WriteText(dir / "imgs/dog/broken.png", "\x89PNG\r\n\x1a\nthis is not really a png");
  qualm::testing::WriteText(dir / "imgs/dog/empty.jpg", "");
  auto ds = LoadImageFolder(dir / "imgs");
  REQUIRE_FALSE(ds.ok());
  CHECK(Has(ds.status().message(), "broken.png"));
  CHECK(Has(ds.status().message(), "cannot decode image"));

  ImageFolderOptions opt;
  opt.skip_unreadable = true;
  qualm::frontends::ImageFolderReport report;
  ds = LoadImageFolder(dir / "imgs", opt, &report);
  REQUIRE_MESSAGE(ds.ok(), ds.status().ToString());
  CHECK(ds->size() == 3);
  CHECK(ds->sample_shape == std::vector<int>{28, 28, 1});
  REQUIRE(report.skipped.size() == 2);
  CHECK(Has(report.skipped[0], "broken.png"));
  CHECK(Has(report.skipped[1], "empty.jpg"));
  REQUIRE(ds->load_notes.size() == 2);
  CHECK(Has(ds->load_notes[1], "2 unreadable images skipped, the first:"));
  CHECK(Has(ds->load_notes[1], "broken.png"));
}

TEST_CASE("data/images: empty class folder and no classes and missing folder") {
  ScratchDir dir("img");
  MakeFolder(dir);
  std::filesystem::create_directories(dir.path() / "imgs/emu");
  auto ds = LoadImageFolder(dir / "imgs");
  REQUIRE_FALSE(ds.ok());
  CHECK(Has(ds.status().message(), "emu"));
  CHECK(Has(ds.status().message(), "no images"));

  std::filesystem::create_directories(dir.path() / "flat");
  ds = LoadImageFolder(dir / "flat");
  REQUIRE_FALSE(ds.ok());
  CHECK(Has(ds.status().message(), "no class subdirectories"));

  ds = LoadImageFolder(dir / "nowhere");
  REQUIRE_FALSE(ds.ok());
  CHECK(ds.status().code() == qualm::StatusCode::kNotFound);

  // A JPEG decodes too (lossy, so only roughly).
  std::filesystem::remove_all(dir.path() / "imgs/emu");
  std::vector<unsigned char> grey(8 * 8, 128);
  REQUIRE(stbi_write_jpg((dir / "imgs/dog/j.jpeg").c_str(), 8, 8, 1, grey.data(), 95));
  ImageFolderOptions opt;
  opt.height = 8;
  opt.width = 8;
  ds = LoadImageFolder(dir / "imgs", opt);
  REQUIRE(ds.ok());
  CHECK(ds->size() == 4);
  CHECK(ds->labels[2] == 1);  // dog/j.jpeg sorts before dog/red.png
  CHECK(ds->f32[2 * 64] == doctest::Approx(128.0 / 255.0).epsilon(0.03));
}

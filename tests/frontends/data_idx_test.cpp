// IDX reader: round trips, and every malformed-file case returning a Status
// that names the file.
#include <doctest/doctest.h>

#include "frontends/data_test_util.h"
#include "qualm/frontends/idx.h"

namespace {

using qualm::StatusCode;
using qualm::testing::ScratchDir;
using qualm::testing::WriteBytes;
using qualm::testing::WriteGzip;

void Put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

std::vector<std::uint8_t> ImagesIdx(std::uint32_t n, std::uint32_t h, std::uint32_t w) {
  std::vector<std::uint8_t> v = {0, 0, 0x08, 3};
  Put32(v, n);
  Put32(v, h);
  Put32(v, w);
  for (std::uint32_t i = 0; i < n * h * w; ++i) v.push_back(static_cast<std::uint8_t>((i * 37u) % 256u));
  return v;
}

std::vector<std::uint8_t> LabelsIdx(std::uint32_t n) {
  std::vector<std::uint8_t> v = {0, 0, 0x08, 1};
  Put32(v, n);
  for (std::uint32_t i = 0; i < n; ++i) v.push_back(static_cast<std::uint8_t>(i % 10));
  return v;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("data/idx: gzip round trip gives pixels/255 and NHWC shape and labels") {
  ScratchDir dir("idx");
  WriteGzip(dir / "img.gz", ImagesIdx(7, 3, 4));
  WriteGzip(dir / "lab.gz", LabelsIdx(7));
  auto ds = qualm::frontends::LoadIdxPair(dir / "img.gz", dir / "lab.gz", "tiny");
  REQUIRE_MESSAGE(ds.ok(), ds.status().ToString());
  CHECK(ds->name == "tiny");
  CHECK(ds->size() == 7);
  CHECK(ds->sample_shape == std::vector<int>{3, 4, 1});
  CHECK(ds->num_classes == 10);
  REQUIRE(ds->f32.size() == 7 * 12);
  for (std::size_t i = 0; i < ds->f32.size(); ++i) CHECK(ds->f32[i] == static_cast<float>((i * 37) % 256) / 255.0f);
  for (std::size_t i = 0; i < 7; ++i) CHECK(ds->labels[i] == static_cast<int>(i % 10));

  // SaveIdxPair writes the same bytes back.
  REQUIRE(qualm::frontends::SaveIdxPair(*ds, dir / "img2.gz", dir / "lab2.gz", true).ok());
  auto again = qualm::frontends::LoadIdxPair(dir / "img2.gz", dir / "lab2.gz", "again");
  REQUIRE(again.ok());
  CHECK(again->f32 == ds->f32);
  CHECK(again->labels == ds->labels);
}

TEST_CASE("data/idx: raw (uncompressed) files read the same as gzip ones") {
  ScratchDir dir("idx");
  WriteBytes(dir / "img", ImagesIdx(5, 2, 2));
  WriteBytes(dir / "lab", LabelsIdx(5));
  WriteGzip(dir / "img.gz", ImagesIdx(5, 2, 2));
  WriteGzip(dir / "lab.gz", LabelsIdx(5));
  auto raw = qualm::frontends::LoadIdxPair(dir / "img", dir / "lab", "raw");
  auto gz = qualm::frontends::LoadIdxPair(dir / "img.gz", dir / "lab.gz", "gz");
  REQUIRE(raw.ok());
  REQUIRE(gz.ok());
  CHECK(raw->f32 == gz->f32);
  CHECK(raw->labels == gz->labels);
  // Detection is by content, not by name: a raw file called *.gz still reads.
  WriteBytes(dir / "raw-named.gz", LabelsIdx(5));
  auto lab = qualm::frontends::ReadIdxUbyte(dir / "raw-named.gz", 1);
  REQUIRE(lab.ok());
  CHECK(lab->dims == std::vector<std::uint32_t>{5});
}

TEST_CASE("data/idx: limit keeps the first N samples") {
  ScratchDir dir("idx");
  WriteGzip(dir / "img.gz", ImagesIdx(9, 2, 3));
  WriteGzip(dir / "lab.gz", LabelsIdx(9));
  qualm::frontends::IdxOptions opt;
  opt.limit = 4;
  auto ds = qualm::frontends::LoadIdxPair(dir / "img.gz", dir / "lab.gz", "lim", opt);
  REQUIRE(ds.ok());
  CHECK(ds->size() == 4);
  CHECK(ds->f32.size() == 4 * 6);
  CHECK(ds->labels == std::vector<std::int32_t>{0, 1, 2, 3});
}

TEST_CASE("data/idx: wrong magic is an error naming the file") {
  ScratchDir dir("idx");
  auto bytes = ImagesIdx(2, 2, 2);
  bytes[0] = 0x12;
  WriteGzip(dir / "bad.gz", bytes);
  WriteGzip(dir / "lab.gz", LabelsIdx(2));
  auto ds = qualm::frontends::LoadIdxPair(dir / "bad.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), dir / "bad.gz"));
  CHECK(Contains(ds.status().message(), "bad magic"));

  // Unsupported element type (f32 = 0x0D).
  bytes = ImagesIdx(2, 2, 2);
  bytes[2] = 0x0D;
  WriteGzip(dir / "f32.gz", bytes);
  ds = qualm::frontends::LoadIdxPair(dir / "f32.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "f32"));

  // Labels file that is rank 3.
  ds = qualm::frontends::LoadIdxPair(dir / "lab.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "3 (N,H,W) or 4"));

  // Missing file.
  ds = qualm::frontends::LoadIdxPair(dir / "nope.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(ds.status().code() == StatusCode::kNotFound);
  CHECK(Contains(ds.status().message(), "nope.gz"));
}

TEST_CASE("data/idx: counts that disagree with the data are errors") {
  ScratchDir dir("idx");
  // Header says 10 images of 4x4, but only 3 images of data follow.
  auto bytes = ImagesIdx(10, 4, 4);
  bytes.resize(16 + 3 * 16 + 5);
  WriteGzip(dir / "short.gz", bytes);
  WriteGzip(dir / "lab.gz", LabelsIdx(10));
  auto ds = qualm::frontends::LoadIdxPair(dir / "short.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(ds.status().code() == StatusCode::kDataLoss);
  CHECK(Contains(ds.status().message(), dir / "short.gz"));
  CHECK(Contains(ds.status().message(), "header says 10 items of 4x4"));
  CHECK(Contains(ds.status().message(), "ends after 53 bytes of data"));

  // Extra bytes after the data.
  bytes = LabelsIdx(10);
  bytes.push_back(1);
  WriteBytes(dir / "long-lab", bytes);
  auto lab = qualm::frontends::ReadIdxUbyte(dir / "long-lab", 1);
  REQUIRE_FALSE(lab.ok());
  CHECK(Contains(lab.status().message(), "1 extra bytes"));

  // Header itself cut short.
  WriteBytes(dir / "hdr", {0, 0, 8, 3, 0, 0});
  lab = qualm::frontends::ReadIdxUbyte(dir / "hdr");
  REQUIRE_FALSE(lab.ok());
  CHECK(Contains(lab.status().message(), "header needs 16 bytes"));

  // Label out of range.
  bytes = LabelsIdx(3);
  bytes.back() = 42;
  WriteBytes(dir / "bad-lab", bytes);
  WriteBytes(dir / "img3", ImagesIdx(3, 2, 2));
  ds = qualm::frontends::LoadIdxPair(dir / "img3", dir / "bad-lab", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "label 42"));
}

TEST_CASE("data/idx: image and label counts must match") {
  ScratchDir dir("idx");
  WriteGzip(dir / "img.gz", ImagesIdx(6, 2, 2));
  WriteGzip(dir / "lab.gz", LabelsIdx(5));
  auto ds = qualm::frontends::LoadIdxPair(dir / "img.gz", dir / "lab.gz", "x");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "6 images"));
  CHECK(Contains(ds.status().message(), "5 labels"));
  // Even when `limit` would read matching prefixes.
  qualm::frontends::IdxOptions opt;
  opt.limit = 2;
  ds = qualm::frontends::LoadIdxPair(dir / "img.gz", dir / "lab.gz", "x", opt);
  REQUIRE_FALSE(ds.ok());
}

TEST_CASE("data/idx: a truncated or corrupt gzip stream is a data-loss error") {
  ScratchDir dir("idx");
  WriteGzip(dir / "img.gz", ImagesIdx(50, 8, 8));
  auto gz = qualm::testing::ReadBytes(dir / "img.gz");
  REQUIRE(gz.size() > 40);
  std::vector<std::uint8_t> cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  WriteBytes(dir / "cut.gz", cut);
  auto arr = qualm::frontends::ReadIdxUbyte(dir / "cut.gz");
  REQUIRE_FALSE(arr.ok());
  CHECK(arr.status().code() == StatusCode::kDataLoss);
  CHECK(Contains(arr.status().message(), dir / "cut.gz"));
  CHECK(Contains(arr.status().message(), "truncated gzip stream"));

  // Only the 8-byte trailer (CRC + length) missing: still caught.
  std::vector<std::uint8_t> no_trailer(gz.begin(), gz.end() - 8);
  WriteBytes(dir / "notrailer.gz", no_trailer);
  arr = qualm::frontends::ReadIdxUbyte(dir / "notrailer.gz");
  REQUIRE_FALSE(arr.ok());
  CHECK(Contains(arr.status().message(), "truncated gzip stream"));

  // Flipped CRC.
  auto bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0xff;
  WriteBytes(dir / "crc.gz", bad_crc);
  arr = qualm::frontends::ReadIdxUbyte(dir / "crc.gz");
  REQUIRE_FALSE(arr.ok());
  CHECK(Contains(arr.status().message(), "corrupt gzip stream"));
}

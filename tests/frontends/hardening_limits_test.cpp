// Hardening (issue 12): sizes from untrusted files are checked before they are
// used. Each case below is one the issue found accepted or unbounded: a model
// whose input dimensions wrap or truncate, an IDX header whose product wraps,
// a gzip bomb behind a small IDX header, a PNG declaring 900 megapixels,
// quadratic mail decoding, and limits that a user can raise.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

#include "frontends/data_test_util.h"
#include "frontends/model_file_test_util.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/frontends/idx.h"
#include "qualm/frontends/image_folder.h"
#include "qualm/frontends/input_limits.h"
#include "qualm/frontends/spam_assassin.h"
#include "qualm/frontends/text.h"
#include "qualm/kernels/checked.h"

namespace {

using qualm::testing::Contains;
using qualm::testing::ScratchDir;
using qualm::testing::WriteBytes;
using qualm::testing::WriteGzip;
namespace fe = qualm::frontends;

void Put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

void PutBe32(std::string& s, std::uint32_t x) {
  for (int k = 24; k >= 0; k -= 8) s.push_back(static_cast<char>(x >> k));
}

// An 8-bit grey PNG with valid CRCs: signature, IHDR (width x height), the
// given IDAT chunks in order, IEND.
std::vector<std::uint8_t> GreyPng(std::uint32_t w, std::uint32_t h, const std::vector<std::string>& idats) {
  std::string png = "\x89PNG\r\n\x1a\n";
  auto chunk = [&](const std::string& type, const std::string& data) {
    PutBe32(png, static_cast<std::uint32_t>(data.size()));
    const std::string body = type + data;
    png += body;
    PutBe32(png, static_cast<std::uint32_t>(
                     crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  };
  std::string ihdr;
  PutBe32(ihdr, w);
  PutBe32(ihdr, h);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // depth 8, grey, deflate, filter 0, no interlace
  chunk("IHDR", ihdr);
  for (const std::string& idat : idats) chunk("IDAT", idat);
  chunk("IEND", "");
  return {png.begin(), png.end()};
}

// Header only, no pixel data at all: stb_image's header reader accepts it.
std::vector<std::uint8_t> PngHeaderOnly(std::uint32_t w, std::uint32_t h) { return GreyPng(w, h, {}); }

}  // namespace

TEST_CASE("hardening/checked: products, sums and casts at their boundaries") {
  using qualm::CheckedProduct;
  CHECK(*CheckedProduct({}, 10, "x") == 1);
  CHECK(*CheckedProduct({3, 5, 7}, 105, "x") == 105);
  CHECK_FALSE(CheckedProduct({3, 5, 7}, 104, "x").ok());
  // Wrapping products: 2^20 * 2^20 * 2^24 is 0 mod 2^64.
  auto wrapped = CheckedProduct({1 << 20, 1 << 20, 1 << 24}, INT64_MAX, "dims");
  REQUIRE_FALSE(wrapped.ok());
  CHECK(Contains(wrapped.status().message(), "dims: [1048576, 1048576, 16777216]"));
  // A zero does not hide an overflow of the other dimensions.
  CHECK_FALSE(CheckedProduct({0, INT64_MAX, 2}, INT64_MAX, "x").ok());
  CHECK(*CheckedProduct({0, 1 << 20}, INT64_MAX, "x") == 0);
  CHECK_FALSE(CheckedProduct({-1, 2}, INT64_MAX, "x").ok());
  CHECK(*qualm::CheckedMul(INT64_MAX / 2, 2, "x") == INT64_MAX - 1);
  CHECK_FALSE(qualm::CheckedMul(INT64_MAX / 2 + 1, 2, "x").ok());
  CHECK_FALSE(qualm::CheckedAdd(INT64_MAX, 1, "x").ok());
  CHECK(*qualm::CheckedAdd(INT64_MAX - 1, 1, "x") == INT64_MAX);
  CHECK(*qualm::CheckedCast<int>(INT_MAX, "x") == INT_MAX);
  CHECK_FALSE(qualm::CheckedCast<int>(std::int64_t{INT_MAX} + 1, "x").ok());
  CHECK_FALSE(qualm::CheckedCast<int>(std::int64_t{INT_MIN} - 1, "x").ok());
  CHECK(*qualm::CheckedCast<int>(INT_MIN, "x") == INT_MIN);
  CHECK_FALSE(qualm::CheckedCast<std::uint32_t>(-1, "x").ok());
  CHECK(*qualm::CheckedCast<std::uint32_t>(0xffffffffLL, "x") == 0xffffffffu);
}

TEST_CASE("hardening/model file: absurd input dimensions and conv fields are rejected, not wrapped") {
  const qualm::Model m = qualm::testing::ZooModel("lenet5");
  const auto valid = fe::SerializeModel(m);
  REQUIRE(fe::ParseModel(valid.data(), valid.size(), "m.qm").ok());
  // 2^32 + 28 was cast to int as 28: the file was accepted.
  qualm::testing::ExpectParseError(
      qualm::testing::EditHeader(valid, [](nlohmann::json& h) { h["input_shape"][0] = (1LL << 32) + 28; }), "m.qm",
      "input shape");
  // Each dimension fits, the product does not.
  qualm::testing::ExpectParseError(qualm::testing::EditHeader(valid,
                                                              [](nlohmann::json& h) {
                                                                h["input_shape"] = {1LL << 20, 1LL << 20, 1};
                                                              }),
                                   "m.qm", "2147483647 elements");
  qualm::testing::ExpectParseError(
      qualm::testing::EditHeader(valid, [](nlohmann::json& h) { h["input_shape"][1] = 0; }), "m.qm",
      "dimension < 1");
  // conv padding and dilation near INT_MAX: the int out_h() computation overflowed.
  const auto conv = [&](const char* field, std::int64_t v) {
    return qualm::testing::EditHeader(valid, [&](nlohmann::json& h) {
      REQUIRE(h["nodes"][1]["op"] == "conv2d");
      h["nodes"][1]["fields"][field] = v;
    });
  };
  qualm::testing::ExpectParseError(conv("pad_top", INT_MAX), "m.qm", "padded input height");
  qualm::testing::ExpectParseError(conv("dilation_w", INT_MAX), "m.qm", "dilated kernel width");
  // out_channels that make the output overflow int.
  qualm::testing::ExpectParseError(conv("out_channels", INT_MAX), "m.qm", "2147483647 elements");
}

TEST_CASE("hardening/idx: a 16-byte file claiming a million images is rejected") {
  ScratchDir dir("hard-idx");
  // 2^20 x 2^20 x 2^24 wrapped to 0 bytes of data: the empty data "matched".
  std::vector<std::uint8_t> img = {0, 0, 0x08, 3};
  Put32(img, 1u << 20);
  Put32(img, 1u << 20);
  Put32(img, 1u << 24);
  REQUIRE(img.size() == 16);
  WriteBytes(dir / "img", img);
  auto arr = fe::ReadIdxUbyte(dir / "img");
  REQUIRE_FALSE(arr.ok());
  CHECK(Contains(arr.status().message(), dir / "img"));
  CHECK(Contains(arr.status().message(), "IDX dimensions"));
  // A zero dimension: 1,000,000 images of 0x28 pixels, with their labels.
  img = {0, 0, 0x08, 3};
  Put32(img, 1000000);
  Put32(img, 0);
  Put32(img, 28);
  WriteBytes(dir / "zero", img);
  std::vector<std::uint8_t> lab = {0, 0, 0x08, 1};
  Put32(lab, 1000000);
  lab.resize(lab.size() + 1000000, 3);
  WriteBytes(dir / "lab", lab);
  auto ds = fe::LoadIdxPair(dir / "zero", dir / "lab", "z");
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "image dimensions 0x28"));
}

TEST_CASE("hardening/idx: a gzip bomb stops at the size its header declares") {
  ScratchDir dir("hard-gz");
  // Header: 1 image of 28x28 (784 bytes), then 64 MiB of zeros (64 KiB compressed).
  std::vector<std::uint8_t> bomb = {0, 0, 0x08, 3};
  Put32(bomb, 1);
  Put32(bomb, 28);
  Put32(bomb, 28);
  bomb.resize(bomb.size() + (64u << 20), 0);
  WriteGzip(dir / "bomb.gz", bomb);
  auto arr = fe::ReadIdxUbyte(dir / "bomb.gz");
  REQUIRE_FALSE(arr.ok());
  CHECK(arr.status().code() == qualm::StatusCode::kDataLoss);
  // 16 header bytes + 784 data bytes + the one byte that shows more follows.
  CHECK_MESSAGE(Contains(arr.status().message(), "stopped after 801 decompressed bytes"), arr.status().message());

  // A header declaring more than max_decompressed_bytes is rejected before inflating the data.
  fe::InputLimits small;
  small.max_decompressed_bytes = 1000;
  std::vector<std::uint8_t> big = {0, 0, 0x08, 3};
  Put32(big, 2);
  Put32(big, 28);
  Put32(big, 28);
  big.resize(big.size() + 2 * 784, 7);
  WriteGzip(dir / "big.gz", big);
  arr = fe::ReadIdxUbyte(dir / "big.gz", 0, 0, small);
  REQUIRE_FALSE(arr.ok());
  CHECK(Contains(arr.status().message(), "max_decompressed_bytes=1000"));
  small.max_decompressed_bytes = 16 + 2 * 784;  // exactly enough
  arr = fe::ReadIdxUbyte(dir / "big.gz", 0, 0, small);
  REQUIRE_MESSAGE(arr.ok(), arr.status().ToString());
  CHECK(arr->data.size() == 2 * 784);
  CHECK(arr->data[1000] == 7);
  // The whole-file reader honours the limit too.
  auto whole = fe::ReadFileMaybeGzip(dir / "bomb.gz", small);
  REQUIRE_FALSE(whole.ok());
  CHECK(Contains(whole.status().message(), "max_decompressed_bytes=1584"));
}

TEST_CASE("hardening/images: a PNG declaring 900 megapixels is rejected before decoding") {
  ScratchDir dir("hard-png");
  WriteBytes(dir / "huge.png", PngHeaderOnly(30000, 30000));
  auto img = fe::DecodeImageFile(dir / "huge.png", fe::ColorMode::kGrey);
  REQUIRE_FALSE(img.ok());
  CHECK(Contains(img.status().message(), dir / "huge.png"));
  CHECK(Contains(img.status().message(), "30000x30000"));
  CHECK(Contains(img.status().message(), "max_image_pixels=67108864"));
  // Raised limit: the header passes and decoding itself fails (no pixel data):
  // the limit, not the decoder, made the first error.
  img = fe::DecodeImageFile(dir / "huge.png", fe::ColorMode::kGrey, std::uint64_t{1} << 30);
  REQUIRE_FALSE(img.ok());
  CHECK_FALSE(Contains(img.status().message(), "max_image_pixels"));
  CHECK(Contains(img.status().message(), "cannot decode image"));
  // The folder loader passes its option down.
  WriteBytes(dir / "set/a/x.png", PngHeaderOnly(100, 100));
  fe::ImageFolderOptions o;
  o.max_image_pixels = 9999;
  auto ds = fe::LoadImageFolder(dir / "set", o);
  REQUIRE_FALSE(ds.ok());
  CHECK(Contains(ds.status().message(), "max_image_pixels=9999"));
}

TEST_CASE("hardening/limits: SetInputLimit parses NAME=VALUE and rejects the rest") {
  fe::InputLimits l;
  CHECK(fe::SetInputLimit(l, "max_image_pixels=100000000").ok());
  CHECK(l.max_image_pixels == 100000000u);
  CHECK(fe::SetInputLimit(l, "max_decompressed_bytes=4G").ok());
  CHECK(l.max_decompressed_bytes == (std::uint64_t{4} << 30));
  CHECK(fe::SetInputLimit(l, "max_mail_bytes=64k").ok());
  CHECK(l.max_mail_bytes == 64u * 1024u);
  for (const char* bad : {"max_image_pixels", "max_image_pixels=", "max_image_pixels=0", "max_image_pixels=-5",
                          "max_image_pixels=12T", "max_image_pixels=99999999999999999999", "nope=5",
                          "max_mail_bytes=20000000000000G"}) {
    INFO(bad);
    CHECK_FALSE(fe::SetInputLimit(l, bad).ok());
  }
  CHECK(Contains(fe::SetInputLimit(l, "nope=5").message(), "max_text_file_bytes"));
}

TEST_CASE("hardening/mail: 1 MB encoded-word and entity runs decode in linear time, correctly") {
  // Quadratic before: each "=?" searched to the end for "?=" (there is none
  // here), each "&" for ";".
  std::string subject;
  while (subject.size() < (1u << 20)) subject += "=?ab ";
  const std::string decoded = fe::DecodeEncodedWords(subject);
  CHECK(decoded.size() == subject.size());
  CHECK((decoded == subject));  // no complete encoded word: kept literally (not printed: 1 MB)
  // Complete encoded words in between still decode.
  std::string mixed = subject.substr(0, 600) + " =?utf-8?q?hello_world?= " + subject.substr(0, 600);
  CHECK(Contains(fe::DecodeEncodedWords(mixed), " hello world "));
  const std::string amps(1u << 20, '&');
  CHECK((fe::StripHtml(amps) == amps));
  CHECK(fe::StripHtml(std::string(1000, '&') + "&lt;b&gt;") == std::string(1000, '&') + "<b>");
  // A whole message with a 1 MB subject.
  const std::string mail = "Subject: " + subject + "\n\nbody text\n";
  const std::string text = fe::MailText(mail);
  const std::string expected = subject.substr(0, subject.size() - 1) + "\nbody text\n";  // header value trimmed
  CHECK(text.size() == expected.size());
  CHECK((text == expected));
}

TEST_CASE("hardening/mail: a message over max_mail_bytes is an error naming it") {
  ScratchDir dir("hard-mail");
  qualm::testing::WriteText(dir / "g/a.txt", "Subject: hi\n\nshort\n");
  qualm::testing::WriteText(dir / "g/b.txt", "Subject: big\n\n" + std::string(5000, 'x') + "\n");
  auto c = fe::LoadSpamAssassinGroup(dir.path().string(), "g", 0, 4096);
  REQUIRE_FALSE(c.ok());
  CHECK(Contains(c.status().message(), "b.txt"));
  CHECK(Contains(c.status().message(), "max_mail_bytes=4096"));
  c = fe::LoadSpamAssassinGroup(dir.path().string(), "g", 0, 8192);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->size() == 2);
}

TEST_CASE("hardening/atomic file: temporaries of killed writers are removed on the next save, live ones kept") {
  ScratchDir dir("hard-tmp");
  const std::string target = dir / "model.qm";
  // A pid that is certainly dead: a child that has exited and been reaped.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const std::string stale = target + ".tmp." + std::to_string(child);
  const std::string live = target + ".tmp." + std::to_string(::getppid());  // our parent runs
  const std::string other = dir / "other.qm.tmp." + std::to_string(child);  // another file's: not ours to judge
  const std::string odd = target + ".tmp.12x";                               // not a pid
  for (const auto& f : {stale, live, other, odd}) qualm::testing::WriteText(f, "partial");
  REQUIRE(fe::WriteFileAtomically(target, "new contents").ok());
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(other));
  CHECK(std::filesystem::exists(odd));
  CHECK(qualm::testing::ReadBytes(target).size() == std::string("new contents").size());
}

TEST_CASE("hardening/fuzz findings: a vocabulary file whose format is not a string is an error, not an exception") {
  // fuzz_text, crash-5490dd36: {"format": 0, ...} made nlohmann's value() throw out of LoadVocabulary.
  ScratchDir dir("hard-vocab");
  for (const char* text : {R"({"format": 0, "tokens": ["<pad>", "hello", "world"]})",
                           R"({"format": null, "version": 1, "tokens": []})",
                           R"({"format": ["qualm-vocabulary"], "version": 1, "tokens": []})",
                           R"({"format": "qualm-vocabulary", "version": "1", "tokens": []})",
                           R"({"format": "qualm-vocabulary", "version": 1, "tokens": {"a": 1}})"}) {
    INFO(text);
    qualm::testing::WriteText(dir / "v.json", text);
    auto v = fe::LoadVocabulary(dir / "v.json");
    REQUIRE_FALSE(v.ok());
    CHECK(Contains(v.status().message(), dir / "v.json"));
  }
}

TEST_CASE("hardening/idx: a prefix of a gzip stream of several MiB reads and checks the whole length") {
  // The rest of the declared data is drained in 1 MiB steps; a first version
  // stopped after one step and reported a truncated stream.
  ScratchDir dir("hard-prefix");
  std::vector<std::uint8_t> img = {0, 0, 0x08, 3};
  Put32(img, 4000);
  Put32(img, 28);
  Put32(img, 28);
  for (std::uint32_t i = 0; i < 4000u * 784u; ++i) img.push_back(static_cast<std::uint8_t>((i * 2654435761u) >> 24));
  WriteGzip(dir / "img.gz", img);
  for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{3999}}) {
    INFO(keep);
    auto arr = fe::ReadIdxUbyte(dir / "img.gz", 3, keep);
    REQUIRE_MESSAGE(arr.ok(), arr.status().ToString());
    CHECK(arr->header_items == 4000);
    CHECK(arr->data.size() == (keep == 0 ? 4000u : keep) * 784u);
    CHECK(std::equal(arr->data.begin(), arr->data.end(), img.begin() + 16));
  }
  img.resize(img.size() - 1);  // one byte short: still found under a prefix
  WriteGzip(dir / "short.gz", img);
  auto arr = fe::ReadIdxUbyte(dir / "short.gz", 3, 10);
  REQUIRE_FALSE(arr.ok());
  CHECK(Contains(arr.status().message(), "ends after 3135999 bytes"));
}

TEST_CASE("hardening/fuzz findings: a PNG whose first IDAT chunk is empty decodes like one without it") {
  // fuzz_image, crash-fb0cd280 (fuzz/corpus/image/regression-empty-idat.png):
  // an empty first IDAT made stb_image call memcpy(NULL, p, 0), which UBSan
  // reports (fuzz/CMakeLists.txt turns that check off for stb's TU). The file is legal PNG; qualm must read
  // it, and read it the same as without the empty chunk.
  std::string rows;
  for (int y = 0; y < 3; ++y) {
    rows.push_back('\0');  // filter: none
    for (int x = 0; x < 5; ++x) rows.push_back(static_cast<char>(40 * y + 7 * x));
  }
  std::string z(compressBound(static_cast<uLong>(rows.size())), '\0');
  uLongf zn = static_cast<uLongf>(z.size());
  REQUIRE(compress(reinterpret_cast<Bytef*>(z.data()), &zn, reinterpret_cast<const Bytef*>(rows.data()),
                   static_cast<uLong>(rows.size())) == Z_OK);
  z.resize(zn);
  ScratchDir dir("hard-empty-idat");
  WriteBytes(dir / "plain.png", GreyPng(5, 3, {z}));
  WriteBytes(dir / "empty-first.png", GreyPng(5, 3, {"", z.substr(0, 4), "", z.substr(4)}));
  auto plain = fe::DecodeImageFile(dir / "plain.png", fe::ColorMode::kGrey);
  auto empty = fe::DecodeImageFile(dir / "empty-first.png", fe::ColorMode::kGrey);
  REQUIRE(plain.ok());
  REQUIRE(empty.ok());
  CHECK(plain->height == 3);
  CHECK(plain->width == 5);
  CHECK(plain->pixels[5 + 2] == 40 + 14);
  CHECK(empty->pixels == plain->pixels);
}

TEST_CASE("hardening/fuzz findings: a PNG chunk declaring more bytes than the file holds is refused before stb") {
  // fuzz_image, oom-304be257 (fuzz/corpus/image/regression-idat-declares-1.9gb.png):
  // a 146-byte PNG whose second IDAT declared 1.9 GB made stb_image realloc
  // 2 GiB before it noticed the file was short.
  std::string idat = "\x78\x9c";  // a zlib header; the rest is never read
  std::vector<std::uint8_t> png = GreyPng(4, 4, {idat});
  // Overwrite the IDAT length (signature 8 + IHDR 25 bytes: at byte 33) with 0x7351b501.
  png[33] = 0x73, png[34] = 0x51, png[35] = 0xb5, png[36] = 0x01;
  ScratchDir dir("hard-png-chunk");
  WriteBytes(dir / "bomb.png", png);
  auto img = fe::DecodeImageFile(dir / "bomb.png", fe::ColorMode::kGrey);
  REQUIRE_FALSE(img.ok());
  CHECK(Contains(img.status().message(), dir / "bomb.png"));
  CHECK(Contains(img.status().message(), "PNG chunk 'IDAT' at byte 33 declares 1934734593 bytes"));
  // fuzz_image, oom-a3f32f7e: the same declaration in a header that ends the
  // file (8 bytes of length and type, nothing after them).
  std::vector<std::uint8_t> cut = GreyPng(4, 4, {idat});
  cut.resize(33 + 8);
  cut[33] = 0x4f, cut[34] = 0x00, cut[35] = 0x00, cut[36] = 0x08;
  WriteBytes(dir / "cut.png", cut);
  img = fe::DecodeImageFile(dir / "cut.png", fe::ColorMode::kGrey);
  REQUIRE_FALSE(img.ok());
  CHECK(Contains(img.status().message(), "PNG chunk 'IDAT' at byte 33 declares 1325400072 bytes (+ 4 of CRC), the file has 0"));
  // A chunk that fits but whose CRC is cut off is refused too; a PNG that
  // ends at IEND without IEND's CRC still decodes (stb does not read it).
  cut = GreyPng(4, 4, {idat});
  cut.resize(cut.size() - 12 - 2);  // drop IEND and two CRC bytes of the IDAT
  WriteBytes(dir / "nocrc.png", cut);
  img = fe::DecodeImageFile(dir / "nocrc.png", fe::ColorMode::kGrey);
  REQUIRE_FALSE(img.ok());
  CHECK(Contains(img.status().message(), "(+ 4 of CRC)"));
}

TEST_CASE("hardening/images: only PNG, JPEG and BMP content reaches stb_image, whatever the file name") {
  // Debian's libstb carries every decoder; qualm reads three formats and refuses
  // the others by magic number (GIF, PSD, PIC, TGA, PNM, HDR).
  ScratchDir dir("hard-format");
  for (const std::string& content : {std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
                                     std::string("8BPS\x00\x01\x00\x00\x00\x00\x00\x00"),
                                     std::string("\x53\x80\xf6\x34PICT") + std::string(100, '\0'),
                                     std::string("P5\n2 2\n255\n\x01\x02\x03\x04"),
                                     std::string("#?RADIANCE\n")}) {
    INFO(content.substr(0, 4));
    WriteBytes(dir / "x.png", std::vector<std::uint8_t>(content.begin(), content.end()));
    auto img = fe::DecodeImageFile(dir / "x.png", fe::ColorMode::kGrey);
    REQUIRE_FALSE(img.ok());
    CHECK(Contains(img.status().message(), "not a PNG, JPEG or BMP file"));
  }
  // The three formats still decode (a PNG here, also without IEND's CRC; BMP
  // and JPEG in the image folder tests).
  std::string rows(1 + 2, '\0');
  rows[1] = 10, rows[2] = 20;
  std::string z(compressBound(static_cast<uLong>(rows.size())), '\0');
  uLongf zn = static_cast<uLongf>(z.size());
  REQUIRE(compress(reinterpret_cast<Bytef*>(z.data()), &zn, reinterpret_cast<const Bytef*>(rows.data()),
                   static_cast<uLong>(rows.size())) == Z_OK);
  z.resize(zn);
  WriteBytes(dir / "ok.png", GreyPng(2, 1, {z}));
  for (int cut_crc : {0, 4}) {
    auto png = GreyPng(2, 1, {z});
    png.resize(png.size() - static_cast<std::size_t>(cut_crc));
    WriteBytes(dir / "ok.png", png);
    auto ok = fe::DecodeImageFile(dir / "ok.png", fe::ColorMode::kGrey);
    REQUIRE_MESSAGE(ok.ok(), ok.status().message());
    CHECK(ok->pixels == std::vector<unsigned char>{10, 20});
  }
}

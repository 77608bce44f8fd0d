// Model file: every malformed or crafted file is rejected with a Status that
// names the file and the problem; nothing crashes, nothing reads out of bounds
// (run under ASan to make the last claim checkable).
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <random>

#include "frontends/data_test_util.h"
#include "frontends/model_file_test_util.h"
#include "qualm/frontends/model_file.h"

namespace {

using namespace qualm;
using namespace qualm::testing;
using frontends::ParseModel;
using frontends::SerializeModel;

// Same through a real file and LoadModel.
void ExpectLoadError(const std::string& path, const std::string& word) {
  auto r = frontends::LoadModel(path);
  REQUIRE_FALSE_MESSAGE(r.ok(), "expected an error containing '" << word << "'");
  const std::string msg = r.status().message();
  CHECK_MESSAGE(Contains(msg, path), msg);
  CHECK_MESSAGE(Contains(msg, word), msg);
}

}  // namespace

TEST_CASE("model_file/corrupt: wrong magic, empty file, missing path, directory") {
  ScratchDir dir("mf-corrupt");
  const std::string zip = dir / "m.qm";
  WriteBytes(zip, {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                   18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30});
  ExpectLoadError(zip, "not a qualm model file");
  ExpectLoadError(zip, "PK\\x03\\x04");
  const std::string empty = dir / "empty.qm";
  WriteBytes(empty, {});
  ExpectLoadError(empty, "empty");
  const std::string missing = dir / "does-not-exist.qm";
  ExpectLoadError(missing, "no such file");
  CHECK(frontends::LoadModel(missing).status().code() == StatusCode::kNotFound);
  const std::string subdir = dir / "adir.qm";
  std::filesystem::create_directories(subdir);
  ExpectLoadError(subdir, "directory");
  // The same for the other entry points.
  CHECK(Contains(frontends::InspectModelFile(zip).status().message(), "not a qualm model file"));
  CHECK(Contains(frontends::LoadCheckpoint(missing).status().message(), "no such file"));
  CHECK(Contains(frontends::InspectModelFile(subdir).status().message(), "directory"));
}

TEST_CASE("model_file/corrupt: newer and invalid versions are rejected by number") {
  const auto valid = SerializeModel(TinyModel());
  for (std::uint32_t v : {3u, 4u, 0xffffffffu}) {
    auto b = valid;
    PutLe(b, 8, v, 4);
    FixCrc(b);
    ExpectParseError(b, "m.qm", "file version " + std::to_string(v) + " is newer than this build supports (2)");
    auto r = ParseModel(b.data(), b.size(), "m.qm");
    CHECK(r.status().code() == StatusCode::kUnimplemented);
  }
  // A newer version is recognized even when the rest of the file is unknown to us.
  std::vector<std::uint8_t> future = {'Q', 'U', 'A', 'L', 'M', 'M', 'D', 'L', 7, 0, 0, 0};
  ExpectParseError(future, "f.qm", "file version 7 is newer");
  auto b = valid;
  PutLe(b, 8, 0, 4);
  FixCrc(b);
  ExpectParseError(b, "m.qm", "invalid file version 0");
}

TEST_CASE("model_file/corrupt: truncation at every 97th byte offset") {
  const auto valid = SerializeModel(ZooModel("lenet5"));
  int cases = 0;
  for (std::size_t n = 0; n < valid.size(); n += 97) {
    INFO("truncated to " << n << " bytes");
    ExpectParseError(std::vector<std::uint8_t>(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)),
                     "t.qm", n == 0 ? "empty" : "truncated");
    ++cases;
  }
  CHECK(cases > 500);
  // The exact message for a cut in the data section.
  const std::vector<std::uint8_t> cut(valid.begin(), valid.begin() + 1000);
  ExpectParseError(cut, "m.qm", "truncated: header says " + std::to_string(valid.size()) + " bytes, file has 1000");
  // And through the file system, for the path in the message.
  ScratchDir dir("mf-trunc");
  const std::string path = dir / "cut.qm";
  WriteBytes(path, cut);
  ExpectLoadError(path, "truncated");
  // One byte too many is also an error (the length is part of the format).
  auto longer = valid;
  longer.push_back(0);
  ExpectParseError(longer, "m.qm", "size mismatch");
}

TEST_CASE("model_file/corrupt: a flipped byte anywhere is a checksum mismatch") {
  const auto valid = SerializeModel(ZooModel("lenet1"));
  const auto stored = GetLe(valid, valid.size() - 4, 4);
  const std::size_t hlen = GetLe(valid, 24, 8);
  // In the data section, in the header, in the padding, in the CRC itself.
  for (std::size_t at : {valid.size() - 100, valid.size() / 2, std::size_t{40}, std::size_t{32 + hlen},
                         valid.size() - 1}) {
    INFO("byte " << at);
    auto b = valid;
    b[at] ^= 0x10;
    ExpectParseError(b, "m.qm", "checksum mismatch");
  }
  auto b = valid;
  b[valid.size() / 2] ^= 0x01;
  char expect[64];
  std::snprintf(expect, sizeof expect, "checksum mismatch (stored 0x%08x, computed 0x", static_cast<unsigned>(stored));
  ExpectParseError(b, "m.qm", expect);
  CHECK(ParseModel(b.data(), b.size(), "m.qm").status().code() == StatusCode::kDataLoss);
  ScratchDir dir("mf-crc");
  WriteBytes(dir / "flip.qm", b);
  ExpectLoadError(dir / "flip.qm", "checksum");
  CHECK(Contains(frontends::InspectModelFile(dir / "flip.qm").status().message(), "checksum mismatch"));
}

TEST_CASE("model_file/corrupt: every bit of the preamble flipped (CRC fixed) is an error") {
  const auto valid = SerializeModel(TinyModel());
  for (std::size_t at = 8; at < 32; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      INFO("byte " << at << " bit " << bit);
      auto b = valid;
      b[at] ^= static_cast<std::uint8_t>(1u << bit);
      FixCrc(b);
      auto r = ParseModel(b.data(), b.size(), "p.qm");
      REQUIRE_FALSE(r.ok());
      CHECK_MESSAGE(Contains(r.status().message(), "p.qm: "), r.status().message());
    }
  }
}

TEST_CASE("model_file/corrupt: every header byte changed (CRC fixed) gives an error or a valid model, never a crash") {
  const auto valid = SerializeModel(ZooModel("lenet1"));
  const std::size_t hlen = GetLe(valid, 24, 8);
  int errors = 0, loads = 0;
  for (std::size_t at = 32; at < 32 + hlen; ++at) {
    for (std::uint8_t x : {std::uint8_t{0x01}, std::uint8_t{0x20}, std::uint8_t{0x80}}) {
      auto b = valid;
      b[at] ^= x;
      FixCrc(b);
      auto r = ParseModel(b.data(), b.size(), "h.qm");
      if (r.ok()) {
        ++loads;  // a different but consistent model: it must pass the graph check
        CHECK(InferShapes(static_cast<const Model&>(*r)).ok());
      } else {
        ++errors;
        if (!Contains(r.status().message(), "h.qm: ")) FAIL_CHECK(r.status().message());
      }
    }
  }
  MESSAGE(errors << " errors, " << loads << " valid-but-different models");
  CHECK(errors > 10 * loads);
}

TEST_CASE("model_file/corrupt: crafted headers (correct CRC) are rejected with specific messages") {
  const auto valid = SerializeModel(ZooModel("lenet5"));
  // Find the first conv's node index in the header (node 1 in the zoo's lenet5).
  const Parts p = SplitFile(valid);
  REQUIRE(p.header["nodes"][1]["op"] == "conv2d");
  const std::string conv = p.header["nodes"][1]["name"];

  SUBCASE("parameter shape disagrees with the graph") {
    auto b = EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"]["out_channels"] = 7; });
    ExpectParseError(b, "m.qm", "node '" + conv + "'");
    ExpectParseError(b, "m.qm", "expects");
  }
  SUBCASE("tensor beyond the data section") {
    auto b = EditHeader(valid, [&](nlohmann::json& h) {
      h["nodes"][1]["params"][0]["offset"] = p.data.size();
    });
    ExpectParseError(b, "m.qm", "outside the data section");
  }
  SUBCASE("size overflow attempt") {
    auto b = EditHeader(valid, [](nlohmann::json& h) {
      h["nodes"][1]["params"][0]["shape"] = {1099511627776LL, 1099511627776LL, 16, 16};
      h["nodes"][1]["params"][0]["bytes"] = 0;
    });
    ExpectParseError(b, "m.qm", "larger than the data section");
    auto c = EditHeader(valid, [](nlohmann::json& h) {
      h["nodes"][1]["params"][0]["offset"] = 0xffffffffffffffc0ULL;
    });
    ExpectParseError(c, "m.qm", "out of range");
    auto d = EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["params"][0]["shape"][0] = -6; });
    ExpectParseError(d, "m.qm", "out of range");
  }
  SUBCASE("bytes disagree with dtype x shape") {
    auto b = EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["params"][0]["bytes"] = 4; });
    ExpectParseError(b, "m.qm", "do not hold");
  }
  SUBCASE("unaligned and overlapping tensors") {
    auto b = EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["params"][1]["offset"] = 4; });
    ExpectParseError(b, "m.qm", "multiple of 64");
    auto c = EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["params"][1]["offset"] = 0; });
    ExpectParseError(c, "m.qm", "overlaps");
  }
  SUBCASE("unknown op, missing field, unknown field, wrong field type") {
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["op"] = "conv3d"; }), "m.qm",
                     "unknown op 'conv3d'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"].erase("groups"); }), "m.qm",
                     "missing field 'groups'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"]["groupz"] = 1; }), "m.qm",
                     "unknown field 'groupz'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"]["has_bias"] = 1; }), "m.qm",
                     "must be a boolean");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"]["kernel_h"] = 5.5; }),
                     "m.qm", "must be an integer");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["fields"]["kernel_h"] = 1LL << 40; }),
                     "m.qm", "out of the range of int");
  }
  SUBCASE("float field as a malformed bit string") {
    const auto tiny = SerializeModel(TinyModel());
    ExpectParseError(EditHeader(tiny, [](nlohmann::json& h) { h["nodes"][1]["fields"]["momentum"] = "0xzz"; }),
                     "m.qm", "bit pattern");
    ExpectParseError(EditHeader(tiny, [](nlohmann::json& h) { h["nodes"][1]["fields"]["momentum"] = 1e300; }),
                     "m.qm", "out of the range of float");
  }
  SUBCASE("graph structure: forward input, duplicate names, missing keys, unknown keys") {
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["inputs"] = {3}; }), "m.qm",
                     "out of range");
    ExpectParseError(EditHeader(valid, [&](nlohmann::json& h) { h["nodes"][2]["name"] = conv; }), "m.qm",
                     "duplicate node name");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h.erase("num_classes"); }), "m.qm",
                     "missing 'num_classes'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["quantization"] = nlohmann::json::object(); }),
                     "m.qm", "unknown key 'quantization'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["sections"]["extra"] = 1; }), "m.qm",
                     "unknown key 'extra'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["num_classes"] = 11; }), "m.qm", "logits");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["input_type"] = "int8"; }), "m.qm",
                     "unknown input_type");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["data_bytes"] = 64; }), "m.qm", "data section");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["nodes"][1]["params"][0]["dtype"] = "f64"; }),
                     "m.qm", "unknown dtype 'f64'");
  }
  SUBCASE("flags: checkpoint flag without a section, unknown flag bits") {
    Parts q = SplitFile(valid);
    q.flags = frontends::kModelFileFlagCheckpoint;
    ExpectParseError(JoinFile(q), "m.qm", "no checkpoint section");
    q.flags = 0x100;
    ExpectParseError(JoinFile(q), "m.qm", "unknown flags 0x00000100");
  }
  SUBCASE("header that is not JSON") {
    Parts q = SplitFile(valid);
    std::vector<std::uint8_t> b = JoinFile(q);
    b[32] = '[';
    FixCrc(b);
    ExpectParseError(b, "m.qm", "not valid JSON");
  }
}

TEST_CASE("model_file/corrupt: random multi-byte damage (CRC fixed) never crashes") {
  Model m = ZooModel("gru");
  m.metadata["k"] = "v";
  const auto valid = SerializeModel(m);
  const std::size_t hlen = GetLe(valid, 24, 8);
  std::mt19937 rng(2024);
  int loads = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      // Mostly the preamble and header, where the structure is.
      const std::size_t span = rng() % 4 == 0 ? b.size() - 4 : 32 + hlen;
      b[rng() % span] = static_cast<std::uint8_t>(rng());
    }
    FixCrc(b);
    auto r = ParseModel(b.data(), b.size(), "r.qm");
    if (r.ok()) {
      ++loads;
      CHECK(InferShapes(static_cast<const Model&>(*r)).ok());
    } else if (!Contains(r.status().message(), "r.qm: ")) {
      FAIL_CHECK(r.status().message());
    }
  }
  MESSAGE(loads << " of 3000 damaged files still loaded (data-section damage or names)");
}

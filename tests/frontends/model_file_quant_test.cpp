// Model file version 2: the quantization record (Model::quant) round-trips
// bit-exactly with its constants in the data section, every crafted bad
// "quant" section is rejected with a message naming the node and the field,
// and damage to a quantized file is caught like damage to a float one.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "frontends/data_test_util.h"
#include "frontends/model_file_test_util.h"
#include "qualm/frontends/model_file.h"

namespace {

using namespace qualm;
using namespace qualm::testing;
using frontends::ParseModel;
using frontends::SerializeModel;
using kernels::RequantMode;

Model QuantizedZooModel(const std::string& arch, std::uint32_t seed = 11) {
  Model m = ZooModel(arch);
  AttachSyntheticQuant(m, seed);
  return m;
}

// The first node with parameters (its quant record has constants).
std::size_t FirstNodeWithParams(const Model& m) {
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    if (!m.nodes[i].params.empty()) return i;
  FAIL("no node with parameters");
  return 0;
}

}  // namespace

TEST_CASE("model_file/quant: a QuantSpec with every constant dtype round-trips bit-exactly") {
  for (const std::string arch : {"lenet5", "lstm", "gru", "resnet20"}) {
    INFO("arch " << arch);
    const Model m = QuantizedZooModel(arch);
    const std::vector<std::uint8_t> bytes = SerializeModel(m);
    auto back = ParseModel(bytes.data(), bytes.size(), arch + ".qm");
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CheckModelsIdentical(m, *back);
    CHECK(back->quant.scheme == QuantScheme::kInt8);
    CHECK(back->quant.mode == RequantMode::kSingle);
    CHECK(back->quant.info.at("raw") == std::string("\xff\xfe\0x", 4));
    CHECK(SerializeModel(*back) == bytes);
    CHECK(SerializeModel(m) == bytes);  // deterministic
    // Every allowed dtype is present.
    int seen[8] = {};
    for (const auto& nq : m.quant.nodes)
      for (const auto& c : nq.constants) ++seen[static_cast<int>(c.value.dtype())];
    for (DType t : {DType::kI8, DType::kI32, DType::kF32, DType::kF16, DType::kBF16})
      CHECK_MESSAGE(seen[static_cast<int>(t)] > 0, DTypeName(t));
  }
}

TEST_CASE("model_file/quant: every scheme and requant mode round-trips and scales keep their bits") {
  const Model base = ZooModel("lenet1");
  for (const std::string& name : QuantSchemeNames()) {
    for (RequantMode mode : {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat}) {
      INFO("scheme " << name << " mode " << kernels::RequantModeName(mode));
      auto scheme = ParseQuantScheme(name);
      REQUIRE(scheme.ok());
      Model m = base;
      AttachSyntheticQuant(m, 5, *scheme, mode);
      const auto bytes = SerializeModel(m);
      auto back = ParseModel(bytes.data(), bytes.size(), "s.qm");
      REQUIRE_MESSAGE(back.ok(), back.status().ToString());
      CheckModelsIdentical(m, *back);
      const Parts p = SplitFile(bytes);
      CHECK(p.header["quant"]["scheme"] == name);
      CHECK(p.header["quant"]["mode"] == kernels::RequantModeName(mode));
    }
  }
  // Random positive finite scales: the JSON number reads back to the same float.
  std::mt19937 rng(99);
  Model m = base;
  AttachSyntheticQuant(m, 6);
  for (int iter = 0; iter < 200; ++iter) {
    for (auto& nq : m.quant.nodes) {
      if (!nq.has_output) continue;
      std::uint32_t bits = static_cast<std::uint32_t>(rng()) & 0x7f7fffffu;
      if (bits == 0) bits = 1;
      std::memcpy(&nq.output.scale, &bits, 4);
    }
    const auto bytes = SerializeModel(m);
    auto back = ParseModel(bytes.data(), bytes.size(), "r.qm");
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CheckQuantIdentical(m, *back);
  }
}

TEST_CASE("model_file/quant: constants lie in the data section after the parameters - aligned and byte-exact") {
  const Model m = QuantizedZooModel("lenet5");
  const auto bytes = SerializeModel(m);
  CHECK(GetLe(bytes, 8, 4) == 2);
  const Parts p = SplitFile(bytes);
  CHECK(p.header["data_bytes"].get<std::uint64_t>() == p.data.size());
  std::uint64_t params_end = 0;
  for (const auto& n : p.header["nodes"])
    for (const auto& pj : n["params"])
      params_end = std::max(params_end, pj["offset"].get<std::uint64_t>() + pj["bytes"].get<std::uint64_t>());
  const auto& qnodes = p.header["quant"]["nodes"];
  REQUIRE(qnodes.size() == m.nodes.size());
  std::uint64_t prev_end = params_end;
  int constants = 0;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const NodeQuant& nq = m.quant.nodes[i];
    const auto& nj = qnodes[i];
    CHECK(nj.size() == 3);  // output, cell_exponent, constants
    if (nq.has_output) {
      CHECK(nj["output"]["zero_point"] == nq.output.zero_point);
      CHECK(nj["output"]["scale"].get<float>() == nq.output.scale);
    } else {
      CHECK(nj["output"].is_null());
    }
    REQUIRE(nj["constants"].size() == nq.constants.size());
    for (std::size_t k = 0; k < nq.constants.size(); ++k) {
      const auto& cj = nj["constants"][k];
      const Tensor& t = nq.constants[k].value;
      const auto off = cj["offset"].get<std::uint64_t>();
      const auto n = cj["bytes"].get<std::uint64_t>();
      CHECK(cj["name"] == nq.constants[k].name);
      CHECK(cj["dtype"] == DTypeName(t.dtype()));
      CHECK(off % 64 == 0);
      CHECK(off >= prev_end);
      CHECK(n == t.bytes());
      REQUIRE(off + n <= p.data.size());
      if (n > 0) CHECK(std::memcmp(p.data.data() + off, t.raw(), n) == 0);
      prev_end = off + n;
      ++constants;
    }
  }
  CHECK(constants == 2 + 5 * 10);  // empty + scalar, 5 dtypes x 10 parameters
  CHECK(p.data.size() == Align64(prev_end));
}

TEST_CASE("model_file/quant: checkpoints of quantized models keep the state - the spec and the flag") {
  ScratchDir dir("mf-quant-ckpt");
  const std::string path = dir / "q.ckpt";
  const Model m = QuantizedZooModel("lenet1");
  Trainer::State s;
  s.epochs_done = 4;
  s.steps = 99;
  s.slot1.resize(m.nodes.size());
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (const Param& p : m.nodes[i].params) {
      Tensor t(p.value.dtype(), p.value.shape());
      t.Fill(0.5f + static_cast<float>(i));
      s.slot1[i].push_back(std::move(t));
    }
  REQUIRE(frontends::SaveCheckpoint(m, s, "{\"qat\":true}", path).ok());
  auto info = frontends::InspectModelFile(path);
  REQUIRE(info.ok());
  CHECK(info->version == 2);
  CHECK(info->checkpoint);
  auto ck = frontends::LoadCheckpoint(path);
  REQUIRE_MESSAGE(ck.ok(), ck.status().ToString());
  CheckModelsIdentical(m, ck->model);
  CHECK(ck->state.epochs_done == 4);
  CHECK(ck->state.steps == 99);
  CHECK(ck->config_json == "{\"qat\":true}");
  REQUIRE(ck->state.slot1.size() == m.nodes.size());
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (std::size_t k = 0; k < s.slot1[i].size(); ++k) CHECK(TensorsIdentical(s.slot1[i][k], ck->state.slot1[i][k]));
  auto as_model = frontends::LoadModel(path);
  REQUIRE(as_model.ok());
  CheckModelsIdentical(m, *as_model);
}

TEST_CASE("model_file/quant: SaveModel refuses an invalid QuantSpec and writes nothing") {
  ScratchDir dir("mf-quant-save");
  const std::string path = dir / "bad.qm";
  const Model good = QuantizedZooModel("lenet1");
  const std::size_t conv = FirstNodeWithParams(good);
  const std::string where = "quant: node '" + good.nodes[conv].name + "'";
  struct Case {
    const char* what;
    std::function<void(Model&)> edit;
    std::string word;
  };
  const Case cases[] = {
      {"zp 200", [&](Model& m) { m.quant.nodes[conv].output.zero_point = 200; },
       where + ": output zero_point 200 is outside the int8 range [-128, 127]"},
      {"zero scale", [&](Model& m) { m.quant.nodes[conv].output.scale = 0.0f; },
       where + ": output scale must be positive and finite, is 0"},
      {"NaN scale", [&](Model& m) { m.quant.nodes[conv].output.scale = std::nanf(""); }, "is nan"},
      {"too few records", [](Model& m) { m.quant.nodes.pop_back(); }, "'nodes' has"},
      {"records for float", [](Model& m) { m.quant.scheme = QuantScheme::kFloat; }, "scheme 'float' has no per-node"},
      {"u8 constant", [&](Model& m) { m.quant.nodes[conv].constants[0].value = Tensor(DType::kU8, Shape{3}); },
       "dtype u8 is not allowed"},
      {"constant without data", [&](Model& m) { m.quant.nodes[conv].constants[0].value = Tensor(); }, "no data"},
      {"duplicate constant", [&](Model& m) { m.quant.nodes[conv].constants[1].name = "weight"; },
       "duplicate constant 'weight'"},
      {"cell exponent", [&](Model& m) { m.quant.nodes[conv].cell_exponent = 40; }, "cell_exponent 40"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Model m = good;
    c.edit(m);
    const Status st = frontends::SaveModel(m, path);
    REQUIRE_FALSE(st.ok());
    CHECK_MESSAGE(Contains(st.message(), path + ": not saved"), st.message());
    CHECK_MESSAGE(Contains(st.message(), c.word), st.message());
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(frontends::SerializeCheckpoint(m, Trainer::State{}, "{}").ok());
  }
  REQUIRE(frontends::SaveModel(good, path).ok());
}

TEST_CASE("model_file/quant: crafted quant sections (correct CRC) are rejected naming the node and the field") {
  const Model m = QuantizedZooModel("lenet1");
  const auto valid = SerializeModel(m);
  const std::size_t conv = FirstNodeWithParams(m);
  const std::string where = "quant: node '" + m.nodes[conv].name + "'";
  auto edit = [&](const std::function<void(nlohmann::json&)>& f) {
    return EditHeader(valid, [&](nlohmann::json& h) { f(h["quant"]); });
  };
  auto node = [&](nlohmann::json& q) -> nlohmann::json& { return q["nodes"][conv]; };
  REQUIRE(ParseModel(valid.data(), valid.size(), "m.qm").ok());

  SUBCASE("scheme and mode") {
    ExpectParseError(edit([](auto& q) { q["scheme"] = "int4"; }), "m.qm",
                     "quant: 'scheme': unknown quantization scheme 'int4'");
    ExpectParseError(edit([](auto& q) { q["scheme"] = 8; }), "m.qm", "quant: 'scheme' must be a string");
    ExpectParseError(edit([](auto& q) { q["mode"] = "double"; }), "m.qm", "quant: 'mode': requant mode: unknown");
    ExpectParseError(edit([](auto& q) { q["mode"] = std::string("single\0x", 8); }), "m.qm", "NUL");
  }
  SUBCASE("output scale: zero - negative - NaN - infinity - not a float") {
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = 0.0; }), "m.qm",
                     where + ": output scale must be positive and finite, is 0");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = -0.5; }), "m.qm",
                     where + ": output scale must be positive and finite, is -0.5");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = "0x7fc00000"; }), "m.qm",
                     where + ": output scale must be positive and finite, is nan");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = "0x7f800000"; }), "m.qm",
                     where + ": output scale must be positive and finite, is inf");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = 1e300; }), "m.qm",
                     where + ": output: 'scale' is out of the range of float");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["scale"] = "big"; }), "m.qm", "bit pattern");
  }
  SUBCASE("zero point and cell exponent out of range") {
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["zero_point"] = 200; }), "m.qm",
                     where + ": output zero_point 200 is outside the int8 range [-128, 127]");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["zero_point"] = -129; }), "m.qm", "zero_point -129");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["zero_point"] = 1LL << 40; }), "m.qm",
                     where + ": output: 'zero_point' is out of range");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["zero_point"] = 1.5; }), "m.qm", "must be an integer");
    ExpectParseError(edit([&](auto& q) { node(q)["cell_exponent"] = 99; }), "m.qm",
                     where + ": cell_exponent 99 is outside [-31, 31]");
  }
  SUBCASE("node count") {
    ExpectParseError(edit([](auto& q) { q["nodes"].erase(q["nodes"].size() - 1); }), "m.qm",
                     "quant: 'nodes' has " + std::to_string(m.nodes.size() - 1) + " entries, the model has " +
                         std::to_string(m.nodes.size()) + " nodes");
    ExpectParseError(edit([](auto& q) { q["nodes"].push_back(q["nodes"][0]); }), "m.qm", "entries, the model has");
    ExpectParseError(edit([](auto& q) { q["nodes"] = nlohmann::json::array(); }), "m.qm", "'nodes' has 0 entries");
    ExpectParseError(edit([](auto& q) { q["scheme"] = "float"; }), "m.qm", "scheme 'float' has no per-node records");
    ExpectParseError(edit([](auto& q) { q["nodes"] = 3; }), "m.qm", "'nodes' must be an array");
  }
  SUBCASE("unknown and missing keys at every level") {
    ExpectParseError(edit([](auto& q) { q["granularity"] = "tensor"; }), "m.qm",
                     "quant has unknown key 'granularity'");
    ExpectParseError(edit([](auto& q) { q.erase("mode"); }), "m.qm", "quant is missing 'mode'");
    ExpectParseError(edit([&](auto& q) { node(q)["axis"] = 0; }), "m.qm", where + " has unknown key 'axis'");
    ExpectParseError(edit([&](auto& q) { node(q).erase("cell_exponent"); }), "m.qm",
                     where + " is missing 'cell_exponent'");
    ExpectParseError(edit([&](auto& q) { node(q)["output"]["min"] = 0; }), "m.qm",
                     where + ": output has unknown key 'min'");
    ExpectParseError(edit([&](auto& q) { node(q)["output"] = 1.0; }), "m.qm", where + ": output must be a JSON object");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["per_channel"] = true; }), "m.qm",
                     where + ": constant 0 has unknown key 'per_channel'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h.erase("quant"); }), "m.qm",
                     "header is missing 'quant'");
    ExpectParseError(EditHeader(valid, [](nlohmann::json& h) { h["quant"] = nlohmann::json::array(); }), "m.qm",
                     "quant must be a JSON object");
  }
  SUBCASE("constants: bytes - dtype - names - placement") {
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["bytes"] = 7; }), "m.qm",
                     where + ": constant 'weight': 7 bytes do not hold a i8");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["shape"][0] = 5; }), "m.qm", "do not hold");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["dtype"] = "u8"; }), "m.qm",
                     where + ": constant 'weight': dtype u8 is not allowed");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["dtype"] = "i4"; }), "m.qm", "unknown dtype 'i4'");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][1]["name"] = "weight"; }), "m.qm",
                     where + ": duplicate constant 'weight'");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["name"] = ""; }), "m.qm", "has an empty name");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["offset"] = 0; }), "m.qm", "overlaps");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"][0]["offset"] = 1 << 30; }), "m.qm",
                     "outside the data section");
    ExpectParseError(edit([&](auto& q) { node(q)["constants"] = nlohmann::json::object(); }), "m.qm",
                     where + ": 'constants' must be an array");
  }
  SUBCASE("info") {
    ExpectParseError(edit([](auto& q) { q["info"] = {{"a", "b", "c"}}; }), "m.qm", "[key, value] pairs");
    using J = nlohmann::json;
    ExpectParseError(edit([](auto& q) { q["info"] = J::array({J::array({"a", "b"}), J::array({"a", "c"})}); }),
                     "m.qm", "quant: duplicate info key 'a'");
    ExpectParseError(edit([](auto& q) { q["info"] = J::array({J::array({"a", 1})}); }), "m.qm",
                     "quant: info 'a' must be a string");
    ExpectParseError(edit([](auto& q) { q["info"] = J::object({{"a", "b"}}); }), "m.qm", "[key, value] pairs");
  }
  SUBCASE("a version-2 header in a version-1 file") {
    Parts p = SplitFile(valid);
    p.version = 1;
    ExpectParseError(JoinFile(p), "m.qm", "header has unknown key 'quant'");
  }
}

TEST_CASE("model_file/quant: truncation and flipped bytes in quantized files are caught") {
  const auto valid = SerializeModel(QuantizedZooModel("lenet1"));
  const Parts p = SplitFile(valid);
  const std::size_t data_start = valid.size() - 4 - p.data.size();
  int cases = 0;
  for (std::size_t n = 0; n < valid.size(); n += 61) {
    INFO("truncated to " << n << " bytes");
    ExpectParseError(std::vector<std::uint8_t>(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)),
                     "t.qm", n == 0 ? "empty" : "truncated");
    ++cases;
  }
  CHECK(cases > 100);
  // In the constants (the end of the data section), in the "quant" header text, in the CRC.
  const std::string text(valid.begin() + 32, valid.begin() + static_cast<std::ptrdiff_t>(data_start));
  const std::size_t quant_at = 32 + text.find("\"quant\"");
  for (std::size_t at : {valid.size() - 100, data_start + p.data.size() - 200, quant_at + 20, valid.size() - 2}) {
    INFO("byte " << at);
    auto b = valid;
    b[at] ^= 0x04;
    ExpectParseError(b, "m.qm", "checksum mismatch");
  }
}

TEST_CASE("model_file/quant: every quant header byte changed (CRC fixed) gives an error or a valid model") {
  const auto valid = SerializeModel(QuantizedZooModel("lenet1"));
  const std::size_t hlen = GetLe(valid, 24, 8);
  const std::string text(valid.begin() + 32, valid.begin() + 32 + static_cast<std::ptrdiff_t>(hlen));
  const std::size_t from = 32 + text.find("\"quant\"");
  REQUIRE(from > 32);
  int errors = 0, loads = 0;
  for (std::size_t at = from; at < 32 + hlen; at += 3) {
    for (std::uint8_t x : {std::uint8_t{0x01}, std::uint8_t{0x20}, std::uint8_t{0x80}}) {
      auto b = valid;
      b[at] ^= x;
      FixCrc(b);
      auto r = ParseModel(b.data(), b.size(), "h.qm");
      if (r.ok()) {
        ++loads;
        CHECK(InferShapes(static_cast<const Model&>(*r)).ok());
        // Whatever loads obeys the rules: it could be saved again.
        CHECK(frontends::SerializeCheckpoint(*r, Trainer::State{}, "").ok());
      } else {
        ++errors;
        if (!Contains(r.status().message(), "h.qm: ")) FAIL_CHECK(r.status().message());
      }
    }
  }
  MESSAGE(errors << " errors, " << loads << " valid-but-different models");
  CHECK(errors > 5 * loads);
}

TEST_CASE("model_file/quant: random multi-byte damage to a quantized file (CRC fixed) never crashes") {
  const auto valid = SerializeModel(QuantizedZooModel("gru"));
  const std::size_t hlen = GetLe(valid, 24, 8);
  std::mt19937 rng(77);
  int loads = 0;
  for (int iter = 0; iter < 1000; ++iter) {
    auto b = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
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
  MESSAGE(loads << " of 1000 damaged quantized files still loaded");
}

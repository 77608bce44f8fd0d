// Model file: bit-exact round trips of every zoo model, the documented layout
// checked byte by byte, exact floats in the JSON header, odd strings.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
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

float FromBits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::uint32_t Bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

}  // namespace

TEST_CASE("model_file: every zoo model round-trips bit-exactly and re-serializes to the same bytes") {
  const auto archs = ZooArchitectures();
  REQUIRE(archs.size() >= 6);
  for (const std::string& arch : archs) {
    INFO("arch " << arch);
    Model m = ZooModel(arch);
    // Every bit pattern, NaNs included, in every parameter: InitializeParameters
    // leaves biases zero, which would hide a tensor that is never written.
    std::mt19937 rng(static_cast<unsigned>(arch.size()));
    for (auto& node : m.nodes)
      for (auto& p : node.params) {
        auto* bits = static_cast<std::uint32_t*>(p.value.raw());
        for (std::int64_t i = 0; i < p.value.elements(); ++i) bits[i] = static_cast<std::uint32_t>(rng());
      }
    m.metadata = {{"train.seed", "7"},
                  {"data", "fashion-mnist:train"},
                  {"", "empty key"},
                  {"quote\"back\\slash\nnewline", std::string("nul\0inside", 10)}};
    const std::vector<std::uint8_t> bytes = SerializeModel(m);
    auto back = ParseModel(bytes.data(), bytes.size(), arch + ".qm");
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CheckModelsIdentical(m, *back);
    CHECK(SerializeModel(*back) == bytes);
    CHECK(SerializeModel(m) == bytes);  // deterministic
  }
}

TEST_CASE("model_file: layout follows the documented container byte by byte") {
  Model m = ZooModel("lenet5");
  const auto b = SerializeModel(m);
  REQUIRE(b.size() > 64);
  CHECK(std::memcmp(b.data(), "QUALMMDL", 8) == 0);
  CHECK(GetLe(b, 8, 4) == frontends::kModelFileVersion);
  CHECK(frontends::kModelFileVersion == 2);
  CHECK(GetLe(b, 12, 4) == 0);
  CHECK(GetLe(b, 16, 8) == b.size());
  const std::uint64_t hlen = GetLe(b, 24, 8);
  const std::uint64_t data_start = Align64(32 + hlen);
  for (std::uint64_t i = 32 + hlen; i < data_start; ++i) CHECK(b[i] == 0);  // padding
  CHECK(GetLe(b, b.size() - 4, 4) == Crc(b.data(), b.size() - 4));
  const Parts p = SplitFile(b);
  CHECK(p.data.size() % 64 == 0);
  CHECK(p.header["data_bytes"].get<std::uint64_t>() == p.data.size());
  CHECK(p.header["arch"] == "lenet5");
  CHECK(p.header["input_shape"] == nlohmann::json({28, 28, 1}));
  REQUIRE(p.header["nodes"].size() == m.nodes.size());
  std::uint64_t prev_end = 0;
  int tensors = 0;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const auto& nj = p.header["nodes"][i];
    CHECK(nj["name"] == m.nodes[i].name);
    CHECK(nj["op"] == OpName(m.nodes[i].op));
    REQUIRE(nj["params"].size() == m.nodes[i].params.size());
    for (std::size_t k = 0; k < m.nodes[i].params.size(); ++k) {
      const auto& pj = nj["params"][k];
      const Tensor& t = m.nodes[i].params[k].value;
      const auto off = pj["offset"].get<std::uint64_t>();
      const auto n = pj["bytes"].get<std::uint64_t>();
      CHECK(pj["dtype"] == "f32");
      CHECK(off % 64 == 0);
      CHECK(off >= prev_end);
      CHECK(n == t.bytes());
      REQUIRE(off + n <= p.data.size());
      CHECK(std::memcmp(p.data.data() + off, t.raw(), n) == 0);
      prev_end = off + n;
      ++tensors;
    }
  }
  CHECK(tensors == 10);  // 5 layers x (weight, bias)
  // A float model still carries the (empty) quantization record.
  CHECK(p.header["quant"] == nlohmann::json::parse(R"({"scheme":"float","mode":"gemmlowp","info":[],"nodes":[]})"));
  // Op fields are listed by name, e.g. conv1's kernel.
  const auto& conv = p.header["nodes"][1];
  CHECK(conv["fields"]["kernel_h"] == 5);
  CHECK(conv["fields"].contains("has_bias"));
}

TEST_CASE("model_file: NaN payloads, infinities, -0 and denormals survive in parameters and op fields") {
  Model m = ZooModel("resnet20");
  int bn = 0;
  for (auto& node : m.nodes) {
    if (auto* op = std::get_if<BatchNormOp>(&node.op)) {
      // epsilon must stay positive for the graph to validate; momentum is free.
      op->epsilon = FromBits(0x00000001u);  // smallest denormal
      const std::uint32_t momenta[] = {0x7fa00001u, 0xffc12345u, 0x7f800000u, 0xff800000u, 0x80000000u, 0x3dcccccdu};
      op->momentum = FromBits(momenta[bn % 6]);
      ++bn;
    }
  }
  REQUIRE(bn >= 6);
  float* w = m.nodes[1].params[0].value.f32();
  w[0] = FromBits(0x7fa00001u);  // signalling NaN
  w[1] = FromBits(0xffffffffu);
  w[2] = -0.0f;
  w[3] = std::numeric_limits<float>::infinity();
  w[4] = std::numeric_limits<float>::denorm_min();
  const auto bytes = SerializeModel(m);
  auto back = ParseModel(bytes.data(), bytes.size(), "odd.qm");
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CheckModelsIdentical(m, *back);
  // Non-finite op floats are stored as bit strings, finite ones as numbers.
  const Parts p = SplitFile(bytes);
  bool saw_bits = false, saw_number = false;
  for (const auto& n : p.header["nodes"]) {
    if (n["op"] != "batch_norm") continue;
    saw_bits = saw_bits || n["fields"]["momentum"] == "0x7fa00001";
    saw_number = saw_number || n["fields"]["momentum"].is_number_float();
  }
  CHECK(saw_bits);
  CHECK(saw_number);
}

TEST_CASE("model_file: finite floats in the JSON header round-trip exactly (random bit patterns)") {
  Model m = TinyModel();
  std::mt19937 rng(12345);
  int tested = 0;
  for (int i = 0; i < 3000; ++i) {
    const float eps = std::fabs(FromBits(static_cast<std::uint32_t>(rng())));
    const float mom = FromBits(static_cast<std::uint32_t>(rng()));
    if (!std::isfinite(eps) || !(eps > 0.0f)) continue;
    auto& op = std::get<BatchNormOp>(m.nodes[1].op);
    op.epsilon = eps;
    op.momentum = mom;
    const auto bytes = SerializeModel(m);
    auto back = ParseModel(bytes.data(), bytes.size(), "f.qm");
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    const auto& op2 = std::get<BatchNormOp>(back->nodes[1].op);
    REQUIRE_MESSAGE(Bits(op2.epsilon) == Bits(eps), "epsilon bits " << Bits(eps));
    REQUIRE_MESSAGE(Bits(op2.momentum) == Bits(mom), "momentum bits " << Bits(mom));
    ++tested;
  }
  CHECK(tested > 2000);
}

TEST_CASE("model_file: strings that are not UTF-8 round-trip (hex-encoded in the header)") {
  Model m = TinyModel();
  m.arch = "ti\xffny";
  m.nodes[2].name = "fc\xc3";  // truncated UTF-8 sequence
  m.metadata["bad\xfe key"] = "bad \x80 value";
  m.metadata["ok"] = "na\xc3\xafve \xe2\x9c\x93";  // valid UTF-8 stays a JSON string
  const auto bytes = SerializeModel(m);
  auto back = ParseModel(bytes.data(), bytes.size(), "utf.qm");
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CheckModelsIdentical(m, *back);
  const Parts p = SplitFile(bytes);
  CHECK(p.header["arch"].is_object());
  CHECK(p.header["arch"]["hex"] == "7469ff6e79");
}

TEST_CASE("model_file: text models keep their int32 input type and frozen parameters keep trainable=false") {
  Model m = ZooModel("lstm");
  CHECK(m.input_type == SampleType::kInt32);
  m.nodes[1].params[0].trainable = false;  // a frozen embedding table
  const auto bytes = SerializeModel(m);
  auto back = ParseModel(bytes.data(), bytes.size(), "lstm.qm");
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CHECK(back->input_type == SampleType::kInt32);
  CHECK_FALSE(back->nodes[1].params[0].trainable);
  CheckModelsIdentical(m, *back);
}

TEST_CASE("model_file: SaveModel/LoadModel/InspectModelFile through the file system") {
  ScratchDir dir("mf-io");
  const std::string path = dir / "lenet1.qm";
  Model m = ZooModel("lenet1");
  m.metadata["note"] = "saved by a test";
  REQUIRE(frontends::SaveModel(m, path).ok());
  auto back = frontends::LoadModel(path);
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CheckModelsIdentical(m, *back);
  const auto bytes = ReadBytes(path);
  CHECK(bytes == SerializeModel(m));
  auto info = frontends::InspectModelFile(path);
  REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  CHECK(info->version == static_cast<int>(frontends::kModelFileVersion));
  CHECK(info->bytes == bytes.size());
  CHECK(info->crc == GetLe(bytes, bytes.size() - 4, 4));
  CHECK_FALSE(info->checkpoint);
}

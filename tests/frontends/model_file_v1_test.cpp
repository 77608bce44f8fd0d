// Model file version 1 stays readable: golden files written by the version-1
// writer (tests/frontends/data/, see its README.md), the trained models in
// study/results, and version-1 files made from version-2 bytes by the test's
// own converter all load as float models (Model::quant = QuantSpec{}).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "frontends/data_test_util.h"
#include "frontends/model_file_test_util.h"
#include "qualm/frontends/model_file.h"

namespace {

using namespace qualm;
using namespace qualm::testing;
using frontends::ParseModel;
using frontends::SerializeModel;

std::string DataPath(const std::string& name) { return std::string(QUALM_SOURCE_DIR) + "/tests/frontends/data/" + name; }

// The golden files' parameter values (the generator in data/README.md).
float PatternValue(std::size_t node, std::size_t param, std::int64_t e) {
  return static_cast<float>((node * 100 + param * 10 + static_cast<std::size_t>(e)) % 17) * 0.125f - 1.0f;
}

std::uint32_t Bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

void CheckGoldenModel(const Model& m) {
  CHECK(m.arch == "tiny");
  CHECK(m.input_shape == std::vector<std::int64_t>{4});
  CHECK(m.num_classes == 2);
  CHECK(m.metadata == std::map<std::string, std::string>{{"note", "golden v1 file"}, {"train.seed", "3"}});
  REQUIRE(m.nodes.size() == 3);
  CHECK(m.nodes[0].name == "input");
  CHECK(m.nodes[1].name == "bn");
  CHECK(std::holds_alternative<BatchNormOp>(m.nodes[1].op));
  CHECK(std::holds_alternative<DenseOp>(m.nodes[2].op));
  REQUIRE(m.nodes[1].params.size() == 4);
  CHECK_FALSE(m.nodes[1].params[2].trainable);
  for (std::size_t i = 0; i < m.nodes.size(); ++i)
    for (std::size_t k = 0; k < m.nodes[i].params.size(); ++k) {
      const Tensor& t = m.nodes[i].params[k].value;
      for (std::int64_t e = 0; e < t.elements(); ++e) {
        if (i == 2 && k == 0 && e < 3) continue;  // the special values below
        CHECK(Bits(t.f32()[e]) == Bits(PatternValue(i, k, e)));
      }
    }
  const float* w = m.nodes[2].params[0].value.f32();
  CHECK(Bits(w[0]) == 0x7fc01234u);
  CHECK(Bits(w[1]) == 0x80000000u);
  CHECK(Bits(w[2]) == 0x7f800000u);
  // Version 1 has no quantization record: a float model.
  CHECK(m.quant.scheme == QuantScheme::kFloat);
  CHECK(m.quant.mode == kernels::RequantMode::kGemmlowp);
  CHECK(m.quant.nodes.empty());
  CHECK(m.quant.info.empty());
}

// Version-2 bytes of a float model as version 1: the same container and data,
// the header without "quant" (what the version-1 writer produced).
std::vector<std::uint8_t> ToVersion1(const std::vector<std::uint8_t>& v2) {
  Parts p = SplitFile(v2);
  REQUIRE(p.version == 2);
  REQUIRE(p.header["quant"]["nodes"].empty());
  p.header.erase("quant");
  p.version = 1;
  return JoinFile(p);
}

}  // namespace

TEST_CASE("model_file/v1: the golden version-1 model loads as a float model") {
  const std::string path = DataPath("tiny_v1.qm");
  const auto bytes = ReadBytes(path);
  REQUIRE(bytes.size() == 1412);
  CHECK(GetLe(bytes, 8, 4) == 1);
  auto info = frontends::InspectModelFile(path);
  REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  CHECK(info->version == 1);
  CHECK_FALSE(info->checkpoint);
  auto m = frontends::LoadModel(path);
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  CheckGoldenModel(*m);
  // Saved again it is a version-2 file whose header is the version-1 header
  // plus the float "quant" record, with the same data section.
  const auto v2 = SerializeModel(*m);
  const Parts old_parts = SplitFile(bytes), new_parts = SplitFile(v2);
  CHECK(new_parts.version == 2);
  CHECK(new_parts.data == old_parts.data);
  nlohmann::json stripped = new_parts.header;
  CHECK(stripped["quant"] == nlohmann::json::parse(R"({"scheme":"float","mode":"gemmlowp","info":[],"nodes":[]})"));
  stripped.erase("quant");
  CHECK(stripped == old_parts.header);
  auto back = ParseModel(v2.data(), v2.size(), "v2.qm");
  REQUIRE(back.ok());
  CheckModelsIdentical(*m, *back);
  // The converter below reproduces the version-1 writer exactly.
  CHECK(ToVersion1(v2) == bytes);
}

TEST_CASE("model_file/v1: the golden version-1 checkpoint resumes with its state") {
  const std::string path = DataPath("tiny_v1_checkpoint.qm");
  auto info = frontends::InspectModelFile(path);
  REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  CHECK(info->version == 1);
  CHECK(info->checkpoint);
  auto ck = frontends::LoadCheckpoint(path);
  REQUIRE_MESSAGE(ck.ok(), ck.status().ToString());
  CheckGoldenModel(ck->model);
  CHECK(ck->state.epochs_done == 2);
  CHECK(ck->state.steps == 17);
  CHECK(ck->config_json == "{\"lr\":0.1}");
  CHECK(ck->state.slot2.empty());
  REQUIRE(ck->state.slot1.size() == 3);
  const Tensor& slot = ck->state.slot1[2][0];
  REQUIRE(slot.elements() == 8);
  for (std::int64_t e = 0; e < 8; ++e) CHECK(slot.f32()[e] == 0.5f * static_cast<float>(e) - 0.25f);
  // Re-saved as version 2, the checkpoint round-trips.
  auto again = frontends::SerializeCheckpoint(ck->model, ck->state, ck->config_json);
  REQUIRE(again.ok());
  CHECK(GetLe(*again, 8, 4) == 2);
  auto back = frontends::ParseCheckpoint(again->data(), again->size(), "c2.qm");
  REQUIRE_MESSAGE(back.ok(), back.status().ToString());
  CheckModelsIdentical(ck->model, back->model);
  CHECK(back->state.steps == 17);
}

TEST_CASE("model_file/v1: the trained version-1 models in study/results still load") {
  const std::string dir = std::string(QUALM_SOURCE_DIR) + "/study/results/models-2026-11-25";
  if (!std::filesystem::exists(dir + "/lenet1.qm")) {
    MESSAGE("skipped: " << dir << " not present");
    return;
  }
  for (const char* name : {"lenet1.qm", "lenet5.qm"}) {
    INFO(name);
    auto info = frontends::InspectModelFile(dir + "/" + name);
    REQUIRE_MESSAGE(info.ok(), info.status().ToString());
    CHECK(info->version == 1);
    auto m = frontends::LoadModel(dir + "/" + name);
    REQUIRE_MESSAGE(m.ok(), m.status().ToString());
    CHECK(m->quant.scheme == QuantScheme::kFloat);
    CHECK(m->metadata.count("train.seed") == 1);
  }
}

TEST_CASE("model_file/v1: version-1 files of every zoo model load identically to their version-2 form") {
  for (const std::string& arch : ZooArchitectures()) {
    INFO("arch " << arch);
    Model m = ZooModel(arch);
    m.metadata.emplace("k", std::string("v"));
    const auto v1 = ToVersion1(SerializeModel(m));
    auto back = ParseModel(v1.data(), v1.size(), arch + ".qm");
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CheckModelsIdentical(m, *back);
  }
  // A version-1 header in a version-2 file lacks "quant".
  Parts p = SplitFile(ToVersion1(SerializeModel(TinyModel())));
  p.version = 2;
  ExpectParseError(JoinFile(p), "m.qm", "header is missing 'quant' (required from version 2 on)");
}

// The model-set runner (the main job's first stage) on slices of the real data:
// writes its summary atomically, records provenance, and a second run keeps
// the finished model instead of retraining it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qualm/study/model_set.h"
#include "qualm/study/variants.h"

namespace qualm::study {
namespace {

bool FashionMnistInstalled() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
}

TEST_CASE("model set: trains, evaluates, summarizes, and keeps finished models on a rerun") {
  if (!FashionMnistInstalled()) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("qualm-model-set-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ModelSetOptions o;
  o.out_dir = dir.string();
  o.archs = {"lenet1"};
  o.epochs = 1;
  o.threads = 2;
  o.data_options.limit = 256;
  std::vector<std::string> messages;
  ModelSetCallbacks cb;
  cb.message = [&](const std::string& m) { messages.push_back(m); };
  auto rows = RunModelSet(o, cb);
  REQUIRE_MESSAGE(rows.ok(), rows.status().ToString());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].evals.size() == 1);
  CHECK((*rows)[0].evals[0].data == "fashion-mnist:test");
  CHECK((*rows)[0].evals[0].count == 256);
  CHECK((*rows)[0].path.find("fast") != std::string::npos);

  std::ifstream in(dir / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  CHECK(summary["models"].size() == 1);
  CHECK(summary["models"][0]["arch"] == "lenet1");
  CHECK(summary["seed"] == 1);
  CHECK(std::filesystem::exists(dir / "summary.md"));
  const auto trained_at = std::filesystem::last_write_time(dir / "lenet1.qm");

  messages.clear();
  auto again = RunModelSet(o, cb);
  REQUIRE(again.ok());
  bool kept = false;
  for (const auto& m : messages) kept |= m.find("already trained") != std::string::npos;
  CHECK(kept);
  CHECK(std::filesystem::last_write_time(dir / "lenet1.qm") == trained_at);
  CHECK((*again)[0].evals[0].accuracy == (*rows)[0].evals[0].accuracy);

  // A different configuration retrains instead of reusing a stale model.
  o.seed = 2;
  messages.clear();
  auto other = RunModelSet(o, cb);
  REQUIRE(other.ok());
  bool retrained = false;
  for (const auto& m : messages) retrained |= m.find("retraining") != std::string::npos;
  CHECK(retrained);
  std::filesystem::remove_all(dir);
}

TEST_CASE("model set: quantized variants are compared and kept on a rerun") {
  if (!FashionMnistInstalled()) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("qualm-variants-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ModelSetOptions o;
  o.out_dir = dir.string();
  o.archs = {"lenet1"};
  o.epochs = 1;
  o.threads = 2;
  o.data_options.limit = 300;
  auto rows = RunModelSet(o);
  REQUIRE_MESSAGE(rows.ok(), rows.status().ToString());
  VariantOptions vo;
  vo.out_dir = o.out_dir;
  vo.threads = 2;
  vo.data_options = o.data_options;
  vo.schemes = {"int8", "fp16-weights"};
  auto v = RunVariants(*rows, vo);
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  REQUIRE(v->size() == 2);
  CHECK((*v)[0].scheme == "int8");
  CHECK((*v)[0].count == 300);
  CHECK((*v)[0].path.find("int8") != std::string::npos);
  CHECK((*v)[0].float_accuracy == (*rows)[0].evals[0].accuracy);
  CHECK(std::filesystem::exists(dir / "lenet1.int8.qm"));
  for (std::size_t i : (*v)[0].disagreements) CHECK(i < 300);
  const std::string md = VariantsMarkdown(*v);
  CHECK(md.find("| lenet1 | int8 | fashion-mnist:test |") != std::string::npos);

  std::vector<std::string> messages;
  const auto written = std::filesystem::last_write_time(dir / "lenet1.int8.qm");
  auto again = RunVariants(*rows, vo, [&](const std::string& m) { messages.push_back(m); });
  REQUIRE(again.ok());
  int kept = 0;
  for (const auto& m : messages) kept += m.find("results kept") != std::string::npos;
  CHECK(kept == 2);
  CHECK(std::filesystem::last_write_time(dir / "lenet1.int8.qm") == written);
  CHECK((*again)[0].disagreements == (*v)[0].disagreements);

  // Another calibration size is another result: recomputed, not reused.
  vo.calibration_samples = 50;
  messages.clear();
  auto other = RunVariants(*rows, vo, [&](const std::string& m) { messages.push_back(m); });
  REQUIRE(other.ok());
  kept = 0;
  for (const auto& m : messages) kept += m.find("results kept") != std::string::npos;
  CHECK(kept == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qualm::study

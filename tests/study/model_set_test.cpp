// The model-set runner (the main job's first stage) on slices of the real data:
// writes its summary atomically, records provenance, and a second run keeps
// the finished model instead of retraining it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qualm/study/model_set.h"

namespace qualm {
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

}  // namespace
}  // namespace qualm

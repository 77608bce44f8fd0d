// The spam-brief task and text transforms on the real SpamAssassin corpus:
// sizes, sequence length, a deterministic balanced split, the model metadata
// that re-reads it, and transforms applied to evaluation sets only.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "qualm/frontends/data_spec.h"
#include "qualm/frontends/datasets.h"
#include "qualm/frontends/spam_assassin.h"

namespace qualm::frontends {
namespace {

std::string SpamDir() { return std::string(QUALM_SOURCE_DIR) + "/data/spam-assassin/package/data"; }
bool HaveCorpus() { return std::filesystem::exists(SpamDir() + "/easy-ham-1"); }

std::vector<std::size_t> Histogram(const Dataset& ds) {
  std::vector<std::size_t> h(static_cast<std::size_t>(ds.num_classes), 0);
  for (auto l : ds.labels) ++h[static_cast<std::size_t>(l)];
  return h;
}

}  // namespace

TEST_CASE("data/text task: spam-brief sets have the documented sizes, 8 tokens, 500 ids, a deterministic split") {
  if (!HaveCorpus()) {
    MESSAGE("skipped: SpamAssassin corpus not found in " << SpamDir());
    return;
  }
  const SpamTask* task = FindSpamTask("spam-brief");
  REQUIRE(task != nullptr);
  CHECK(task->seq_len == 8);
  CHECK(FindSpamTask("spam")->seq_len == 200);
  CHECK(FindSpamTask("spam-nope") == nullptr);

  DataSpecOptions options;
  options.spam_dir = SpamDir();
  auto training = LoadTrainingData("spam-brief", options);
  REQUIRE_MESSAGE(training.ok(), training.status().ToString());
  CHECK(training->train.name == "spam-brief:train");
  CHECK(training->train.size() == 550);
  REQUIRE(training->validation.has_value());
  CHECK(training->validation->size() == 150);
  CHECK(Histogram(training->train) == std::vector<std::size_t>{275, 275});
  CHECK(Histogram(*training->validation) == std::vector<std::size_t>{75, 75});
  CHECK(training->train.sample_shape == std::vector<int>{8});
  CHECK(training->model_metadata.at("text.seq_len") == "8");
  CHECK(training->model_metadata.at("text.vocab_size") == "500");

  // A model carrying that metadata reads every evaluation set of the task.
  Model model;
  model.arch = "gru";
  model.input_type = SampleType::kInt32;
  model.input_shape = {8};
  model.metadata = training->model_metadata;
  model.metadata["train.data"] = "spam-brief";
  CHECK(DefaultTestData(model) == "spam-brief:test");
  const std::pair<const char*, std::vector<std::size_t>> sets[] = {
      {"spam-brief:test", {150, 150}}, {"spam-brief:hard-ham", {250, 0}}, {"spam-brief:later", {1400, 1396}}};
  for (const auto& set : sets) {
    // Not a structured binding: clang 14 (the sanitize preset) cannot capture one in INFO's lambda.
    const char* spec = set.first;
    const std::vector<std::size_t>& histogram = set.second;
    INFO(spec);
    auto ds = LoadEvalData(spec, model, options);
    REQUIRE_MESSAGE(ds.ok(), ds.status().ToString());
    CHECK(ds->name == spec);
    CHECK(Histogram(*ds) == histogram);
    CHECK(ds->sample_shape == std::vector<int>{8});
    for (auto id : ds->i32) CHECK((id >= 0 && id < 500));
  }
  auto calibration = LoadModelTrainingSplit(model, options);
  REQUIRE(calibration.ok());
  CHECK(calibration->i32 == training->train.i32);

  // The same split again (and the test set disjoint from train): deterministic.
  auto corpus1 = LoadSpamAssassinCorpus([&] {
    SpamAssassinOptions o;
    o.data_dir = SpamDir();
    o.balanced = true;
    o.validation_fraction = task->validation_fraction;
    o.test_fraction = task->test_fraction;
    return o;
  }());
  REQUIRE(corpus1.ok());
  auto again = LoadTrainingData("spam-brief", options);
  REQUIRE(again.ok());
  CHECK(again->train.i32 == training->train.i32);
  CHECK(again->model_metadata == training->model_metadata);
  const std::set<std::string> train_files(corpus1->train.sources.begin(), corpus1->train.sources.end());
  for (const auto& f : corpus1->test.sources) CHECK(train_files.count(f) == 0);
  CHECK(corpus1->train.size() == 550);
  CHECK(corpus1->test.size() == 300);
}

TEST_CASE("data/text task: a text transform changes evaluation sets by document index, never training data") {
  if (!HaveCorpus()) {
    MESSAGE("skipped: SpamAssassin corpus not found in " << SpamDir());
    return;
  }
  DataSpecOptions options;
  options.spam_dir = SpamDir();
  auto training = LoadTrainingData("spam-brief", options);
  REQUIRE(training.ok());
  Model model;
  model.arch = "gru";
  model.input_type = SampleType::kInt32;
  model.input_shape = {8};
  model.metadata = training->model_metadata;
  model.metadata["train.data"] = "spam-brief";
  auto clean = LoadEvalData("spam-brief:test", model, options);
  REQUIRE(clean.ok());

  // Every odd-indexed document becomes one known word, the others stay.
  DataSpecOptions shifted = options;
  std::vector<std::size_t> seen;
  shifted.text_transform = [&](std::string_view text, std::size_t index) {
    seen.push_back(index);
    return index % 2 ? std::string("free") : std::string(text);
  };
  auto ds = LoadEvalData("spam-brief:test", model, shifted);
  REQUIRE_MESSAGE(ds.ok(), ds.status().ToString());
  REQUIRE(seen.size() == 300);
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i);
  const std::size_t L = 8;
  for (std::size_t i = 0; i < ds->size(); ++i) {
    const std::vector<std::int32_t> a(clean->i32.begin() + i * L, clean->i32.begin() + (i + 1) * L);
    const std::vector<std::int32_t> b(ds->i32.begin() + i * L, ds->i32.begin() + (i + 1) * L);
    if (i % 2 == 0) {
      CHECK(a == b);
    } else {
      CHECK(std::count(b.begin(), b.end(), kPadId) == 7);
      CHECK(b[7] != kUnknownId);  // "free" is in the vocabulary
    }
  }
  // Training data and the calibration split ignore the transform.
  seen.clear();
  auto train = LoadTrainingData("spam-brief", shifted);
  REQUIRE(train.ok());
  CHECK(train->train.i32 == training->train.i32);
  auto calibration = LoadModelTrainingSplit(model, shifted);
  REQUIRE(calibration.ok());
  CHECK(seen.empty());
  // An image set cannot be read through a text transform.
  DataOptions images;
  images.text_transform = shifted.text_transform;
  auto bad = LoadNamedDataset("fashion-mnist:test", images);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("not a text data set") != std::string::npos);
}

}  // namespace qualm::frontends

// Named data-set specs on files generated here (a fake Fashion-MNIST directory,
// IDX, image and text folders), and the real data sets when they are present.
#include <doctest/doctest.h>

#include <chrono>
#include <map>

#include "frontends/data_test_util.h"
#include "qualm/frontends/datasets.h"
#include "qualm/frontends/idx.h"
#include "qualm/frontends/spam_assassin.h"

namespace {

using qualm::frontends::DataOptions;
using qualm::frontends::LoadNamedDataset;
using qualm::testing::ScratchDir;

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// n images of 2x2 whose first pixel encodes the index (i % 256), labels i % 10.
qualm::Dataset Tiny(std::size_t n) {
  qualm::Dataset ds;
  ds.sample_shape = {2, 2, 1};
  for (std::size_t i = 0; i < n; ++i) {
    ds.f32.insert(ds.f32.end(), {static_cast<float>(i % 256) / 255.0f, static_cast<float>(i / 256) / 255.0f, 0, 1});
    ds.labels.push_back(static_cast<std::int32_t>(i % 10));
  }
  return ds;
}

std::vector<std::size_t> Histogram(const qualm::Dataset& ds) {
  std::vector<std::size_t> h(static_cast<std::size_t>(ds.num_classes), 0);
  for (auto l : ds.labels) ++h[static_cast<std::size_t>(l)];
  return h;
}

}  // namespace

TEST_CASE("data/datasets: fashion-mnist specs on a fake directory - validation split and limit") {
  ScratchDir dir("fm");
  REQUIRE(qualm::frontends::SaveIdxPair(Tiny(6000), dir / "train-images-idx3-ubyte.gz",
                                        dir / "train-labels-idx1-ubyte.gz").ok());
  REQUIRE(qualm::frontends::SaveIdxPair(Tiny(30), dir / "t10k-images-idx3-ubyte.gz",
                                        dir / "t10k-labels-idx1-ubyte.gz").ok());
  DataOptions opt;
  opt.fashion_mnist_dir = dir.path().string();
  auto train = LoadNamedDataset("fashion-mnist:train", opt);
  auto val = LoadNamedDataset("fashion-mnist:validation", opt);
  auto full = LoadNamedDataset("fashion-mnist:train-full", opt);
  auto test = LoadNamedDataset("fashion-mnist:test", opt);
  REQUIRE_MESSAGE(train.ok(), train.status().ToString());
  REQUIRE(val.ok());
  REQUIRE(full.ok());
  REQUIRE(test.ok());
  CHECK(train->size() == 1000);
  CHECK(val->size() == 5000);
  CHECK(full->size() == 6000);
  CHECK(test->size() == 30);
  CHECK(train->name == "fashion-mnist:train");
  CHECK(val->name == "fashion-mnist:validation");
  CHECK(test->class_names.at(9) == "Ankle boot");
  // Disjoint and complete: the (first, second pixel) pairs identify samples.
  std::map<std::pair<float, float>, int> seen;
  for (const auto* ds : {&*train, &*val}) {
    for (std::size_t i = 0; i < ds->size(); ++i) ++seen[{ds->f32[4 * i], ds->f32[4 * i + 1]}];
  }
  CHECK(seen.size() == 6000);

  // limit: a prefix of the unlimited set.
  opt.limit = 7;
  auto lim = LoadNamedDataset("fashion-mnist:train", opt);
  REQUIRE(lim.ok());
  CHECK(lim->size() == 7);
  CHECK(std::equal(lim->f32.begin(), lim->f32.end(), train->f32.begin()));
  auto lim_test = LoadNamedDataset("fashion-mnist:test", opt);
  REQUIRE(lim_test.ok());
  CHECK(lim_test->size() == 7);

  opt.fashion_mnist_dir = dir / "missing";
  auto missing = LoadNamedDataset("fashion-mnist:test", opt);
  REQUIRE_FALSE(missing.ok());
  CHECK(Has(missing.status().message(), "t10k-images-idx3-ubyte.gz"));
  CHECK(Has(missing.status().message(), "dataset-fashion-mnist"));
}

TEST_CASE("data/datasets: idx - images - text specs and bad specs") {
  ScratchDir dir("specs");
  REQUIRE(qualm::frontends::SaveIdxPair(Tiny(12), dir / "i.gz", dir / "l.gz").ok());
  DataOptions opt;
  auto idx = LoadNamedDataset("idx:" + (dir / "i.gz") + "," + (dir / "l.gz"), opt);
  REQUIRE_MESSAGE(idx.ok(), idx.status().ToString());
  CHECK(idx->size() == 12);
  CHECK_FALSE(LoadNamedDataset("idx:" + (dir / "i.gz"), opt).ok());

  qualm::testing::WriteText(dir / "txt/neg/1.txt", "bad awful bad");
  qualm::testing::WriteText(dir / "txt/pos/1.txt", "good great good");
  qualm::testing::WriteText(dir / "txt/pos/2.txt", "good");
  opt.seq_len = 4;
  auto text = LoadNamedDataset("text:" + (dir / "txt"), opt);
  REQUIRE_MESSAGE(text.ok(), text.status().ToString());
  CHECK(text->size() == 3);
  CHECK(text->sample_shape == std::vector<int>{4});
  auto vocab = qualm::frontends::NamedDatasetVocabulary("text:" + (dir / "txt"), opt);
  REQUIRE(vocab.ok());
  CHECK(vocab->tokens() == std::vector<std::string>{"<pad>", "<unk>", "good", "bad"});
  CHECK(text->i32 == std::vector<std::int32_t>{0, 3, 1, 3, 0, 2, 1, 2, 0, 0, 0, 2});
  // With a given vocabulary.
  opt.vocabulary = std::make_shared<qualm::frontends::Vocabulary>(
      *qualm::frontends::Vocabulary::FromTokens({"<pad>", "<unk>", "great"}));
  text = LoadNamedDataset("text:" + (dir / "txt"), opt);
  REQUIRE(text.ok());
  CHECK(text->i32 == std::vector<std::int32_t>{0, 1, 1, 1, 0, 1, 2, 1, 0, 0, 0, 1});
  CHECK_FALSE(qualm::frontends::NamedDatasetVocabulary("fashion-mnist:test", opt).ok());

  auto images = LoadNamedDataset("images:" + (dir / "no-such-folder"), opt);
  REQUIRE_FALSE(images.ok());
  CHECK(Has(images.status().message(), "no-such-folder"));

  for (const char* bad : {"fashion-mnist", "fashion-mnist:", "fashion-mnist:dev", "spam:nope", "mnist:test"}) {
    auto r = LoadNamedDataset(bad, opt);
    CHECK_FALSE(r.ok());
  }
  CHECK(Has(LoadNamedDataset("cifar:test", opt).status().message(), "fashion-mnist:train"));
}

TEST_CASE("data/datasets: real Fashion-MNIST if installed - 10000 test images with 1000 per class and the 55k/5k split") {
  const std::string dir = qualm::frontends::kDefaultFashionMnistDir;
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: Fashion-MNIST not installed in " << dir << " (scripts/setup.sh installs it)");
    return;
  }
  auto test = LoadNamedDataset("fashion-mnist:test");
  REQUIRE_MESSAGE(test.ok(), test.status().ToString());
  CHECK(test->size() == 10000);
  CHECK(test->sample_shape == std::vector<int>{28, 28, 1});
  CHECK(test->num_classes == 10);
  CHECK(Histogram(*test) == std::vector<std::size_t>(10, 1000));
  float lo = 1, hi = 0;
  for (float v : test->f32) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);

  auto val = LoadNamedDataset("fashion-mnist:validation");
  REQUIRE(val.ok());
  CHECK(val->size() == 5000);
  std::size_t total = 0;
  for (auto c : Histogram(*val)) {
    CHECK(c > 400);  // a seeded draw, roughly 500 per class
    CHECK(c < 600);
    total += c;
  }
  CHECK(total == 5000);
  std::string hist;
  for (auto c : Histogram(*val)) {
    hist += ' ';
    hist += std::to_string(c);
  }
  MESSAGE("fashion-mnist:validation class histogram:" << hist);
}

TEST_CASE("data/datasets: real SpamAssassin corpus if unpacked - group counts and splits and load time") {
  qualm::frontends::SpamAssassinOptions opt;  // default: <repo>/data/spam-assassin/package/data
  const std::string dir = qualm::frontends::DefaultSpamAssassinDir();
  if (!std::filesystem::exists(dir + "/easy-ham-1")) {
    MESSAGE("skipped: SpamAssassin corpus not found in " << dir << " (run scripts/setup.sh)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto corpus = qualm::frontends::LoadSpamAssassinCorpus(opt);
  REQUIRE_MESSAGE(corpus.ok(), corpus.status().ToString());
  const auto sets = qualm::frontends::EncodeSpamAssassin(*corpus, opt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::map<std::string, std::size_t> groups;
  for (const auto* c : {&corpus->train, &corpus->validation, &corpus->test, &corpus->hard_ham, &corpus->later}) {
    for (const auto& src : c->sources) ++groups[std::filesystem::path(src).parent_path().filename().string()];
  }
  CHECK(groups["easy-ham-1"] == 2500);
  CHECK(groups["easy-ham-2"] == 1400);
  CHECK(groups["hard-ham-1"] == 250);
  CHECK(groups["spam-1"] == 500);
  CHECK(groups["spam-2"] == 1396);
  CHECK(sets.train.size() == 2100);
  CHECK(sets.validation.size() == 300);
  CHECK(sets.test.size() == 600);
  CHECK(sets.hard_ham.size() == 250);
  CHECK(sets.later.size() == 2796);
  CHECK(Histogram(sets.train) == std::vector<std::size_t>{1750, 350});
  CHECK(Histogram(sets.test) == std::vector<std::size_t>{500, 100});
  CHECK(Histogram(sets.later) == std::vector<std::size_t>{1400, 1396});
  CHECK(sets.train.sample_shape == std::vector<int>{200});
  CHECK(sets.vocabulary.size() > 5000);
  CHECK(sets.vocabulary.size() <= 20000);
  CHECK(seconds < 10.0);  // budget 5 s on a loaded 2-core machine; this only catches gross regressions
  MESSAGE("SpamAssassin: loaded and encoded in " << seconds << " s, vocabulary " << sets.vocabulary.size()
                                                 << " ids");
}

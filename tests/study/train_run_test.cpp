// The resumable training run: stopping after an epoch and resuming from the
// checkpoint file gives bit-identical weights to an uninterrupted run, and a
// finished model records its provenance.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "qualm/engine/random.h"
#include "qualm/frontends/idx.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/train_run.h"

namespace qualm::study {
namespace {

// Three classes of 20x20 images told apart by which third is bright; saved as IDX.
std::string WriteToyIdx(const std::filesystem::path& dir) {
  Dataset d;
  d.name = "toy";
  d.sample_shape = {20, 20, 1};
  d.num_classes = 3;
  Rng rng(11);
  for (int i = 0; i < 300; ++i) {
    const int c = static_cast<int>(rng.Below(3));
    d.labels.push_back(c);
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 20; ++x) d.f32.push_back((y / 7 == c ? 0.7f : 0.1f) + 0.3f * rng.Uniform());
  }
  const std::string images = (dir / "images.gz").string(), labels = (dir / "labels.gz").string();
  REQUIRE(frontends::SaveIdxPair(d, images, labels).ok());
  return "idx:" + images + "," + labels;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("qualm-train-run-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TrainRunOptions Options(const std::string& spec, const std::string& out, OptimizerKind opt) {
  TrainRunOptions o;
  o.arch = "lenet1";
  o.data = spec;
  o.output = out;
  o.config.epochs = 3;
  o.config.batch_size = 16;
  o.config.optimizer = opt;
  o.config.lr = opt == OptimizerKind::kAdam ? 2e-3f : 0.05f;
  o.config.threads = 2;
  o.config.augment_shift = 1;
  o.data_options.image_shape = {20, 20, 1};
  return o;
}

TEST_CASE("train run: interrupted and resumed equals uninterrupted, bit for bit") {
  TempDir tmp;
  const std::string spec = WriteToyIdx(tmp.path);
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    INFO(std::string(OptimizerName(opt)));
    const std::string a = (tmp.path / "a.qm").string(), b = (tmp.path / "b.qm").string();
    auto ra = RunTraining(Options(spec, a, opt));
    REQUIRE_MESSAGE(ra.ok(), ra.status().ToString());
    CHECK(ra->finished);

    TrainRunOptions ob = Options(spec, b, opt);
    ob.max_epochs_this_run = 1;
    auto rb1 = RunTraining(ob);
    REQUIRE_MESSAGE(rb1.ok(), rb1.status().ToString());
    CHECK_FALSE(rb1->finished);
    CHECK(std::filesystem::exists(b + ".ckpt"));
    CHECK_FALSE(std::filesystem::exists(b));
    ob.max_epochs_this_run = 0;
    auto rb2 = RunTraining(ob);
    REQUIRE_MESSAGE(rb2.ok(), rb2.status().ToString());
    CHECK(rb2->resumed_from_epoch == 1);
    CHECK_FALSE(std::filesystem::exists(b + ".ckpt"));

    auto ma = frontends::LoadModel(a), mb = frontends::LoadModel(b);
    REQUIRE(ma.ok());
    REQUIRE(mb.ok());
    for (std::size_t i = 0; i < ma->nodes.size(); ++i)
      for (std::size_t k = 0; k < ma->nodes[i].params.size(); ++k) {
        INFO(ma->nodes[i].name << "." << ma->nodes[i].params[k].name);
        const Tensor& ta = ma->nodes[i].params[k].value;
        const Tensor& tb = mb->nodes[i].params[k].value;
        CHECK(std::memcmp(ta.raw(), tb.raw(), ta.bytes()) == 0);
      }
    CHECK(ma->metadata.at("train.seed") == "1");
    CHECK(ma->metadata.at("train.config") == mb->metadata.at("train.config"));
    CHECK(ma->metadata.count("train.path") == 1);
    CHECK(ma->metadata.count("train.history") == 1);
    std::filesystem::remove(a);
    std::filesystem::remove(b);
  }
}

TEST_CASE("train run: QAT interrupted and resumed equals uninterrupted - int8 model bit for bit") {
  TempDir tmp;
  const std::string spec = WriteToyIdx(tmp.path);
  const std::string a = (tmp.path / "qa.qm").string(), b = (tmp.path / "qb.qm").string();
  auto options = [&](const std::string& out) {
    TrainRunOptions o = Options(spec, out, OptimizerKind::kSgd);
    o.qat = true;
    o.qat_options.max_batch = 16;
    o.qat_check_data = spec;
    return o;
  };
  auto ra = RunTraining(options(a));
  REQUIRE_MESSAGE(ra.ok(), ra.status().ToString());
  REQUIRE(ra->qat_check.has_value());
  CHECK(ra->qat_check->disagreements.empty());
  CHECK(ra->qat_check->max_units() == 0);

  TrainRunOptions ob = options(b);
  ob.max_epochs_this_run = 1;
  auto rb1 = RunTraining(ob);
  REQUIRE_MESSAGE(rb1.ok(), rb1.status().ToString());
  CHECK(std::filesystem::exists(b + ".ckpt"));
  // A different QAT observer must not resume this checkpoint.
  TrainRunOptions other = options(b);
  other.qat_options.observer = MinMaxOptions{};
  CHECK_FALSE(RunTraining(other).ok());
  ob.max_epochs_this_run = 0;
  auto rb2 = RunTraining(ob);
  REQUIRE_MESSAGE(rb2.ok(), rb2.status().ToString());
  CHECK(rb2->resumed_from_epoch == 1);

  auto ma = frontends::LoadModel(a), mb = frontends::LoadModel(b);
  REQUIRE(ma.ok());
  REQUIRE(mb.ok());
  CHECK(ma->quant.scheme == QuantScheme::kInt8);
  CHECK(ma->metadata.count("qat.state") == 0);
  for (std::size_t i = 0; i < ma->nodes.size(); ++i) {
    INFO(ma->nodes[i].name);
    const NodeQuant& qa = ma->quant.nodes[i];
    const NodeQuant& qb = mb->quant.nodes[i];
    CHECK(qa.output.scale == qb.output.scale);
    CHECK(qa.output.zero_point == qb.output.zero_point);
    REQUIRE(qa.constants.size() == qb.constants.size());
    for (std::size_t k = 0; k < qa.constants.size(); ++k)
      CHECK(std::memcmp(qa.constants[k].value.raw(), qb.constants[k].value.raw(), qa.constants[k].value.bytes()) == 0);
  }
}

}  // namespace
}  // namespace qualm::study

// A small study end to end on slices of Fashion-MNIST: the records agree with
// the tables, a rerun computes nothing, the same seed reproduces the models'
// outputs bit for bit and another seed does not, and two shards merged give
// byte-identical tables to the unsharded run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tiny_study.h"
#include "qualm/study/npy.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_report.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace {
namespace fs = std::filesystem;

using testing::Slurp;

StudySpec Tiny() {
  return testing::TinyStudy("tiny", {1, 2}, {"int8", "dynamic", "bf16-weights"},
                            {ImageShiftNames().front(), ImageShiftNames().back()}, {2, 5});
}

Result<StudyRunResult> Run(const StudySpec& s, const fs::path& dir, int shard = 1, int shards = 1) {
  StudyRunOptions o;
  o.out_dir = dir.string();
  o.runtime.threads = 1;
  o.shard_index = shard;
  o.shard_count = shards;
  return RunStudy(s, o);
}

}  // namespace

TEST_CASE("study run: records, tables, resume, seeds and shards agree") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  const fs::path root = fs::temp_directory_path() / ("qualm-study-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const StudySpec spec = Tiny();
  auto full = Run(spec, root / "full");
  REQUIRE_MESSAGE(full.ok(), full.status().ToString());
  CHECK(full->computed == full->cells);
  auto grid = ExpandStudy(spec, StudyRuntime{});
  REQUIRE(grid.ok());
  for (const auto& c : grid->cells) CHECK_MESSAGE(CellDone((root / "full").string(), c.id), c.label);

  // Every record's counts are what its .npy files give, and every rate lies in [0, 1].
  const auto records = nlohmann::json::parse(Slurp(root / "full/records.json"));
  CHECK(records["missing_cells"] == 0);
  // (standard, qat) x 2 seeds x 3 variants x (test, validation, 2 shifts x 2 severities)
  REQUIRE(records["records"].size() == 2 * 2 * 3 * 6);
  std::size_t any_disagreement = 0;
  for (const auto& r : records["records"]) {
    auto labels = ReadNpy((root / "full" / r["labels"].get<std::string>()).string());
    auto ft = ReadNpy((root / "full" / r["float_top1"].get<std::string>()).string());
    auto qt = ReadNpy((root / "full" / r["quantized_top1"].get<std::string>()).string());
    auto sm = ReadNpy((root / "full" / r["float_softmax"].get<std::string>()).string());
    REQUIRE(labels.ok());
    REQUIRE(ft.ok());
    REQUIRE(qt.ok());
    REQUIRE(sm.ok());
    CHECK(labels->i32.size() == 300);
    CHECK(sm->shape == std::vector<std::size_t>{300, 10});
    std::size_t d = 0, fc = 0;
    for (std::size_t i = 0; i < ft->i32.size(); ++i) {
      d += ft->i32[i] != qt->i32[i];
      fc += ft->i32[i] == labels->i32[i];
      // The float top-1 is the argmax of the stored softmax (ties to the lowest index).
      const float* row = &sm->f32[i * 10];
      CHECK(ft->i32[i] == static_cast<int>(std::max_element(row, row + 10) - row));
    }
    CHECK(r["disagreements"].get<std::size_t>() == d);
    CHECK(r["right_to_wrong"].get<std::size_t>() + r["wrong_to_right"].get<std::size_t>() +
              r["wrong_to_wrong"].get<std::size_t>() == d);
    CHECK(r["float_accuracy"].get<double>() == doctest::Approx(static_cast<double>(fc) / 300.0));
    const double rate = r["disagreement_rate"].get<double>();
    CHECK(rate >= 0.0);
    CHECK(rate <= 1.0);
    any_disagreement += d;
  }
  CHECK(any_disagreement > 0);  // int8 and dynamic flip some inputs: a grid of zeros measures nothing
  const std::string md = Slurp(root / "full/results.md");
  CHECK(md.find("| lenet1@fashion-mnist | qat | int8 |") != std::string::npos);
  CHECK(md.find("Incomplete") == std::string::npos);

  // A rerun computes nothing and rewrites identical tables.
  auto again = Run(spec, root / "full");
  REQUIRE(again.ok());
  CHECK(again->computed == 0);
  CHECK(Slurp(root / "full/results.md") == md);

  // Two shards, merged: byte-identical tables, and the same seed gave the same
  // model outputs bit for bit (every cell's id is its configuration).
  REQUIRE(Run(spec, root / "s1", 1, 2).ok());
  REQUIRE(Run(spec, root / "s2", 2, 2).ok());
  CHECK(!MergeStudies((root / "m1").string(), {(root / "s1").string()}).ok());  // a shard is missing
  Status merged = MergeStudies((root / "merged").string(), {(root / "s1").string(), (root / "s2").string()});
  REQUIRE_MESSAGE(merged.ok(), merged.ToString());
  for (const char* f : {"results.md", "results.json", "records.json"})
    CHECK_MESSAGE(Slurp(root / "full" / f) == Slurp(root / "merged" / f), f);
  std::string seed1, seed2;
  for (const auto& c : grid->cells) {
    if (c.kind != CellKind::kEval || c.variant != "float" || c.data != "fashion-mnist:test" || c.strategy != "standard")
      continue;
    const std::string a = Slurp(root / "full/cells" / c.id / "softmax.npy");
    CHECK(a == Slurp(root / "merged/cells" / c.id / "softmax.npy"));
    (c.seed == 1 ? seed1 : seed2) = a;
  }
  CHECK(!seed1.empty());
  CHECK(seed1 != seed2);

  // Status reads a folder without running anything.
  auto st = ReadStudyStatus((root / "merged").string());
  REQUIRE(st.ok());
  CHECK(st->done == st->total);
  CHECK(st->total == grid->cells.size());
  fs::remove_all(root);
}

}  // namespace qualm::study

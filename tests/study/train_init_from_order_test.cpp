// `train --init-from` checks its model file before it reads any data (issue
// 12: an empty .qm must fail at once, not after the data set has loaded).
// The data spec here names files that do not exist: if the data were read
// first, the error would name them instead of the model file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "qualm/study/recipes.h"
#include "qualm/study/train_run.h"

TEST_CASE("train/init-from: an empty or corrupt model file fails before the data is loaded") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("qualm-init-order-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string empty = (dir / "empty.qm").string();
  { std::ofstream(empty, std::ios::binary); }
  const std::string junk = (dir / "junk.qm").string();
  { std::ofstream(junk, std::ios::binary) << "QUALMMDL not really"; }
  for (const std::string& init : {empty, junk}) {
    INFO(init);
    qualm::study::TrainRunOptions o;
    o.arch = "lenet1";
    o.data = "idx:" + (dir / "no-images").string() + "," + (dir / "no-labels").string();
    o.output = (dir / "out.qm").string();
    o.init_from = init;
    o.config = qualm::study::FineTuneRecipe("lenet1");
    o.config.epochs = 1;
    o.config.threads = 1;
    auto r = qualm::study::RunTraining(o);
    REQUIRE_FALSE(r.ok());
    const std::string msg = r.status().message();
    CHECK_MESSAGE(msg.find(init) != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("no-images") == std::string::npos, msg);
  }
  CHECK_FALSE(fs::exists(dir / "out.qm"));
  fs::remove_all(dir);
}

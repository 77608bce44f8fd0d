// Early stopping on the validation split (TrainConfig::early_stopping_patience)
// in a real training run on the spam-brief task: the best epoch's weights are
// kept, recorded in the provenance, and a run interrupted every two epochs
// ends bit for bit where an uninterrupted one does.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "qualm/engine/evaluate.h"
#include "qualm/frontends/model_file.h"
#include "qualm/study/recipes.h"
#include "qualm/study/train_run.h"

namespace qualm::study {
namespace {

std::string SpamDir() { return std::string(QUALM_SOURCE_DIR) + "/data/spam-assassin/package/data"; }

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("qualm-early-stop-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TrainRunOptions BriefRun(const std::string& out) {
  TrainRunOptions o;
  o.arch = "gru";
  o.data = "spam-brief";
  o.output = out;
  o.config = TaskRecipe("gru", "spam-brief");
  o.config.epochs = 12;
  o.config.early_stopping_patience = 3;
  o.config.threads = 1;
  o.data_options.spam_dir = SpamDir();
  return o;
}

void CheckSameWeights(const Model& a, const Model& b) {
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i)
    for (std::size_t k = 0; k < a.nodes[i].params.size(); ++k) {
      INFO(a.nodes[i].name << "." << a.nodes[i].params[k].name);
      const Tensor& ta = a.nodes[i].params[k].value;
      const Tensor& tb = b.nodes[i].params[k].value;
      REQUIRE(ta.bytes() == tb.bytes());
      CHECK(std::memcmp(ta.raw(), tb.raw(), ta.bytes()) == 0);
    }
}

}  // namespace

TEST_CASE("early stopping: spam-brief recipe, best weights kept, resumed run equals uninterrupted") {
  if (!std::filesystem::exists(SpamDir() + "/easy-ham-1")) {
    MESSAGE("skipped: SpamAssassin corpus not found in " << SpamDir());
    return;
  }
  const TrainConfig recipe = TaskRecipe("gru", "spam-brief");
  CHECK(recipe.early_stopping_patience > 0);
  CHECK(DefaultRecipe("gru").early_stopping_patience == 0);
  CHECK(TaskRecipe("gru", "spam").epochs == DefaultRecipe("gru").epochs);
  CHECK(TextTasks() == std::vector<std::string>{"spam", "spam-brief"});

  TempDir tmp;
  const std::string a = (tmp.path / "a.qm").string(), b = (tmp.path / "b.qm").string();
  auto ra = RunTraining(BriefRun(a));
  REQUIRE_MESSAGE(ra.ok(), ra.status().ToString());
  auto ma = frontends::LoadModel(a);
  REQUIRE(ma.ok());
  const nlohmann::json summary = nlohmann::json::parse(ma->metadata.at("train.early_stopping"));
  const int best = summary.at("best_epoch").get<int>();
  const int run = summary.at("epochs_run").get<int>();
  MESSAGE("best epoch " << best << " of " << run << ", stopped early: " << summary.at("stopped_early"));
  CHECK(best >= 1);
  CHECK(run >= best);
  CHECK(summary.at("patience") == 3);
  CHECK(summary.at("stopped_early").get<bool>() == (run < 12));
  if (summary.at("stopped_early").get<bool>()) CHECK(run == best + 3);
  CHECK(nlohmann::json::parse(ma->metadata.at("train.history")).size() == static_cast<std::size_t>(run));
  CHECK(nlohmann::json::parse(ma->metadata.at("train.config")).at("early_stopping_patience") == 3);
  CHECK(ma->metadata.count("train.early_stopping.state") == 0);
  CHECK(ma->metadata.at("text.seq_len") == "8");
  CHECK(ma->metadata.at("train.data") == "spam-brief");

  // Interrupted after every two epochs, resumed each time: the same end.
  TrainRunOptions ob = BriefRun(b);
  ob.max_epochs_this_run = 2;
  int calls = 0;
  while (true) {
    auto rb = RunTraining(ob);
    REQUIRE_MESSAGE(rb.ok(), rb.status().ToString());
    ++calls;
    if (rb->finished) break;
    REQUIRE(calls < 10);
  }
  CHECK(calls == (run + 1) / 2);
  auto mb = frontends::LoadModel(b);
  REQUIRE(mb.ok());
  CheckSameWeights(*ma, *mb);
  CHECK(ma->metadata.at("train.early_stopping") == mb->metadata.at("train.early_stopping"));
  auto without_times = [](const std::string& history) {
    nlohmann::json h = nlohmann::json::parse(history);
    for (auto& e : h) e.erase("seconds");
    return h;
  };
  CHECK(without_times(ma->metadata.at("train.history")) == without_times(mb->metadata.at("train.history")));
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path)) {
    const std::string name = entry.path().filename().string();
    CHECK_MESSAGE((name == "a.qm" || name == "b.qm"), "left behind: " << name);
  }

  // The kept weights are the best epoch's: a run of exactly that many epochs
  // without early stopping (constant learning rate, so the schedule does not
  // depend on the epoch count) ends with the same bits.
  REQUIRE(recipe.schedule == LrSchedule::kConstant);
  TrainRunOptions oc = BriefRun((tmp.path / "c.qm").string());
  oc.config.epochs = best;
  oc.config.early_stopping_patience = 0;
  auto rc = RunTraining(oc);
  REQUIRE_MESSAGE(rc.ok(), rc.status().ToString());
  auto mc = frontends::LoadModel(oc.output);
  REQUIRE(mc.ok());
  CheckSameWeights(*ma, *mc);

  // Early stopping without a validation pass is refused before any work.
  TrainRunOptions od = BriefRun((tmp.path / "d.qm").string());
  od.validate = false;
  CHECK_FALSE(RunTraining(od).ok());
}

}  // namespace qualm::study

// Study files, presets, cell keys and shards: what a grid is, without running it.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "qualm/study/npy.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_cells.h"
#include "qualm/study/study_spec.h"

namespace qualm::study {
namespace {

StudySpec Small() {
  StudySpec s;
  StudyTask t;
  t.arch = "lenet1";
  t.epochs = 1;
  t.train_limit = 500;
  s.tasks = {t};
  s.strategies = {"standard", "qat"};
  s.seeds = {1, 2};
  s.variants = {"int8", "fp16-weights"};
  s.eval_limit = 100;
  s.image_shifts = {ImageShiftNames().front()};
  s.severities = {1, 5};
  return s;
}

std::map<std::string, std::string> IdsByLabel(const StudyGrid& g) {
  std::map<std::string, std::string> m;
  for (const auto& c : g.cells) m[c.label] = c.id;
  return m;
}

}  // namespace

TEST_CASE("study spec: every preset is valid, expands, and round-trips through its JSON") {
  for (const std::string& name : StudyPresetNames()) {
    auto s = StudyPreset(name);
    REQUIRE_MESSAGE(s.ok(), name << ": " << s.status().ToString());
    auto again = ParseStudySpec(StudySpecJson(*s));
    REQUIRE_MESSAGE(again.ok(), again.status().ToString());
    CHECK(StudySpecJson(*again) == StudySpecJson(*s));
    auto grid = ExpandStudy(*s, StudyRuntime{});
    REQUIRE(grid.ok());
    CHECK(grid->Count(CellKind::kTrain) >= s->tasks.size() * s->seeds.size() * s->strategies.size());
  }
  CHECK(StudyPreset("default")->seeds.size() >= 3);
  CHECK(!StudyPreset("nope").ok());
}

TEST_CASE("study spec: bad files are errors that name the problem") {
  auto err = [](const std::string& json) {
    auto s = ParseStudySpec(json);
    return s.ok() ? std::string() : s.status().message();
  };
  CHECK(err("[1]").find("not a JSON object") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "sedes": [1]})").find("unknown key \"sedes\"") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet9"}]})").find("lenet9") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "strategies": ["cutmix"]})").find("cutmix") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "variants": ["int4"]})").find("int4") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "severities": [0]})").find("1..5") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "seeds": [3, 3]})").find("twice") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}], "image_shifts": ["sunburn"]})").find("sunburn") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lstm", "train_limit": 100}]})").find("image tasks only") != std::string::npos);
  CHECK(err(R"({"tasks": [{"arch": "lenet1"}, {"arch": "lenet1"}]})").find("twice") != std::string::npos);
  CHECK(err(R"({"tasks": []})").find("no tasks") != std::string::npos);
  auto all = ParseStudySpec(R"({"tasks": [{"arch": "lenet1"}], "image_shifts": "all"})");
  REQUIRE(all.ok());
  CHECK(all->image_shifts == ImageShiftNames());
}

TEST_CASE("study cells: ids are stable and change exactly where the configuration changes") {
  const StudySpec base = Small();
  auto a = ExpandStudy(base, StudyRuntime{});
  auto b = ExpandStudy(base, StudyRuntime{});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // 2 seeds x (standard, qat); each model x 2 variants; each of 3 models x 4 sets
  // (test, validation, one shift at two severities).
  CHECK(a->Count(CellKind::kTrain) == 4);
  CHECK(a->Count(CellKind::kVariant) == 8);
  CHECK(a->Count(CellKind::kEval) == 4 * 3 * 4);
  CHECK(IdsByLabel(*a) == IdsByLabel(*b));
  std::set<std::string> ids;
  for (const auto& c : a->cells) ids.insert(c.id);
  CHECK(ids.size() == a->cells.size());
  // A qat cell fine-tunes the standard cell of its seed, listed before it.
  for (std::size_t i = 0; i < a->cells.size(); ++i) {
    const Cell& c = a->cells[i];
    if (c.kind != CellKind::kTrain || c.strategy != "qat") continue;
    const Cell* parent = a->Find(c.parent);
    REQUIRE(parent != nullptr);
    CHECK(parent->strategy == "standard");
    CHECK(parent->seed == c.seed);
    CHECK(parent < &c);
  }

  // The evaluation subset changes the evaluations only.
  StudySpec e = base;
  e.eval_limit = 200;
  auto ge = ExpandStudy(e, StudyRuntime{});
  const auto ia = IdsByLabel(*a), ie = IdsByLabel(*ge);
  for (const auto& c : a->cells) CHECK((ia.at(c.label) == ie.at(c.label)) == (c.kind != CellKind::kEval));

  // The epochs change every cell (all depend on the models).
  StudySpec ep = base;
  ep.tasks[0].epochs = 2;
  const auto iep = IdsByLabel(*ExpandStudy(ep, StudyRuntime{}));
  for (const auto& c : a->cells) CHECK(ia.at(c.label) != iep.at(c.label));

  // QAT's epochs change the qat cells and what depends on them, nothing else.
  StudySpec q = base;
  q.finetune_epochs = 3;
  const auto gq = ExpandStudy(q, StudyRuntime{});
  const auto iq = IdsByLabel(*gq);
  for (const auto& c : a->cells) CHECK((ia.at(c.label) == iq.at(c.label)) == (c.strategy != "qat"));

  // Another seed adds cells and keeps the others.
  StudySpec s3 = base;
  s3.seeds = {1, 2, 3};
  const auto i3 = IdsByLabel(*ExpandStudy(s3, StudyRuntime{}));
  for (const auto& [label, id] : ia) CHECK(i3.at(label) == id);
  CHECK(i3.size() == ia.size() * 3 / 2);

  // Training threads are part of the training key (float training bits may depend on them).
  StudyRuntime two;
  two.threads = 2;
  const auto it = IdsByLabel(*ExpandStudy(base, two));
  for (const auto& c : a->cells) CHECK(ia.at(c.label) != it.at(c.label));
}

TEST_CASE("study shards: a deterministic partition by (task, seed), whole groups per shard") {
  StudySpec s = Small();
  s.seeds = {1, 2, 3, 4, 5};
  auto g = ExpandStudy(s, StudyRuntime{});
  REQUIRE(g.ok());
  CHECK(g->groups == 5);
  for (int n : {1, 2, 3, 7}) {
    std::multiset<std::string> all;
    std::map<int, int> shard_of_group;
    for (int i = 1; i <= n; ++i) {
      const StudyGrid part = ShardGrid(*g, i, n);
      for (const auto& c : part.cells) {
        all.insert(c.id);
        auto [it, fresh] = shard_of_group.emplace(c.group, i);
        CHECK(it->second == i);  // a group lies in one shard
        // Every cell's parent is in the same shard.
        if (!c.parent.empty()) CHECK(part.Find(c.parent) != nullptr);
      }
    }
    CHECK(all.size() == g->cells.size());
    std::set<std::string> unique(all.begin(), all.end());
    CHECK(unique.size() == all.size());  // disjoint
  }
}

TEST_CASE("study evaluation sets: names parse, and bad names are errors") {
  const std::string shift = ImageShiftNames().front();
  auto n = ParseEvalSetName("fashion-mnist:test~" + shift + "@3");
  REQUIRE(n.ok());
  CHECK(n->base == "fashion-mnist:test");
  CHECK(n->shift == shift);
  CHECK(n->severity == 3);
  CHECK(n->str() == "fashion-mnist:test~" + shift + "@3");
  CHECK(ParseEvalSetName("spam:later")->shift.empty());
  CHECK(!ParseEvalSetName("fashion-mnist:test~" + shift + "@6").ok());
  CHECK(!ParseEvalSetName("fashion-mnist:test~" + shift).ok());
  CHECK(!ParseEvalSetName("fashion-mnist:test~sunburn@1").ok());
  CHECK(!ParseEvalSetName("~x@1").ok());
}

TEST_CASE("npy: what the writer writes, numpy's format reads back") {
  const std::vector<std::int32_t> v = {0, -1, 7, 2147483647};
  const std::string b = NpyBytesI32(v, {4});
  CHECK(b.compare(0, 6, "\x93NUMPY") == 0);
  const std::size_t header = 10 + (static_cast<unsigned char>(b[8]) | static_cast<unsigned char>(b[9]) << 8);
  CHECK(header % 64 == 0);
  CHECK(b.substr(10, header - 10).find("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }") == 0);
  CHECK(b[header - 1] == '\n');
  auto a = ParseNpy(b, "v");
  REQUIRE(a.ok());
  CHECK(a->i32 == v);
  CHECK(a->shape == std::vector<std::size_t>{4});

  const std::vector<float> f = {0.5f, -2.0f, 1e-30f, 3.0f, 4.0f, 5.0f};
  auto m = ParseNpy(NpyBytesF32(f, {2, 3}), "m");
  REQUIRE(m.ok());
  CHECK(m->f32 == f);
  CHECK(m->shape == std::vector<std::size_t>{2, 3});
  CHECK(NpyBytesF32(f, {2, 3}).find("'shape': (2, 3), }") != std::string::npos);

  CHECK(!ParseNpy("hello", "x").ok());
  std::string cut = b;
  cut.pop_back();
  CHECK(ParseNpy(cut, "x").status().message().find("data bytes") != std::string::npos);
  std::string f8 = b;
  f8.replace(f8.find("<i4"), 3, "<f8");
  CHECK(ParseNpy(f8, "x").status().message().find("dtype") != std::string::npos);
}

}  // namespace qualm::study

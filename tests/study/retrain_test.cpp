// RQ4, retraining on disagreements (retrain_cells.h): the spec section, the
// grid (new cells only; every existing cell keeps its id), and a tiny study
// end to end whose Old / New / Removed counts must equal an independent
// recount from the .npy records.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "qualm/frontends/atomic_file.h"
#include "tiny_study.h"
#include "qualm/study/analysis.h"
#include "qualm/study/npy.h"
#include "qualm/study/retrain_cells.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_report.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace {
namespace fs = std::filesystem;

using testing::Slurp;

StudySpec Tiny() {
  return testing::TinyStudy("tiny-retrain", {1, 2}, {"int8", "dynamic"}, {"fog", "gaussian-noise"}, {3, 5});
}

StudySpec WithRetrain(StudySpec s) {
  s.retrain.variants = {"int8"};
  s.retrain.protocols = {"ours", "paper", "control"};
  s.retrain.epochs = 1;
  s.retrain.repeat = 2;
  return s;
}

std::vector<std::int32_t> I32(const fs::path& p) {
  auto a = ReadNpy(p.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  return a->i32;
}

// A synthetic folder: per seed 1-3, the standard int8 test-set record (100
// inputs, 3 classes, `before` disagreements on inputs 0..before-1) and one
// "retrain" entry (protocol ours) whose retrained pair disagrees on inputs
// `kept_from`..`kept_from + after - 1`: so old = overlap, new and removed known.
void WriteSynthetic(const fs::path& dir, std::size_t before, std::size_t after, std::size_t kept_from) {
  fs::remove_all(dir);
  constexpr std::size_t n = 100, classes = 3;
  nlohmann::json records = nlohmann::json::array(), retrain = nlohmann::json::array();
  for (std::uint64_t seed : {1, 2, 3}) {
    std::vector<std::int32_t> labels(n), f(n), q(n), af(n), aq(n);
    std::vector<float> softmax(n * classes);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = f[i] = af[i] = static_cast<std::int32_t>((i + seed) % classes);
      q[i] = i < before ? (f[i] + 1) % 3 : f[i];
      aq[i] = i >= kept_from && i < kept_from + after ? (af[i] + 1) % 3 : af[i];
      for (std::size_t c = 0; c < classes; ++c)
        softmax[i * classes + c] = static_cast<std::int32_t>(c) == f[i] ? (i < before ? 0.4f : 0.8f) : (i < before ? 0.3f : 0.1f);
    }
    const std::string b = "cells/b" + std::to_string(seed) + "/", a = "cells/a" + std::to_string(seed) + "/";
    fs::create_directories(dir / b);
    fs::create_directories(dir / a);
    auto write = [&](const std::string& rel, const std::string& bytes) {
      REQUIRE(frontends::WriteFileAtomically((dir / rel).string(), bytes).ok());
    };
    write(b + "labels.npy", NpyBytesI32(labels, {n}));
    write(b + "top1.npy", NpyBytesI32(f, {n}));
    write(b + "q.npy", NpyBytesI32(q, {n}));
    write(b + "softmax.npy", NpyBytesF32(softmax, {n, classes}));
    write(a + "labels.npy", NpyBytesI32(labels, {n}));
    write(a + "top1.npy", NpyBytesI32(af, {n}));
    write(a + "q.npy", NpyBytesI32(aq, {n}));
    write(a + "softmax.npy", NpyBytesF32(softmax, {n, classes}));
    nlohmann::json common = {{"task", "lenet1@fashion-mnist"}, {"arch", "lenet1"}, {"strategy", "standard"},
                             {"seed", seed}, {"variant", "int8"}, {"set", "fashion-mnist:test"}, {"count", n}};
    nlohmann::json r = common;
    r.update({{"shift", "none"}, {"severity", 0}, {"disagreements", before}, {"quantized_layers", 3},
              {"labels", b + "labels.npy"}, {"float_top1", b + "top1.npy"}, {"float_softmax", b + "softmax.npy"},
              {"quantized_top1", b + "q.npy"}, {"float_model", b + "model.qm"}});
    records.push_back(r);
    nlohmann::json e = common;
    e.update({{"protocol", "ours"}, {"found", 7}, {"disagreements", after}, {"labels", a + "labels.npy"},
              {"float_top1", a + "top1.npy"}, {"float_softmax", a + "softmax.npy"}, {"quantized_top1", a + "q.npy"},
              {"before_labels", b + "labels.npy"}, {"before_float_top1", b + "top1.npy"},
              {"before_quantized_top1", b + "q.npy"}});
    retrain.push_back(e);
  }
  const nlohmann::json index = {{"study", "synthetic-rq4"}, {"cells", 0}, {"missing_cells", 0},
                                {"records", records}, {"retrain", retrain}};
  REQUIRE(frontends::WriteFileAtomically((dir / "records.json").string(), index.dump(1)).ok());
}

}  // namespace

TEST_CASE("retrain analysis: Old / New / Removed of planted records, and the finding's rule") {
  const fs::path dir = fs::temp_directory_path() / ("qualm-rq4-synth-" + std::to_string(::getpid()));
  // 20 before; after: inputs 16..35 disagree: 4 old kept, 16 new, 16 removed (80 %): the paper's pattern.
  WriteSynthetic(dir, 20, 20, 16);
  auto a = AnalyzeStudy(dir.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  REQUIRE(a->rq4.size() == 1);
  const Rq4Row& r = a->rq4[0];
  CHECK(r.protocol == "ours");
  CHECK(r.seeds == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(r[Rq4Measure::kBefore].stat.mean == 20);
  CHECK(r[Rq4Measure::kAfter].stat.mean == 20);
  CHECK(r[Rq4Measure::kOld].stat.mean == 4);
  CHECK(r[Rq4Measure::kNew].stat.mean == 16);
  CHECK(r[Rq4Measure::kRemoved].stat.mean == 16);
  CHECK(r[Rq4Measure::kRemovedShare].stat.mean == doctest::Approx(80));
  CHECK(r[Rq4Measure::kFound].stat.mean == 7);
  CHECK(a->findings[3].verdict == "confirmed");
  // Retraining that keeps every old disagreement and adds none contradicts the finding.
  WriteSynthetic(dir, 20, 20, 0);
  a = AnalyzeStudy(dir.string());
  REQUIRE(a.ok());
  CHECK(a->rq4[0][Rq4Measure::kOld].stat.mean == 20);
  CHECK(a->rq4[0][Rq4Measure::kRemovedShare].stat.mean == 0);
  CHECK(a->findings[3].verdict == "not confirmed");
  // Removes most but creates few new ones: contradicts it too.
  WriteSynthetic(dir, 20, 2, 18);
  a = AnalyzeStudy(dir.string());
  REQUIRE(a.ok());
  CHECK(a->rq4[0][Rq4Measure::kNew].stat.mean == 0);
  CHECK(a->rq4[0][Rq4Measure::kRemoved].stat.mean == 18);
  CHECK(a->findings[3].verdict == "not confirmed");
  // A records.json whose stated count disagrees with its files is an error.
  WriteSynthetic(dir, 20, 20, 16);
  auto index = nlohmann::json::parse(Slurp(dir / "records.json"));
  index["retrain"][0]["disagreements"] = 19;
  REQUIRE(frontends::WriteFileAtomically((dir / "records.json").string(), index.dump()).ok());
  CHECK(!AnalyzeStudy(dir.string()).ok());
  fs::remove_all(dir);
}

TEST_CASE("retrain spec: parsed, validated with errors that name the problem, and round-tripped") {
  const std::string base = R"({"tasks": [{"arch": "lenet1"}], "variants": ["int8", "dynamic"], )";
  auto parse = [&](const std::string& retrain) { return ParseStudySpec(base + R"("retrain": )" + retrain + "}"); };
  auto ok = parse(R"({"variants": ["int8"], "epochs": 2, "repeat": 3, "protocols": ["paper", "ours"]})");
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->retrain.enabled());
  CHECK(ok->retrain.epochs == 2);
  CHECK(ok->retrain.repeat == 3);
  CHECK(ok->retrain.strategies == std::vector<std::string>{"standard"});
  auto again = ParseStudySpec(StudySpecJson(*ok));
  REQUIRE(again.ok());
  CHECK(StudySpecJson(*again) == StudySpecJson(*ok));
  // An empty list (or no section) disables RQ4.
  auto off = parse(R"({"variants": []})");
  REQUIRE(off.ok());
  CHECK(!off->retrain.enabled());
  auto err = [&](const std::string& retrain) {
    auto s = parse(retrain);
    return s.ok() ? std::string() : s.status().message();
  };
  CHECK(err(R"({"variants": ["int8"], "epoch": 1})").find("unknown key \"epoch\"") != std::string::npos);
  CHECK(err(R"({"variants": ["bf16-weights"]})").find("not one of the study's variants") != std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "protocols": ["test"]})").find("valid: ours, paper, control") != std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "strategies": ["qat"]})").find("qat") != std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "strategies": ["mixup"]})").find("not one of the study's strategies") !=
        std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "epochs": 0})").find("retrain.epochs") != std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "repeat": 0})").find("retrain.repeat") != std::string::npos);
  CHECK(err(R"({"variants": ["int8"], "severity": 6})").find("retrain.severity") != std::string::npos);
  CHECK(err(R"([1])").find("must be an object") != std::string::npos);
  // The presets run RQ4.
  for (const char* name : {"quick", "default"}) {
    auto p = StudyPreset(name);
    REQUIRE(p.ok());
    CHECK(p->retrain.enabled());
  }
}

TEST_CASE("retrain grid: adds cells, keeps every existing cell's id, and shards with its (task, seed) group") {
  const StudySpec plain = Tiny(), retrain = WithRetrain(Tiny());
  auto a = ExpandStudy(plain, StudyRuntime{});
  auto b = ExpandStudy(retrain, StudyRuntime{});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::set<std::string> ids_b;
  for (const auto& c : b->cells) ids_b.insert(c.id);
  for (const auto& c : a->cells) CHECK_MESSAGE(ids_b.count(c.id), c.label);  // unchanged keys, unchanged ids
  // Per (seed, protocol): a retrain cell, the retrained variant, two test-set evaluations.
  const std::size_t per = 2 * 3;
  CHECK(b->Count(CellKind::kRetrain) == per);
  CHECK(b->Count(CellKind::kVariant) == a->Count(CellKind::kVariant) + per);
  CHECK(b->Count(CellKind::kEval) == a->Count(CellKind::kEval) + 2 * per);
  CHECK(b->cells.size() == a->cells.size() + 4 * per);
  std::set<std::string> keys;
  for (const auto& c : b->cells) CHECK_MESSAGE(keys.insert(c.key).second, c.label);
  for (const auto& c : b->cells) {
    if (c.kind != CellKind::kRetrain) continue;
    const Cell* v = b->Find(c.parent);
    REQUIRE(v);
    CHECK(v->kind == CellKind::kVariant);
    CHECK(v->variant == "int8");
    const Cell* t = b->Find(v->parent);
    REQUIRE(t);
    CHECK(t->strategy == "standard");
    CHECK(t->group == c.group);
    CHECK(c.config.epochs == 1);
    CHECK(c.config.seed == t->config.seed);
  }
  // A shard holds a retrain cell exactly when it holds its train cell.
  for (int i = 1; i <= 2; ++i) {
    const StudyGrid s = ShardGrid(*b, i, 2);
    for (const auto& c : s.cells)
      if (c.kind == CellKind::kRetrain) CHECK(s.Find(b->Find(c.parent)->parent));
  }
  // The found sets: ours is the validation split and each shift at the highest severity.
  CHECK(RetrainFindSets(retrain, retrain.tasks[0], "ours") ==
        std::vector<std::string>{"fashion-mnist:validation", "fashion-mnist:validation~fog@5",
                                 "fashion-mnist:validation~gaussian-noise@5"});
  CHECK(RetrainFindSets(retrain, retrain.tasks[0], "paper") == std::vector<std::string>{"fashion-mnist:test"});
  CHECK(RetrainFindSets(retrain, retrain.tasks[0], "control").empty());
}

TEST_CASE("retrain run: only the new cells are computed, and Old / New / Removed equal a recount") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  const fs::path root = fs::temp_directory_path() / ("qualm-retrain-" + std::to_string(::getpid()));
  fs::remove_all(root);
  StudyRunOptions o;
  o.out_dir = root.string();
  o.runtime.threads = 1;
  o.reuse_model_dirs = {};
  const StudySpec plain = Tiny(), spec = WithRetrain(Tiny());
  auto first = RunStudy(plain, o);
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  auto second = RunStudy(spec, o);
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(second->computed == 4 * 2 * 3);  // only RQ4's cells
  auto third = RunStudy(spec, o);
  REQUIRE(third.ok());
  CHECK(third->computed == 0);

  const auto records = nlohmann::json::parse(Slurp(root / "records.json"));
  REQUIRE(records.contains("retrain"));
  REQUIRE(records["retrain"].size() == 2 * 3);
  auto analysis = AnalyzeStudy(root.string());
  REQUIRE_MESSAGE(analysis.ok(), analysis.status().ToString());
  REQUIRE(analysis->rq4.size() == 3);  // (lenet1, standard, int8) x 3 protocols
  std::map<std::string, const Rq4Row*> by_protocol;
  for (const auto& r : analysis->rq4) by_protocol[r.protocol] = &r;
  REQUIRE(by_protocol.size() == 3);

  auto grid = ExpandStudy(spec, StudyRuntime{});
  REQUIRE(grid.ok());
  for (const auto& e : records["retrain"]) {
    const std::string protocol = e["protocol"].get<std::string>();
    const std::uint64_t seed = e["seed"].get<std::uint64_t>();
    // Before: the grid's own records of the same model and variant on the test set.
    const nlohmann::json* before = nullptr;
    for (const auto& r : records["records"])
      if (r["strategy"] == "standard" && r["seed"] == seed && r["variant"] == "int8" && r["set"] == "fashion-mnist:test")
        before = &r;
    REQUIRE(before);
    const auto labels = I32(root / e["labels"].get<std::string>());
    const auto bf = I32(root / (*before)["float_top1"].get<std::string>());
    const auto bq = I32(root / (*before)["quantized_top1"].get<std::string>());
    const auto af = I32(root / e["float_top1"].get<std::string>());
    const auto aq = I32(root / e["quantized_top1"].get<std::string>());
    CHECK(labels == I32(root / (*before)["labels"].get<std::string>()));
    REQUIRE(af.size() == 300);
    double old = 0, fresh = 0, removed = 0, nb = 0;
    for (std::size_t i = 0; i < af.size(); ++i) {
      const bool b = bf[i] != bq[i], a = af[i] != aq[i];
      old += b && a;
      fresh += a && !b;
      removed += b && !a;
      nb += b;
    }
    const Rq4Row& row = *by_protocol.at(protocol);
    CHECK(row[Rq4Measure::kOld].Of(seed) == old);
    CHECK(row[Rq4Measure::kNew].Of(seed) == fresh);
    CHECK(row[Rq4Measure::kRemoved].Of(seed) == removed);
    CHECK(row[Rq4Measure::kBefore].Of(seed) == nb);
    // The paper's protocol finds exactly the test-set disagreements it then
    // counts as "before"; the control adds nothing.
    const std::size_t found = e["found"].get<std::size_t>();
    if (protocol == "paper") CHECK(found == static_cast<std::size_t>(nb));
    if (protocol == "control") CHECK(found == 0);
    if (protocol == "ours") CHECK(e["searched"].get<std::size_t>() == 3 * 300);
    CHECK(e["added"].get<std::size_t>() == 2 * found);  // repeat 2
    // The retrained float model is a different model from the one before.
    CHECK(e["float_model"] != (*before)["float_model"]);
  }
  // The cells record how the training split grew.
  for (const auto& c : grid->cells) {
    if (c.kind != CellKind::kRetrain) continue;
    const auto cj = nlohmann::json::parse(Slurp(root / "cells" / c.id / "cell.json"));
    CHECK(cj["training_samples"].get<std::size_t>() ==
          cj["original_training_samples"].get<std::size_t>() + cj["added"].get<std::size_t>());
    CHECK(cj["original_training_samples"].get<std::size_t>() == 1500);
  }
  // Two shards (one seed each) merged: the same records, RQ4's included.
  for (int shard = 1; shard <= 2; ++shard) {
    StudyRunOptions so = o;
    so.out_dir = (root / ("shard-" + std::to_string(shard))).string();
    so.shard_index = shard;
    so.shard_count = 2;
    auto r = RunStudy(spec, so);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  }
  Status merged = MergeStudies((root / "merged").string(), {(root / "shard-1").string(), (root / "shard-2").string()});
  REQUIRE_MESSAGE(merged.ok(), merged.ToString());
  CHECK(Slurp(root / "merged/records.json") == Slurp(root / "records.json"));
  // The finding has a verdict from the data, and the report has the section.
  REQUIRE(analysis->findings.size() == 4);
  CHECK(analysis->findings[3].id == "retraining");
  CHECK(analysis->findings[3].verdict != "not measured");
  const std::string md = Slurp(root / "report.md");
  CHECK(md.find("## RQ4: retraining") != std::string::npos);
  CHECK(md.find("| lenet1@fashion-mnist | standard | int8 | paper |") != std::string::npos);
  CHECK(fs::exists(root / "tables/rq4_retraining.csv"));
  fs::remove_all(root);
}

}  // namespace qualm::study

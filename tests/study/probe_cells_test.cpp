// The study's probes (probe_cells.h) and the guard analysis (analysis_probes.h):
// the spec section, cell keys that leave every existing cell alone, a tiny
// study whose matrix agrees with its own eval cells, and the guard recomputed
// independently from the synthetic records.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "study/analysis_synthetic.h"
#include "tiny_study.h"
#include "qualm/study/analysis.h"
#include "qualm/study/probe_cells.h"
#include "qualm/study/shifted_data.h"
#include "qualm/study/study_run.h"

namespace qualm::study {
namespace {
namespace fs = std::filesystem;
using testing::SynthRecord;

nlohmann::json ReadJsonFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str());
}

StudySpec Tiny() {
  return testing::TinyStudy("tiny-probes", {1}, {"int8", "bf16-weights"}, {"fog", "gaussian-noise"}, {2, 5});
}

std::string Err(const std::string& json) {
  auto s = ParseStudySpec(json);
  return s.ok() ? std::string() : s.status().message();
}

}  // namespace

TEST_CASE("study probes: the spec section parses, validates with clear errors and round-trips") {
  auto s = ParseStudySpec(R"({"tasks": [{"arch": "lenet1"}], "severities": [2, 5],
                              "probes": {"matrix": true, "attribution": true, "severities": [5], "top_layers": 1}})");
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  CHECK(s->probes.matrix);
  CHECK(s->probes.attribution);
  CHECK(s->probes.top_layers == 1);
  CHECK(s->probes.severities == std::vector<int>{5});
  auto again = ParseStudySpec(StudySpecJson(*s));
  REQUIRE(again.ok());
  CHECK(StudySpecJson(*again) == StudySpecJson(*s));
  // Absent: no probes (a study folder from before them reads as it was).
  CHECK(!ParseStudySpec(R"({"tasks": [{"arch": "lenet1"}]})")->probes.any());
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "probes": {"matrx": true}})").find("\"matrx\"") != std::string::npos);
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "probes": {"matrix": 1}})").find("true or false") != std::string::npos);
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "probes": [true]})").find("must be an object") != std::string::npos);
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "severities": [1], "probes": {"matrix": true}})")
            .find("does not evaluate") != std::string::npos);
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "probes": {"attribution": true, "top_layers": 9}})").find("0..8") !=
        std::string::npos);
  CHECK(Err(R"({"tasks": [{"arch": "lenet1"}], "variants": ["dynamic"], "probes": {"matrix": true}})")
            .find("\"int8\"") != std::string::npos);
  for (const char* preset : {"quick", "default"}) {
    auto p = StudyPreset(preset);
    REQUIRE(p.ok());
    CHECK(p->probes.matrix);
    CHECK(p->probes.attribution);
  }
}

TEST_CASE("study probes: adding them adds probe cells and changes no existing cell") {
  StudySpec base = Tiny();
  StudySpec with = base;
  with.probes.matrix = with.probes.attribution = true;
  auto a = ExpandStudy(base, StudyRuntime{});
  auto b = ExpandStudy(with, StudyRuntime{});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->Count(CellKind::kProbe) == 0);
  // Every existing cell keeps its id and key, in the same order; the probes come last.
  REQUIRE(b->cells.size() > a->cells.size());
  for (std::size_t i = 0; i < a->cells.size(); ++i) {
    CHECK(a->cells[i].id == b->cells[i].id);
    CHECK(a->cells[i].key == b->cells[i].key);
  }
  // One probe per seed and set in scope: test + 2 shifts at severity 5 (not validation, not severity 2).
  CHECK(b->Count(CellKind::kProbe) == 3);
  std::set<std::string> ids;
  for (const auto& c : b->cells) ids.insert(c.id);
  CHECK(ids.size() == b->cells.size());
  for (const auto& c : b->cells) {
    if (c.kind != CellKind::kProbe) continue;
    const Cell* v = b->Find(c.parent);
    REQUIRE(v != nullptr);
    CHECK(v->kind == CellKind::kVariant);
    CHECK(v->variant == "int8");
    CHECK(v->strategy == "standard");
    CHECK(c.group == v->group);
    CHECK((c.data == "fashion-mnist:test" || c.data.find("@5") != std::string::npos));
  }
  // RQ4's retrained models have int8 variants of the standard strategy too; they are not probed.
  StudySpec both = with;
  both.retrain.variants = {"int8"};
  both.retrain.protocols = {"ours", "paper", "control"};
  auto r = ExpandStudy(both, StudyRuntime{});
  REQUIRE(r.ok());
  CHECK(r->Count(CellKind::kRetrain) == 3);
  CHECK(r->Count(CellKind::kProbe) == 3);
  for (const auto& c : r->cells)
    if (c.kind == CellKind::kProbe) CHECK(r->Find(c.parent)->protocol.empty());
  // A probe option changes the probe cells only.
  StudySpec other = with;
  other.probes.top_layers = 1;
  auto c = ExpandStudy(other, StudyRuntime{});
  REQUIRE(c.ok());
  for (std::size_t i = 0; i < b->cells.size(); ++i)
    CHECK((b->cells[i].id == c->cells[i].id) == (b->cells[i].kind != CellKind::kProbe));
}

TEST_CASE("study probes: a tiny study's matrix agrees with its eval cells, a rerun computes nothing") {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (scripts/setup.sh installs it); skipping");
    return;
  }
  const fs::path root = fs::temp_directory_path() / ("qualm-probes-" + std::to_string(::getpid()));
  fs::remove_all(root);
  StudyRunOptions o;
  o.out_dir = root.string();
  o.runtime.threads = 1;
  StudySpec spec = Tiny();
  auto first = RunStudy(spec, o);
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  // The same folder with probes: only the probe cells are computed.
  spec.probes.matrix = spec.probes.attribution = true;
  auto second = RunStudy(spec, o);
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(second->computed == 3);
  CHECK(second->cached == first->cells);
  auto third = RunStudy(spec, o);
  REQUIRE(third.ok());
  CHECK(third->computed == 0);

  // The eval cells' disagreements of the standard int8 variant, per set.
  std::map<std::string, std::size_t> eval_disagreements;
  const auto records = ReadJsonFile(root / "records.json");
  for (const auto& r : records["records"])
    if (r["strategy"] == "standard" && r["variant"] == "int8")
      eval_disagreements[r["set"].get<std::string>()] = r["disagreements"].get<std::size_t>();
  const auto index = ReadJsonFile(root / "probes.json");
  REQUIRE(index["cells"].size() == 3);
  CHECK(index["missing"] == 0);
  std::size_t total = 0;
  for (const auto& e : index["cells"]) {
    const std::string set = e["set"].get<std::string>();
    const auto p = ReadJsonFile(root / e["probe"].get<std::string>());
    const auto& m = p["matrix"];
    std::vector<std::string> labels;
    for (const auto& r : m["rows"]) labels.push_back(r["label"].get<std::string>());
    const auto counts = m["counts"].get<std::vector<std::vector<std::size_t>>>();
    REQUIRE(counts.size() == labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      CHECK(counts[i][i] == 0);
      for (std::size_t j = 0; j < labels.size(); ++j) CHECK(counts[i][j] == counts[j][i]);
    }
    auto at = [&](const std::string& x, const std::string& y) {
      const auto i = std::find(labels.begin(), labels.end(), x) - labels.begin();
      const auto j = std::find(labels.begin(), labels.end(), y) - labels.begin();
      REQUIRE_MESSAGE(static_cast<std::size_t>(i) < labels.size(), x);
      REQUIRE_MESSAGE(static_cast<std::size_t>(j) < labels.size(), y);
      return counts[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    };
    // The matrix's gemmlowp row is the variant cell's model: its count is the eval cells'.
    REQUIRE(eval_disagreements.count(set));
    CHECK(at("float/fast", "int8/gemmlowp/fast") == eval_disagreements[set]);
    CHECK(p["int8"]["disagreements"].get<std::size_t>() == eval_disagreements[set]);
    CHECK(p["int8"]["ties"].get<std::size_t>() <= eval_disagreements[set]);
    const auto& a = p["attribution"];
    CHECK(a["flips"].get<std::size_t>() == eval_disagreements[set]);
    CHECK(a["sweep_mismatches"] == 0);
    std::size_t culprits = a["culprit_lowering"].get<std::size_t>();
    for (const auto& l : a["layers"]) culprits += l["first"].get<std::size_t>();
    CHECK(culprits == a["flips"].get<std::size_t>());
    if (set == "fashion-mnist:test") {
      // The full rows: reference and fast are bit-identical int8 paths; the QAT rows are there.
      for (const char* mode : {"gemmlowp", "single", "fp32"})
        CHECK(at(std::string("int8/") + mode + "/reference", std::string("int8/") + mode + "/fast") == 0);
      CHECK(at("qat/forward", "qat/int8/fast") == 0);
    } else {
      CHECK(labels.size() == 4);  // float and the three modes on the runtime's backend
    }
    total += eval_disagreements[set];
  }
  CHECK(total > 0);  // something to attribute

  auto analysis = AnalyzeStudy(root.string());
  REQUIRE_MESSAGE(analysis.ok(), analysis.status().ToString());
  CHECK(analysis->probes.present);
  REQUIRE(analysis->probes.matrices.size() == 2);  // clean test set, synthetic shifts
  const MatrixSummary& shifted = analysis->probes.matrices[1];
  CHECK(shifted.sets == 2);
  CHECK(shifted.counts[0][1] == static_cast<double>(eval_disagreements["fashion-mnist:test~fog@5"] +
                                                    eval_disagreements["fashion-mnist:test~gaussian-noise@5"]));
  const std::string md = [&] {
    std::ifstream in(root / "report.md");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }();
  for (const char* heading : {"## Backend disagreement matrix", "## Flip attribution", "## Disagreement guard"})
    CHECK_MESSAGE(md.find(heading) != std::string::npos, heading);
  fs::remove_all(root);
}

TEST_CASE("analysis: the disagreement guard matches an independent recount of the records") {
  const auto records = testing::MakeSynthRecords();
  const fs::path dir = fs::temp_directory_path() / ("qualm-guard-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  testing::WriteSynthFolder(dir, records);
  auto a = AnalyzeStudy(dir.string());
  REQUIRE_MESSAGE(a.ok(), a.status().ToString());
  CHECK(!a->probes.present);  // no probes.json: not measured

  auto find = [&](std::uint64_t seed, const std::string& variant, const std::string& set) -> const SynthRecord& {
    for (const auto& r : records)
      if (r.strategy == "standard" && r.seed == seed && r.variant == variant && r.set == set) return r;
    FAIL("no record");
    return records.front();
  };
  auto margins = [](const SynthRecord& r) {
    std::vector<double> m(testing::kInputs);
    for (std::size_t i = 0; i < testing::kInputs; ++i) {
      std::vector<float> row(r.softmax.begin() + static_cast<long>(i * testing::kClasses),
                             r.softmax.begin() + static_cast<long>((i + 1) * testing::kClasses));
      std::sort(row.begin(), row.end(), std::greater<float>());
      m[i] = static_cast<double>(row[0]) - static_cast<double>(row[1]);
    }
    return m;
  };
  for (double target : {0.90, 0.95}) {
    const GuardRow* row = nullptr;
    for (const auto& r : a->guard)
      if (r.strategy == "standard" && r.variant == "int8" && r.target == target) row = &r;
    REQUIRE(row != nullptr);
    REQUIRE(row->seeds == std::vector<std::uint64_t>{1, 2, 3});
    const GuardSetResult* test = nullptr;
    for (const auto& s : row->sets)
      if (s.set == "fashion-mnist:test") test = &s;
    REQUIRE(test != nullptr);
    const GuardSetResult* all = row->Find("all shifts");
    REQUIRE(all != nullptr);
    for (std::uint64_t seed : {1, 2, 3}) {
      // The threshold: the smallest validation-disagreement margin m_k with k / n >= target.
      const SynthRecord& v = find(seed, "int8", "fashion-mnist:validation");
      const auto vm = margins(v);
      std::vector<double> dm;
      for (std::size_t i = 0; i < testing::kInputs; ++i)
        if (v.float_top1[i] != v.quantized_top1[i]) dm.push_back(vm[i]);
      REQUIRE(dm.size() > 3);
      std::sort(dm.begin(), dm.end());
      double t = dm.back();
      for (std::size_t k = 1; k <= dm.size(); ++k)
        if (static_cast<double>(k) / static_cast<double>(dm.size()) >= target) {
          t = dm[k - 1];
          break;
        }
      const std::size_t si = static_cast<std::size_t>(seed - 1);
      CHECK(row->thresholds[si] == t);
      auto outcome = [&](const SynthRecord& r, std::size_t* dis, std::size_t* caught, std::size_t* flagged) {
        const auto m = margins(r);
        for (std::size_t i = 0; i < testing::kInputs; ++i) {
          const bool d = r.float_top1[i] != r.quantized_top1[i], f = m[i] <= t;
          *dis += d;
          *caught += d && f;
          *flagged += f;
        }
      };
      std::size_t dis = 0, caught = 0, flagged = 0;
      outcome(find(seed, "int8", "fashion-mnist:test"), &dis, &caught, &flagged);
      REQUIRE(dis > 0);
      CHECK(test->recall_pct[si] == doctest::Approx(100.0 * caught / dis));
      CHECK(test->flagged_pct[si] == doctest::Approx(100.0 * flagged / testing::kInputs));
      dis = caught = flagged = 0;
      for (const char* s : {"fashion-mnist:test~fog@1", "fashion-mnist:test~fog@3", "fashion-mnist:test~rotate@1",
                            "fashion-mnist:test~rotate@3"})
        outcome(find(seed, "int8", s), &dis, &caught, &flagged);
      CHECK(all->recall_pct[si] == doctest::Approx(100.0 * caught / dis));
      CHECK(all->flagged_pct[si] == doctest::Approx(100.0 * flagged / (4.0 * testing::kInputs)));
    }
    REQUIRE(test->recall.has_value());
    double mean = 0;
    for (double v : test->recall_pct) mean += v / 3.0;
    CHECK(test->recall->mean == doctest::Approx(mean));
  }
  // The margin finding carries the guard's numbers (one task: that task's int8 row at 0.90).
  const GuardRow* first = nullptr;
  for (const auto& r : a->guard)
    if (!first && r.strategy == "standard" && r.variant == "int8") first = &r;
  REQUIRE(first != nullptr);
  bool found = false;
  for (const auto& f : a->findings)
    for (const auto& [name, value] : f.numbers)
      if (f.id == "margin" && name == "guard_int8_test_recall_pct") {
        found = true;
        for (const auto& s : first->sets)
          if (s.set == "fashion-mnist:test") CHECK(value == doctest::Approx(s.recall->mean));
      }
  CHECK(found);
  // A variant that quantized nothing has no guard row.
  for (const auto& r : a->guard) CHECK(r.variant != "weight-only-int8");
  // The CSV and the JSON carry it.
  bool csv = false;
  for (const auto& [name, text] : AnalysisCsvTables(*a)) csv |= name == "guard.csv" && text.find("all shifts") != std::string::npos;
  CHECK(csv);
  CHECK(nlohmann::json::parse(AnalysisJson(*a))["guard"]["rows"].size() == a->guard.size());
  fs::remove_all(dir);
}

}  // namespace qualm::study

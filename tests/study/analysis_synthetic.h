// A synthetic study folder for the analysis tests: records.json and .npy files
// with disagreements planted by a known rule, kept in memory too so the tests
// can recompute every number independently of the analysis code.
//
// One task (lenet1@fashion-mnist, 3 classes, 240 inputs per set), strategies
// standard and qat, seeds 1-3, variants int8, fp16-weights and weight-only-int8
// (which "quantized no layer": its predictions equal the float model's). Sets:
// test, validation, fog and rotate at severities 1 and 3. The float softmax is
// random and peaked; the quantized model flips to the second class exactly when
// the float margin p1 - p2 is below a threshold that grows with the severity,
// is larger for int8 than for fp16 and halves under qat. So: shifted sets give
// more disagreements, qat gives fewer, and the margin ranks them perfectly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qualm/engine/random.h"
#include "qualm/frontends/atomic_file.h"
#include "qualm/study/npy.h"

namespace qualm::study::testing {

struct SynthRecord {
  std::string strategy, variant, set, shift;
  std::uint64_t seed = 0;
  int severity = 0, quantized_layers = -1;
  std::vector<std::int32_t> labels, float_top1, quantized_top1;
  std::vector<float> softmax;  // n x kClasses
  std::size_t disagreements = 0, right_to_wrong = 0, wrong_to_right = 0, wrong_to_other = 0;
  std::size_t float_correct = 0, quantized_correct = 0;
};

inline constexpr std::size_t kClasses = 3, kInputs = 240;

struct SynthSet {
  std::string name, shift;
  int severity = 0;
  double factor = 1.0;
};

inline std::vector<SynthSet> SynthSets() {
  return {{"fashion-mnist:test", "", 0, 1.0},           {"fashion-mnist:validation", "", 0, 1.0},
          {"fashion-mnist:test~fog@1", "fog", 1, 2.0},  {"fashion-mnist:test~fog@3", "fog", 3, 3.5},
          {"fashion-mnist:test~rotate@1", "rotate", 1, 1.8}, {"fashion-mnist:test~rotate@3", "rotate", 3, 3.0}};
}

// The float model's outputs on one set (same for every variant of a model).
inline void FloatOutputs(std::uint64_t seed, std::size_t set_index, SynthRecord* r) {
  Rng rng(seed * 1000 + set_index * 17 + (r->strategy == "qat" ? 500 : 0));
  r->labels.resize(kInputs);
  r->float_top1.resize(kInputs);
  r->softmax.resize(kInputs * kClasses);
  for (std::size_t i = 0; i < kInputs; ++i) {
    float sum = 0;
    float* row = &r->softmax[i * kClasses];
    for (std::size_t c = 0; c < kClasses; ++c) {
      const float u = 0.05f + rng.Uniform();
      row[c] = u * u * u;
      sum += row[c];
    }
    std::size_t best = 0;
    for (std::size_t c = 0; c < kClasses; ++c) {
      row[c] /= sum;
      if (row[c] > row[best]) best = c;
    }
    r->float_top1[i] = static_cast<std::int32_t>(best);
    r->labels[i] = rng.Uniform() < 0.8f ? static_cast<std::int32_t>(best) : static_cast<std::int32_t>(rng.Below(kClasses));
  }
}

inline std::vector<SynthRecord> MakeSynthRecords() {
  std::vector<SynthRecord> out;
  const auto sets = SynthSets();
  for (const char* strategy : {"standard", "qat"})
    for (std::uint64_t seed : {1, 2, 3})
      for (const char* variant : {"int8", "fp16-weights", "weight-only-int8"})
        for (std::size_t s = 0; s < sets.size(); ++s) {
          SynthRecord r;
          r.strategy = strategy;
          r.variant = variant;
          r.seed = seed;
          r.set = sets[s].name;
          r.shift = sets[s].shift;
          r.severity = sets[s].severity;
          r.quantized_layers = r.variant == "weight-only-int8" ? 0 : -1;
          FloatOutputs(seed, s, &r);
          double t = r.variant == "int8" ? 0.10 : r.variant == "fp16-weights" ? 0.03 : 0.0;
          t *= sets[s].factor * (r.strategy == "qat" ? 0.5 : 1.0);
          r.quantized_top1 = r.float_top1;
          for (std::size_t i = 0; i < kInputs; ++i) {
            const float* row = &r.softmax[i * kClasses];
            std::size_t first = static_cast<std::size_t>(r.float_top1[i]), second = first == 0 ? 1 : 0;
            for (std::size_t c = 0; c < kClasses; ++c)
              if (c != first && row[c] > row[second]) second = c;
            if (static_cast<double>(row[first]) - static_cast<double>(row[second]) < t)
              r.quantized_top1[i] = static_cast<std::int32_t>(second);
            const bool fr = r.float_top1[i] == r.labels[i], qr = r.quantized_top1[i] == r.labels[i];
            r.float_correct += fr;
            r.quantized_correct += qr;
            if (r.float_top1[i] == r.quantized_top1[i]) continue;
            ++r.disagreements;
            if (fr) ++r.right_to_wrong;
            else if (qr) ++r.wrong_to_right;
            else ++r.wrong_to_other;
          }
          out.push_back(std::move(r));
        }
  return out;
}

// Writes the folder; `stated_offset` adds to the first record's stated
// disagreements (a corrupt index, for the error test).
inline void WriteSynthFolder(const std::filesystem::path& dir, const std::vector<SynthRecord>& records,
                             int stated_offset = 0) {
  std::filesystem::create_directories(dir / "cells");
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t k = 0; k < records.size(); ++k) {
    const SynthRecord& r = records[k];
    const std::string model = "m-" + r.strategy + "-" + std::to_string(r.seed);
    std::string set = r.set;
    for (char& c : set)
      if (c == ':' || c == '~' || c == '@') c = '-';
    const std::string fcell = "cells/f-" + model + "-" + set;
    const std::string qcell = std::string("cells/q-") += std::to_string(k);
    std::filesystem::create_directories(dir / fcell);
    std::filesystem::create_directories(dir / qcell);
    (void)frontends::WriteFileAtomically((dir / fcell / "labels.npy").string(), NpyBytesI32(r.labels, {kInputs}));
    (void)frontends::WriteFileAtomically((dir / fcell / "top1.npy").string(), NpyBytesI32(r.float_top1, {kInputs}));
    (void)frontends::WriteFileAtomically((dir / fcell / "softmax.npy").string(),
                                         NpyBytesF32(r.softmax, {kInputs, kClasses}));
    (void)frontends::WriteFileAtomically((dir / qcell / "top1.npy").string(), NpyBytesI32(r.quantized_top1, {kInputs}));
    (void)frontends::WriteFileAtomically((dir / qcell / "cell.json").string(),
                                         R"j({"path": "synthetic (test)", "key": {"version": "test/study-cache-0"}})j");
    list.push_back({{"task", "lenet1@fashion-mnist"},
                    {"arch", "lenet1"},
                    {"strategy", r.strategy},
                    {"seed", r.seed},
                    {"variant", r.variant},
                    {"set", r.set},
                    {"shift", r.shift.empty() ? "none" : r.shift},
                    {"severity", r.severity},
                    {"count", kInputs},
                    {"disagreements", static_cast<int>(r.disagreements) + (k == 0 ? stated_offset : 0)},
                    {"quantized_layers", r.quantized_layers},
                    {"labels", fcell + "/labels.npy"},
                    {"float_top1", fcell + "/top1.npy"},
                    {"float_softmax", fcell + "/softmax.npy"},
                    {"quantized_top1", qcell + "/top1.npy"},
                    {"float_model", "cells/" + model + "/model.qm"}});
  }
  const nlohmann::json index = {{"study", "synthetic"}, {"cells", 0}, {"missing_cells", 0}, {"records", list}};
  (void)frontends::WriteFileAtomically((dir / "records.json").string(), index.dump(1));
}

}  // namespace qualm::study::testing

// tests/study/tiny_study.h: what the study tests that run real (tiny) grids
// share: the tiny spec they start from, reading a file whole, and whether the
// Fashion-MNIST package is there to run them at all.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qualm/study/study_spec.h"

namespace qualm::study::testing {

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool FashionMnistInstalled() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
}

// LeNet-1 for one epoch on 1,500 images, standard and qat, 300 inputs per set,
// one fine-tuning epoch; the caller picks the name, seeds, variants, shifts and severities.
inline StudySpec TinyStudy(const std::string& name, std::vector<std::uint64_t> seeds,
                           std::vector<std::string> variants, std::vector<std::string> shifts,
                           std::vector<int> severities) {
  StudySpec s;
  StudyTask t;
  t.arch = "lenet1";
  t.epochs = 1;
  t.train_limit = 1500;
  s.name = name;
  s.tasks = {t};
  s.strategies = {"standard", "qat"};
  s.seeds = std::move(seeds);
  s.variants = std::move(variants);
  s.eval_limit = 300;
  s.image_shifts = std::move(shifts);
  s.severities = std::move(severities);
  s.finetune_epochs = 1;
  return s;
}

}  // namespace qualm::study::testing

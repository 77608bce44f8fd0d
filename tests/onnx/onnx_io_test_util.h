// tests/onnx/onnx_io_test_util.h: running qualm models and comparing them
// with the naive ONNX interpreter (onnx_io_graph.h), for the import / export tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "onnx_io_graph.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/model.h"

namespace qualm_onnx_io {

// Uniform [0, 1) samples ("pixel / 255" like qualm's data), NCHW.
inline std::vector<float> RandomImages(std::int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = u(rng);
  return v;
}

// qualm's logits for NHWC (or [N, F]) input, on the given backend.
inline std::vector<float> QualmLogits(const qualm::Model& m, const std::vector<float>& nhwc, int n,
                                      qualm::Backend backend = qualm::Backend::kReference) {
  auto run = qualm::Inference::Create(m, {n, backend, 1});
  if (!run.ok()) return {};
  (*run)->Run(nhwc.data(), n);
  return std::vector<float>((*run)->logits(), (*run)->logits() + static_cast<std::ptrdiff_t>(n) * m.num_classes);
}

inline NTensor Nchw(const std::vector<float>& v, std::vector<std::int64_t> dims) {
  return {std::move(dims), std::vector<double>(v.begin(), v.end()), onnx::TensorProto::FLOAT};
}

inline std::vector<int> Argmax(const std::vector<double>& v, int classes) {
  std::vector<int> out;
  for (std::size_t r = 0; r + static_cast<std::size_t>(classes) <= v.size(); r += static_cast<std::size_t>(classes))
    out.push_back(static_cast<int>(std::max_element(v.begin() + static_cast<long>(r),
                                                    v.begin() + static_cast<long>(r) + classes) -
                                   (v.begin() + static_cast<long>(r))));
  return out;
}

// Largest |a - b| / (1 + |b|).
inline double MaxRelDiff(const std::vector<float>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]) / (1.0 + std::fabs(b[i])));
  return worst;
}

// The fuzz_onnx seed corpus (fuzz/corpus/onnx) is written by the tests that
// build these graphs: QUALM_WRITE_FUZZ_SEEDS=<dir> qualm_tests_onnx_io writes
// each seed as <dir>/<name>.onnx. Unset (always, in the suite): nothing.
inline void WriteFuzzSeed(const std::string& name, const std::string& bytes) {
  const char* dir = std::getenv("QUALM_WRITE_FUZZ_SEEDS");
  if (!dir || bytes.size() > 65536) return;  // fuzz/run.sh: -max_len=65536 for onnx
  std::ofstream(std::string(dir) + "/" + name + ".onnx", std::ios::binary) << bytes;
}

}  // namespace qualm_onnx_io

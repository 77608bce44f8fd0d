// qualm/engine/dataset.h: a labelled data set held in memory.
//
// Frontends (IDX, image folders, the SpamAssassin corpus, synthetic shifts)
// produce Datasets; training, evaluation and the study consume them. Samples
// are stored contiguously so a mini-batch is a gather of rows.
//   images: f32, sample_shape {H, W, C} (NHWC), pixel values in [0, 1]
//   text:   i32 token ids, sample_shape {seq_len}, 0 = padding, 1 = unknown
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qualm {

enum class SampleType { kFloat32, kInt32 };

struct Dataset {
  std::string name;                      // e.g. "fashion-mnist:test"
  SampleType sample_type = SampleType::kFloat32;
  std::vector<int> sample_shape;         // per-sample shape, without the batch axis
  std::vector<float> f32;                // count * sample_size, when kFloat32
  std::vector<std::int32_t> i32;         // count * sample_size, when kInt32
  std::vector<std::int32_t> labels;      // count, each in [0, num_classes)
  int num_classes = 0;
  std::vector<std::string> class_names;  // num_classes entries (may be empty)
  // What the loader left out and a user should hear about, one line each
  // (e.g. "3 files in images:photos are not images (.png, .jpg, .jpeg, .bmp) and were ignored").
  std::vector<std::string> load_notes;

  std::size_t size() const { return labels.size(); }
  std::size_t sample_size() const {
    std::size_t n = 1;
    for (int d : sample_shape) n *= static_cast<std::size_t>(d);
    return n;
  }
};

// Copies samples `indices` of `src` (in that order) into a new data set.
Dataset Subset(const Dataset& src, const std::vector<std::size_t>& indices, const std::string& name);

// Seeded split: shuffles indices 0..n-1 with std::mt19937_64(seed) and a
// Fisher-Yates pass of our own (std::shuffle is not specified across standard
// libraries), then cuts off the last `fraction` as the second part.
struct Split {
  Dataset first, second;
};
Split SplitDataset(const Dataset& src, double second_fraction, std::uint64_t seed, const std::string& first_name,
                   const std::string& second_name);

// A deterministic permutation of 0..n-1 (Fisher-Yates with mt19937_64(seed)).
std::vector<std::size_t> SeededPermutation(std::size_t n, std::uint64_t seed);

}  // namespace qualm

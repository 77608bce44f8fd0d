#include "qualm/engine/dataset.h"

#include <algorithm>
#include <random>

namespace qualm {

std::vector<std::size_t> SeededPermutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> perm(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = i;
  std::mt19937_64 rng(seed);
  // Fisher-Yates with our own index draw: std::shuffle and
  // std::uniform_int_distribution are not specified bit-for-bit across
  // standard libraries; mt19937_64's raw output is.
  for (std::size_t i = n; i > 1; --i) {
    const std::uint64_t bound = i;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // reject the biased tail
    std::uint64_t r;
    do { r = rng(); } while (r >= limit);
    std::swap(perm[i - 1], perm[r % bound]);
  }
  return perm;
}

Dataset Subset(const Dataset& src, const std::vector<std::size_t>& indices, const std::string& name) {
  Dataset out;
  out.name = name;
  out.sample_type = src.sample_type;
  out.sample_shape = src.sample_shape;
  out.num_classes = src.num_classes;
  out.class_names = src.class_names;
  out.load_notes = src.load_notes;
  const std::size_t ss = src.sample_size();
  out.labels.reserve(indices.size());
  if (src.sample_type == SampleType::kFloat32) out.f32.reserve(indices.size() * ss);
  else out.i32.reserve(indices.size() * ss);
  for (std::size_t idx : indices) {
    out.labels.push_back(src.labels[idx]);
    if (src.sample_type == SampleType::kFloat32) {
      out.f32.insert(out.f32.end(), src.f32.begin() + idx * ss, src.f32.begin() + (idx + 1) * ss);
    } else {
      out.i32.insert(out.i32.end(), src.i32.begin() + idx * ss, src.i32.begin() + (idx + 1) * ss);
    }
  }
  return out;
}

Split SplitDataset(const Dataset& src, double second_fraction, std::uint64_t seed, const std::string& first_name,
                   const std::string& second_name) {
  const std::vector<std::size_t> perm = SeededPermutation(src.size(), seed);
  const auto n_second = static_cast<std::size_t>(static_cast<double>(src.size()) * second_fraction + 0.5);
  const std::size_t n_first = src.size() - std::min(n_second, src.size());
  std::vector<std::size_t> a(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n_first));
  std::vector<std::size_t> b(perm.begin() + static_cast<std::ptrdiff_t>(n_first), perm.end());
  // Keep each part in original order: a split should not also reorder the data.
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return {Subset(src, a, first_name), Subset(src, b, second_name)};
}

}  // namespace qualm

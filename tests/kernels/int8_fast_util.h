// Shared by the fast int8 kernel tests (int8_fast_gemm_test.cpp: the GEMM
// variants' micro-kernels; int8_fast_test.cpp: conv2d_s8 / dense_s8 end to
// end): the loop over every runnable int8 GEMM variant, guard-page buffers,
// garbage-filled scratch, and the == check.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "kernels/int8_test_util.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/int8_gemm.h"

namespace int8_fast_test {

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;
using qualm_test::S8;
using qk::RequantMode;

inline constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};
inline constexpr std::int32_t kI32Min = INT32_MIN, kI32Max = INT32_MAX;

// Runs body(variant) under each int8 variant the machine supports (test hook).
inline void ForEachInt8Variant(const std::function<void(const qd::Int8GemmVariant&)>& body) {
  const auto variants = qd::RunnableInt8GemmVariants();
  REQUIRE(!variants.empty());
  for (const auto& v : variants) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    REQUIRE(std::string(qk::Int8GemmPathName()) == v.name);
    const std::string variant = v.name;
    CAPTURE(variant);
    body(v);
  }
}

// n elements that end exactly where an inaccessible page begins, so that any
// read or write past the end crashes the test instead of passing unnoticed.
// (A GCC 12 -O3 vectorization of the generic kernel's loop nest once read past
// the last activation row; only such a page made it fail every time.)
template <typename T>
class Guarded {
 public:
  Guarded(std::size_t n, T fill) : n_(n) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = n * sizeof(T);
    total_ = (bytes + page - 1) / page * page + page;
    void* base = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
    base_ = static_cast<char*>(base);
    REQUIRE(mprotect(base_ + total_ - page, page, PROT_NONE) == 0);
    data_ = reinterpret_cast<T*>(base_ + total_ - page - bytes);
    std::fill(data_, data_ + n, fill);
  }
  template <typename V>
  Guarded(const V& v) : Guarded(v.size(), T{}) {
    std::copy(v.begin(), v.end(), data_);
  }
  ~Guarded() { munmap(base_, total_); }
  Guarded(const Guarded&) = delete;
  Guarded& operator=(const Guarded&) = delete;
  T* data() { return data_; }
  std::vector<T> ToVector() const { return std::vector<T>(data_, data_ + n_); }

 private:
  std::size_t n_, total_ = 0;
  char* base_ = nullptr;
  T* data_ = nullptr;
};

// int16 scratch: exactly n elements, pre-filled with garbage (0x7A5B) so that
// reading scratch the kernel did not write shows in its output, and ending at
// an inaccessible page.
class ScratchS16 {
 public:
  explicit ScratchS16(std::size_t n) : n_(n), buf_(std::max<std::size_t>(n, 1), std::int16_t{0x7A5B}) {}
  qk::KernelContextS8 Context(int threads) { return {threads, n_ ? buf_.data() : nullptr, n_}; }

 private:
  std::size_t n_;
  Guarded<std::int16_t> buf_;
};

inline void CheckSame(const std::string& what, const S8& got, const S8& want) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && bad++ == 0) first = i;
  INFO(what << ": " << bad << " of " << got.size() << " outputs differ from the reference"
            << (bad ? "; first at " + std::to_string(first) + ": fast " + std::to_string(got[first]) + ", ref " +
                          std::to_string(want[first])
                    : std::string()));
  CHECK(bad == 0);
}

inline qk::Requant MakeRequant(std::int32_t m, int shift) {
  qk::Requant r;
  r.multiplier = m;
  r.shift = shift;
  r.scale = static_cast<float>(std::ldexp(static_cast<double>(m), shift - 31));
  return r;
}

// The output stage's test points (int8_fast_gemm_test.cpp, int8_direct_conv_test.cpp):
// (requant, acc) pairs covering every shift -31..30 with edge and random
// multipliers, a flushed one, INT32_MIN / INT32_MAX and other edges, the
// accumulators at and next to a tie of the exact product for every shift,
// random full-range and small values, then 20,000 random triples.
struct StageCase {
  std::vector<qk::Requant> requant;
  std::vector<std::int32_t> acc;
};

inline StageCase StageCases(std::mt19937& rng) {
  StageCase s;
  std::uniform_int_distribution<std::int32_t> any(kI32Min, kI32Max), mult(1 << 30, kI32Max);
  std::uniform_int_distribution<std::int32_t> small(-70000, 70000);
  std::vector<qk::Requant> rqs = {MakeRequant(0, 0)};  // flushed
  for (int shift = -31; shift <= 30; ++shift)
    for (std::int32_t m : {std::int32_t{1} << 30, kI32Max, mult(rng), mult(rng)}) rqs.push_back(MakeRequant(m, shift));
  const std::int32_t edges[] = {kI32Min, kI32Min + 1, -(1 << 30), -65536, -1, 0, 1, 65535, 1 << 30, kI32Max - 1, kI32Max};
  for (const qk::Requant& r : rqs) {
    std::vector<std::int32_t> accs(std::begin(edges), std::end(edges));
    // Accumulators whose exact product is a tie or next to one: acc * M * 2^(shift-31) = j + 1/2.
    const int t = 31 - r.shift;  // y = acc * M / 2^t
    if (r.multiplier != 0 && t <= 62) {
      for (std::int64_t j : {-3LL, -2LL, -1LL, 0LL, 1LL, 2LL, 100LL, -100LL}) {
        const long double want = (static_cast<long double>(j) + 0.5L) * std::ldexp(1.0L, t) / r.multiplier;
        for (int d = -1; d <= 1; ++d) {
          const long double a = std::round(want) + d;
          if (a >= kI32Min && a <= kI32Max) accs.push_back(static_cast<std::int32_t>(a));
        }
      }
    }
    for (int i = 0; i < 6; ++i) accs.push_back(any(rng));
    for (int i = 0; i < 6; ++i) accs.push_back(small(rng));
    for (std::int32_t a : accs) {
      s.requant.push_back(r);
      s.acc.push_back(a);
    }
  }
  // Random (acc, multiplier, shift) triples.
  std::uniform_int_distribution<int> shifts(-31, 30);
  for (int i = 0; i < 20000; ++i) {
    s.requant.push_back(MakeRequant(mult(rng), shifts(rng)));
    s.acc.push_back(i % 2 ? any(rng) : small(rng));
  }
  return s;
}

// Zero points and activation ranges the output stage is checked with: zero
// points at both ends, the full range and narrow ones at either end (a fused
// ReLU), and one inside.
struct StageRange {
  int zp, lo, hi;
};
inline constexpr StageRange kStageRanges[] = {{0, -128, 127},    {-128, -128, 127}, {127, -128, 127}, {-128, -128, -100},
                                              {127, 100, 127},   {-5, -5, 127},     {3, -20, 30}};

}  // namespace int8_fast_test

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

}  // namespace int8_fast_test

// qualm/kernels/checked.h: checked size arithmetic for sizes that come from
// untrusted input (model files, IDX headers, image headers, ops' fields).
//
// Every product or sum of sizes read from a file goes through these helpers
// before it is used to allocate, index or cast: a crafted file must get an
// error naming what overflowed, never a wrapped product (a 16-byte file taken
// for a million images) or a truncating cast (a dimension of 2^32 + 5 read as
// 5). They live in the lowest layer so that the kernels' Validate(), the
// engine's shape inference and the frontends' parsers share one definition.
//
// Sizes are non-negative; a negative operand is itself an error. The helpers
// use the compiler's overflow builtins, so they are exact at every boundary
// and cost nothing measurable at prepare time (they never run in kernels).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "qualm/status.h"

namespace qualm {

// The most elements any one tensor may have: the kernels index with int (GEMM
// sizes), so a model whose input, activation or parameter exceeds this is
// rejected at load/prepare time rather than at execution.
inline constexpr std::int64_t kMaxTensorElements = std::numeric_limits<int>::max();
// The most dimensions a shape may have (the model file's limit).
inline constexpr int kMaxTensorRank = 8;

// a * b, or an error "<what>: a x b overflows" / "<what>: negative size".
inline Result<std::int64_t> CheckedMul(std::int64_t a, std::int64_t b, const std::string& what) {
  if (a < 0 || b < 0) return InvalidArgument(what + ": negative size in " + std::to_string(a) + " x " + std::to_string(b));
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    return InvalidArgument(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " overflows 64 bits");
  return r;
}

// a + b for sizes, with the same errors.
inline Result<std::int64_t> CheckedAdd(std::int64_t a, std::int64_t b, const std::string& what) {
  if (a < 0 || b < 0) return InvalidArgument(what + ": negative size in " + std::to_string(a) + " + " + std::to_string(b));
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r))
    return InvalidArgument(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " overflows 64 bits");
  return r;
}

// The product of `dims` if it is at most `limit`; the error names `what`, the
// dimensions and the limit. An empty list is 1 (a scalar). A product that is
// 0 is checked too: [0, 2^40, 2^40] must not hide an overflow behind the 0.
inline Result<std::int64_t> CheckedProduct(const std::vector<std::int64_t>& dims, std::int64_t limit,
                                           const std::string& what) {
  auto list = [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i) s += std::string(i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
  };
  std::int64_t n = 1;
  for (std::int64_t d : dims) {
    if (d < 0) return InvalidArgument(what + ": negative dimension in " + list());
    std::int64_t next = 0;
    if (__builtin_mul_overflow(n, d, &next) || next > limit)
      return InvalidArgument(what + ": " + list() + " has more than " + std::to_string(limit) + " elements (limit)");
    n = next;
  }
  // The zero case: the product of the non-zero dimensions must fit as well.
  std::int64_t nz = 1;
  for (std::int64_t d : dims) {
    if (d == 0) continue;
    if (__builtin_mul_overflow(nz, d, &nz) || nz > limit)
      return InvalidArgument(what + ": " + list() + " has non-zero dimensions whose product exceeds " +
                             std::to_string(limit) + " (limit)");
  }
  return n;
}
inline Result<std::int64_t> CheckedProduct(std::initializer_list<std::int64_t> dims, std::int64_t limit,
                                           const std::string& what) {
  return CheckedProduct(std::vector<std::int64_t>(dims), limit, what);
}

// `v` as a To when it is representable, else an error naming `what`.
template <typename To>
Result<To> CheckedCast(std::int64_t v, const std::string& what) {
  const bool below = v < 0 ? v < static_cast<std::int64_t>(std::numeric_limits<To>::min()) : false;
  const bool above = v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<To>::max());
  if (below || above)
    return InvalidArgument(what + ": " + std::to_string(v) + " is outside [" +
                           std::to_string(std::numeric_limits<To>::min()) + ", " +
                           std::to_string(std::numeric_limits<To>::max()) + "]");
  return static_cast<To>(v);
}

}  // namespace qualm

// kernels/fixedpoint.cpp: run-time dispatch of the int16 tanh over its number
// of integer bits (qualm/kernels/fixedpoint.h). Everything else is inline.
#include "qualm/kernels/fixedpoint.h"

#include <array>
#include <utility>

namespace qualm::kernels::fixedpoint {
namespace {

template <int kIntegerBits>
std::int16_t TanhInt16Impl(std::int16_t x) {
  return Tanh<std::int16_t, kIntegerBits>(x);
}

template <int... kBits>
constexpr std::array<TanhInt16Fn, sizeof...(kBits)> MakeTanhTable(std::integer_sequence<int, kBits...>) {
  return {&TanhInt16Impl<kBits>...};
}

constexpr auto kTanhTable = MakeTanhTable(std::make_integer_sequence<int, kMaxTanhIntegerBits + 1>{});

}  // namespace

TanhInt16Fn GetTanhInt16(int integer_bits) {
  if (integer_bits < 0 || integer_bits > kMaxTanhIntegerBits) return nullptr;
  return kTanhTable[static_cast<std::size_t>(integer_bits)];
}

std::int16_t TanhInt16(std::int16_t x, int integer_bits) {
  const TanhInt16Fn fn = GetTanhInt16(integer_bits);
  return fn != nullptr ? fn(x) : std::int16_t{0};
}

}  // namespace qualm::kernels::fixedpoint

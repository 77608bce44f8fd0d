// qualm/engine/random.h: a portable, seeded random source.
//
// std::*_distribution are not specified bit-for-bit across standard libraries,
// so training would not reproduce across toolchains. We draw from
// std::mt19937_64 (whose output is specified) and convert ourselves.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace qualm {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t NextU64() { return engine_(); }
  // Uniform in [0, 1) with 24 random bits.
  float Uniform() { return static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f); }
  float Uniform(float lo, float hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n), unbiased.
  std::uint64_t Below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r;
    do { r = engine_(); } while (r >= limit);
    return r % n;
  }
  // Standard normal (Box-Muller in double, one value per call).
  float Normal() {
    const double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    const double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace qualm

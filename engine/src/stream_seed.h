// engine/src/stream_seed.h (internal): independent random streams derived
// from a run's seed, so that every draw of a run is a function of (seed,
// epoch, purpose[, batch]) and a run resumed at an epoch boundary draws
// exactly what an uninterrupted one draws.
#pragma once

#include <cstdint>

namespace qualm::internal {

// A splitmix64-style finalizer of the combined inputs.
inline std::uint64_t StreamSeed(std::uint64_t seed, int epoch, std::uint64_t purpose) {
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch) * 0xBF58476D1CE4E5B9ull + purpose;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The stream of batch `batch` of epoch `epoch` for `purpose`.
inline std::uint64_t BatchStreamSeed(std::uint64_t seed, int epoch, int batch, std::uint64_t purpose) {
  return StreamSeed(StreamSeed(seed, epoch, purpose), batch, 0x5851F42D4C957F2Dull);
}

}  // namespace qualm::internal

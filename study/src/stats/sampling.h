// Internal: seeded index shuffling for the statistics (no std::shuffle, whose
// draws are implementation-defined).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "qualm/engine/random.h"

namespace qualm::study::internal {

// Fisher-Yates with Rng::Below: the same seed gives the same order everywhere.
template <typename T>
void Shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng.Below(i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace qualm::study::internal

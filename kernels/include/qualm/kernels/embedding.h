// qualm/kernels/embedding.h: embedding lookup.
//   ids [count] int32 in [0, vocab), table [vocab][dim], y [count][dim].
// Ids are validated at the data boundary; kernels only DCHECK them.
// Backward scatters: dtable[ids[i]] += dy[i] in index order (deterministic).
#pragma once

#include <cstdint>

namespace qualm::kernels {

struct EmbeddingParams {
  int count = 1, vocab = 1, dim = 1;
};

namespace ref {
void embedding_f32(const EmbeddingParams& p, const std::int32_t* ids, const float* table, float* y);
void embedding_backward_f32(const EmbeddingParams& p, const std::int32_t* ids, const float* dy, float* dtable);
}  // namespace ref

}  // namespace qualm::kernels

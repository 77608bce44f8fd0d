// Frozen scalar reference for embedding lookup (embedding.h). Ids were
// validated at the data boundary; here they are only DCHECKed.
// Backward scatters dtable[ids[i]] += dy[i] for i in index order.
#include <cstdint>

#include "qualm/kernels/embedding.h"
#include "qualm/status.h"

namespace qualm::kernels::ref {

void embedding_f32(const EmbeddingParams& p, const std::int32_t* ids, const float* table, float* y) {
  const std::int64_t dim = p.dim;
  for (std::int64_t i = 0; i < p.count; ++i) {
    QUALM_DCHECK(ids[i] >= 0 && ids[i] < p.vocab);
    const float* row = table + ids[i] * dim;
    for (std::int64_t d = 0; d < dim; ++d) y[i * dim + d] = row[d];
  }
}

void embedding_backward_f32(const EmbeddingParams& p, const std::int32_t* ids, const float* dy, float* dtable) {
  const std::int64_t dim = p.dim;
  for (std::int64_t i = 0; i < p.count; ++i) {
    QUALM_DCHECK(ids[i] >= 0 && ids[i] < p.vocab);
    float* row = dtable + ids[i] * dim;
    for (std::int64_t d = 0; d < dim; ++d) row[d] += dy[i * dim + d];
  }
}

}  // namespace qualm::kernels::ref

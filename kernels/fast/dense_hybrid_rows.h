// fast/dense_hybrid_rows.h (private): fast::dense_hybrid on a given number of
// rows, for kernels that run it more than once per call on different row
// counts (the hybrid LSTM / GRU: once over every time step's input, then once
// per step over the state) without copying the prepared parameters.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qualm/kernels/context.h"
#include "qualm/kernels/dense_hybrid.h"

namespace qualm::kernels::fast::internal_hybrid {

// Bytes of ctx.scratch that DenseHybridRows needs for `rows` rows of pp's
// in / out features (pp.shape.batch is ignored).
std::size_t DenseHybridRowsScratchBytes(const PreparedDenseHybrid& pp, std::int64_t rows, int threads);

// fast::dense_hybrid with pp.shape.batch replaced by `rows`: y [rows][out] from
// x [rows][in], bit-identical to ref::dense_hybrid on those rows.
void DenseHybridRows(const KernelContext& ctx, const PreparedDenseHybrid& pp, std::int64_t rows,
                     const PackedHybridWeights& packed, const float* x, const float* bias, float* y);

}  // namespace qualm::kernels::fast::internal_hybrid

// Fast int8 dense (dense_s8.h, int8_gemm.h): the dispatched int8 GEMM
//     y[B][N] = OutputStage(X'[B][K] * W[N][K]^T + bias),   X' = x - zp_in (int16)
// bit-exact to ref::dense_s8. The rows of X' are widened tile by tile into each
// thread's slice of ctx.scratch (fast/int8_rows.h); threads split the batch.
// A batch of one runs on one thread (the GEMM does not split columns).
#include <cstdint>

#include "fast/int8_rows.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/dense_s8.h"

namespace qualm::kernels::fast {

using internal_s8::Index;

std::size_t dense_s8_scratch_int16(const PreparedDenseS8& pp, int threads) {
  const Index k = pp.shape.in_features;
  return internal_s8::ScratchInt16(pp.shape.batch, k + (k & 1), threads);
}

void dense_s8(const KernelContextS8& ctx, const PreparedDenseS8& pp, const PackedS8Weights& w, const std::int8_t* x,
              const std::int32_t* bias, std::int8_t* y) {
  const DenseParams& p = pp.shape;
  const Index K = p.in_features, N = p.out_features, kp = w.k_padded;
  QUALM_DCHECK(pp.output.requant.size() == static_cast<std::size_t>(N));
  QUALM_DCHECK(w.layout == PackedS8Weights::Layout::kPanels && w.groups == 1 && w.n == N && w.k == K);
  QUALM_DCHECK(ctx.scratch_int16 >= dense_s8_scratch_int16(pp, ctx.threads) && ctx.scratch != nullptr);
  const detail::Int8GemmVariant& v = detail::ActiveInt8GemmVariant();
  const Index tile = internal_s8::TileRows(p.batch, kp, ctx.threads);
  const std::size_t stride = internal_s8::ThreadStride(p.batch, kp, ctx.threads);
  const std::int32_t zp = pp.input_zero_point;

  detail::S8GemmTile base;
  base.lda = kp;
  base.b = w.data.data();
  base.n = static_cast<int>(N);
  base.k_padded = static_cast<int>(kp);
  base.out = internal_s8::MakeOutputStage(pp.output, bias);
  base.ldy = N;
  internal_s8::ForRowTiles(p.batch, tile, ctx.threads, [&](int tid, Index row0, Index rows) {
    std::int16_t* a = ctx.scratch + static_cast<std::size_t>(tid) * stride;
    for (Index r = 0; r < rows; ++r) {
      const std::int8_t* xr = x + (row0 + r) * K;
      std::int16_t* ar = a + r * kp;
      for (Index i = 0; i < K; ++i) ar[i] = static_cast<std::int16_t>(xr[i] - zp);
      if (kp > K) ar[K] = 0;
    }
    detail::S8GemmTile t = base;
    t.a = a;
    t.m = static_cast<int>(rows);
    t.y = y + row0 * N;
    v.gemm(t);
  });
}

}  // namespace qualm::kernels::fast

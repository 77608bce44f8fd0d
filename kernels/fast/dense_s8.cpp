// Fast int8 dense (dense_s8.h, int8_gemm.h): the dispatched int8 GEMM
//     y[B][N] = OutputStage(X'[B][K] * W[N][K]^T + bias),   X' = x - zp_in (int16)
// bit-exact to ref::dense_s8; or, for a u8 x s8 variant, X' = x + 128 (u8) and
// the GEMM's column correction -(zp_in + 128) sum_k w (int8_gemm_variants.h).
// The rows of X' are converted tile by tile into each thread's slice of
// ctx.scratch (fast/int8_rows.h); threads split the batch, and, when there
// are fewer row tiles than threads (a batch of one), the output columns in
// blocks of whole panels (a fixed partition: fast/int8_rows.h).
#include <algorithm>
#include <cstdint>
#include <type_traits>

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
  const Index lda = internal_s8::RowLength(v.operands, K);
  const detail::S8OutputStage out = internal_s8::MakeOutputStage(pp.output, bias);
  const internal_s8::TileGrid grid = internal_s8::MakeTileGrid(p.batch, N, K, tile, ctx.threads);
  // Each thread converts its tile of rows (zero past K: those weights are
  // zero; once for consecutive column blocks of one tile), then runs the GEMM
  // on its columns [col0, col0 + cols).
  auto tiles = [&](const auto& op, auto&& gemm) {
    using Operand = std::decay_t<decltype(op)>;
    internal_s8::ForTiles(grid, ctx.threads, [&](int tid, Index row0, Index rows, Index col0, Index cols,
                                                 bool new_rows) {
      typename Operand::T* a = internal_s8::ThreadBuffer<Operand>(ctx.scratch, stride, tid);
      for (Index r = 0; r < rows && new_rows; ++r) {
        typename Operand::T* ar = a + r * lda;
        op.Convert(x + (row0 + r) * K, K, ar);
        std::fill(ar + K, ar + lda, typename Operand::T{0});
      }
      detail::S8OutputStage o = out;
      o.requant += col0;
      if (bias) o.bias += col0;
      gemm(a, static_cast<int>(rows), static_cast<int>(col0), static_cast<int>(cols), o, y + row0 * N + col0);
    });
  };
  if (v.operands == detail::S8Operands::kU8S8) {
    QUALM_DCHECK(w.k_padded4 == lda && w.zp_in == pp.input_zero_point && !w.data_u8s8.empty());
    tiles(internal_s8::U8Operand(pp.input_zero_point), [&](const std::uint8_t* a, int rows, int col0, int cols,
                                                           const detail::S8OutputStage& o, std::int8_t* yt) {
      detail::U8S8GemmTile t;
      t.a = a, t.lda = lda, t.m = rows;
      t.b = w.data_u8s8.data() + static_cast<std::size_t>(col0) * static_cast<std::size_t>(lda);
      t.col_offset = w.col_offset.data() + col0;
      t.n = cols, t.k_padded = static_cast<int>(lda);
      t.out = o, t.y = yt, t.ldy = N;
      v.gemm_u8s8(t);
    });
  } else {
    tiles(internal_s8::S16Operand{static_cast<std::int16_t>(pp.input_zero_point)},
          [&](const std::int16_t* a, int rows, int col0, int cols, const detail::S8OutputStage& o, std::int8_t* yt) {
            detail::S8GemmTile t;
            t.a = a, t.lda = lda, t.m = rows;
            t.b = w.data.data() + static_cast<std::size_t>(col0) * static_cast<std::size_t>(lda);
            t.n = cols, t.k_padded = static_cast<int>(lda);
            t.out = o, t.y = yt, t.ldy = N;
            v.gemm(t);
          });
  }
}

}  // namespace qualm::kernels::fast

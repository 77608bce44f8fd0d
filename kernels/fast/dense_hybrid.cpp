// Fast hybrid dense (dense_hybrid.h): per batch row QuantizeSampleDynamic,
// then the dispatched int8 GEMM with raw int32 output, then the reference's
// float epilogue. Bit-exact to ref::dense_hybrid; the arithmetic argument is
// in fast/hybrid_rows.h. Every batch row is its own sample (own zero point):
// the s16 variants convert each row as q - zp_b, the u8 x s8 variants as
// q + 128 with the per-row correction - zp_b * colsum[c] in the epilogue.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "fast/dense_hybrid_rows.h"
#include "fast/hybrid_rows.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/dense_s8.h"

namespace qualm::kernels {

PackedHybridWeights PackDenseHybridWeights(const PreparedDenseHybrid& p, const std::int8_t* w) {
  PackedHybridWeights out;
  PreparedDenseS8 s8;  // only the shape and the input zero point (0) are read by the packing
  s8.shape = p.shape;
  s8.input_zero_point = 0;
  out.s8 = PackDenseS8Weights(s8, w);
  out.colsum = fast::internal_hybrid::WeightRowSums(w, p.shape.out_features, p.shape.in_features);
  return out;
}

namespace fast {
namespace {

using internal_s8::Index;

internal_hybrid::Layout LayoutFor(const DenseParams& p, int threads) {
  const Index k = p.in_features;
  return internal_hybrid::MakeLayout(p.batch, k, p.batch, k + (k & 1), p.out_features, threads);
}

}  // namespace

std::size_t dense_hybrid_scratch_floats(const PreparedDenseHybrid& pp, int threads) {
  return internal_hybrid::BytesToFloats(LayoutFor(pp.shape, threads).total);
}

void dense_hybrid(const KernelContext& ctx, const PreparedDenseHybrid& pp, const PackedHybridWeights& packed,
                  const float* x, const std::int8_t* /*w: packed holds everything*/, const float* bias, float* y) {
  internal_hybrid::DenseHybridRows(ctx, pp, pp.shape.batch, packed, x, bias, y);
}

namespace internal_hybrid {

std::size_t DenseHybridRowsScratchBytes(const PreparedDenseHybrid& pp, Index rows, int threads) {
  DenseParams p = pp.shape;
  p.batch = static_cast<int>(rows);
  return LayoutFor(p, threads).total;
}

void DenseHybridRows(const KernelContext& ctx, const PreparedDenseHybrid& pp, Index batch,
                     const PackedHybridWeights& packed, const float* x, const float* bias, float* y) {
  DenseParams p = pp.shape;
  p.batch = static_cast<int>(batch);
  const Index K = p.in_features, N = p.out_features;
  const PackedS8Weights& w = packed.s8;
  QUALM_DCHECK(pp.weight_scales.size() == static_cast<std::size_t>(N) && packed.colsum.size() == pp.weight_scales.size());
  QUALM_DCHECK(w.layout == PackedS8Weights::Layout::kPanels && w.groups == 1 && w.n == N && w.k == K);
  const Layout l = LayoutFor(p, ctx.threads);
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats * sizeof(float) >= l.total);
  auto* base = reinterpret_cast<unsigned char*>(ctx.scratch);
  auto* sq = reinterpret_cast<SampleQuant*>(base);
  auto* q = reinterpret_cast<std::int8_t*>(base + l.q_off);
  QuantizeSamples(x, p.batch, K, q, sq, ctx.threads);

  const detail::Int8GemmVariant& v = detail::ActiveInt8GemmVariant();
  const bool u8 = v.operands == detail::S8Operands::kU8S8;
  QUALM_DCHECK(!u8 || (w.zp_in == 0 && !w.data_u8s8.empty()));
  const Index lda = internal_s8::RowLength(v.operands, K);
  const internal_s8::TileGrid grid = internal_s8::MakeTileGrid(p.batch, N, K, l.tile, ctx.threads);
  internal_s8::ForTiles(grid, ctx.threads, [&](int tid, Index row0, Index rows, Index col0, Index cols,
                                               bool new_rows) {
    unsigned char* mine = base + l.threads_off + static_cast<std::size_t>(tid) * l.thread_stride;
    auto* acc = reinterpret_cast<std::int32_t*>(mine + l.a_bytes);
    // Each row converted with its own sample's operand; zero past K (those
    // weights are zero); once for consecutive column blocks of one tile.
    auto convert = [&](auto* a, auto make) {
      for (Index r = 0; r < rows; ++r) {
        auto* ar = a + r * lda;
        make(sq[row0 + r].zp).Convert(q + (row0 + r) * K, K, ar);
        std::fill(ar + K, ar + lda, static_cast<std::remove_pointer_t<decltype(ar)>>(0));
      }
    };
    if (new_rows) {
      if (u8) convert(reinterpret_cast<std::uint8_t*>(mine), U8For);
      else convert(reinterpret_cast<std::int16_t*>(mine), S16For);
    }
    const int nc = static_cast<int>(cols);
    RawGemm(v, w, 0, mine, lda, static_cast<int>(rows), col0, nc, acc);
    for (Index r = 0; r < rows; ++r) {
      const SampleQuant& s = sq[row0 + r];
      Epilogue(acc + r * nc, nc, s, u8 ? s.zp : 0, packed.colsum.data() + col0, pp.weight_scales.data() + col0,
               bias ? bias + col0 : nullptr, y + (row0 + r) * N + col0);
    }
  });
}

}  // namespace internal_hybrid
}  // namespace fast
}  // namespace qualm::kernels

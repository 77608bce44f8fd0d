// Fast hybrid 2-D convolution (conv2d_hybrid.h): every image quantized once
// (QuantizeSampleDynamic, in parallel over images), then, exactly like
// fast::conv2d_s8, im2col of the quantized images + the dispatched int8 GEMM,
// here with raw int32 output, then the reference's float epilogue.
// Bit-exact to ref::conv2d_hybrid; the arithmetic argument is in
// fast/hybrid_rows.h.
//
// The GEMM rows are the output pixels of the whole batch (M = batch * P), cut
// into tiles (and column blocks when there are fewer tiles than threads:
// fast/int8_rows.h) as in conv2d_s8. A tile may straddle two
// images with different zero points: its im2col is built image segment by
// image segment, each with its image's operand (q - zp, or q + 128 with
// padding taps zp + 128), and the epilogue takes each row's image parameters.
// Pure depthwise convs run ref::conv2d_hybrid (header).
#include <algorithm>
#include <cstdint>

#include "fast/hybrid_rows.h"
#include "fast/im2col_s8.h"
#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/conv2d_s8.h"

namespace qualm::kernels {

PackedHybridWeights PackConv2dHybridWeights(const PreparedConv2dHybrid& p, const std::int8_t* w) {
  PackedHybridWeights out;
  if (fast::internal_s8::IsDepthwise(p.shape)) {
    out.reference_fallback = true;
    return out;
  }
  PreparedConv2dS8 s8;  // only the shape and the input zero point (0) are read by the packing
  s8.shape = p.shape;
  s8.input_zero_point = 0;
  out.s8 = PackConv2dS8Weights(s8, w);
  const std::int64_t K = std::int64_t{p.shape.kernel_h} * p.shape.kernel_w * (p.shape.in_c / p.shape.groups);
  out.colsum = fast::internal_hybrid::WeightRowSums(w, p.shape.out_c, K);
  return out;
}

namespace fast {
namespace {

using internal_s8::Index;

internal_hybrid::Layout LayoutFor(const Conv2dParams& p, int threads) {
  const internal_s8::ConvGeometry g = internal_s8::MakeGeometry(p);
  return internal_hybrid::MakeLayout(p.batch, Index{p.in_h} * p.in_w * p.in_c, g.M, g.k_padded, g.ocg, threads);
}

}  // namespace

std::size_t conv2d_hybrid_scratch_floats(const PreparedConv2dHybrid& pp, int threads) {
  if (internal_s8::IsDepthwise(pp.shape)) return internal_hybrid::BytesToFloats(ref::conv2d_hybrid_scratch_bytes(pp.shape));
  return internal_hybrid::BytesToFloats(LayoutFor(pp.shape, threads).total);
}

void conv2d_hybrid(const KernelContext& ctx, const PreparedConv2dHybrid& pp, const PackedHybridWeights& packed,
                   const float* x, const std::int8_t* w_raw, const float* bias, float* y) {
  using namespace internal_hybrid;
  const Conv2dParams& p = pp.shape;
  QUALM_DCHECK(ctx.scratch != nullptr);
  if (packed.reference_fallback) {
    QUALM_DCHECK(ctx.scratch_floats * sizeof(float) >= ref::conv2d_hybrid_scratch_bytes(p));
    ref::conv2d_hybrid(pp, x, w_raw, bias, y, ctx.scratch);
    return;
  }
  const internal_s8::ConvGeometry g = internal_s8::MakeGeometry(p);
  const PackedS8Weights& w = packed.s8;
  QUALM_DCHECK(pp.weight_scales.size() == static_cast<std::size_t>(p.out_c) &&
               packed.colsum.size() == pp.weight_scales.size());
  QUALM_DCHECK(w.layout == PackedS8Weights::Layout::kPanels && w.groups == p.groups && w.n == g.ocg && w.k == g.K);
  const Layout l = LayoutFor(p, ctx.threads);
  QUALM_DCHECK(ctx.scratch_floats * sizeof(float) >= l.total);
  auto* base = reinterpret_cast<unsigned char*>(ctx.scratch);
  auto* sq = reinterpret_cast<SampleQuant*>(base);
  auto* q = reinterpret_cast<std::int8_t*>(base + l.q_off);
  const Index image = Index{p.in_h} * p.in_w * p.in_c;
  QuantizeSamples(x, p.batch, image, q, sq, ctx.threads);

  const detail::Int8GemmVariant& v = detail::ActiveInt8GemmVariant();
  const bool u8 = v.operands == detail::S8Operands::kU8S8;
  QUALM_DCHECK(!u8 || (w.zp_in == 0 && !w.data_u8s8.empty()));
  const Index lda = internal_s8::RowLength(v.operands, g.K);
  const internal_s8::TileGrid grid = internal_s8::MakeTileGrid(g.M, g.ocg, g.K, l.tile, ctx.threads);
  internal_s8::ForTiles(grid, ctx.threads, [&](int tid, Index row0, Index rows, Index col0, Index cols,
                                               bool new_rows) {
    unsigned char* mine = base + l.threads_off + static_cast<std::size_t>(tid) * l.thread_stride;
    auto* acc = reinterpret_cast<std::int32_t*>(mine + l.a_bytes);
    const int nc = static_cast<int>(cols);
    for (int grp = 0; grp < p.groups; ++grp) {
      // im2col image segment by image segment (each with its own zero point);
      // once for consecutive column blocks of one tile when there is one group.
      for (Index r = row0; r < row0 + rows && (new_rows || p.groups > 1);) {
        const Index n = r / g.P, end = std::min(row0 + rows, (n + 1) * g.P);
        if (u8) {
          auto* a = reinterpret_cast<std::uint8_t*>(mine) + (r - row0) * lda;
          internal_s8::Im2Col(p, g, q, U8For(sq[n].zp), grp, r, end - r, lda, a);
        } else {
          auto* a = reinterpret_cast<std::int16_t*>(mine) + (r - row0) * lda;
          internal_s8::Im2Col(p, g, q, S16For(sq[n].zp), grp, r, end - r, lda, a);
        }
        r = end;
      }
      RawGemm(v, w, grp, mine, lda, static_cast<int>(rows), col0, nc, acc);
      const Index c0 = Index{grp} * g.ocg + col0;
      for (Index r = 0; r < rows; ++r) {
        const SampleQuant& s = sq[(row0 + r) / g.P];
        Epilogue(acc + r * nc, nc, s, u8 ? s.zp : 0, packed.colsum.data() + c0, pp.weight_scales.data() + c0,
                 bias ? bias + c0 : nullptr, y + (row0 + r) * p.out_c + c0);
      }
    }
  });
}

}  // namespace fast
}  // namespace qualm::kernels

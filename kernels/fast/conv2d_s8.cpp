// Fast int8 conv2d (conv2d_s8.h, int8_gemm.h): im2col + the dispatched int8 GEMM,
// or the dispatched depthwise kernel; bit-exact to ref::conv2d_s8.
//
// With NHWC input and OHWI weights, the output pixels of one group form the GEMM
//     Y_g[M][ocg] = OutputStage(Col_g[M][K] * W_g[ocg][K]^T + bias)
// where a row of Col_g is the receptive field of one output pixel, in (ky, kx,
// ci) order like a row of W_g, in the operands of the variant
// (fast/int8_rows.h): x - zp_in as int16 and 0 at padding taps (what the
// reference's skipped taps contribute), or x + 128 as u8 and zp_in + 128 at
// padding taps (which the u8 x s8 GEMM's column correction cancels exactly:
// int8_gemm_variants.h). Rows are cut into tiles, and when there are fewer
// tiles than threads the tiles into column blocks (fast/int8_rows.h, a fixed
// partition); each thread builds its tiles' Col_g in its own slice of
// ctx.scratch, group by group, and hands them to the GEMM, which writes
// disjoint rows and columns of y.
//
// Pure depthwise convs (in_c == out_c == groups; the BN-folded 1x1 depthwise
// layers of the lowered ResNet are such) would be GEMMs of one column each, so
// they run a kernel vectorized across channels instead, with no scratch; the
// 1x1 stride-1 unpadded ones (per-channel affines) with many pixels run as a
// lookup in a table that kernel makes (fast/channel_affine_s8.h), in scratch.
//
// Convs with one group and in_c >= 2 run, under a u8 x s8 variant that has
// one, the implicit GEMM instead (fast/conv2d_s8_direct.h): no im2col, the
// micro-kernel reads the quads of each kernel row or tap from a padded u8 copy
// of the input.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "fast/channel_affine_s8.h"
#include "fast/conv2d_s8_direct.h"
#include "fast/conv_s8_c1.h"
#include "fast/im2col_s8.h"
#include "fast/int8_rows.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/conv2d_s8.h"

namespace qualm::kernels::fast {
namespace {

using internal_s8::Index;

using internal_s8::ConvGeometry;
using internal_s8::IsDepthwise;
using internal_s8::MakeGeometry;

// Output pixels per thread below which a depthwise split is not worth a fork.
constexpr Index kMinDepthwisePixelsPerThread = 64;

// Whether the call runs the table path (fast/channel_affine_s8.h): a
// per-channel affine with enough pixels, and a C small enough for int32
// gather offsets (255 * C + C).
bool UsesAffineTable(const Conv2dParams& p) {
  return internal_s8::IsChannelAffine(p) && p.out_c <= (1 << 20) &&
         Index{p.batch} * p.out_h() * p.out_w() >= internal_s8::kMinAffinePixels;
}

// Threads for a depthwise conv of M output pixels split by pixel ranges, with
// `work` multiply-add equivalents in all (ThreadsForWork's unit). Bits never
// depend on it: every output is computed alone.
int PixelThreads(const KernelContextS8& ctx, Index M, double work) {
  return static_cast<int>(
      std::max<Index>(1, std::min<Index>(ThreadsForWork(ctx.threads, work), M / kMinDepthwisePixelsPerThread)));
}

// An affine output (a gather, or a lane requantization) costs about as much as
// 16 of the GEMM's multiply-adds: counted as one, as before, a batch-64
// ResNet-20 affine (800 K outputs) stayed on one thread, and on 2 threads the
// 10 affines and 9 adds were 40 % of the forward pass (bench_whole_model
// --profile, Zen 5).
constexpr double kAffineWorkPerOutput = 16;

int AffineThreads(const KernelContextS8& ctx, Index M, Index C) {
  return PixelThreads(ctx, M, static_cast<double>(M) * C * kAffineWorkPerOutput);
}

// The per-channel affine as a table lookup: the table is the variant's own
// depthwise kernel run on the 256 possible inputs (fast/channel_affine_s8.h).
void ChannelAffine(const KernelContextS8& ctx, const detail::S8DepthwiseTile& proto, const Conv2dParams& p,
                   const detail::Int8GemmVariant& v) {
  const Index C = p.out_c, M = Index{p.batch} * p.out_h() * p.out_w();
  auto* image = reinterpret_cast<std::int8_t*>(ctx.scratch);  // [256][C]: pixel u holds u - 128
  std::int8_t* table = image + internal_s8::kAffineTableRows * C;
  for (Index u = 0; u < internal_s8::kAffineTableRows; ++u)
    std::fill(image + u * C, image + (u + 1) * C, static_cast<std::int8_t>(u - 128));
  std::fill(table + internal_s8::kAffineTableRows * C, table + internal_s8::kAffineTableRows * C + 4, std::int8_t{0});
  Conv2dParams tp = p;
  tp.batch = 1, tp.in_h = 1, tp.in_w = static_cast<int>(internal_s8::kAffineTableRows);
  detail::S8DepthwiseTile t = proto;
  t.shape = &tp, t.x = image, t.y = table, t.pix0 = 0, t.pix1 = internal_s8::kAffineTableRows;
  v.depthwise(t);
  // The generic variant never runs AVX2 code (QUALM_ISA=scalar means scalar);
  // non-x86 builds (the ARM runtime) have no AVX2 translation unit at all.
#if defined(__x86_64__) || defined(__i386__)
  const auto lookup = v.isa == Isa::kScalar ? &internal_s8::LookupChannels : &internal_s8::LookupChannels_avx2;
#else
  const auto lookup = &internal_s8::LookupChannels;
#endif
  const int nt = AffineThreads(ctx, M, C);
  if (nt == 1) {
    lookup(table, C, proto.x, 0, M, proto.y);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid) lookup(table, C, proto.x, M * tid / nt, M * (tid + 1) / nt, proto.y);
}

// Whether the per-channel affine is computed on AVX-512 lanes
// (internal_s8::ChannelAffine_avx512) rather than looked up: under the AVX-512
// VNNI variant, whose CPU has the AVX-512 F/BW/VL that kernel needs.
bool UsesAffineAvx512(const Conv2dParams& p, const detail::Int8GemmVariant& v) {
#if defined(__x86_64__) || defined(__i386__)
  return internal_s8::IsChannelAffine(p) && v.isa == Isa::kAvx512Vnni;
#else
  (void)p, (void)v;
  return false;
#endif
}

// run(tile) over output pixels [0, M) on nt threads, thread t taking
// [M t / nt, M (t + 1) / nt): each output pixel is computed alone, so the split
// never changes a bit.
void SplitPixels(int nt, Index M, detail::S8DepthwiseTile t, detail::S8DepthwiseFn run) {
  if (nt == 1) {
    t.pix0 = 0, t.pix1 = M;
    run(t);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid) {
    detail::S8DepthwiseTile mine = t;
    mine.pix0 = M * tid / nt;
    mine.pix1 = M * (tid + 1) / nt;
    run(mine);
  }
}

void Depthwise(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
               const std::int8_t* x, const std::int32_t* bias, std::int8_t* y, const detail::Int8GemmVariant& v) {
  const Conv2dParams& p = pp.shape;
  const Index M = Index{p.batch} * p.out_h() * p.out_w();
  detail::S8DepthwiseTile t;
  t.shape = &p;
  t.zp_in = pp.input_zero_point;
  t.w = w.data.data();
  t.channels_padded = w.channels_padded;
  t.x = x;
  t.out = internal_s8::MakeOutputStage(pp.output, bias);
  t.y = y;
#if defined(__x86_64__) || defined(__i386__)
  if (UsesAffineAvx512(p, v)) {
    SplitPixels(AffineThreads(ctx, M, p.out_c), M, t, &internal_s8::ChannelAffine_avx512);
    return;
  }
#endif
  if (UsesAffineTable(p)) {
    QUALM_DCHECK(ctx.scratch != nullptr &&
                 ctx.scratch_int16 * 2 >= static_cast<std::size_t>(internal_s8::AffineTableBytes(p.out_c)));
    ChannelAffine(ctx, t, p, v);
    return;
  }
  SplitPixels(PixelThreads(ctx, M, static_cast<double>(M) * p.out_c * p.kernel_h * p.kernel_w), M, t, v.depthwise);
}

}  // namespace

// The general path's scratch (conv2d_s8_scratch_int16 adds the one-channel path's).
static std::size_t GeneralScratchInt16(const PreparedConv2dS8& pp, int threads) {
  // Sized for the prepared batch: a smaller run batch needs the same or nothing.
  if (UsesAffineTable(pp.shape)) return static_cast<std::size_t>(internal_s8::AffineTableBytes(pp.shape.out_c) + 1) / 2;
  if (IsDepthwise(pp.shape)) return 0;
  const ConvGeometry g = MakeGeometry(pp.shape);
  const std::size_t im2col = internal_s8::ScratchInt16(g.M, g.k_padded, threads);
  // The implicit-GEMM path (chosen at run time by the variant) needs its own layout.
  if (internal_s8::UsesDirectConv(pp.shape))
    return std::max(im2col, internal_s8::DirectConvScratchInt16(pp.shape, threads));
  return im2col;
}

const char* conv2d_s8_kernel_name(const PreparedConv2dS8& pp) {
  const detail::Int8GemmVariant& v = detail::ActiveInt8GemmVariant();
  if (IsDepthwise(pp.shape)) {
    if (UsesAffineAvx512(pp.shape, v)) return "channel affine avx512";
    return UsesAffineTable(pp.shape) ? "channel affine table" : "depthwise";
  }
  if (v.conv_u8s8 != nullptr && internal_s8::UsesDirectConv(pp.shape)) return v.conv_name;
  if (internal_s8::IsConvS8C1(pp.shape) && detail::ActiveConvS8C1()) return detail::ConvS8C1PathName();
  return v.name;
}

std::size_t conv2d_s8_scratch_int16(const PreparedConv2dS8& pp, int threads) {
  const std::size_t general = GeneralScratchInt16(pp, threads);
  // Room for either path: the one-channel one runs only under some variants.
  if (internal_s8::IsConvS8C1(pp.shape)) return std::max(general, internal_s8::ConvS8C1ScratchInt16(pp, threads));
  return general;
}

void conv2d_s8(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
               const std::int8_t* x, const std::int32_t* bias, std::int8_t* y) {
  const Conv2dParams& p = pp.shape;
  QUALM_DCHECK(pp.output.requant.size() == static_cast<std::size_t>(p.out_c));
  const detail::Int8GemmVariant& v = detail::ActiveInt8GemmVariant();
  if (w.layout == PackedS8Weights::Layout::kDepthwise) {
    QUALM_DCHECK(IsDepthwise(p) && w.k == p.kernel_h * p.kernel_w && w.channels_padded >= p.out_c);
    Depthwise(ctx, pp, w, x, bias, y, v);
    return;
  }
  // The implicit GEMM (fast/conv2d_s8_direct.h; one group, in_c >= 2).
  if (v.conv_u8s8 != nullptr && internal_s8::UsesDirectConv(p)) {
    internal_s8::DirectConv(ctx, pp, w, x, bias, y, v);
    return;
  }
  // in_c == 1 (other than 3- or 4-tap rows): output pixels in the vector lanes instead (fast/conv_s8_c1.h).
  if (internal_s8::RunConvS8C1(ctx, pp, w, x, bias, y)) return;
  const ConvGeometry g = MakeGeometry(p);
  QUALM_DCHECK(w.groups == p.groups && w.n == g.ocg && w.k == g.K && w.k_padded == g.k_padded);
  QUALM_DCHECK(ctx.scratch_int16 >= conv2d_s8_scratch_int16(pp, ctx.threads) && ctx.scratch != nullptr);
  const Index tile = internal_s8::TileRows(g.M, g.k_padded, ctx.threads);
  const std::size_t stride = internal_s8::ThreadStride(g.M, g.k_padded, ctx.threads);
  const detail::S8OutputStage out = internal_s8::MakeOutputStage(pp.output, bias);
  const internal_s8::TileGrid grid = internal_s8::MakeTileGrid(g.M, g.ocg, g.K, tile, ctx.threads);
  // Each thread converts its tiles' rows of one group (once for consecutive
  // column blocks of one row tile when there is one group), then runs the
  // GEMM on its columns [col0, col0 + cols) of the group.
  auto tiles = [&](const auto& op, auto&& gemm) {
    using Operand = std::decay_t<decltype(op)>;
    const Index lda = internal_s8::RowLength(v.operands, g.K);
    internal_s8::ForTiles(grid, ctx.threads, [&](int tid, Index row0, Index rows, Index col0, Index cols,
                                                 bool new_rows) {
      typename Operand::T* col = internal_s8::ThreadBuffer<Operand>(ctx.scratch, stride, tid);
      for (int grp = 0; grp < p.groups; ++grp) {
        if (new_rows || p.groups > 1) internal_s8::Im2Col(p, g, x, op, grp, row0, rows, lda, col);
        detail::S8OutputStage o = out;
        const Index c0 = grp * g.ocg + col0;
        o.requant += c0;
        if (bias) o.bias += c0;
        gemm(col, lda, static_cast<int>(rows), grp, static_cast<int>(col0), static_cast<int>(cols), o,
             y + row0 * p.out_c + c0);
      }
    });
  };
  if (v.operands == detail::S8Operands::kU8S8) {
    QUALM_DCHECK(w.k_padded4 == internal_s8::RowLength(v.operands, g.K) && w.zp_in == pp.input_zero_point &&
                 !w.data_u8s8.empty());
    const std::size_t panel_size = static_cast<std::size_t>(w.panels) * static_cast<std::size_t>(w.k_padded4) *
                                   detail::kS8PanelCols;
    tiles(internal_s8::U8Operand(pp.input_zero_point),
          [&](const std::uint8_t* a, Index lda, int rows, int grp, int col0, int cols, const detail::S8OutputStage& o,
              std::int8_t* yt) {
            detail::U8S8GemmTile t;
            t.a = a, t.lda = lda, t.m = rows;
            t.b = w.data_u8s8.data() + static_cast<std::size_t>(grp) * panel_size +
                  static_cast<std::size_t>(col0) * static_cast<std::size_t>(w.k_padded4);
            t.col_offset = w.col_offset.data() + static_cast<std::size_t>(grp) * w.panels * detail::kS8PanelCols + col0;
            t.n = cols, t.k_padded = static_cast<int>(lda);
            t.out = o, t.y = yt, t.ldy = p.out_c;
            v.gemm_u8s8(t);
          });
  } else {
    const std::size_t panel_size = static_cast<std::size_t>(w.panels) * static_cast<std::size_t>(g.k_padded) *
                                   detail::kS8PanelCols;
    tiles(internal_s8::S16Operand{static_cast<std::int16_t>(pp.input_zero_point)},
          [&](const std::int16_t* a, Index lda, int rows, int grp, int col0, int cols, const detail::S8OutputStage& o,
              std::int8_t* yt) {
            detail::S8GemmTile t;
            t.a = a, t.lda = lda, t.m = rows;
            t.b = w.data.data() + static_cast<std::size_t>(grp) * panel_size +
                  static_cast<std::size_t>(col0) * static_cast<std::size_t>(g.k_padded);
            t.n = cols, t.k_padded = static_cast<int>(lda);
            t.out = o, t.y = yt, t.ldy = p.out_c;
            v.gemm(t);
          });
  }
}

}  // namespace qualm::kernels::fast

// The implicit-GEMM (direct) path of fast::conv2d_s8 (fast/conv2d_s8_direct.h):
// the same GEMM as the im2col path, Y[M][out_c] = OutputStage(Col[M][K] *
// W^T + bias), but Col is never written. Instead:
//  * a chunk of images at a time is copied once into the thread's scratch as
//    u8 (x + 128, the int8 bits with the top bit flipped), zero-point padded:
//    [hp = pad_top + in_h + pad_bottom][wp = pad_left + in_w + pad_right][in_c]
//    per image, the padding holding zp_in + 128. That is the byte an im2col
//    row of the u8 variants holds at a padding tap, which the column
//    correction cancels exactly (detail/int8_gemm_variants.h), so the sums
//    are the im2col path's and the reference's, bit for bit;
//  * output pixel (n, oy, ox) starts at byte ((n hp + oy stride_h) wp + ox
//    stride_w) in_c of the chunk, and quad j of K run r (a kernel row or a
//    tap, DirectRuns in the header, like the packed weights) lies koff[q] =
//    ((ky dilation_h) wp + kx dilation_w) in_c + 4 j bytes further: one table
//    per call, one pointer per row, and the micro-kernel reads every quad in
//    place. With in_c % 4 != 0 (LeNet's 6 channels) a run's last quad reads up
//    to 3 bytes past it, which meet zero weights: the runs of a 5x5 kernel
//    over 6 channels are 30 bytes, 8 quads, 7 % more than K instead of the
//    im2col row's copy of K bytes per output pixel.
// Padding the whole border (instead of testing taps against the image edges)
// keeps the micro-kernel free of branches; the copy is hp wp in_c bytes per
// image, which is small next to the out_h out_w K reads the kernel makes of it.
//
// Threads: output pixels [M tid / nt, M (tid + 1) / nt), a fixed partition
// (each output is one exact sum and one output stage whoever computes it, so
// the bits do not depend on the thread count either way); each thread pads the
// images its pixels need into its own slice of scratch.
#include "fast/conv2d_s8_direct.h"

#include <algorithm>
#include <cstring>

#include "fast/int8_rows.h"

namespace qualm::kernels::fast::internal_s8 {
namespace {

// Padded image bytes per refill of a thread's chunk: well inside L2, so the
// kernel's repeated reads of each input pixel (up to kernel_h kernel_w times)
// hit the cache. At least one image.
constexpr Index kChunkBytes = 96 * 1024;
// Row pointers per micro-kernel call: a multiple of every tile height (24,
// 12, 6), so only the last call of a chunk has a partial tile. Each call
// rebuilds its panels' output-stage constants, which cost 5 % of a 1x1 conv
// with 240 rows a call; 960 pointers are 7.5 KB, still inside L1.
constexpr Index kRowBlock = 960;
constexpr Index kLine = 64;
// Bytes after a chunk's last image that a run's last quad may read (DirectRuns).
constexpr Index kSlack = 4;

Index RoundUp(Index v, Index to) { return (v + to - 1) / to * to; }

struct Plan {
  Index hp = 0, wp = 0, C = 0, image_bytes = 0, chunk = 1;
  Index oh = 0, ow = 0, P = 0, M = 0, quads = 0;
  Index koff_at = 0, images_at = 0, thread_bytes = 0;  // one thread's slice: [pointers][koff][images]
  bool in_place = false;  // the kernel reads x itself (signed_rows): no padded copy
};

Plan MakePlan(const Conv2dParams& p) {
  Plan g;
  g.hp = Index{p.pad_top} + p.in_h + p.pad_bottom;
  g.wp = Index{p.pad_left} + p.in_w + p.pad_right;
  g.C = p.in_c;
  g.image_bytes = g.hp * g.wp * g.C;
  // No padding and whole quads (every run a multiple of 4 bytes, so no quad
  // reads past the input): the padded copy would be x + 128 byte for byte,
  // so the kernel reads x in place and flips the quads itself. Most 1x1 convs
  // (NiN's) are such; there the copy cost as much as a third of the K = 48 or
  // 64 products.
  g.in_place = p.pad_top == 0 && p.pad_bottom == 0 && p.pad_left == 0 && p.pad_right == 0 &&
               !DirectNeedsOwnPanels(p);
  g.chunk = g.in_place ? std::max(p.batch, 1)
                       : std::clamp<Index>(kChunkBytes / std::max<Index>(g.image_bytes, 1), 1, std::max(p.batch, 1));
  g.oh = p.out_h();
  g.ow = p.out_w();
  g.P = g.oh * g.ow;
  g.M = g.P * p.batch;
  const DirectRuns runs = MakeDirectRuns(p);
  g.quads = Index{runs.count} * runs.quads;
  g.koff_at = RoundUp(kRowBlock * static_cast<Index>(sizeof(const std::uint8_t*)), kLine);
  g.images_at = g.koff_at + RoundUp(g.quads * 4, kLine);
  // + kSlack: a run's last quad may read 3 bytes past the last image (DirectRuns).
  g.thread_bytes = g.images_at + (g.in_place ? 0 : RoundUp(g.chunk * g.image_bytes + kSlack, kLine));
  return g;
}

// One image (NHWC int8) into its padded u8 form.
void PadImage(const Conv2dParams& p, const Plan& g, const std::int8_t* img, std::uint8_t pad, std::uint8_t* dst) {
  const Index row = g.wp * g.C, left = Index{p.pad_left} * g.C, inner = Index{p.in_w} * g.C;
  for (Index yy = 0; yy < g.hp; ++yy, dst += row) {
    const Index iy = yy - p.pad_top;
    if (iy < 0 || iy >= p.in_h) {
      std::memset(dst, pad, static_cast<std::size_t>(row));
      continue;
    }
    std::memset(dst, pad, static_cast<std::size_t>(left));
    const std::int8_t* s = img + iy * inner;
    std::uint8_t* d = dst + left;
    for (Index i = 0; i < inner; ++i) d[i] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(s[i]) ^ 0x80u);
    std::memset(d + inner, pad, static_cast<std::size_t>(row - left - inner));
  }
}

// Output pixels [pix0, pix1) on one thread, in its scratch slice.
void RunSlice(const PreparedConv2dS8& pp, const Plan& g, const detail::U8S8ConvTile& proto, const std::int8_t* x,
              std::int8_t* y, Index pix0, Index pix1, std::uint8_t* slice, detail::U8S8ConvFn conv) {
  const Conv2dParams& p = pp.shape;
  auto** rows = reinterpret_cast<const std::uint8_t**>(slice);
  auto* koff = reinterpret_cast<std::int32_t*>(slice + g.koff_at);
  const DirectRuns runs = MakeDirectRuns(p);
  Index q = 0;
  for (int r = 0; r < runs.count; ++r) {
    const Index start = (Index{runs.Ky(r)} * p.dilation_h * g.wp + Index{runs.Kx(r)} * p.dilation_w) * g.C;
    for (Index j = 0; j < runs.quads; ++j) koff[q++] = static_cast<std::int32_t>(start + 4 * j);
  }
  const auto pad = static_cast<std::uint8_t>(pp.input_zero_point + 128);
  const Index in_image = Index{p.in_h} * p.in_w * p.in_c;
  detail::U8S8ConvTile t = proto;
  t.rows = rows;
  t.koff = koff;
  t.signed_rows = g.in_place;
  for (Index pix = pix0; pix < pix1;) {
    // The images of this chunk: from pix's image, as many as fit, none past pix1's.
    const Index n0 = pix / g.P, n1 = std::min(n0 + g.chunk, (pix1 - 1) / g.P + 1);
    const std::uint8_t* images = reinterpret_cast<const std::uint8_t*>(x + n0 * in_image);
    if (!g.in_place) {
      std::uint8_t* padded = slice + g.images_at;
      for (Index n = n0; n < n1; ++n) PadImage(p, g, x + n * in_image, pad, padded + (n - n0) * g.image_bytes);
      // The bytes a run's last quad may read past the last image meet zero
      // weights; written anyway, so that no uninitialized byte is ever read.
      std::memset(padded + (n1 - n0) * g.image_bytes, pad, static_cast<std::size_t>(kSlack));
      images = padded;
    }
    const Index end = std::min(pix1, n1 * g.P);
    // Row starts advance by stride_w in_c bytes along an output row; only a
    // new output row (or image) recomputes the start.
    const Index step = Index{p.stride_w} * g.C, row_step = Index{p.stride_h} * g.wp * g.C;
    Index oy = pix % g.P / g.ow, ox = pix % g.ow;
    const std::uint8_t* start = images + (oy * row_step + ox * step);
    while (pix < end) {
      const Index count = std::min(kRowBlock, end - pix);
      for (Index r = 0; r < count; ++r, ++ox, start += step) {
        if (ox == g.ow) {
          ox = 0;
          ++oy;
          start -= g.ow * step;  // back to column 0,
          start += oy == g.oh ? g.image_bytes - (g.oh - 1) * row_step : row_step;  // next row or image
          if (oy == g.oh) oy = 0;
        }
        rows[r] = start;
      }
      t.m = static_cast<int>(count);
      t.y = y + pix * p.out_c;
      conv(t);
      pix += count;
    }
  }
}

}  // namespace

bool UsesDirectConv(const Conv2dParams& p) {
  // in_c == 1: only kernel rows of 3 or 4 taps, one quad each (75 or 100 % of
  // its bytes used; the ResNet-20 stem): there the implicit GEMM beat the
  // one-channel kernel on Zen 5, which keeps the rest (LeNet's 5x5 over 6
  // channels ran slower here: 2 quads a row and 6 of 16 columns).
  const bool c1_rows = p.in_c == 1 && p.dilation_w == 1 && (p.kernel_w == 3 || p.kernel_w == 4);
  if (p.groups != 1 || (p.in_c < 2 && !c1_rows)) return false;
  const Index hp = Index{p.pad_top} + p.in_h + p.pad_bottom, wp = Index{p.pad_left} + p.in_w + p.pad_right;
  return hp * wp * p.in_c + kSlack <= INT32_MAX;  // koff and the slice layout in int32-safe ranges
}

std::vector<std::int8_t> PackDirectPanels(const Conv2dParams& p, const std::int8_t* w) {
  const DirectRuns runs = MakeDirectRuns(p);
  const Index quads = Index{runs.count} * runs.quads, K = Index{p.kernel_h} * p.kernel_w * p.in_c;
  const Index panels = (p.out_c + detail::kS8PanelCols - 1) / detail::kS8PanelCols;
  const Index panel_size = quads * 4 * detail::kS8PanelCols;
  std::vector<std::int8_t> out(static_cast<std::size_t>(panels * panel_size), 0);
  for (Index col = 0; col < p.out_c; ++col) {
    std::int8_t* panel = out.data() + col / detail::kS8PanelCols * panel_size;
    const Index j = col % detail::kS8PanelCols;
    for (int r = 0; r < runs.count; ++r) {
      const std::int8_t* src = w + col * K + (Index{runs.Ky(r)} * p.kernel_w + runs.Kx(r)) * p.in_c;
      for (Index b = 0; b < runs.bytes; ++b) {
        const Index q = Index{r} * runs.quads + b / 4;  // quad q of the layout, byte b % 4
        panel[(q * detail::kS8PanelCols + j) * 4 + b % 4] = src[b];
      }
    }
  }
  return out;
}

std::size_t DirectConvScratchInt16(const Conv2dParams& p, int threads) {
  const Plan g = MakePlan(p);
  const Index bytes = kLine + g.thread_bytes * std::max(threads, 1);  // + alignment of the base
  return static_cast<std::size_t>((bytes + 1) / 2);
}

void DirectConv(const KernelContextS8& ctx, const PreparedConv2dS8& pp, const PackedS8Weights& w,
                const std::int8_t* x, const std::int32_t* bias, std::int8_t* y, const detail::Int8GemmVariant& v) {
  const Conv2dParams& p = pp.shape;
  const Plan g = MakePlan(p);
  QUALM_DCHECK(v.conv_u8s8 != nullptr && UsesDirectConv(p));
  const bool own = DirectNeedsOwnPanels(p);
  QUALM_DCHECK(w.groups == 1 && w.n == p.out_c && w.zp_in == pp.input_zero_point && !w.data_u8s8.empty());
  QUALM_DCHECK(own ? w.direct_u8s8.size() == static_cast<std::size_t>(w.panels * g.quads * 4 * detail::kS8PanelCols)
                   : w.k_padded4 == 4 * g.quads);
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_int16 >= DirectConvScratchInt16(p, ctx.threads));
  if (g.M == 0) return;
  detail::U8S8ConvTile proto;
  proto.quads = static_cast<int>(g.quads);
  proto.b = own ? w.direct_u8s8.data() : w.data_u8s8.data();
  proto.col_offset = w.col_offset.data();
  proto.n = p.out_c;
  proto.out = MakeOutputStage(pp.output, bias);
  proto.ldy = p.out_c;
  const auto base = reinterpret_cast<std::uintptr_t>(ctx.scratch);
  auto* scratch = reinterpret_cast<std::uint8_t*>(ctx.scratch) + (RoundUp(static_cast<Index>(base % kLine), kLine) -
                                                                  static_cast<Index>(base % kLine));
  // Threads only where each gets enough multiply-adds (context.h, ThreadsForWork).
  const Index macs = g.M * g.quads * 4 * p.out_c;
  const int nt = ThreadsForWork(ctx.threads, static_cast<double>(macs));
  if (nt == 1) {
    RunSlice(pp, g, proto, x, y, 0, g.M, scratch, v.conv_u8s8);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid)
    RunSlice(pp, g, proto, x, y, g.M * tid / nt, g.M * (tid + 1) / nt, scratch + tid * g.thread_bytes, v.conv_u8s8);
}

}  // namespace qualm::kernels::fast::internal_s8

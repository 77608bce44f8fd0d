// Fast float conv2d (conv2d.h): im2col + gemm_f32, NHWC.
//
// With NHWC input and OHWI weights, output pixel rows of one group form the
// GEMM
//     Y_g[M][oc_g] = Col_g[M][K] * W_g[oc_g][K]^T,   M = batch*out_h*out_w,
//                                                     K = kernel_h*kernel_w*in_c/groups
// where a row of Col_g is the receptive field of one output pixel in (ky, kx, ci)
// order, i.e. exactly a row of W_g. A 1x1, stride-1, unpadded, undilated conv
// needs no im2col: Col_g is x itself with row stride in_c. Backward:
//     dW_g += dY_g^T * Col_g          (reduction over M)
//     dCol_g = dY_g * W_g, then col2im adds each dCol row back into dx.
//
// Tiling: Col is never built whole (it would be 9x the input for 3x3
// kernels). Rows are cut into tiles of at most TileRows() rows (about
// kTileFloats floats of Col, sized for a core's L2); a tile is either a run of
// whole images or a slice of one image's pixels, never a mix. Threads take
// contiguous runs of tiles, each with its own Col buffer in ctx.scratch, and
// call single-threaded GEMMs; when there are fewer tiles than threads, tiles
// run one by one and the GEMM itself is threaded.
//  * forward: tiles write disjoint rows of y.
//  * dW: the tiles are cut into a fixed number of contiguous chunks
//    (min(kDwChunks, tiles), from the shape alone), each accumulated into its
//    own partial buffer; threads take contiguous runs of chunks, and the
//    partials are added to dw in chunk order at the end. Together with
//    gemm_f32's fixed per-element order (gemm.h) this gives the same bits for
//    every thread count.
//  * dx: col2im of neighbouring pixels overlaps, so threads split by image
//    (a tile never straddles two threads' images) and write disjoint images.
// Scratch layout: per thread a Col tile; kDwChunks dW partials; one db accumulator.
//
// Implicit GEMM (conv2d_implicit_f32.cpp, conv2d_rows_f32.h): the forward
// pass, each dW tile and (for >= 8 channels per group) dx skip the Col
// buffer and read x / dY in place, performing exactly the floating-point
// operations of the im2col + gemm_f32 path here, in the same order, so their
// results are bit-identical to it (tests/kernels/fast_conv_implicit_test.cpp).
// The tiling and dW chunks here still define the dW bits; the im2col code
// serves the shapes the implicit kernels decline and is the tests' oracle
// (detail/conv2d_f32_paths.h).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/conv_f32_c1.h"
#include "internal/scratch.h"
#include "qualm/kernels/conv2d.h"
#include "fast/conv2d_rows_f32.h"
#include "qualm/kernels/detail/conv2d_f32_paths.h"
#include "qualm/kernels/gemm.h"

namespace qualm::kernels::fast {
namespace {

using Index = std::int64_t;

// About 256 KB of Col per tile: with gemm_f32's packed B block it stays in a
// 512 KB L2, and a tile is still >= 100 GEMM rows for the largest ResNet K.
constexpr Index kTileFloats = 64 * 1024;

// Partial dW sums per conv backward, whatever the thread count: enough for 8
// threads to work on disjoint chunks, few enough that adding the partials up
// costs little (8 * ocg * K adds per group per pass).
constexpr Index kDwChunks = 8;

struct Geometry {
  Index oh, ow, P;  // P = output pixels per image
  Index icg, ocg, K;
  bool direct;  // 1x1 / stride 1 / no padding / no dilation: Col = x
  Index T;      // max rows of a tile
};

Geometry MakeGeometry(const Conv2dParams& p) {
  Geometry g;
  g.oh = p.out_h();
  g.ow = p.out_w();
  g.P = g.oh * g.ow;
  g.icg = p.in_c / p.groups;
  g.ocg = p.out_c / p.groups;
  g.K = Index{p.kernel_h} * p.kernel_w * g.icg;
  g.direct = p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
             p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  g.T = std::max<Index>(8, kTileFloats / g.K / 8 * 8);
  g.T = std::min<Index>(g.T, Index{p.batch} * g.P);  // never more rows than exist
  return g;
}

// The tiles covering images [b0, b1).
struct Tiles {
  Index b0 = 0, b1 = 0, P = 1;
  Index images_per_tile = 0;  // > 0: tiles are runs of whole images
  Index chunk = 0, chunks_per_image = 0;  // otherwise: slices of one image

  Index count() const {
    if (b1 <= b0) return 0;
    if (images_per_tile > 0) return (b1 - b0 + images_per_tile - 1) / images_per_tile;
    return (b1 - b0) * chunks_per_image;
  }
  // First row (in [0, batch*P)) and row count of tile i.
  void at(Index i, Index* row0, Index* rows) const {
    if (images_per_tile > 0) {
      const Index first = b0 + i * images_per_tile, last = std::min(b1, first + images_per_tile);
      *row0 = first * P;
      *rows = (last - first) * P;
    } else {
      const Index image = b0 + i / chunks_per_image, c = i % chunks_per_image;
      const Index lo = c * chunk, hi = std::min(P, lo + chunk);
      *row0 = image * P + lo;
      *rows = hi - lo;
    }
  }
};

Tiles MakeTiles(const Geometry& g, Index b0, Index b1) {
  Tiles t;
  t.b0 = b0;
  t.b1 = b1;
  t.P = g.P;
  if (g.P <= g.T) {
    t.images_per_tile = g.T / g.P;
  } else {
    const Index n = (g.P + g.T - 1) / g.T;             // slices per image
    t.chunk = std::min(g.T, ((g.P + n - 1) / n + 7) / 8 * 8);  // even slices, multiple of 8
    t.chunks_per_image = (g.P + t.chunk - 1) / t.chunk;
  }
  return t;
}

struct Layout {
  float* col = nullptr;      // per thread: T * K
  float* partial = nullptr;  // per dW chunk (kDwChunks): ocg * K
  float* db = nullptr;       // out_c
  std::size_t col_stride = 0, partial_stride = 0, used = 0;
};

Layout MakeLayout(const Conv2dParams& p, const Geometry& g, int threads, float* base) {
  internal::ScratchCursor cur(base);
  Layout l;
  const int nt = std::max(1, threads);
  const std::size_t col = g.direct ? 0 : static_cast<std::size_t>(g.T * g.K);
  const std::size_t part = g.direct ? 0 : static_cast<std::size_t>(g.ocg * g.K);
  l.col_stride = (col + 15) / 16 * 16;
  l.partial_stride = (part + 15) / 16 * 16;
  l.col = cur.Take(l.col_stride * nt);
  l.partial = cur.Take(l.partial_stride * kDwChunks);
  l.db = cur.Take(static_cast<std::size_t>(p.out_c));
  l.used = cur.used();
  return l;
}

// Rows [row0, row0 + rows) of Col for group grp into col ([rows][K]).
// With NHWC, undilated taps of one kernel row that are all inside the image
// are one contiguous run of kernel_w * icg floats (when the conv has a single
// group), copied at once; this interior case is most of the work.
void Im2Col(const Conv2dParams& p, const Geometry& g, const float* x, int grp, Index row0, Index rows,
            float* col) {
  const Index c0 = grp * g.icg;
  const bool runs = p.dilation_w == 1 && p.groups == 1;
  const Index run = p.kernel_w * g.icg;
  for (Index r = 0; r < rows; ++r) {
    const Index m = row0 + r, n = m / g.P, pix = m % g.P, oy = pix / g.ow, ox = pix % g.ow;
    const Index ix0 = ox * p.stride_w - p.pad_left;
    float* dst = col + r * g.K;
    for (Index ky = 0; ky < p.kernel_h; ++ky, dst += run) {
      const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) {
        std::fill(dst, dst + run, 0.0f);
        continue;
      }
      const float* xrow = x + (n * p.in_h + iy) * p.in_w * p.in_c + c0;
      if (runs && ix0 >= 0 && ix0 + p.kernel_w <= p.in_w) {
        std::copy(xrow + ix0 * p.in_c, xrow + ix0 * p.in_c + run, dst);
        continue;
      }
      for (Index kx = 0; kx < p.kernel_w; ++kx) {
        const Index ix = ix0 + kx * p.dilation_w;
        float* d = dst + kx * g.icg;
        if (ix < 0 || ix >= p.in_w) std::fill(d, d + g.icg, 0.0f);
        else std::copy(xrow + ix * p.in_c, xrow + ix * p.in_c + g.icg, d);
      }
    }
  }
}

// dx += the rows of dCol (group grp) scattered back to the pixels they read
// (contiguous runs as in Im2Col).
void Col2Im(const Conv2dParams& p, const Geometry& g, const float* col, int grp, Index row0, Index rows,
            float* dx) {
  const Index c0 = grp * g.icg;
  const bool runs = p.dilation_w == 1 && p.groups == 1;
  const Index run = p.kernel_w * g.icg;
  for (Index r = 0; r < rows; ++r) {
    const Index m = row0 + r, n = m / g.P, pix = m % g.P, oy = pix / g.ow, ox = pix % g.ow;
    const Index ix0 = ox * p.stride_w - p.pad_left;
    const float* src = col + r * g.K;
    for (Index ky = 0; ky < p.kernel_h; ++ky, src += run) {
      const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      float* dxrow = dx + (n * p.in_h + iy) * p.in_w * p.in_c + c0;
      if (runs && ix0 >= 0 && ix0 + p.kernel_w <= p.in_w) {
        float* d = dxrow + ix0 * p.in_c;
        for (Index j = 0; j < run; ++j) d[j] += src[j];
        continue;
      }
      for (Index kx = 0; kx < p.kernel_w; ++kx) {
        const Index ix = ix0 + kx * p.dilation_w;
        if (ix < 0 || ix >= p.in_w) continue;
        float* d = dxrow + ix * p.in_c;
        const float* s = src + kx * g.icg;
        for (Index c = 0; c < g.icg; ++c) d[c] += s[c];
      }
    }
  }
}

GemmParams Gemm(bool ta, bool tb, Index m, Index n, Index k, Index lda, Index ldb, Index ldc, float beta) {
  GemmParams gp;
  gp.trans_a = ta;
  gp.trans_b = tb;
  gp.m = static_cast<int>(m);
  gp.n = static_cast<int>(n);
  gp.k = static_cast<int>(k);
  gp.lda = static_cast<int>(lda);
  gp.ldb = static_cast<int>(ldb);
  gp.ldc = static_cast<int>(ldc);
  gp.beta = beta;
  return gp;
}

// Runs body(tid, first_tile, end_tile, gemm_threads) over `count` tiles split
// into contiguous runs, one per thread; with fewer tiles than threads, one run
// whose GEMMs use every thread. `work` (multiply-adds of all the tiles) caps
// the threads (context.h, ThreadsForWork).
template <typename Body>
void ForTileRuns(int threads, Index count, double work, const Body& body) {
  const int nt = static_cast<int>(std::min<Index>(ThreadsForWork(threads, work), count));
  if (nt <= 1) {
    body(0, Index{0}, count, std::max(1, threads));
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int tid = 0; tid < nt; ++tid) body(tid, count * tid / nt, count * (tid + 1) / nt, 1);
}

}  // namespace

std::size_t conv2d_scratch_floats(const Conv2dParams& p, int threads) {
  QUALM_DCHECK(Validate(p).ok());
  const Geometry g = MakeGeometry(p);
  // Forward may take the one-channel path (fast/conv_f32_c1.h) or the implicit
  // GEMM (conv2d_implicit_f32.cpp); backward uses this file's layout.
  return std::max({MakeLayout(p, g, threads, nullptr).used, detail::conv2d_implicit_f32_scratch_floats(p, threads),
                   internal_f32::ConvF32C1ScratchFloats(p, threads)});
}

void conv2d_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                const float* bias, float* y) {
  // in_c == 1: output pixels in the vector lanes, same bits (fast/conv_f32_c1.h).
  if (internal_f32::RunConvF32C1(ctx, p, x, w, bias, y)) return;
  // The implicit GEMM (no im2col; the same bits: fast/conv2d_rows_f32.h).
  if (detail::Conv2dImplicitApplies(p)) {
    detail::conv2d_implicit_f32(ctx, p, x, w, nullptr, bias, y);
    return;
  }
  detail::conv2d_f32_im2col(ctx, p, x, w, bias, y);
}

void detail::conv2d_f32_im2col(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                               const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  const Geometry g = MakeGeometry(p);
  const Layout l = MakeLayout(p, g, ctx.threads, ctx.scratch);
  QUALM_DCHECK(ctx.scratch_floats >= l.used && (l.used == 0 || ctx.scratch != nullptr));
  const Index M = Index{p.batch} * g.P;

  for (int grp = 0; grp < p.groups; ++grp) {
    const float* wg = w + grp * g.ocg * g.K;
    if (g.direct) {
      gemm_f32(Gemm(false, true, M, g.ocg, g.K, p.in_c, g.K, p.out_c, 0.0f), x + grp * g.icg, wg, y + grp * g.ocg,
               ctx.threads);
      continue;
    }
    const Tiles tiles = MakeTiles(g, 0, p.batch);
    const double work = static_cast<double>(M) * g.ocg * g.K;
    ForTileRuns(ctx.threads, tiles.count(), work, [&](int tid, Index first, Index end, int gemm_threads) {
      float* col = l.col + tid * l.col_stride;
      for (Index i = first; i < end; ++i) {
        Index row0, rows;
        tiles.at(i, &row0, &rows);
        Im2Col(p, g, x, grp, row0, rows, col);
        gemm_f32(Gemm(false, true, rows, g.ocg, g.K, g.K, g.K, p.out_c, 0.0f), col, wg,
                 y + row0 * p.out_c + grp * g.ocg, gemm_threads);
      }
    });
  }
  if (bias) {
    for (Index m = 0; m < M; ++m) {
      float* yr = y + m * p.out_c;
      for (Index oc = 0; oc < p.out_c; ++oc) yr[oc] += bias[oc];
    }
  }
}

namespace {

// implicit: each dW tile reads x in place (Conv2dDwTileImplicit) instead of
// im2col + gemm_f32, and dx is gathered per input pixel (Conv2dDxImplicit)
// instead of gemm_f32 + col2im where that pays; the same bits either way.
void Backward(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w, const float* dy,
              float* dx, float* dw, float* db, bool implicit) {
  QUALM_DCHECK(Validate(p).ok());
  const Geometry g = MakeGeometry(p);
  const Layout l = MakeLayout(p, g, ctx.threads, ctx.scratch);
  QUALM_DCHECK(ctx.scratch_floats >= l.used && ctx.scratch != nullptr);
  const Index M = Index{p.batch} * g.P;

  if (db) {
    // Column sums of dy in row order, then one add into db.
    std::fill(l.db, l.db + p.out_c, 0.0f);
    for (Index m = 0; m < M; ++m) {
      const float* dyr = dy + m * p.out_c;
      for (Index oc = 0; oc < p.out_c; ++oc) l.db[oc] += dyr[oc];
    }
    for (Index oc = 0; oc < p.out_c; ++oc) db[oc] += l.db[oc];
  }

  for (int grp = 0; grp < p.groups; ++grp) {
    const float* wg = w + grp * g.ocg * g.K;
    const float* dyg = dy + grp * g.ocg;
    float* dwg = dw ? dw + grp * g.ocg * g.K : nullptr;

    if (g.direct) {
      if (dwg)
        gemm_f32(Gemm(true, false, g.ocg, g.K, M, p.out_c, p.in_c, g.K, 1.0f), dyg, x + grp * g.icg, dwg,
                 ctx.threads);
      if (dx)
        gemm_f32(Gemm(false, false, M, g.icg, g.ocg, p.out_c, g.K, p.in_c, 1.0f), dyg, wg, dx + grp * g.icg,
                 ctx.threads);
      continue;
    }

    if (dwg) {
      const Tiles tiles = MakeTiles(g, 0, p.batch);
      const Index count = tiles.count();
      const Index chunks = std::min(kDwChunks, count);
      // Chunk c covers tiles [count * c / chunks, count * (c + 1) / chunks).
      // One chunk accumulates straight into dw: the same bits as dw += (0 + chunk).
      const double work = static_cast<double>(M) * g.ocg * g.K;
      ForTileRuns(ctx.threads, chunks, work, [&](int tid, Index first_chunk, Index end_chunk, int gemm_threads) {
        float* col = l.col + tid * l.col_stride;
        for (Index c = first_chunk; c < end_chunk; ++c) {
          float* target = chunks == 1 ? dwg : l.partial + c * l.partial_stride;
          if (chunks > 1) std::fill(target, target + g.ocg * g.K, 0.0f);
          for (Index i = count * c / chunks; i < count * (c + 1) / chunks; ++i) {
            Index row0, rows;
            tiles.at(i, &row0, &rows);
            if (implicit && detail::Conv2dDwTileImplicit(p, x, dy, grp, row0, rows, target, col, l.col_stride))
              continue;
            Im2Col(p, g, x, grp, row0, rows, col);
            gemm_f32(Gemm(true, false, g.ocg, g.K, rows, p.out_c, g.K, g.K, 1.0f), dyg + row0 * p.out_c, col,
                     target, gemm_threads);
          }
        }
      });
      if (chunks > 1) {
        for (Index c = 0; c < chunks; ++c) {
          const float* part = l.partial + c * l.partial_stride;
          for (Index j = 0; j < g.ocg * g.K; ++j) dwg[j] += part[j];
        }
      }
    }

    if (dx && implicit && detail::Conv2dDxImplicit(p, w, dy, grp, dx, ctx.threads)) continue;
    if (dx) {
      // Threads own disjoint image ranges, so col2im never races.
      const int nt = std::max(1, std::min(ThreadsForWork(ctx.threads, static_cast<double>(M) * g.ocg * g.K), p.batch));
      auto run = [&](int tid, int gemm_threads) {
        const Tiles tiles = MakeTiles(g, Index{p.batch} * tid / nt, Index{p.batch} * (tid + 1) / nt);
        float* col = l.col + tid * l.col_stride;
        for (Index i = 0; i < tiles.count(); ++i) {
          Index row0, rows;
          tiles.at(i, &row0, &rows);
          gemm_f32(Gemm(false, false, rows, g.K, g.ocg, p.out_c, g.K, g.K, 0.0f), dyg + row0 * p.out_c, wg, col,
                   gemm_threads);
          Col2Im(p, g, col, grp, row0, rows, dx);
        }
      };
      if (nt <= 1) {
        run(0, std::max(1, ctx.threads));
      } else {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int tid = 0; tid < nt; ++tid) run(tid, 1);
      }
    }
  }
}

}  // namespace

void conv2d_backward_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                         const float* dy, float* dx, float* dw, float* db) {
  Backward(ctx, p, x, w, dy, dx, dw, db, /*implicit=*/true);
}

void detail::conv2d_backward_f32_im2col(const KernelContext& ctx, const Conv2dParams& p, const float* x,
                                        const float* w, const float* dy, float* dx, float* dw, float* db) {
  Backward(ctx, p, x, w, dy, dx, dw, db, /*implicit=*/false);
}

}  // namespace qualm::kernels::fast

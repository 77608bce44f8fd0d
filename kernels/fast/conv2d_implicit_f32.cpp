// Implicit-GEMM float conv forward (detail/conv2d_f32_paths.h): the GEMM of
// conv2d.cpp's header comment, Y_g = Col_g * W_g^T, without materializing
// Col_g. For each image the input is copied once into a zero-padded NHWC
// buffer (skipped when the conv has no padding); a row of Col_g is then the
// pixel's receptive field in that buffer: kernel_h (or kernel_h * kernel_w)
// runs of contiguous floats at fixed offsets from the pixel's corner. The
// micro-kernels (conv2d_rows_f32.h) take one pointer per output pixel plus the
// run offsets, so strides, dilation, groups and tiles crossing output rows
// need no special case.
//
// Weights: W_g^T in panels of the variant's width (the B panels gemm_f32
// packs on every call), packed once per call into scratch or once at prepare
// (conv2d_packed.h). The whole K stays in one panel (no K blocking): the
// accumulator chain per output is the same whether or not it is cut, so the
// bits are gemm_f32's (conv2d_rows_f32.h).
//
// Threads: with at least as many images as threads, each thread takes a
// contiguous run of images with its own padded buffer; otherwise images go
// one by one (padded by the calling thread) and the threads split its output
// pixels. Every output is computed whole by one micro-kernel call in a fixed
// order, so neither choice changes a bit.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/conv2d_rows_f32.h"
#include "fast/conv_f32_c1.h"
#include "internal/scratch.h"
#include "qualm/kernels/conv2d_packed.h"
#include "qualm/kernels/detail/conv2d_f32_paths.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels::fast {
namespace detail {
namespace {

using Index = std::int64_t;
namespace cr = kernels::detail::conv_rows_internal;

// Offsets are kept on the stack: at most this many runs per receptive field.
constexpr int kMaxTaps = 64;
// Output pixels per micro-kernel sweep: their row pointers live on the stack,
// and the sweep reuses each packed panel across this many rows.
constexpr int kChunk = 96;

const std::vector<cr::RowsVariant>& RowsVariants() {
  static const std::vector<cr::RowsVariant> v = {
      {Isa::kAvx512, "conv2d_rows_f32_8x32__avx512", 32, &cr::conv2d_rows_f32_8x32__avx512, 32,
       &cr::conv2d_dw_f32_8x32__avx512, 32, &cr::conv2d_dx_f32_8x32__avx512},
      {Isa::kAvx2, "conv2d_rows_f32_6x16__avx2", 16, &cr::conv2d_rows_f32_6x16__avx2, 16,
       &cr::conv2d_dw_f32_6x16__avx2, 16, &cr::conv2d_dx_f32_6x16__avx2},
      {Isa::kScalar, "conv2d_rows_f32_4x8__generic", 8, &cr::conv2d_rows_f32_4x8__generic, 8,
       &cr::conv2d_dw_f32_4x8__generic, 8, &cr::conv2d_dx_f32_4x8__generic},
  };
  return v;
}

// The micro-kernel for the ISA gemm_f32 runs now, so that tests forcing a
// gemm variant (ScopedGemmIsaForTesting) cover this path's variants too.
const cr::RowsVariant& Active() {
  const Isa isa = kernels::detail::ActiveGemmIsa();
  for (const cr::RowsVariant& v : RowsVariants())
    if (v.isa == isa) return v;
  return RowsVariants().back();
}

struct Geometry {
  Index oh, ow, P, icg, ocg, K;
  Index hp, wp;  // rows and columns of the buffer read (padded, or x itself)
  bool pad;
  bool row_runs;  // a run is a whole kernel row (else one tap)
  int ntaps, run;
};

Geometry MakeGeometry(const Conv2dParams& p) {
  Geometry g;
  g.oh = p.out_h();
  g.ow = p.out_w();
  g.P = g.oh * g.ow;
  g.icg = p.in_c / p.groups;
  g.ocg = p.out_c / p.groups;
  g.K = Index{p.kernel_h} * p.kernel_w * g.icg;
  g.pad = p.pad_top > 0 || p.pad_left > 0 || p.pad_bottom > 0 || p.pad_right > 0;
  g.hp = Index{p.in_h} + p.pad_top + p.pad_bottom;
  g.wp = Index{p.in_w} + p.pad_left + p.pad_right;
  // One kernel row is one contiguous run when its taps are adjacent pixels
  // and a pixel's group slice is all of its channels.
  g.row_runs = p.dilation_w == 1 && p.groups == 1;
  g.ntaps = g.row_runs ? p.kernel_h : p.kernel_h * p.kernel_w;
  g.run = static_cast<int>(g.row_runs ? Index{p.kernel_w} * g.icg : g.icg);
  return g;
}

Index Panels(const Geometry& g, int nr) { return (g.ocg + nr - 1) / nr; }

struct Layout {
  float* packed = nullptr;  // groups * panels * K * nr
  float* padded = nullptr;  // per thread: hp * wp * in_c
  std::size_t padded_stride = 0, used = 0;
};

// Sized for the widest variant, so a test switching variants after the
// scratch was sized still fits.
Layout MakeLayout(const Conv2dParams& p, const Geometry& g, int threads, float* base) {
  internal::ScratchCursor cur(base);
  Layout l;
  const int nt = std::max(1, threads);
  Index packed = 0;
  for (const cr::RowsVariant& v : RowsVariants())
    packed = std::max(packed, Index{p.groups} * Panels(g, v.nr) * g.K * v.nr);
  l.packed = cur.Take(static_cast<std::size_t>(packed));
  const std::size_t img = g.pad ? static_cast<std::size_t>(g.hp * g.wp * p.in_c) : 0;
  l.padded_stride = (img + 15) / 16 * 16;
  l.padded = cur.Take(l.padded_stride * nt);
  l.used = cur.used();
  return l;
}

void Pack(const Conv2dParams& p, const Geometry& g, int nr, const float* w, float* out) {
  for (Index grp = 0; grp < p.groups; ++grp) {
    for (Index jp = 0; jp < Panels(g, nr); ++jp) {
      float* panel = out + (grp * Panels(g, nr) + jp) * g.K * nr;
      const Index oc0 = grp * g.ocg + jp * nr;
      const Index width = std::min<Index>(nr, g.ocg - jp * nr);
      // Rows of the panel in order (contiguous writes; the reads walk `width` weight rows in step).
      for (Index q = 0; q < g.K; ++q) {
        float* dst = panel + q * nr;
        for (Index j = 0; j < width; ++j) dst[j] = w[(oc0 + j) * g.K + q];
        for (Index j = width; j < nr; ++j) dst[j] = 0.0f;
      }
    }
  }
}

// Rows [pr0, pr1) of image n of x, zero-padded ([hp][wp][in_c] coordinates),
// into buf ([pr1 - pr0][wp][in_c]).
void PadRows(const Conv2dParams& p, const Geometry& g, const float* x, Index n, Index pr0, Index pr1, float* buf) {
  const Index c = p.in_c, row = g.wp * c;
  for (Index pr = pr0; pr < pr1; ++pr) {
    float* dst = buf + (pr - pr0) * row;
    const Index iy = pr - p.pad_top;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(dst, dst + row, 0.0f);
      continue;
    }
    std::fill(dst, dst + p.pad_left * c, 0.0f);
    std::memcpy(dst + p.pad_left * c, x + ((n * p.in_h + iy) * p.in_w) * c,
                static_cast<std::size_t>(p.in_w * c) * sizeof(float));
    std::fill(dst + (p.pad_left + p.in_w) * c, dst + row, 0.0f);
  }
}

void PadImage(const Conv2dParams& p, const Geometry& g, const float* x, Index n, float* buf) {
  PadRows(p, g, x, n, 0, g.hp, buf);
}

// Offset of each run from a window's corner (pixel (oy * stride_h, ox * stride_w) of the buffer).
void MakeTaps(const Conv2dParams& p, const Geometry& g, std::ptrdiff_t* taps) {
  for (int t = 0; t < g.ntaps; ++t) {
    const Index ky = g.row_runs ? t : t / p.kernel_w, kx = g.row_runs ? 0 : t % p.kernel_w;
    taps[t] = (ky * p.dilation_h * g.wp + kx * p.dilation_w) * p.in_c;
  }
}

struct Run {
  const Conv2dParams* p;
  const Geometry* g;
  const cr::RowsVariant* v;
  const float* packed;
  const std::ptrdiff_t* taps;
  const float* bias;
  float* y;

  // Output pixels [p0, p1) of image n, read from src ([hp][wp][in_c], or x's image).
  void Pixels(const float* src, Index n, Index p0, Index p1) const {
    const Conv2dParams& q = *p;
    const Index panels = Panels(*g, v->nr);
    const float* rows[kChunk];
    for (Index m0 = p0; m0 < p1; m0 += kChunk) {
      const int mr = static_cast<int>(std::min<Index>(kChunk, p1 - m0));
      for (int grp = 0; grp < q.groups; ++grp) {
        for (int r = 0; r < mr; ++r) {
          const Index pix = m0 + r, oy = pix / g->ow, ox = pix % g->ow;
          rows[r] = src + (oy * q.stride_h * g->wp + ox * q.stride_w) * q.in_c + grp * g->icg;
        }
        for (Index jp = 0; jp < panels; ++jp) {
          cr::RowsTile t;
          t.rows = rows;
          t.taps = taps;
          t.ntaps = g->ntaps;
          t.run = g->run;
          t.b = packed + (grp * panels + jp) * g->K * v->nr;
          t.mr = mr;
          t.nr = static_cast<int>(std::min<Index>(v->nr, g->ocg - jp * v->nr));
          const Index oc0 = grp * g->ocg + jp * v->nr;
          t.c = y + (n * g->P + m0) * q.out_c + oc0;
          t.ldc = q.out_c;
          t.bias = bias ? bias + oc0 : nullptr;
          v->fn(t);
        }
      }
    }
  }
};

}  // namespace

bool Conv2dImplicitApplies(const Conv2dParams& p) {
  const Geometry g = MakeGeometry(p);
  return g.ntaps <= kMaxTaps;
}

std::size_t conv2d_implicit_f32_scratch_floats(const Conv2dParams& p, int threads) {
  return MakeLayout(p, MakeGeometry(p), threads, nullptr).used;
}

const char* Conv2dImplicitKernelName() { return Active().name; }

void conv2d_implicit_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                         const PackedConv2dWeightsView* packed, const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok() && Conv2dImplicitApplies(p));
  const Geometry g = MakeGeometry(p);
  const cr::RowsVariant& v = Active();
  const Layout l = MakeLayout(p, g, ctx.threads, ctx.scratch);
  QUALM_DCHECK(ctx.scratch_floats >= l.used && (l.used == 0 || ctx.scratch != nullptr));

  const float* b = nullptr;
  if (packed && packed->nr == v.nr) {
    b = packed->data;
  } else {
    Pack(p, g, v.nr, w, l.packed);
    b = l.packed;
  }
  std::ptrdiff_t taps[kMaxTaps];
  MakeTaps(p, g, taps);
  const Run run{&p, &g, &v, b, taps, bias, y};
  auto image = [&](Index n) { return x + n * p.in_h * p.in_w * p.in_c; };

  const int threads = std::max(1, ctx.threads);
  // Small work runs on fewer threads than allowed (context.h, ThreadsForWork).
  const double macs = static_cast<double>(p.batch) * g.P * g.K * p.out_c;
  const int nt = ThreadsForWork(threads, macs);
  if (nt == 1 || p.batch >= nt) {
    const int teams = static_cast<int>(std::min<Index>(nt, p.batch));
    auto body = [&](int tid) {
      float* buf = l.padded + tid * l.padded_stride;
      for (Index n = Index{p.batch} * tid / teams; n < Index{p.batch} * (tid + 1) / teams; ++n) {
        const float* src = image(n);
        if (g.pad) PadImage(p, g, x, n, buf), src = buf;
        run.Pixels(src, n, 0, g.P);
      }
    };
    if (teams == 1) {
      body(0);
    } else {
#pragma omp parallel for num_threads(teams) schedule(static, 1)
      for (int tid = 0; tid < teams; ++tid) body(tid);
    }
    return;
  }
  for (Index n = 0; n < p.batch; ++n) {
    const float* src = image(n);
    if (g.pad) PadImage(p, g, x, n, l.padded), src = l.padded;
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int tid = 0; tid < nt; ++tid) run.Pixels(src, n, g.P * tid / nt, g.P * (tid + 1) / nt);
  }
}

// Tiles of more rows take the im2col path (their pixel table would not fit the stack).
constexpr Index kMaxDwRows = 4096;

bool Conv2dDwTileImplicit(const Conv2dParams& p, const float* x, const float* dy, int grp, Index row0, Index rows,
                          float* target, float* buf, std::size_t buf_floats) {
  const Geometry g = MakeGeometry(p);
  if (rows < 1 || rows > kMaxDwRows || g.ntaps > kMaxTaps) return false;
  const Index n0 = row0 / g.P, n1 = (row0 + rows - 1) / g.P;
  // A tile of whole images pads them whole; a slice of one image pads the band of rows its windows read.
  Index pr0 = 0, pr1 = g.hp;
  if (n0 == n1) {
    pr0 = (row0 % g.P) / g.ow * p.stride_h;
    pr1 = ((row0 + rows - 1) % g.P) / g.ow * p.stride_h + Index{p.kernel_h - 1} * p.dilation_h + 1;
  }
  const Index image_floats = (pr1 - pr0) * g.wp * p.in_c;
  if (g.pad) {
    if (static_cast<std::size_t>((n1 - n0 + 1) * image_floats) > buf_floats) return false;
    for (Index n = n0; n <= n1; ++n) PadRows(p, g, x, n, pr0, pr1, buf + (n - n0) * image_floats);
  }
  const float* pix[kMaxDwRows];
  for (Index q = 0; q < rows; ++q) {
    const Index m = row0 + q, n = m / g.P, oy = m % g.P / g.ow, ox = m % g.P % g.ow;
    const float* image = g.pad ? buf + (n - n0) * image_floats : x + n * p.in_h * p.in_w * p.in_c;
    const Index top = g.pad ? oy * p.stride_h - pr0 : oy * p.stride_h;
    pix[q] = image + (top * g.wp + ox * p.stride_w) * p.in_c + grp * g.icg;
  }
  std::ptrdiff_t taps[kMaxTaps];
  MakeTaps(p, g, taps);
  const cr::RowsVariant& v = Active();
  for (int t = 0; t < g.ntaps; ++t) {
    for (int s0 = 0; s0 < g.run; s0 += v.dw_nr) {
      cr::DwTile d;
      d.dy = dy + row0 * p.out_c + grp * g.ocg;
      d.ld_dy = p.out_c;
      d.rows = static_cast<int>(g.ocg);
      d.pix = pix;
      d.off = taps[t] + s0;
      d.m = static_cast<int>(rows);
      d.width = std::min(v.dw_nr, g.run - s0);
      d.c = target + Index{t} * g.run + s0;
      d.ldc = g.K;
      v.dw(d);
    }
  }
  return true;
}

namespace {

// Pixels per DxTile call (their offsets live on the stack).
constexpr int kDxRows = 256;

// Input row iy of every image: each run of pixels of one stride class whose
// windows use the same kernel columns, in every image, shares one list of
// contributions in increasing output-pixel order (kernel rows from the bottom
// up, then kernel columns from the right to the left).
void DxRow(const Conv2dParams& p, const Geometry& g, const cr::RowsVariant& v, const float* w, const float* dy,
           int grp, Index iy, float* dx) {
  int oys[kMaxTaps], kys[kMaxTaps], nrows = 0;
  for (int ky = p.kernel_h - 1; ky >= 0; --ky) {
    const Index t = iy + p.pad_top - Index{ky} * p.dilation_h;
    if (t < 0 || t % p.stride_h != 0 || t / p.stride_h >= g.oh) continue;
    oys[nrows] = static_cast<int>(t / p.stride_h), kys[nrows] = ky, ++nrows;
  }
  if (nrows == 0) return;
  // Kernel columns (bit kx) whose tap lands pixel ix on an output pixel.
  auto columns = [&](Index ix) {
    std::uint64_t mask = 0;
    for (int kx = 0; kx < p.kernel_w; ++kx) {
      const Index u = ix + p.pad_left - Index{kx} * p.dilation_w;
      if (u >= 0 && u % p.stride_w == 0 && u / p.stride_w < g.ow) mask |= std::uint64_t{1} << kx;
    }
    return mask;
  };
  std::ptrdiff_t dy_off[kMaxTaps], w_off[kMaxTaps], dy_base[kDxRows], dx_base[kDxRows];
  const float* wg = w + grp * g.ocg * g.K;
  for (Index cls = 0; cls < p.stride_w && cls < p.in_w; ++cls) {
    for (Index ix0 = cls; ix0 < p.in_w;) {
      const std::uint64_t mask = columns(ix0);
      Index count = 1;
      while (ix0 + count * p.stride_w < p.in_w && columns(ix0 + count * p.stride_w) == mask) ++count;
      int nc = 0;
      for (int i = 0; i < nrows; ++i) {
        for (int kx = p.kernel_w - 1; kx >= 0; --kx) {
          if (!(mask >> kx & 1)) continue;
          const Index ox = (ix0 + p.pad_left - Index{kx} * p.dilation_w) / p.stride_w;
          dy_off[nc] = (Index{oys[i]} * g.ow + ox) * p.out_c + grp * g.ocg;
          w_off[nc] = (Index{kys[i]} * p.kernel_w + kx) * g.icg;
          ++nc;
        }
      }
      // Pixel j of the run in image n: output pixels shift by j, input pixels by j * stride_w.
      const Index total = Index{p.batch} * count;
      for (Index r0 = 0; nc > 0 && r0 < total; r0 += kDxRows) {
        const int rows = static_cast<int>(std::min<Index>(kDxRows, total - r0));
        for (int r = 0; r < rows; ++r) {
          const Index n = (r0 + r) / count, j = (r0 + r) % count;
          dy_base[r] = (n * g.P + j) * p.out_c;
          dx_base[r] = ((n * p.in_h + iy) * p.in_w + ix0 + j * p.stride_w) * p.in_c + grp * g.icg;
        }
        for (Index c0 = 0; c0 < g.icg; c0 += v.dx_nr) {
          cr::DxTile t;
          t.dy = dy;
          t.dy_base = dy_base;
          t.dy_off = dy_off;
          t.w = wg + c0;
          t.w_off = w_off;
          t.w_oc = g.K;
          t.ncontrib = nc;
          t.ocg = static_cast<int>(g.ocg);
          t.rows = rows;
          t.width = static_cast<int>(std::min<Index>(v.dx_nr, g.icg - c0));
          t.dx = dx + c0;
          t.dx_base = dx_base;
          v.dx(t);
        }
      }
      ix0 += count * p.stride_w;
    }
  }
}

}  // namespace

bool Conv2dDxImplicit(const Conv2dParams& p, const float* w, const float* dy, int grp, float* dx, int threads) {
  const Geometry g = MakeGeometry(p);
  if (g.icg < 8 || p.kernel_h * p.kernel_w > kMaxTaps || p.kernel_w > 64) return false;
  const cr::RowsVariant& v = Active();
  // Each input row (of every image) is computed whole by one thread, in the
  // same order whatever the split.
  const Index rows = p.in_h;
  const double macs = static_cast<double>(p.batch) * g.P * g.K * g.ocg;
  const int nt = static_cast<int>(std::min<Index>(ThreadsForWork(threads, macs), rows));
  auto body = [&](Index r0, Index r1) {
    for (Index iy = r0; iy < r1; ++iy) DxRow(p, g, v, w, dy, grp, iy, dx);
  };
  if (nt <= 1) {
    body(0, rows);
  } else {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int tid = 0; tid < nt; ++tid) body(rows * tid / nt, rows * (tid + 1) / nt);
  }
  return true;
}

}  // namespace detail

PackedConv2dWeightsF32 PackConv2dWeightsF32(const Conv2dParams& p, const float* w) {
  PackedConv2dWeightsF32 out;
  if (!detail::Conv2dImplicitApplies(p)) return out;
  const detail::Geometry g = detail::MakeGeometry(p);
  const int nr = detail::Active().nr;
  out.data.resize(static_cast<std::size_t>(p.groups * detail::Panels(g, nr) * g.K * nr));
  detail::Pack(p, g, nr, w, out.data.data());
  out.nr = nr;
  return out;
}

void conv2d_f32_prepacked(const KernelContext& ctx, const Conv2dParams& p, const PackedConv2dWeightsF32& packed,
                          const float* x, const float* w, const float* bias, float* y) {
  if (internal_f32::RunConvF32C1(ctx, p, x, w, bias, y)) return;  // in_c == 1 (fast/conv_f32_c1.h)
  if (!detail::Conv2dImplicitApplies(p)) {
    detail::conv2d_f32_im2col(ctx, p, x, w, bias, y);
    return;
  }
  const detail::PackedConv2dWeightsView view{packed.data.data(), packed.nr};
  detail::conv2d_implicit_f32(ctx, p, x, w, &view, bias, y);
}

}  // namespace qualm::kernels::fast

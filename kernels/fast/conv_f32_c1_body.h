// fast/conv_f32_c1_body.h (private): the one-channel float conv, pixels in
// lanes (detail/conv_c1_variants.h, ConvF32C1Tile), written once over a
// vector type V and included by its per-ISA translation units
// (conv_f32_c1_avx512.cpp, conv_f32_c1_avx2.cpp), each defining V first:
//   V::kL                     lanes (pixels per group)
//   V::T                      the register type
//   V::Zero(), Set1(f), Load(p), Store(p, v), Add(a, b)
//   V::Fma(a, b, c)           a * b + c, one rounding (vfmadd)
//   V::LoadLanes(v, lo, hi, p) v with lanes [lo, hi) loaded from p + lane
//                             (p is lane 0's address; the other lanes are
//                             neither read nor faulted on)
//   V::Transpose(r)           r[kL] rows of kL lanes, transposed in place
//   V::StoreFirst(p, v, n)    the first n lanes of v to p (masked)
// Internal linkage (an unnamed namespace): each TU has its own copy.
//
// Bits: for each output, acc = +0, then acc = Fma(col[k], w[c][k], acc) for
// k in (ky, kx) order, padding taps as 0.0f, then acc + bias[c]: the exact
// operation sequence of im2col + gemm_f32 (its micro-kernels' vfmadd(a, b,
// acc) chain from zero over the whole K, alpha 1, beta 0) followed by
// conv2d.cpp's bias pass, so the bits are the general path's.
#pragma once

#include <algorithm>
#include <cstdint>

#include "fast/conv_c1_taps.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qualm::kernels::detail {
namespace {

template <class V>
struct ConvF32C1 {
  static constexpr int kL = V::kL;
  static constexpr int kGroups = kConvC1Pixels / kL;
  using T = typename V::T;

  // Tap (ky, kx) of a group's lanes (0.0f where it is a padding tap).
  static T Tap(const Conv2dParams& p, const float* x, const C1Segment* seg, int nseg, int ky, int kx) {
    T v = V::Zero();
    for (int s = 0; s < nseg; ++s) {
      const C1Span sp = C1SpanOf(p, seg[s], ky, kx);
      if (sp.lo >= sp.hi) continue;
      if (p.stride_w == 1) {
        v = V::LoadLanes(v, seg[s].lane + sp.lo, seg[s].lane + sp.hi, C1LaneZero(x, sp, seg[s].lane));
      } else {
        alignas(64) float lanes[kL];
        V::Store(lanes, v);
        for (int j = sp.lo; j < sp.hi; ++j) lanes[seg[s].lane + j] = x[sp.row + sp.ix0 + std::int64_t{j} * p.stride_w];
        v = V::Load(lanes);
      }
    }
    return v;
  }

  // The taps of pixels [m0, m0 + count) into a ([K][kConvC1Pixels]).
  static void BuildBlock(const ConvF32C1Tile& t, std::int64_t m0, int count, float* a) {
    const Conv2dParams& p = *t.shape;
    const int K = p.kernel_h * p.kernel_w;
    C1Segment seg[kL];
    for (int g = 0; g < kGroups; ++g) {
      const int n = std::clamp(count - g * kL, 0, kL);
      const int nseg = n > 0 ? C1Segments<kL>(p, m0 + g * kL, n, seg) : 0;
      for (int k = 0; k < K; ++k)
        V::Store(a + std::int64_t{k} * kConvC1Pixels + g * kL, Tap(p, t.x, seg, nseg, k / p.kernel_w, k % p.kernel_w));
    }
  }

  // Channels c .. c + kCB - 1 (of the chunk from c0) of the block in a (taps
  // k at a + k * kConvC1Pixels, strided convs) or of the virtual pixels at a
  // (stride 1: tap k at a + off(k)), plus the bias, into res rows c ...: each
  // output is its own Fma chain from +0 over k in order; one load of the taps
  // per k and group serves the kCB channels.
  template <bool kStride1, int kCB>
  static void ChannelBlock(const ConvF32C1Tile& t, const float* a, std::int64_t wp, int c0, int c, float* res) {
    const Conv2dParams& p = *t.shape;
    const int K = p.kernel_h * p.kernel_w;
    const float* w[kCB];
    T acc[kCB][kGroups];
    for (int i = 0; i < kCB; ++i) {
      w[i] = t.w + std::int64_t{c0 + c + i} * K;
      for (int g = 0; g < kGroups; ++g) acc[i][g] = V::Zero();
    }
    int ky = 0, kx = 0;
    for (int k = 0; k < K; ++k) {
      const float* ak = kStride1 ? a + ky * p.dilation_h * wp + std::int64_t{kx} * p.dilation_w
                                 : a + std::int64_t{k} * kConvC1Pixels;
      T av[kGroups];
      for (int g = 0; g < kGroups; ++g) av[g] = V::Load(ak + g * kL);
      for (int i = 0; i < kCB; ++i) {
        const T wk = V::Set1(w[i][k]);
        for (int g = 0; g < kGroups; ++g) acc[i][g] = V::Fma(av[g], wk, acc[i][g]);
      }
      if (++kx == p.kernel_w) kx = 0, ++ky;
    }
    for (int i = 0; i < kCB; ++i) {
      if (t.bias) {
        const T b = V::Set1(t.bias[c0 + c + i]);
        for (int g = 0; g < kGroups; ++g) acc[i][g] = V::Add(acc[i][g], b);
      }
      for (int g = 0; g < kGroups; ++g) V::Store(res + (c + i) * kConvC1Pixels + g * kL, acc[i][g]);
    }
  }

  template <bool kStride1>
  static void Channels(const ConvF32C1Tile& t, const float* a, std::int64_t wp, int c0, int nc, float* res) {
    // kCB * kGroups accumulators + kGroups taps + 1 weight registers: 16 + 4 + 1 (AVX-512), 8 + 8 + 1 (AVX2).
    constexpr int kCB = kGroups == 4 ? 4 : 1;
    int c = 0;
    for (; c + kCB <= nc; c += kCB) ChannelBlock<kStride1, kCB>(t, a, wp, c0, c, res);
    for (; c < nc; ++c) ChannelBlock<kStride1, 1>(t, a, wp, c0, c, res);
  }

  // Writes the block's results res ([nc][kConvC1Pixels], channel-major) to
  // y NHWC: pixel j (j < count) to y + dst[j] (channels c0 .. c0 + nc - 1
  // there), or nowhere when dst[j] < 0; kL x kL transposes, one masked store
  // per pixel and kL channels. (Rows of res past nc are read, never stored.)
  static void StoreBlock(const float* res, int nc, const std::int64_t* dst, int count, float* y) {
    for (int cb = 0; cb < nc; cb += kL) {
      const int n = std::min(kL, nc - cb);
      for (int g = 0; g * kL < count; ++g) {
        T r[kL];
        for (int c = 0; c < kL; ++c) r[c] = V::Load(res + (cb + c) * kConvC1Pixels + g * kL);
        V::Transpose(r);
        for (int k = 0; k < kL; ++k) {
          const int j = g * kL + k;
          if (j < count && dst[j] >= 0) V::StoreFirst(y + dst[j] + cb, r[k], n);
        }
      }
    }
  }

  static void Run(const ConvF32C1Tile& t) {
    const Conv2dParams& p = *t.shape;
    const int oc = p.out_c, K = p.kernel_h * p.kernel_w;
    float* a = t.scratch;
    float* res = t.scratch + std::int64_t{K} * kConvC1Pixels;
    float* padded = res + kConvC1Channels * kConvC1Pixels;
    const bool stride1 = p.stride_h == 1 && p.stride_w == 1;
    const std::int64_t wp = C1PaddedWidth(p);
    std::int64_t dst[kConvC1Pixels];
    for (int c0 = 0; c0 < oc; c0 += kConvC1Channels) {
      const int nc = std::min(kConvC1Channels, oc - c0);
      // The transposes read whole kL-row groups of res; the rows past nc are
      // never written below, so they are defined once here (and never stored).
      std::fill(res + nc * kConvC1Pixels, res + (nc + kL - 1) / kL * kL * kConvC1Pixels, 0.0f);
      if (stride1) {
        for (std::int64_t m = t.pix0; m < t.pix1;) {
          const C1ImageRows r = C1RowsOf(p, m, t.pix1);
          // Padding is +0.0f, what im2col writes.
          C1PadRows(p, t.x, r.image, r.oy0, r.rows + std::int64_t{p.kernel_h - 1} * p.dilation_h, 0.0f,
                    [](float v) { return v; }, padded);
          for (std::int64_t vb = r.vp0; vb < r.vp1; vb += kConvC1Pixels) {
            Channels<true>(t, padded + vb, wp, c0, nc, res);
            const int count = static_cast<int>(std::min<std::int64_t>(kConvC1Pixels, r.vp1 - vb));
            C1VirtualDestinations(p, r, vb, count, c0, dst);
            StoreBlock(res, nc, dst, count, t.y);
          }
          m += r.last - r.first;
        }
        continue;
      }
      for (std::int64_t m0 = t.pix0; m0 < t.pix1; m0 += kConvC1Pixels) {
        const int count = static_cast<int>(std::min<std::int64_t>(kConvC1Pixels, t.pix1 - m0));
        BuildBlock(t, m0, count, a);
        Channels<false>(t, a, wp, c0, nc, res);
        for (int j = 0; j < count; ++j) dst[j] = (m0 + j) * oc + c0;
        StoreBlock(res, nc, dst, count, t.y);
      }
    }
  }
};

}  // namespace
}  // namespace qualm::kernels::detail

// The one-channel int8 conv with AVX-VNNI (the 256-bit VEX vpdpbusd of CPUs
// without AVX-512; this file gets the avxvnni flags from qualm_isa_sources).
// Contract: detail/conv_c1_variants.h (ConvS8C1Tile). The same design as
// conv_s8_c1_avx512vnni.cpp on 8-pixel groups: a 64-pixel block is 8 ymm of
// accumulators per channel; the u8 quads of 8 pixels come from padded rows
// (stride 1, one 8-byte load per tap) or a scalar gather (other strides);
// _mm256_dpbusd_avx_epi32 (never the saturating form) from col_offset; the
// output stage is fast/int8_gemm_avx2.h's Requant8 with every lane made from
// one channel's parameters (BuildLanes on 16 copies of them): the very code
// the GEMM tests prove equal to RequantizeToRange.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/conv_c1_taps.h"
#include "fast/conv_s8_c1_store.h"
#include "fast/int8_gemm_avx2.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kL = 8;                        // pixels per group (int32 lanes of a ymm)
constexpr int kGroups = kConvC1Pixels / kL;  // groups per block
static_assert(kGroups == 8, "the block is 8 ymm of accumulators per channel");

// Interleaves 4 taps of 8 pixels (the low 8 bytes of each) to [pixel][4] at dst (32 bytes).
inline void StoreQuads(const __m128i* tap, std::uint8_t* dst) {
  const __m128i t01 = _mm_unpacklo_epi8(tap[0], tap[1]), t23 = _mm_unpacklo_epi8(tap[2], tap[3]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi16(t01, t23));       // pixels 0-3
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm_unpackhi_epi16(t01, t23));  // 4-7
}

// Strided convs: the u8 quads of pixels [m0, m0 + count) into a ([quads][kGroups][8][4]).
void BuildBlock(const ConvS8C1Tile& t, std::int64_t m0, int count, std::uint8_t* a) {
  const Conv2dParams& p = *t.shape;
  const int K = p.kernel_h * p.kernel_w, quads = t.k_padded4 / 4;
  const auto pad = static_cast<std::uint8_t>(t.zp_in + 128);
  C1Segment seg[kL];
  for (int g = 0; g < kGroups; ++g) {
    const int n = std::clamp(count - g * kL, 0, kL);
    const int nseg = n > 0 ? C1Segments<kL>(p, m0 + g * kL, n, seg) : 0;
    for (int q = 0; q < quads; ++q) {
      alignas(16) std::uint8_t lanes[4][16];
      for (int i = 0; i < 4; ++i) {
        std::fill(lanes[i], lanes[i] + 16, pad);
        const int k = 4 * q + i;
        if (k >= K) continue;
        for (int s = 0; s < nseg; ++s) {
          const C1Span sp = C1SpanOf(p, seg[s], k / p.kernel_w, k % p.kernel_w);
          for (int j = sp.lo; j < sp.hi; ++j)
            lanes[i][seg[s].lane + j] =
                static_cast<std::uint8_t>(static_cast<std::uint8_t>(t.x[sp.row + sp.ix0 + std::int64_t{j} * p.stride_w]) ^ 0x80u);
        }
      }
      const __m128i tap[4] = {_mm_load_si128(reinterpret_cast<const __m128i*>(lanes[0])),
                              _mm_load_si128(reinterpret_cast<const __m128i*>(lanes[1])),
                              _mm_load_si128(reinterpret_cast<const __m128i*>(lanes[2])),
                              _mm_load_si128(reinterpret_cast<const __m128i*>(lanes[3]))};
      StoreQuads(tap, a + (static_cast<std::int64_t>(q) * kGroups + g) * kL * 4);
    }
  }
}

// Stride 1: the u8 quads of the 64 virtual pixels from vp of the padded rows (pitch wp).
void BuildBlockStride1(const Conv2dParams& p, const std::uint8_t* rows, std::int64_t wp, std::int64_t vp, int quads,
                       std::uint8_t pad, std::uint8_t* a) {
  const int K = p.kernel_h * p.kernel_w;
  const __m128i padv = _mm_set1_epi8(static_cast<char>(pad));
  int ky = 0, kx = 0;
  for (int q = 0; q < quads; ++q) {
    const std::uint8_t* src[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int i = 0; i < 4 && 4 * q + i < K; ++i) {
      src[i] = rows + vp + ky * p.dilation_h * wp + std::int64_t{kx} * p.dilation_w;
      if (++kx == p.kernel_w) kx = 0, ++ky;
    }
    for (int g = 0; g < kGroups; ++g) {
      __m128i tap[4];
      for (int i = 0; i < 4; ++i)
        tap[i] = src[i] ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src[i] + g * kL)) : padv;
      StoreQuads(tap, a + (static_cast<std::int64_t>(q) * kGroups + g) * kL * 4);
    }
  }
}

// The output stage of channel c in all 16 lanes of a Lanes (two ymm halves alike).
template <RequantMode kMode>
void ChannelLanes(const S8OutputStage& out, int c, Lanes* l) {
  Requant rq[kCols];
  std::int32_t bias[kCols];
  std::fill(rq, rq + kCols, out.requant[c]);
  std::fill(bias, bias + kCols, out.bias ? out.bias[c] : 0);
  S8OutputStage one = out;
  one.requant = rq;
  one.bias = out.bias ? bias : nullptr;
  BuildLanes<kMode>(one, 0, kCols, l);
}

// Channels [c0, c0 + nc) of the block in a, into res ([nc][kConvC1Pixels]).
template <RequantMode kMode>
void Channels(const ConvS8C1Tile& t, const std::uint8_t* a, int c0, int nc, const Lanes* lanes, const Bounds& b,
              std::int8_t* res) {
  const int quads = t.k_padded4 / 4;
  const std::int64_t panel_size = std::int64_t{t.k_padded4} * kCols;
  for (int c = 0; c < nc; ++c) {
    const int ch = c0 + c;
    const std::int8_t* wq = t.w + (ch / kCols) * panel_size + (ch % kCols) * 4;
    __m256i acc[kGroups];
    for (int g = 0; g < kGroups; ++g) acc[g] = _mm256_set1_epi32(t.col_offset[ch]);
    for (int q = 0; q < quads; ++q) {
      std::int32_t quad;
      std::memcpy(&quad, wq + std::int64_t{q} * kCols * 4, sizeof quad);
      const __m256i w = _mm256_set1_epi32(quad);
      const std::uint8_t* aq = a + std::int64_t{q} * kGroups * kL * 4;
      for (int g = 0; g < kGroups; ++g)
        acc[g] = _mm256_dpbusd_avx_epi32(acc[g], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq + g * kL * 4)), w);
    }
    __m256i r[kGroups];
    for (int g = 0; g < kGroups; ++g) r[g] = Requant8<kMode>(acc[g], lanes[c], 0, b);
    for (int g = 0; g < kGroups; g += 2) Store16(r[g], r[g + 1], res + c * kConvC1Pixels + g * kL, kCols);
  }
}

// The block's results to y NHWC (fast/conv_s8_c1_store.h); no byte-masked
// store without AVX-512, so a channel tail goes through a copy.
void StoreBlock(const std::int8_t* res, int nc, const std::int64_t* dst, int count, std::int8_t* y) {
  C1StoreBlock(res, nc, dst, count, y, [](std::int8_t* p, __m128i v, int n) {
    if (n == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
      return;
    }
    alignas(16) std::int8_t buf[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), v);
    std::memcpy(p, buf, static_cast<std::size_t>(n));
  });
}

template <RequantMode kMode>
void Run(const ConvS8C1Tile& t) {
  const Conv2dParams& p = *t.shape;
  const int oc = p.out_c, quads = t.k_padded4 / 4;
  const Bounds b = MakeBounds(t.out);
  std::uint8_t* a = t.scratch;
  std::int8_t* res = reinterpret_cast<std::int8_t*>(t.scratch + std::int64_t{t.k_padded4} * kConvC1Pixels);
  std::uint8_t* padded = t.scratch + std::int64_t{t.k_padded4} * kConvC1Pixels + kConvC1Channels * kConvC1Pixels;
  const bool stride1 = p.stride_h == 1 && p.stride_w == 1;
  const std::int64_t wp = C1PaddedWidth(p);
  const auto pad = static_cast<std::uint8_t>(t.zp_in + 128);
  Lanes lanes[kConvC1Channels];
  std::int64_t dst[kConvC1Pixels];
  for (int c0 = 0; c0 < oc; c0 += kConvC1Channels) {
    const int nc = std::min(kConvC1Channels, oc - c0);
    // The transposes read whole 16-row groups of res; the rows past nc are
    // never written below, so they are defined once here (and never stored).
    std::fill(res + nc * kConvC1Pixels, res + (nc + 15) / 16 * 16 * kConvC1Pixels, std::int8_t{0});
    for (int c = 0; c < nc; ++c) ChannelLanes<kMode>(t.out, c0 + c, &lanes[c]);
    if (stride1) {
      for (std::int64_t m = t.pix0; m < t.pix1;) {
        const C1ImageRows r = C1RowsOf(p, m, t.pix1);
        C1PadRows(p, t.x, r.image, r.oy0, r.rows + std::int64_t{p.kernel_h - 1} * p.dilation_h, pad,
                  [](std::int8_t v) { return static_cast<std::uint8_t>(static_cast<std::uint8_t>(v) ^ 0x80u); },
                  padded);
        for (std::int64_t vb = r.vp0; vb < r.vp1; vb += kConvC1Pixels) {
          BuildBlockStride1(p, padded, wp, vb, quads, pad, a);
          Channels<kMode>(t, a, c0, nc, lanes, b, res);
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
      Channels<kMode>(t, a, c0, nc, lanes, b, res);
      for (int j = 0; j < count; ++j) dst[j] = (m0 + j) * oc + c0;
      StoreBlock(res, nc, dst, count, t.y);
    }
  }
}

}  // namespace

void conv_s8u8_c1_64p__avxvnni(const ConvS8C1Tile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Run<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Run<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Run<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

// The one-channel int8 conv with AVX-512 VNNI, pixels in lanes (this file
// gets the avx512vnni flags from qualm_isa_sources). Contract:
// detail/conv_c1_variants.h (ConvS8C1Tile).
//
// A block of 64 output pixels is 4 groups of 16 lanes. For each group and
// quad q of taps (4q .. 4q + 3, in (ky, kx) order like the packed weights),
// one 64-byte row of scratch holds the 16 pixels' 4 u8 taps (x + 128, padding
// taps zp_in + 128, taps past K anything: their weights are 0): the taps are
// loaded 16 pixels at a time (a masked byte load per row segment, stride 1)
// and interleaved to [pixel][4] with two rounds of unpacks. Then for each
// output channel c: accumulators start at col_offset[c]; per quad, channel
// c's 4 weights (contiguous in the u8 x s8 panel, int8_gemm.cpp) are
// broadcast and vpdpbusd (never the saturating vpdpbusds) adds them to the 4
// groups' accumulators. The sums are the reference's exactly (the same
// argument as s8u8_gemm_8x32c4__avx512vnni). The output stage is
// fast/int8_gemm_avx2.h's, with every lane made from channel c's parameters
// (BuildLanes on 16 copies of them), so it is the very code the GEMM tests
// prove equal to RequantizeToRange. The 16 results of a channel go to a
// [channel][pixel] buffer, which is then written out NHWC.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fast/conv_c1_taps.h"
#include "fast/int8_gemm_avx2.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kL = 16;                       // pixels per group (int32 lanes of a zmm)
constexpr int kGroups = kConvC1Pixels / kL;  // groups per block
static_assert(kGroups == 4, "the block is 4 zmm of accumulators per channel");

// Tap (ky, kx) of a group's lanes as int8 x (pad where it is a padding tap).
__m128i TapBytes(const Conv2dParams& p, const std::int8_t* x, const C1Segment* seg, int nseg, int ky, int kx,
                 __m128i pad) {
  __m128i v = pad;
  for (int s = 0; s < nseg; ++s) {
    const C1Span sp = C1SpanOf(p, seg[s], ky, kx);
    if (sp.lo >= sp.hi) continue;
    const unsigned a = static_cast<unsigned>(seg[s].lane + sp.lo), b = static_cast<unsigned>(seg[s].lane + sp.hi);
    if (p.stride_w == 1) {
      const auto m = static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
      v = _mm_mask_loadu_epi8(v, m, C1LaneZero(x, sp, seg[s].lane));
    } else {
      alignas(16) std::int8_t lanes[kL];
      _mm_store_si128(reinterpret_cast<__m128i*>(lanes), v);
      for (int j = sp.lo; j < sp.hi; ++j) lanes[seg[s].lane + j] = x[sp.row + sp.ix0 + std::int64_t{j} * p.stride_w];
      v = _mm_load_si128(reinterpret_cast<const __m128i*>(lanes));
    }
  }
  return v;
}

// The u8 quads of pixels [m0, m0 + count) into a ([quads][kGroups][16][4]).
void BuildBlock(const ConvS8C1Tile& t, std::int64_t m0, int count, std::uint8_t* a) {
  const Conv2dParams& p = *t.shape;
  const int K = p.kernel_h * p.kernel_w, quads = t.k_padded4 / 4;
  const __m128i pad = _mm_set1_epi8(static_cast<char>(t.zp_in)), flip = _mm_set1_epi8(static_cast<char>(0x80));
  C1Segment seg[kL];
  for (int g = 0; g < kGroups; ++g) {
    const int n = std::clamp(count - g * kL, 0, kL);
    const int nseg = n > 0 ? C1Segments<kL>(p, m0 + g * kL, n, seg) : 0;
    for (int q = 0; q < quads; ++q) {
      __m128i tap[4];
      for (int i = 0; i < 4; ++i) {
        const int k = 4 * q + i;
        tap[i] = _mm_xor_si128(k < K ? TapBytes(p, t.x, seg, nseg, k / p.kernel_w, k % p.kernel_w, pad) : pad, flip);
      }
      const __m128i t01l = _mm_unpacklo_epi8(tap[0], tap[1]), t01h = _mm_unpackhi_epi8(tap[0], tap[1]);
      const __m128i t23l = _mm_unpacklo_epi8(tap[2], tap[3]), t23h = _mm_unpackhi_epi8(tap[2], tap[3]);
      auto* dst = reinterpret_cast<__m128i*>(a + (static_cast<std::int64_t>(q) * kGroups + g) * kL * 4);
      _mm_storeu_si128(dst + 0, _mm_unpacklo_epi16(t01l, t23l));  // pixels 0-3
      _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(t01l, t23l));  // 4-7
      _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(t01h, t23h));  // 8-11
      _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(t01h, t23h));  // 12-15
    }
  }
}

// Stride 1: the u8 quads of the 64 virtual pixels from vp (fast/conv_c1_taps.h)
// of the padded rows `rows` (row pitch wp) into a, as BuildBlock.
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
        tap[i] = src[i] ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + g * kL)) : padv;
      const __m128i t01l = _mm_unpacklo_epi8(tap[0], tap[1]), t01h = _mm_unpackhi_epi8(tap[0], tap[1]);
      const __m128i t23l = _mm_unpacklo_epi8(tap[2], tap[3]), t23h = _mm_unpackhi_epi8(tap[2], tap[3]);
      auto* dst = reinterpret_cast<__m128i*>(a + (static_cast<std::int64_t>(q) * kGroups + g) * kL * 4);
      _mm_storeu_si128(dst + 0, _mm_unpacklo_epi16(t01l, t23l));
      _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(t01l, t23l));
      _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(t01h, t23h));
      _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(t01h, t23h));
    }
  }
}

// The output stage of channel c in all 16 lanes.
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

// Channels [c0, c0 + nc) of the block in a: the exact sums, the output stage,
// into res ([nc][kConvC1Pixels]).
template <RequantMode kMode>
void Channels(const ConvS8C1Tile& t, const std::uint8_t* a, int c0, int nc, const Lanes* lanes, const Bounds& b,
              std::int8_t* res) {
  const int quads = t.k_padded4 / 4;
  const std::int64_t panel_size = std::int64_t{t.k_padded4} * kCols;
  for (int c = 0; c < nc; ++c) {
    const int ch = c0 + c;
    const std::int8_t* wq = t.w + (ch / kCols) * panel_size + (ch % kCols) * 4;
    __m512i acc[kGroups];
    for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_set1_epi32(t.col_offset[ch]);
    for (int q = 0; q < quads; ++q) {
      std::int32_t quad;
      std::memcpy(&quad, wq + std::int64_t{q} * kCols * 4, sizeof quad);
      const __m512i w = _mm512_set1_epi32(quad);
      const std::uint8_t* aq = a + std::int64_t{q} * kGroups * kL * 4;
      for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_dpbusd_epi32(acc[g], _mm512_loadu_si512(aq + g * kL * 4), w);
    }
    for (int g = 0; g < kGroups; ++g) {
      // The maskz forms with a full mask: see int8_gemm_avx512vnni.cpp (GCC 12 -Wuninitialized).
      const __m256i lo = Requant8<kMode>(_mm512_maskz_extracti64x4_epi64(0xFF, acc[g], 0), lanes[c], 0, b);
      const __m256i hi = Requant8<kMode>(_mm512_maskz_extracti64x4_epi64(0xFF, acc[g], 1), lanes[c], 8, b);
      Store16(lo, hi, res + c * kConvC1Pixels + g * kL, kCols);
    }
  }
}

// Writes the block's results res ([nc][kConvC1Pixels], channel-major) to y
// NHWC: pixel j (j < count) goes to y + dst[j] (channels c0 .. c0 + nc - 1
// there), or nowhere when dst[j] < 0. 16 x 16 byte transposes (four rounds of
// unpacks) turn 16 channel rows into 16 pixel rows, each stored with one
// masked store of its channels.
void StoreBlock(const std::int8_t* res, int nc, const std::int64_t* dst, int count, std::int8_t* y) {
  for (int cb = 0; cb < nc; cb += kL) {
    const auto mask = static_cast<__mmask16>((1u << std::min(kL, nc - cb)) - 1u);
    for (int g = 0; g * kL < count; ++g) {
      __m128i r[kL];
      for (int c = 0; c < kL; ++c)
        r[c] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(res + (cb + c) * kConvC1Pixels + g * kL));
      __m128i t[kL], u[kL];
      for (int i = 0; i < 8; ++i) {
        t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);     // pixels 0-7, channels 2i, 2i + 1
        t[8 + i] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]); // pixels 8-15
      }
      for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
          u[8 * h + i] = _mm_unpacklo_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);      // pixels 8h + 0-3, channels 4i..
          u[8 * h + 4 + i] = _mm_unpackhi_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);  // pixels 8h + 4-7
        }
      for (int x = 0; x < 4; ++x) {  // pixels 4x .. 4x + 3 in u[4x .. 4x + 3], channels 4i.. in u[4x + i]
        const __m128i lo0 = _mm_unpacklo_epi32(u[4 * x], u[4 * x + 1]), lo1 = _mm_unpacklo_epi32(u[4 * x + 2], u[4 * x + 3]);
        const __m128i hi0 = _mm_unpackhi_epi32(u[4 * x], u[4 * x + 1]), hi1 = _mm_unpackhi_epi32(u[4 * x + 2], u[4 * x + 3]);
        const __m128i px[4] = {_mm_unpacklo_epi64(lo0, lo1), _mm_unpackhi_epi64(lo0, lo1), _mm_unpacklo_epi64(hi0, hi1),
                               _mm_unpackhi_epi64(hi0, hi1)};
        for (int k = 0; k < 4; ++k) {
          const int j = g * kL + 4 * x + k;
          if (j < count && dst[j] >= 0) _mm_mask_storeu_epi8(y + dst[j] + cb, mask, px[k]);
        }
      }
    }
  }
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
  const std::int64_t ow = p.out_w(), P = p.out_h() * ow, wp = C1PaddedWidth(p);
  const auto pad = static_cast<std::uint8_t>(t.zp_in + 128);
  Lanes lanes[kConvC1Channels];
  std::int64_t dst[kConvC1Pixels];
  for (int c0 = 0; c0 < oc; c0 += kConvC1Channels) {
    const int nc = std::min(kConvC1Channels, oc - c0);
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
          // Virtual pixel vb + j is (oy0 + (vb + j) / wp, (vb + j) % wp); columns past out_w are not pixels.
          const int count = static_cast<int>(std::min<std::int64_t>(kConvC1Pixels, r.vp1 - vb));
          std::int64_t oy = r.oy0 + vb / wp, ox = vb % wp;
          for (int j = 0; j < count; ++j) {
            dst[j] = ox < ow ? (r.image * P + oy * ow + ox) * oc + c0 : -1;
            if (++ox == wp) ox = 0, ++oy;
          }
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

void conv_s8u8_c1_64p__avx512vnni(const ConvS8C1Tile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Run<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Run<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Run<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

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
// groups' accumulators, 4 channels at a time (one load of the quads serves
// them). The sums are the reference's exactly (the same argument as
// s8u8_gemm_8x32c4__avx512vnni). The output stage (Requant16 below) is
// RequantizeToRange on 16 lanes of one channel. The 16 results of a channel
// go to a [channel][pixel] buffer, which 16 x 16 byte transposes write out
// NHWC.
//
// Stride-1 convs (the study's) skip the gather: their taps come from padded
// rows (fast/conv_c1_taps.h), one unmasked 16-byte load per tap and group.
// GCC 12 reports -Wuninitialized at the _mm512_undefined_*() source operand
// inside many AVX-512 intrinsics once they are inlined (a false positive: the
// operand is ignored under a full mask). The warning's location is in the
// header, so it is silenced there only (int8_gemm_avx512vnni.cpp uses maskz
// forms instead; here that would be every other intrinsic).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "fast/conv_c1_taps.h"
#include "fast/conv_s8_c1_store.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/requant.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kCols = kS8PanelCols;          // columns of a packed u8 x s8 weight panel
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

// The output stage of one channel on 16 lanes at once: RequantizeToRange
// (requant.h) transcribed for a zmm whose lanes all belong to the same output
// channel, so every parameter is one value (a broadcast, or the count of a
// uniform shift). It is fast/int8_gemm_avx2.h's Requant8 step for step, with
// the same equalities (that header states them) and 512-bit forms where AVX2
// had to emulate: vpsraq for kSingle's int64 arithmetic shift, vpminsq /
// vpmaxsq for its 64-bit clamp, mask registers for the compares. Checked
// against RequantizeToRange value by value (conv_s8_c1_requant_16__avx512vnni,
// tests/kernels/int8_fast_gemm_test.cpp), and end to end by the conv tests.
struct Stage16 {
  __m512i bias, multiplier, lo, hi, zp;
  __m128i left, right;           // kGemmlowp: uniform shift counts
  bool has_left;                 // kGemmlowp: left > 0
  __m512i sat_hi, sat_lo, mask, half;
  __m128i t;                     // kSingle: 31 - shift
  __m512i nudge64, lo64, hi64;
  __m512 scale;                  // kFloat
};

template <RequantMode kMode>
Stage16 MakeStage16(const S8OutputStage& out, int c) {
  const Requant r = out.requant[c];
  QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
  Stage16 s{};
  s.bias = _mm512_set1_epi32(out.bias ? out.bias[c] : 0);
  s.multiplier = _mm512_set1_epi32(r.multiplier);
  s.lo = _mm512_set1_epi32(out.act_min - out.zp_out);
  s.hi = _mm512_set1_epi32(out.act_max - out.zp_out);
  s.zp = _mm512_set1_epi32(out.zp_out);
  if constexpr (kMode == RequantMode::kGemmlowp) {
    const int left = std::max(r.shift, 0), right = std::max(-r.shift, 0);
    s.left = _mm_cvtsi32_si128(left);
    s.has_left = left > 0;
    s.right = _mm_cvtsi32_si128(right);
    s.sat_hi = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max() >> left);
    s.sat_lo = _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min() >> left);
    const auto mask = static_cast<std::int32_t>((std::int64_t{1} << right) - 1);
    s.mask = _mm512_set1_epi32(mask);
    s.half = _mm512_set1_epi32(mask >> 1);
  } else if constexpr (kMode == RequantMode::kSingle) {
    const int t = 31 - r.shift;
    s.t = _mm_cvtsi32_si128(t);
    s.nudge64 = _mm512_set1_epi64(std::int64_t{1} << (t - 1));
    s.lo64 = _mm512_set1_epi64(std::int64_t{out.act_min} - out.zp_out);
    s.hi64 = _mm512_set1_epi64(std::int64_t{out.act_max} - out.zp_out);
  } else {
    s.scale = _mm512_set1_ps(r.scale);
  }
  return s;
}

// RequantizeToRange(acc + bias) of 16 lanes of one channel, as int8.
template <RequantMode kMode>
inline __m128i Requant16(__m512i acc, const Stage16& s) {
  acc = _mm512_add_epi32(acc, s.bias);
  __m512i q;
  if constexpr (kMode == RequantMode::kGemmlowp) {
    // x * 2^left saturated; nothing to do for left == 0 (a multiplier below
    // one, the usual case), a branch taken alike by every call for the channel.
    __m512i x = acc;
    if (s.has_left) {
      x = _mm512_sll_epi32(acc, s.left);
      x = _mm512_mask_mov_epi32(x, _mm512_cmpgt_epi32_mask(acc, s.sat_hi),
                                _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max()));
      x = _mm512_mask_mov_epi32(x, _mm512_cmpgt_epi32_mask(s.sat_lo, acc),
                                _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min()));
    }
    // SRDHM: floor((x M + 2^30) / 2^31), even lanes from the low halves of the
    // 64-bit lanes, odd lanes shifted down first (M is the same in both halves).
    const __m512i nudge = _mm512_set1_epi64(std::int64_t{1} << 30);
    const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, s.multiplier), nudge);
    const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), s.multiplier), nudge);
    const __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
    // RDBPOT: (h >> right) + (rem > (mask >> 1) + (h < 0)).
    const __m512i rem = _mm512_and_si512(h, s.mask);
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i threshold = _mm512_mask_add_epi32(s.half, _mm512_cmpgt_epi32_mask(_mm512_setzero_si512(), h),
                                                    s.half, one);
    const __m512i shifted = _mm512_sra_epi32(h, s.right);
    q = _mm512_mask_add_epi32(shifted, _mm512_cmpgt_epi32_mask(rem, threshold), shifted, one);
  } else if constexpr (kMode == RequantMode::kSingle) {
    // (x M + 2^(t-1)) >> t in int64, clamped in int64 to the bounds.
    const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(acc, s.multiplier), s.nudge64);
    const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), s.multiplier), s.nudge64);
    const __m512i re = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(pe, s.t), s.lo64), s.hi64);
    const __m512i ro = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(po, s.t), s.lo64), s.hi64);
    q = _mm512_mask_blend_epi32(0xAAAA, re, _mm512_slli_epi64(ro, 32));
  } else {
    const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), s.scale);
    __m512 r = _mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-256.0f)), _mm512_set1_ps(256.0f));
    q = _mm512_cvttps_epi32(r);
  }
  q = _mm512_min_epi32(_mm512_max_epi32(q, s.lo), s.hi);
  return _mm512_cvtepi32_epi8(_mm512_add_epi32(q, s.zp));  // in [-128, 127]: the truncation is exact
}

// kCB channels from ch of the block in a: the exact sums (one weight
// broadcast per channel and quad, one load of A per quad and group shared by
// the kCB channels), then the output stage of each channel, computed for all
// groups before anything is stored (an int8 store may alias the lanes, which
// would force the compiler to reload them), into res rows c .. c + kCB - 1.
template <RequantMode kMode, int kCB>
void ChannelBlock(const ConvS8C1Tile& t, const std::uint8_t* a, int ch, int c, const Stage16* stages,
                  std::int8_t* res) {
  const int quads = t.k_padded4 / 4;
  const std::int64_t panel_size = std::int64_t{t.k_padded4} * kCols;
  const std::int8_t* wq[kCB];
  __m512i acc[kCB][kGroups];
  for (int i = 0; i < kCB; ++i) {
    wq[i] = t.w + ((ch + i) / kCols) * panel_size + ((ch + i) % kCols) * 4;
    for (int g = 0; g < kGroups; ++g) acc[i][g] = _mm512_set1_epi32(t.col_offset[ch + i]);
  }
  for (int q = 0; q < quads; ++q) {
    const std::uint8_t* aq = a + std::int64_t{q} * kGroups * kL * 4;
    __m512i av[kGroups];
    for (int g = 0; g < kGroups; ++g) av[g] = _mm512_loadu_si512(aq + g * kL * 4);
    for (int i = 0; i < kCB; ++i) {
      std::int32_t quad;
      std::memcpy(&quad, wq[i] + std::int64_t{q} * kCols * 4, sizeof quad);
      const __m512i w = _mm512_set1_epi32(quad);
      for (int g = 0; g < kGroups; ++g) acc[i][g] = _mm512_dpbusd_epi32(acc[i][g], av[g], w);
    }
  }
  for (int i = 0; i < kCB; ++i) {
    __m128i q[kGroups];
    for (int g = 0; g < kGroups; ++g) q[g] = Requant16<kMode>(acc[i][g], stages[c + i]);
    for (int g = 0; g < kGroups; ++g)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(res + (c + i) * kConvC1Pixels + g * kL), q[g]);
  }
}

// Channels [c0, c0 + nc) of the block in a, into res ([nc][kConvC1Pixels]).
template <RequantMode kMode>
void Channels(const ConvS8C1Tile& t, const std::uint8_t* a, int c0, int nc, const Stage16* stages,
              std::int8_t* res) {
  constexpr int kCB = 4;  // 16 zmm accumulators, 4 of A, 1 of weights
  int c = 0;
  for (; c + kCB <= nc; c += kCB) ChannelBlock<kMode, kCB>(t, a, c0 + c, c, stages, res);
  switch (nc - c) {
    case 3: ChannelBlock<kMode, 3>(t, a, c0 + c, c, stages, res); break;
    case 2: ChannelBlock<kMode, 2>(t, a, c0 + c, c, stages, res); break;
    case 1: ChannelBlock<kMode, 1>(t, a, c0 + c, c, stages, res); break;
    default: break;
  }
}

// The block's results to y NHWC (fast/conv_s8_c1_store.h): one masked store per pixel.
void StoreBlock(const std::int8_t* res, int nc, const std::int64_t* dst, int count, std::int8_t* y) {
  C1StoreBlock(res, nc, dst, count, y, [](std::int8_t* p, __m128i v, int n) {
    _mm_mask_storeu_epi8(p, static_cast<__mmask16>((1u << n) - 1u), v);
  });
}

template <RequantMode kMode>
void Run(const ConvS8C1Tile& t) {
  const Conv2dParams& p = *t.shape;
  const int oc = p.out_c, quads = t.k_padded4 / 4;
  std::uint8_t* a = t.scratch;
  std::int8_t* res = reinterpret_cast<std::int8_t*>(t.scratch + std::int64_t{t.k_padded4} * kConvC1Pixels);
  std::uint8_t* padded = t.scratch + std::int64_t{t.k_padded4} * kConvC1Pixels + kConvC1Channels * kConvC1Pixels;
  const bool stride1 = p.stride_h == 1 && p.stride_w == 1;
  const std::int64_t wp = C1PaddedWidth(p);
  const auto pad = static_cast<std::uint8_t>(t.zp_in + 128);
  Stage16 stages[kConvC1Channels];
  std::int64_t dst[kConvC1Pixels];
  for (int c0 = 0; c0 < oc; c0 += kConvC1Channels) {
    const int nc = std::min(kConvC1Channels, oc - c0);
    // The transposes read whole 16-row groups of res; the rows past nc are
    // never written below, so they are defined once here (and never stored).
    std::fill(res + nc * kConvC1Pixels, res + (nc + 15) / 16 * 16 * kConvC1Pixels, std::int8_t{0});
    for (int c = 0; c < nc; ++c) stages[c] = MakeStage16<kMode>(t.out, c0 + c);
    if (stride1) {
      for (std::int64_t m = t.pix0; m < t.pix1;) {
        const C1ImageRows r = C1RowsOf(p, m, t.pix1);
        C1PadRows(p, t.x, r.image, r.oy0, r.rows + std::int64_t{p.kernel_h - 1} * p.dilation_h, pad,
                  [](std::int8_t v) { return static_cast<std::uint8_t>(static_cast<std::uint8_t>(v) ^ 0x80u); },
                  padded);
        for (std::int64_t vb = r.vp0; vb < r.vp1; vb += kConvC1Pixels) {
          BuildBlockStride1(p, padded, wp, vb, quads, pad, a);
          Channels<kMode>(t, a, c0, nc, stages, res);
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
      Channels<kMode>(t, a, c0, nc, stages, res);
      for (int j = 0; j < count; ++j) dst[j] = (m0 + j) * oc + c0;
      StoreBlock(res, nc, dst, count, t.y);
    }
  }
}

}  // namespace

void conv_s8_c1_requant_16__avx512vnni(const std::int32_t* acc, const S8OutputStage& out, int c, std::int8_t* y) {
  const auto v = _mm512_loadu_si512(acc);
  __m128i q;
  switch (out.mode) {
    case RequantMode::kGemmlowp: q = Requant16<RequantMode::kGemmlowp>(v, MakeStage16<RequantMode::kGemmlowp>(out, c)); break;
    case RequantMode::kSingle: q = Requant16<RequantMode::kSingle>(v, MakeStage16<RequantMode::kSingle>(out, c)); break;
    default: q = Requant16<RequantMode::kFloat>(v, MakeStage16<RequantMode::kFloat>(out, c)); break;
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), q);
}

void conv_s8u8_c1_64p__avx512vnni(const ConvS8C1Tile& t) {
  switch (t.out.mode) {
    case RequantMode::kGemmlowp: return Run<RequantMode::kGemmlowp>(t);
    case RequantMode::kSingle: return Run<RequantMode::kSingle>(t);
    case RequantMode::kFloat: return Run<RequantMode::kFloat>(t);
  }
}

}  // namespace qualm::kernels::detail

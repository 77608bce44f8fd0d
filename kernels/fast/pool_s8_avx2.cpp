// The int8 pooling kernels compiled with AVX2 (this file gets -mavx2 -mfma
// -mf16c from qualm_isa_sources): max, average and global-average pooling,
// NHWC, up to 32 channels per step. Contracts: ref/pool_s8.cpp, which these equal
// bit for bit; the table is fast/eltwise_s8_variants.h.
//
// Windows are the reference's (internal/pool_window.h: real taps only,
// row-major). Channels go in blocks of W = 32, 16 or 8 (the widest that fits
// the layer); a tail shorter than W is done as one more block that ends at the
// last channel and overlaps the previous one: every output channel is a pure
// function of its own input channel, so the overlapped channels are written
// twice with the same value. Max pools with fewer than 8 channels have their
// own row-buffer form (MaxPoolNarrow); the other pools below 8 channels run the
// reference itself.
//
// max: vpmaxsb over the real taps from -128, then the clamp (vpmaxsb /
//   vpminsb): exact.
// average: the int32 sum of the raw int8 taps (vpmovsxbd + vpaddd, exact;
//   Prepare guarantees it fits), + the padding taps' zp when count_include_pad,
//   then RoundingDivide(sum, n) = (sum > 0 ? sum + n/2 : sum - n/2) / n with
//   C++ truncation. The division runs in double (vdivpd, vcvttpd2dq): for
//   |a| < 2^53 and b != 0, trunc(fl(a / b)) is exactly a / b truncated (a
//   non-integral quotient is at least 1/|b| from every integer, the rounding
//   error is below |a / b| 2^-53 < 1/|b|; an integral quotient is exact).
//   Then the clamp.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "internal/pool_window.h"

#include "fast/eltwise_s8_variants.h"

namespace qualm::kernels::detail {
namespace {

using Index = std::int64_t;

using Window = internal::PoolWindow;
constexpr auto WindowAt = internal::PoolWindowAt;

// W int8 lanes: loads, stores and the byte max/min on the narrowest register.
template <int W>
struct Bytes;
template <>
struct Bytes<32> {
  using V = __m256i;
  static V Load(const std::int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void Store(std::int8_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static V Set1(std::int32_t v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static V Max(V a, V b) { return _mm256_max_epi8(a, b); }
  static V Min(V a, V b) { return _mm256_min_epi8(a, b); }
};
template <>
struct Bytes<16> {
  using V = __m128i;
  static V Load(const std::int8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void Store(std::int8_t* p, V v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }
  static V Set1(std::int32_t v) { return _mm_set1_epi8(static_cast<char>(v)); }
  static V Max(V a, V b) { return _mm_max_epi8(a, b); }
  static V Min(V a, V b) { return _mm_min_epi8(a, b); }
};
template <>
struct Bytes<8> : Bytes<16> {
  static V Load(const std::int8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
  static void Store(std::int8_t* p, V v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(p), v); }
};

// f(c0) for blocks [c0, c0 + W) covering [0, ch) (ch >= W), the last one overlapping.
template <int W, typename F>
inline void ForBlocks(Index ch, const F& f) {
  Index c0 = 0;
  for (; c0 + W <= ch; c0 += W) f(c0);
  if (c0 < ch) f(ch - W);
}

// W int32 sums (W / 8 registers) of int8 rows.
template <int W>
struct Sums {
  static constexpr int kRegs = W / 8;
  __m256i acc[kRegs];
  Sums() {
    for (__m256i& a : acc) a = _mm256_setzero_si256();
  }
  void Add(const std::int8_t* p) {
    for (int k = 0; k < kRegs; ++k)
      acc[k] = _mm256_add_epi32(acc[k], _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * k))));
  }
};

// RoundingDivide(sum, n) of 4 int32 lanes, exactly (see the top).
inline __m128i Divide4(__m128i sum, __m128i half, __m256d n) {
  const __m128i pos = _mm_cmpgt_epi32(sum, _mm_setzero_si128());
  const __m128i num = _mm_blendv_epi8(_mm_sub_epi32(sum, half), _mm_add_epi32(sum, half), pos);
  return _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(num), n));
}

// Stores the clamped averages of the W sums (pad already added) over n.
template <int W>
inline void StoreAverages(const Sums<W>& s, std::int32_t n, __m256i lo, __m256i hi, std::int8_t* y) {
  const __m128i half = _mm_set1_epi32(n / 2);
  const __m256d nd = _mm256_set1_pd(static_cast<double>(n));
  __m128i q16[Sums<W>::kRegs];  // int16, 8 channels each
  for (int k = 0; k < Sums<W>::kRegs; ++k) {
    const __m128i a = Divide4(_mm256_castsi256_si128(s.acc[k]), half, nd);
    const __m128i b = Divide4(_mm256_extracti128_si256(s.acc[k], 1), half, nd);
    const __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_set_m128i(b, a), lo), hi);
    q16[k] = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  }
  if constexpr (W == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), _mm_packs_epi16(q16[0], q16[0]));
  } else {
    for (int k = 0; k < Sums<W>::kRegs; k += 2)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 8 * k), _mm_packs_epi16(q16[k], q16[k + 1]));
  }
}

template <int W>
void MaxPool(const PreparedPool2dS8& pp, const std::int8_t* x, std::int8_t* y) {
  using B = Bytes<W>;
  const Pool2dParams& p = pp.shape;
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  const auto lo = B::Set1(pp.act_min), hi = B::Set1(pp.act_max);
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        ForBlocks<W>(ch, [&](Index c0) {
          auto m = B::Set1(-128);
          for (Index iy = w.y0; iy < w.y1; ++iy)
            for (Index ix = w.x0; ix < w.x1; ++ix) m = B::Max(m, B::Load(x + ((n * p.in_h + iy) * p.in_w + ix) * ch + c0));
          B::Store(yp + c0, B::Min(B::Max(m, lo), hi));
        });
      }
    }
  }
}

// Fewer than 8 channels (LeNet-5's pool1 has 6), where a pixel is narrower than
// the narrowest register. Max is exact in any order, so each output row is done
// in two passes: the max over the window's input rows of the whole input row
// (W * ch contiguous bytes, 32 at a time), into a row buffer on the stack, then
// per output pixel the max over its window's columns of that buffer, 8 bytes
// at a time (lanes ch .. 7 belong to the next pixels or the buffer's zeroed
// slack and are never stored), the clamp, and a ch-byte store. Rows wider than
// the buffer run the reference.
constexpr Index kNarrowRowBytes = 4096;

bool MaxPoolNarrow(const PreparedPool2dS8& pp, const std::int8_t* x, std::int8_t* y) {
  const Pool2dParams& p = pp.shape;
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels, row = Index{p.in_w} * ch;
  if (row > kNarrowRowBytes) return false;
  alignas(32) std::int8_t buf[kNarrowRowBytes + 8];
  std::fill(buf + row, buf + row + 8, std::int8_t{0});
  const __m128i lo = _mm_set1_epi8(static_cast<char>(pp.act_min)), hi = _mm_set1_epi8(static_cast<char>(pp.act_max));
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      const Window rows = WindowAt(p, oy, 0);  // the same input rows for every ox
      const std::int8_t* x0 = x + n * p.in_h * row;
      Index i = 0;
      for (; i + 32 <= row; i += 32) {
        __m256i m = _mm256_set1_epi8(-128);
        for (Index iy = rows.y0; iy < rows.y1; ++iy) m = _mm256_max_epi8(m, Bytes<32>::Load(x0 + iy * row + i));
        Bytes<32>::Store(buf + i, m);
      }
      for (; i < row; ++i) {
        std::int8_t m = -128;
        for (Index iy = rows.y0; iy < rows.y1; ++iy) m = std::max(m, x0[iy * row + i]);
        buf[i] = m;
      }
      for (Index ox = 0; ox < ow; ++ox) {
        const Window w = WindowAt(p, oy, ox);
        __m128i m = _mm_set1_epi8(-128);
        for (Index ix = w.x0; ix < w.x1; ++ix) m = _mm_max_epi8(m, Bytes<8>::Load(buf + ix * ch));
        alignas(16) std::int8_t out[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm_min_epi8(_mm_max_epi8(m, lo), hi));
        std::copy(out, out + ch, y + ((n * oh + oy) * ow + ox) * ch);
      }
    }
  }
  return true;
}

template <int W>
void AvgPool(const PreparedPool2dS8& pp, const std::int8_t* x, std::int8_t* y) {
  const Pool2dParams& p = pp.shape;
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  const __m256i lo = _mm256_set1_epi32(pp.act_min), hi = _mm256_set1_epi32(pp.act_max);
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        const auto real = static_cast<std::int32_t>((w.y1 - w.y0) * (w.x1 - w.x0));
        const std::int32_t count = p.count_include_pad ? p.kernel_h * p.kernel_w : real;
        const __m256i pad_sum = _mm256_set1_epi32(p.count_include_pad ? (count - real) * pp.zero_point : 0);
        ForBlocks<W>(ch, [&](Index c0) {
          Sums<W> s;
          for (Index iy = w.y0; iy < w.y1; ++iy)
            for (Index ix = w.x0; ix < w.x1; ++ix) s.Add(x + ((n * p.in_h + iy) * p.in_w + ix) * ch + c0);
          for (__m256i& a : s.acc) a = _mm256_add_epi32(a, pad_sum);
          StoreAverages<W>(s, count, lo, hi, yp + c0);
        });
      }
    }
  }
}

template <int W>
void GlobalAvgPool(const PreparedGlobalAvgPoolS8& pp, const std::int8_t* x, std::int8_t* y) {
  const GlobalPoolParams& p = pp.shape;
  const Index ch = p.channels;
  const __m256i lo = _mm256_set1_epi32(pp.act_min), hi = _mm256_set1_epi32(pp.act_max);
  for (Index n = 0; n < p.batch; ++n) {
    ForBlocks<W>(ch, [&](Index c0) {
      Sums<W> s;
      for (Index i = 0; i < p.spatial; ++i) s.Add(x + (n * p.spatial + i) * ch + c0);
      StoreAverages<W>(s, p.spatial, lo, hi, y + n * ch + c0);
    });
  }
}

// The widest block that fits `ch` channels; the reference below 8.
template <template <int> class K, typename P>
void ByWidth(int ch, void (*ref)(const P&, const std::int8_t*, std::int8_t*), const P& p, const std::int8_t* x,
             std::int8_t* y) {
  if (ch >= 32) return K<32>::Run(p, x, y);
  if (ch >= 16) return K<16>::Run(p, x, y);
  if (ch >= 8) return K<8>::Run(p, x, y);
  ref(p, x, y);
}

template <int W>
struct MaxK {
  static void Run(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) { MaxPool<W>(p, x, y); }
};
template <int W>
struct AvgK {
  static void Run(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) { AvgPool<W>(p, x, y); }
};
template <int W>
struct GlobalK {
  static void Run(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y) { GlobalAvgPool<W>(p, x, y); }
};

}  // namespace

void s8_max_pool_32c__avx2(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) {
  if (p.shape.channels < 8 && MaxPoolNarrow(p, x, y)) return;
  ByWidth<MaxK>(p.shape.channels, &ref::max_pool2d_s8, p, x, y);
}

void s8_avg_pool_32c__avx2(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y) {
  ByWidth<AvgK>(p.shape.channels, &ref::avg_pool2d_s8, p, x, y);
}

void s8_global_avg_pool_32c__avx2(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y) {
  ByWidth<GlobalK>(p.shape.channels, &ref::global_avg_pool_s8, p, x, y);
}

}  // namespace qualm::kernels::detail

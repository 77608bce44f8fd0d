// fast/conv_c1_taps.h (private): where the taps of a group of consecutive
// output pixels lie in a one-channel NHWC input, for the pixels-in-lanes conv
// kernels (detail/conv_c1_variants.h). Shared by their per-ISA translation
// units; everything has internal linkage (an unnamed namespace), so each TU
// keeps its own copy compiled with its own flags.
//
// A group of L lanes (consecutive output pixels) is cut into row segments:
// runs of lanes in one output row of one image. For a tap (ky, kx), lane j of
// a segment reads input row iy = oy * stride_h - pad_top + ky * dilation_h
// and column ix0 + j * stride_w, ix0 = ox * stride_w - pad_left + kx *
// dilation_w; the lanes whose row and column are inside the image form one
// contiguous range [lo, hi) of the segment (Span), the others are padding.
#pragma once

#include <algorithm>
#include <cstdint>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qualm::kernels::detail {
namespace {

struct C1Segment {
  int lane = 0, lanes = 0;           // lanes [lane, lane + lanes) of the group
  std::int64_t image = 0, oy = 0, ox = 0;  // of the segment's first lane
};

// Segments of the `count` (<= L) lanes starting at output pixel m; returns their number.
template <int L>
int C1Segments(const Conv2dParams& p, std::int64_t m, int count, C1Segment* seg) {
  const std::int64_t oh = p.out_h(), ow = p.out_w(), P = oh * ow;
  std::int64_t image = m / P, oy = m % P / ow, ox = m % ow;
  int n = 0;
  for (int lane = 0; lane < count;) {
    const int len = static_cast<int>(std::min<std::int64_t>(count - lane, ow - ox));
    seg[n++] = {lane, len, image, oy, ox};
    lane += len;
    ox = 0;
    if (++oy == oh) oy = 0, ++image;
  }
  return n;
}

// The in-image lanes [lo, hi) (relative to the segment) of tap (ky, kx), and
// the input row and first column; lo >= hi when every lane is padding.
struct C1Span {
  int lo = 0, hi = 0;
  std::int64_t row = 0;  // offset of input row iy of the segment's image
  std::int64_t ix0 = 0;  // column of the segment's lane 0
};

inline C1Span C1SpanOf(const Conv2dParams& p, const C1Segment& s, int ky, int kx) {
  C1Span r;
  const std::int64_t iy = s.oy * p.stride_h - p.pad_top + std::int64_t{ky} * p.dilation_h;
  if (iy < 0 || iy >= p.in_h) return r;
  const std::int64_t sw = p.stride_w;
  r.ix0 = s.ox * sw - p.pad_left + std::int64_t{kx} * p.dilation_w;
  r.row = (s.image * p.in_h + iy) * p.in_w;
  // Lanes j with 0 <= ix0 + j * sw < in_w (no division in the stride-1 case,
  // which runs once per tap and segment).
  std::int64_t lo, hi;
  if (sw == 1) {
    lo = std::max<std::int64_t>(0, -r.ix0);
    hi = std::max<std::int64_t>(0, p.in_w - r.ix0);
  } else {
    lo = r.ix0 >= 0 ? 0 : (-r.ix0 + sw - 1) / sw;
    hi = r.ix0 >= p.in_w ? 0 : (p.in_w - r.ix0 + sw - 1) / sw;
  }
  r.lo = static_cast<int>(std::min<std::int64_t>(lo, s.lanes));
  r.hi = static_cast<int>(std::min<std::int64_t>(hi, s.lanes));
  return r;
}

// The address lane `lane0` of a stride-1 masked load would read for segment
// lane 0 at column ix0: x + row + ix0 - lane0. Computed as an integer: it may
// lie outside x (only the in-image lanes are ever read; masked-out lanes of
// an AVX-512 / vmaskmov load neither read nor fault), and forming such a
// pointer by pointer arithmetic would be undefined behaviour.
template <typename T>
const T* C1LaneZero(const T* x, const C1Span& s, int lane0) {
  return reinterpret_cast<const T*>(reinterpret_cast<std::uintptr_t>(x) +
                                    static_cast<std::uintptr_t>((s.row + s.ix0 - lane0) *
                                                                static_cast<std::int64_t>(sizeof(T))));
}

// Stride-1 convs (both strides 1) take their taps from padded rows instead:
// `rows` rows of the image padded on every side (wp = in_w + pad_left +
// pad_right elements each, padded row r = input row oy0 + r - pad_top), then
// kConvC1Pixels padding elements. Output pixel (oy, ox) is then "virtual
// pixel" vp = (oy - oy0) * wp + ox, and its tap (ky, kx) is element vp +
// ky * dilation_h * wp + kx * dilation_w: 16 consecutive virtual pixels read
// 16 consecutive elements, whatever row they cross, so every tap of a group
// is one unmasked load. The virtual pixels with ox >= out_w are computed and
// never stored (wp - out_w = the horizontal padding minus nothing: 4 of 32
// lanes for LeNet conv1, 2 of 30 for a 3x3 stem).
inline std::int64_t C1PaddedWidth(const Conv2dParams& p) {
  return std::int64_t{p.in_w} + p.pad_left + p.pad_right;
}

template <typename In, typename T, typename Convert>
void C1PadRows(const Conv2dParams& p, const In* x, std::int64_t image, std::int64_t oy0, std::int64_t rows, T pad,
               const Convert& convert, T* buf) {
  const std::int64_t wp = C1PaddedWidth(p);
  for (std::int64_t r = 0; r < rows; ++r, buf += wp) {
    const std::int64_t iy = oy0 + r - p.pad_top;
    if (iy < 0 || iy >= p.in_h) {
      std::fill(buf, buf + wp, pad);
      continue;
    }
    const In* src = x + (image * p.in_h + iy) * p.in_w;
    std::fill(buf, buf + p.pad_left, pad);
    for (std::int64_t i = 0; i < p.in_w; ++i) buf[p.pad_left + i] = convert(src[i]);
    std::fill(buf + p.pad_left + p.in_w, buf + wp, pad);
  }
  std::fill(buf, buf + kConvC1Pixels, pad);
}

// The part of the pixel range [m, end) that lies in one image, as rows of it.
struct C1ImageRows {
  std::int64_t image = 0;
  std::int64_t first = 0, last = 0;  // pixels [first, last) of the image
  std::int64_t oy0 = 0, rows = 0;    // output rows [oy0, oy0 + rows) they touch
  std::int64_t vp0 = 0, vp1 = 0;     // their virtual pixels, relative to row oy0
};

inline C1ImageRows C1RowsOf(const Conv2dParams& p, std::int64_t m, std::int64_t end) {
  const std::int64_t ow = p.out_w(), P = p.out_h() * ow, wp = C1PaddedWidth(p);
  C1ImageRows r;
  r.image = m / P;
  r.first = m % P;
  r.last = std::min(P, r.first + (end - m));
  r.oy0 = r.first / ow;
  r.rows = (r.last - 1) / ow - r.oy0 + 1;
  r.vp0 = r.first % ow;
  r.vp1 = (r.rows - 1) * wp + (r.last - 1) % ow + 1;
  return r;
}

// Where the `count` virtual pixels from vb of r go in an NHWC output with oc
// channels, channel c0: virtual pixel vb + j is (oy0 + (vb + j) / wp,
// (vb + j) % wp); columns past out_w are not pixels (dst -1: not stored).
inline void C1VirtualDestinations(const Conv2dParams& p, const C1ImageRows& r, std::int64_t vb, int count,
                                  std::int64_t c0, std::int64_t* dst) {
  const std::int64_t ow = p.out_w(), P = p.out_h() * ow, wp = C1PaddedWidth(p), oc = p.out_c;
  std::int64_t oy = r.oy0 + vb / wp, ox = vb % wp;
  for (int j = 0; j < count; ++j) {
    dst[j] = ox < ow ? (r.image * P + oy * ow + ox) * oc + c0 : -1;
    if (++ox == wp) ox = 0, ++oy;
  }
}

}  // namespace
}  // namespace qualm::kernels::detail

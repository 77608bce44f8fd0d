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

}  // namespace
}  // namespace qualm::kernels::detail

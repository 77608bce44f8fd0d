// Frozen scalar reference for the hybrid 2-D convolution (conv2d_hybrid.h).
//
// Per image n (the sample): QuantizeSampleDynamic(x[n], in_h * in_w * in_c)
// into scratch (the whole image, every channel and group, so that one scale
// and zero point serve every output of the image); then per output element
// (oy, ox, oc), loops nested oy, ox, oc, then ky, kx, ci:
//   acc = sum over the real taps of int32(w) * (int32(q) - zp_x)   (int32, exact;
//         padding taps are skipped: they read zp_x, real 0.0, and add 0)
//   y = HybridProduct(acc, s_x, s_w[oc]) + bias[oc]   (no add when bias is null)
// A non-finite image gives NaN for all its outputs. Images are processed one at
// a time and share nothing, so an image's result does not depend on the batch.
// No intrinsics, no threads, no allocation, no validation (DCHECKs only).
#include <cstddef>
#include <cstdint>
#include <limits>

#include "internal/conv_taps.h"
#include "qualm/kernels/conv2d_hybrid.h"

namespace qualm::kernels::ref {

std::size_t conv2d_hybrid_scratch_bytes(const Conv2dParams& p) {
  return static_cast<std::size_t>(p.in_h) * static_cast<std::size_t>(p.in_w) * static_cast<std::size_t>(p.in_c);
}

void conv2d_hybrid(const PreparedConv2dHybrid& pp, const float* x, const std::int8_t* w, const float* bias, float* y,
                   void* scratch) {
  using Index = std::int64_t;
  const Conv2dParams& p = pp.shape;
  QUALM_DCHECK(pp.weight_scales.size() == static_cast<std::size_t>(p.out_c));
  QUALM_DCHECK(scratch != nullptr);
  const Index oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const Index image = Index{p.in_h} * p.in_w * p.in_c, out_image = oh * ow * p.out_c;
  const Index taps = Index{p.kernel_h} * p.kernel_w;
  std::int8_t* q = static_cast<std::int8_t*>(scratch);
  for (Index n = 0; n < p.batch; ++n) {
    float* yn = y + n * out_image;
    const DynamicQuant d = QuantizeSampleDynamic(x + n * image, image, q);
    if (!d.finite) {
      for (Index i = 0; i < out_image; ++i) yn[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    const std::int32_t zp = d.params.zero_point;
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        float* yrow = yn + (oy * ow + ox) * p.out_c;
        for (Index oc = 0; oc < p.out_c; ++oc) {
          const Index c0 = (oc / ocg) * icg;  // first input channel of this group
          std::int32_t acc = 0;
          internal::ForEachConvTap(p, oy, ox, [&](Index tap, Index pixel) {
            const std::int8_t* qp = q + pixel * p.in_c + c0;
            const std::int8_t* wp = w + (oc * taps + tap) * icg;
            for (Index ci = 0; ci < icg; ++ci)
              acc += static_cast<std::int32_t>(wp[ci]) * (static_cast<std::int32_t>(qp[ci]) - zp);
          });
          const float v = HybridProduct(acc, d.params.scale, pp.weight_scales[static_cast<std::size_t>(oc)]);
          yrow[oc] = bias ? v + bias[oc] : v;
        }
      }
    }
  }
}

}  // namespace qualm::kernels::ref

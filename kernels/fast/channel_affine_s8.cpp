// The scalar table lookup of the int8 per-channel affine (fast/channel_affine_s8.h).
#include "fast/channel_affine_s8.h"

namespace qualm::kernels::fast::internal_s8 {

void LookupChannels(const std::int8_t* table, std::int64_t C, const std::int8_t* x, std::int64_t pix0,
                    std::int64_t pix1, std::int8_t* y) {
  for (std::int64_t i = pix0 * C; i < pix1 * C; ++i) {
    const std::int64_t c = i % C;
    y[i] = table[(static_cast<std::int64_t>(x[i]) + 128) * C + c];
  }
}

}  // namespace qualm::kernels::fast::internal_s8

// libFuzzer target: one image file of an image folder (DecodeImageFile, then
// ResizeImage as LoadImageFolder does). PNG, JPEG and BMP through stb_image.
//
// stb_image is compiled into this target (STB_IMAGE_IMPLEMENTATION below), so
// the decoder itself is instrumented for coverage and ASan; the executable's
// definitions take precedence over Debian's libstb. stb does not verify PNG
// chunk CRCs or the zlib Adler-32, so byte mutation reaches the decoder and no
// custom mutator is needed. max_pixels is small (1 Mi) so that a large
// declared size must be refused before decoding (-rss_limit_mb catches it if not).
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "qualm/frontends/image_folder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto color = data[0] & 1 ? qualm::frontends::ColorMode::kRgb : qualm::frontends::ColorMode::kGrey;
  const int out = 1 + data[0] / 2 % 16;  // output side 1..16
  const std::string& path = qualm::fuzz::ScratchPath("img");
  qualm::fuzz::WriteScratch(path, data + 1, size - 1);
  auto img = qualm::frontends::DecodeImageFile(path, color, std::uint64_t{1} << 20);
  if (!img.ok()) return 0;
  QUALM_FUZZ_EXPECT(img->height > 0 && img->width > 0);
  QUALM_FUZZ_EXPECT(static_cast<std::uint64_t>(img->height) * img->width <= (std::uint64_t{1} << 20));
  QUALM_FUZZ_EXPECT(img->pixels.size() == static_cast<std::size_t>(img->height) * img->width * img->channels);
  std::vector<float> src(img->pixels.begin(), img->pixels.end());
  std::vector<float> dst(static_cast<std::size_t>(out) * out * img->channels);
  qualm::frontends::ResizeImage(src.data(), img->height, img->width, img->channels, dst.data(), out, out);
  for (float v : dst) QUALM_FUZZ_EXPECT(v >= 0.0f && v <= 255.5f);
  return 0;
}

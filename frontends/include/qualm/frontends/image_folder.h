// qualm/frontends/image_folder.h: a user's own images, one folder per class.
//
// Layout: <dir>/<class>/<image>, where every subdirectory of <dir> is a class
// and class ids are the subdirectory names in sorted (byte) order. Files ending
// in .png, .jpg, .jpeg or .bmp (any case) are images; other files and hidden
// entries are ignored (and counted in the report). Not recursive.
//
// Each image is read by us and decoded with stb_image (Debian's libstb), as
// 8-bit grey (stb's luma: (77 R + 150 G + 29 B) >> 8) or RGB (alpha dropped,
// grey images replicated), resized to the requested height x width with
// ResizeImage below, and stored as f32 = byte / 255, NHWC, sample_shape
// {height, width, 1 or 3}. Samples are ordered class by class, files in name
// order within a class.
//
// Errors (Status values naming the file or folder): missing directory, no
// class subdirectories, a class folder without images, and an unreadable or
// corrupt image (with stbi_failure_reason()). With skip_unreadable, bad images
// are skipped and listed in the report instead; a class left empty is still
// an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/frontends/input_limits.h"
#include "qualm/status.h"

namespace qualm::frontends {

enum class ColorMode { kGrey, kRgb };

struct ImageFolderOptions {
  // Output size. 0 x 0 keeps the images' own size, which must then be the same for all.
  int height = 28;
  int width = 28;
  ColorMode color = ColorMode::kGrey;
  bool skip_unreadable = false;
  std::size_t limit = 0;  // keep the first `limit` images in the order above (0 = all)
  // Checked from each image's header before it is decoded.
  std::uint64_t max_image_pixels = InputLimits{}.max_image_pixels;
};

struct ImageFolderReport {
  std::size_t loaded = 0;
  std::size_t ignored = 0;            // files that are not images by extension
  std::vector<std::string> skipped;   // "<path>: <reason>", only with skip_unreadable
};

Result<Dataset> LoadImageFolder(const std::string& dir, const ImageFolderOptions& options = {},
                                ImageFolderReport* report = nullptr);

// Decodes one image file to 8-bit pixels, HWC with 1 (grey) or 3 (RGB) channels.
struct DecodedImage {
  int height = 0, width = 0, channels = 0;
  std::vector<unsigned char> pixels;
};
// The header is read first (stbi_info): more than max_pixels pixels is an
// error naming the file and the limit, before any pixel is decoded.
Result<DecodedImage> DecodeImageFile(const std::string& path, ColorMode color,
                                     std::uint64_t max_pixels = InputLimits{}.max_image_pixels);

// Resizes an HWC float image, each channel independently, separably (rows
// first, then columns), with fixed per-axis weights:
//  * shrinking an axis (src >= dst): area averaging -- output pixel o covers
//    source interval [o*s, (o+1)*s), s = src/dst, and averages the source
//    pixels weighted by their overlap (no aliasing; exact for integer factors);
//  * enlarging an axis (src < dst): bilinear interpolation with pixel centres
//    at (o + 0.5) * s - 0.5 and edge pixels replicated.
// Equal sizes copy. Weights are plain floats summed in a fixed order, so the
// result is the same on every machine.
void ResizeImage(const float* src, int src_h, int src_w, int channels, float* dst, int dst_h, int dst_w);

}  // namespace qualm::frontends

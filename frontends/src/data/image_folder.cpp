// Image-folder loader and resize; see qualm/frontends/image_folder.h.
#include "qualm/frontends/image_folder.h"

#include <stb_image.h>  // declarations only: Debian's libstb provides the implementation

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "io_util.h"

namespace qualm::frontends {
namespace {

struct Tap {
  int index;
  float weight;
};
// taps[o] lists the source pixels of output pixel o along one axis.
std::vector<std::vector<Tap>> AxisTaps(int src, int dst) {
  std::vector<std::vector<Tap>> taps(static_cast<std::size_t>(dst));
  const double s = static_cast<double>(src) / dst;
  for (int o = 0; o < dst; ++o) {
    auto& t = taps[static_cast<std::size_t>(o)];
    if (src >= dst) {  // area
      const double lo = o * s, hi = (o + 1) * s;
      for (int i = static_cast<int>(std::floor(lo)); i < src && i < hi; ++i) {
        const double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (overlap > 1e-12) t.push_back({i, static_cast<float>(overlap / s)});
      }
    } else {  // bilinear
      const double c = (o + 0.5) * s - 0.5;
      const int i0 = static_cast<int>(std::floor(c));
      const double f = c - i0;
      const int a = std::clamp(i0, 0, src - 1), b = std::clamp(i0 + 1, 0, src - 1);
      t.push_back({a, static_cast<float>(1.0 - f)});
      t.push_back({b, static_cast<float>(f)});
    }
  }
  return taps;
}

bool IsImageName(const std::string& name) {
  const std::string ext = detail::LowerExtension(name);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

}  // namespace

void ResizeImage(const float* src, int src_h, int src_w, int channels, float* dst, int dst_h, int dst_w) {
  if (src_h == dst_h && src_w == dst_w) {
    std::copy(src, src + static_cast<std::size_t>(src_h) * src_w * channels, dst);
    return;
  }
  const auto tx = AxisTaps(src_w, dst_w);
  const auto ty = AxisTaps(src_h, dst_h);
  // Rows first: tmp is src_h x dst_w.
  std::vector<float> tmp(static_cast<std::size_t>(src_h) * dst_w * channels, 0.0f);
  for (int y = 0; y < src_h; ++y) {
    for (int x = 0; x < dst_w; ++x) {
      for (int c = 0; c < channels; ++c) {
        float acc = 0.0f;
        for (const Tap& t : tx[static_cast<std::size_t>(x)]) {
          acc += t.weight * src[(static_cast<std::size_t>(y) * src_w + t.index) * channels + c];
        }
        tmp[(static_cast<std::size_t>(y) * dst_w + x) * channels + c] = acc;
      }
    }
  }
  for (int y = 0; y < dst_h; ++y) {
    for (int x = 0; x < dst_w; ++x) {
      for (int c = 0; c < channels; ++c) {
        float acc = 0.0f;
        for (const Tap& t : ty[static_cast<std::size_t>(y)]) {
          acc += t.weight * tmp[(static_cast<std::size_t>(t.index) * dst_w + x) * channels + c];
        }
        dst[(static_cast<std::size_t>(y) * dst_w + x) * channels + c] = acc;
      }
    }
  }
}

// The container checks qualm makes before stb_image sees a file.
//
// Format: Debian's libstb is built with every decoder (GIF, PSD, TGA, HDR,
// PIC, PNM too) and picks one from the content, whatever the file's name;
// qualm reads PNG, JPEG and BMP only, so anything else is refused by its
// magic number and the other decoders (stb's least exercised code, where
// its published crashes are) never run on untrusted files.
//
// PNG chunk lengths: stb_image grows its IDAT buffer to what a chunk
// declares (up to 1 GiB, doubled: 2 GiB) before it finds the file is
// shorter; fuzz_image found a 146-byte file that allocated 2 GiB. Every
// chunk must fit in the bytes that follow it (PNG: length + type + data +
// CRC), so a declaration can never exceed the file.
namespace {
Status CheckImageContainer(const std::string& bytes, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const bool png = size >= 8 && std::memcmp(b, kPng, 8) == 0;
  const bool jpeg = size >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
  const bool bmp = size >= 2 && b[0] == 'B' && b[1] == 'M';
  if (!png && !jpeg && !bmp) return DataLoss(path + ": cannot decode image: not a PNG, JPEG or BMP file");
  if (!png) return Status::Ok();
  // Every chunk header stb would read (length + type: 8 bytes) is checked,
  // the last one too: a file that ends right after a header is how the
  // second finding got past a first version that looked only at complete
  // chunks. IEND ends the walk (stb stops there without reading its CRC).
  std::size_t at = 8;
  while (size - at >= 8) {
    const std::uint32_t len = static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
                              static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
    const std::string type(bytes, at + 4, 4);
    if (type == "IEND") break;
    const std::size_t left = size - at - 8;  // after this chunk's length and type
    if (len > left || left - len < 4)
      return DataLoss(path + ": cannot decode image: PNG chunk '" + type + "' at byte " + std::to_string(at) +
                      " declares " + std::to_string(len) + " bytes (+ 4 of CRC), the file has " +
                      std::to_string(left) + " after its header");
    at += 12 + static_cast<std::size_t>(len);
  }
  return Status::Ok();
}
}  // namespace

Result<DecodedImage> DecodeImageFile(const std::string& path, ColorMode color, std::uint64_t max_pixels) {
  QUALM_ASSIGN_OR_RETURN(std::string bytes, detail::ReadWholeFile(path));
  if (bytes.empty()) return DataLoss(path + ": cannot decode image: the file is empty");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return InvalidArgument(path + ": image file is too large");
  }
  QUALM_RETURN_IF_ERROR(CheckImageContainer(bytes, path));
  const int want = color == ColorMode::kGrey ? 1 : 3;
  int w = 0, h = 0, n = 0;
  // The header alone first: a small file may declare 900 megapixels.
  if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h,
                             &n)) {
    const char* why = stbi_failure_reason();
    return DataLoss(path + ": cannot decode image: " + (why ? why : "unknown stb_image error"));
  }
  if (w <= 0 || h <= 0) return DataLoss(path + ": cannot decode image: its header declares " +
                                        std::to_string(w) + "x" + std::to_string(h) + " pixels");
  if (static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h) > max_pixels)
    return InvalidArgument(path + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
                           std::to_string(static_cast<std::uint64_t>(w) * static_cast<std::uint64_t>(h)) +
                           " pixels), more than the limit max_image_pixels=" + std::to_string(max_pixels));
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()), &w, &h,
                            &n, want),
      &stbi_image_free);
  if (!pixels) {
    const char* why = stbi_failure_reason();
    return DataLoss(path + ": cannot decode image: " + (why ? why : "unknown stb_image error"));
  }
  DecodedImage img;
  img.height = h;
  img.width = w;
  img.channels = want;
  img.pixels.assign(pixels.get(), pixels.get() + static_cast<std::size_t>(w) * h * want);
  return img;
}

Result<Dataset> LoadImageFolder(const std::string& dir, const ImageFolderOptions& options,
                                ImageFolderReport* report) {
  if (options.height < 0 || options.width < 0 || (options.height == 0) != (options.width == 0)) {
    return InvalidArgument(dir + ": image size " + std::to_string(options.height) + "x" +
                           std::to_string(options.width) + " is invalid (both positive, or both 0 for native)");
  }
  ImageFolderReport local;
  ImageFolderReport& rep = report ? *report : local;
  rep = {};
  auto classes = detail::ListDir(dir, /*want_dirs=*/true);
  if (!classes.ok()) return NotFound(dir + ": image folder not found (expected <dir>/<class>/<image files>)");
  if (classes->empty()) return InvalidArgument(dir + ": image folder has no class subdirectories");

  const int channels = options.color == ColorMode::kGrey ? 1 : 3;
  int out_h = options.height, out_w = options.width;
  Dataset ds;
  ds.name = "images:" + dir;
  ds.sample_type = SampleType::kFloat32;
  ds.num_classes = static_cast<int>(classes->size());
  ds.class_names = *classes;
  std::vector<float> src, resized;
  for (std::size_t c = 0; c < classes->size(); ++c) {
    if (options.limit > 0 && ds.size() >= options.limit) break;
    const std::string class_dir = dir + "/" + (*classes)[c];
    QUALM_ASSIGN_OR_RETURN(std::vector<std::string> files, detail::ListDir(class_dir, /*want_dirs=*/false));
    std::size_t images_here = 0;
    for (const std::string& f : files) {
      if (!IsImageName(f)) {
        ++rep.ignored;
        continue;
      }
      if (options.limit > 0 && ds.size() >= options.limit) break;
      const std::string path = class_dir + "/" + f;
      auto img = DecodeImageFile(path, options.color, options.max_image_pixels);
      if (!img.ok()) {
        if (options.skip_unreadable) {
          rep.skipped.push_back(img.status().message());
          continue;
        }
        return img.status();
      }
      if (out_h == 0) {  // native size, fixed by the first image
        out_h = img->height;
        out_w = img->width;
      } else if (options.height == 0 && (img->height != out_h || img->width != out_w)) {
        return InvalidArgument(path + ": image is " + std::to_string(img->height) + "x" + std::to_string(img->width) +
                               " but earlier images are " + std::to_string(out_h) + "x" + std::to_string(out_w) +
                               " (set a size to resize them)");
      }
      src.resize(img->pixels.size());
      for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(img->pixels[i]) / 255.0f;
      resized.resize(static_cast<std::size_t>(out_h) * out_w * channels);
      ResizeImage(src.data(), img->height, img->width, channels, resized.data(), out_h, out_w);
      ds.f32.insert(ds.f32.end(), resized.begin(), resized.end());
      ds.labels.push_back(static_cast<std::int32_t>(c));
      ++images_here;
    }
    if (images_here == 0 && !(options.limit > 0 && ds.size() >= options.limit)) {
      return InvalidArgument(class_dir + ": class folder has no " +
                             std::string(options.skip_unreadable ? "readable " : "") +
                             "images (.png, .jpg, .jpeg, .bmp)");
    }
  }
  ds.sample_shape = {out_h, out_w, channels};
  rep.loaded = ds.size();
  if (rep.ignored > 0)
    ds.load_notes.push_back(std::to_string(rep.ignored) + " file" + (rep.ignored == 1 ? "" : "s") + " in " + dir +
                            " not named as images (.png, .jpg, .jpeg, .bmp) and ignored");
  if (!rep.skipped.empty())
    ds.load_notes.push_back(std::to_string(rep.skipped.size()) + " unreadable image" +
                            (rep.skipped.size() == 1 ? "" : "s") + " skipped, the first: " + rep.skipped.front());
  return ds;
}

}  // namespace qualm::frontends

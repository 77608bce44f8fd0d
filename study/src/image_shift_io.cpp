// Shifted image sets as files; see qualm/study/image_shift_io.h.
#include "qualm/study/image_shift_io.h"

#include <stb_image_write.h>  // declarations only: Debian's libstb provides the implementation
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "qualm/frontends/atomic_file.h"
#include "qualm/study/image_shift.h"

// stb_easy_font is header-only with static functions we do not all use.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace qualm::study {
namespace fs = std::filesystem;
namespace {

unsigned char ToByte(float v) {
  const float c = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  return static_cast<unsigned char>(c * 255.0f + 0.5f);
}

Result<std::string> EncodePng(const std::vector<unsigned char>& px, int h, int w, int c) {
  std::string out;
  auto sink = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (!stbi_write_png_to_func(sink, &out, w, h, c, px.data(), w * c))
    return Internal("stb_image_write could not encode a " + std::to_string(w) + "x" + std::to_string(h) + " PNG");
  return out;
}

std::string Padded(std::size_t value, std::size_t width) {
  std::string s = std::to_string(value);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

std::string SafeName(const std::string& name) {
  std::string out;
  for (char ch : name) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-';
    out += keep ? ch : '-';
  }
  return out;
}

Status WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return IoError(path.string() + ": cannot write");
  return Status::Ok();
}

Status CheckImages(const Dataset& d) {
  if (d.sample_type != SampleType::kFloat32 || d.sample_shape.size() != 3 ||
      (d.sample_shape[2] != 1 && d.sample_shape[2] != 3))
    return InvalidArgument("'" + d.name + "' is not a set of images (f32, H x W x 1 or 3)");
  return Status::Ok();
}

// The folder's content, written into `tmp` (which must not exist yet).
Status WriteFolderContent(const Dataset& images, const fs::path& tmp, const std::string& provenance) {
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return IoError(tmp.string() + ": cannot create the folder: " + ec.message());
  const int h = images.sample_shape[0], w = images.sample_shape[1], c = images.sample_shape[2];
  const std::size_t classes = static_cast<std::size_t>(images.num_classes);
  const std::size_t id_width = std::to_string(classes > 0 ? classes - 1 : 0).size();
  const std::size_t index_width = std::max<std::size_t>(5, std::to_string(images.size()).size());
  std::vector<fs::path> class_dirs(classes);
  for (std::size_t k = 0; k < classes; ++k) {
    std::string name = Padded(k, id_width);
    if (k < images.class_names.size() && !images.class_names[k].empty()) {
      name += '-';
      name += SafeName(images.class_names[k]);
    }
    class_dirs[k] = tmp / name;
    fs::create_directory(class_dirs[k], ec);
    if (ec) return IoError(class_dirs[k].string() + ": cannot create the folder: " + ec.message());
  }
  const std::size_t size = images.sample_size();
  std::vector<unsigned char> px(size);
  for (std::size_t i = 0; i < images.size(); ++i) {
    for (std::size_t k = 0; k < size; ++k) px[k] = ToByte(images.f32[i * size + k]);
    QUALM_ASSIGN_OR_RETURN(std::string png, EncodePng(px, h, w, c));
    QUALM_RETURN_IF_ERROR(
        WriteBytes(class_dirs[static_cast<std::size_t>(images.labels[i])] / (Padded(i, index_width) + ".png"), png));
  }
  return WriteBytes(tmp / kShiftFolderMarker, provenance);
}

}  // namespace

Status WriteImageFolder(const Dataset& images, const std::string& dir, const std::string& provenance) {
  QUALM_RETURN_IF_ERROR(CheckImages(images));
  if (images.num_classes < 1) return InvalidArgument("'" + images.name + "' has no classes");
  std::vector<std::size_t> per_class(static_cast<std::size_t>(images.num_classes), 0);
  for (std::int32_t l : images.labels) {
    if (l < 0 || l >= images.num_classes) return InvalidArgument("'" + images.name + "': label out of range");
    per_class[static_cast<std::size_t>(l)]++;
  }
  std::string empty;
  for (std::size_t k = 0; k < per_class.size(); ++k)
    if (per_class[k] == 0) empty += (empty.empty() ? "" : ", ") + std::to_string(k);
  if (!empty.empty())
    return InvalidArgument("'" + images.name + "' has no image of class " + empty +
                           "; an image folder needs every class (read back, the other classes would be renumbered): "
                           "use more images");

  std::error_code ec;
  const fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string leaf = target.filename().string();
  if (leaf.empty() || leaf == "." || leaf == "..") return InvalidArgument("'" + dir + "' is not a folder name");
  const bool exists = fs::exists(target, ec);
  if (exists) {
    if (!fs::is_directory(target, ec)) return InvalidArgument("'" + dir + "' exists and is not a folder; not replaced");
    if (!fs::is_empty(target, ec) && !fs::exists(target / kShiftFolderMarker, ec))
      return InvalidArgument("'" + dir + "' is not empty and was not written by `qualm shift` (no " +
                             kShiftFolderMarker + "); choose another folder");
  }
  const std::string pid = std::to_string(::getpid());
  std::string tmp_name = ".", old_name = ".";
  tmp_name += leaf;
  tmp_name += ".tmp.";
  tmp_name += pid;
  old_name += leaf;
  old_name += ".old.";
  old_name += pid;
  const fs::path tmp = parent / tmp_name, old = parent / old_name;
  fs::remove_all(tmp, ec);
  if (Status st = WriteFolderContent(images, tmp, provenance); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  if (exists) {
    fs::rename(target, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return IoError("'" + dir + "': cannot move the earlier output aside: " + ec.message());
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    const std::string why = ec.message();
    if (exists) fs::rename(old, target, ec);  // put the earlier output back
    fs::remove_all(tmp, ec);
    return IoError("'" + dir + "': cannot move the new folder into place: " + why);
  }
  if (exists) fs::remove_all(old, ec);
  return Status::Ok();
}

Status WriteContactSheet(const Dataset& clean, std::size_t index, std::uint64_t seed, int zoom, const std::string& path) {
  QUALM_RETURN_IF_ERROR(CheckImages(clean));
  if (index >= clean.size())
    return InvalidArgument("sample " + std::to_string(index) + " is not in '" + clean.name + "' (" +
                           std::to_string(clean.size()) + " samples)");
  if (zoom < 1 || zoom > 16) return InvalidArgument("the zoom must be 1..16, got " + std::to_string(zoom));
  const int h = clean.sample_shape[0], w = clean.sample_shape[1], c = clean.sample_shape[2];
  Dataset one = Subset(clean, {index}, clean.name);

  const auto& shifts = ImageShifts();
  constexpr int kText = 2, kGap = 4;  // font scale (easy_font units to pixels), gap between cells
  int label_w = 0;
  for (const auto& s : shifts) label_w = std::max(label_w, stb_easy_font_width(const_cast<char*>(s.name.c_str())));
  label_w = label_w * kText + 2 * kGap;
  const int cell_w = w * zoom, cell_h = h * zoom, header = 12 * kText + kGap;
  const int cols = 1 + kShiftSeverities, rows = static_cast<int>(shifts.size());
  const int sheet_w = label_w + cols * (cell_w + kGap), sheet_h = header + rows * (cell_h + kGap);
  std::vector<unsigned char> sheet(static_cast<std::size_t>(sheet_w) * sheet_h * c, 255);

  auto text = [&](int x, int y, const std::string& s) {
    std::vector<char> buf(s.size() * 300 + 64);
    std::vector<char> str(s.begin(), s.end());
    str.push_back('\0');
    const int quads = stb_easy_font_print(0, 0, str.data(), nullptr, buf.data(), static_cast<int>(buf.size()));
    const float* v = reinterpret_cast<const float*>(buf.data());
    for (int q = 0; q < quads; ++q) {
      float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
      for (int k = 0; k < 4; ++k) {
        const float* vert = v + (q * 4 + k) * 4;  // x, y, z, colour (4 bytes)
        x0 = std::min(x0, vert[0]), x1 = std::max(x1, vert[0]);
        y0 = std::min(y0, vert[1]), y1 = std::max(y1, vert[1]);
      }
      for (int yy = y + static_cast<int>(y0) * kText; yy < y + static_cast<int>(y1) * kText; ++yy)
        for (int xx = x + static_cast<int>(x0) * kText; xx < x + static_cast<int>(x1) * kText; ++xx)
          if (yy >= 0 && yy < sheet_h && xx >= 0 && xx < sheet_w)
            for (int ch = 0; ch < c; ++ch) sheet[(static_cast<std::size_t>(yy) * sheet_w + xx) * c + ch] = 0;
    }
  };
  auto paste = [&](const Dataset& d, int x, int y) {
    for (int yy = 0; yy < cell_h; ++yy)
      for (int xx = 0; xx < cell_w; ++xx)
        for (int ch = 0; ch < c; ++ch)
          sheet[(static_cast<std::size_t>(y + yy) * sheet_w + x + xx) * c + ch] =
              ToByte(d.f32[(static_cast<std::size_t>(yy / zoom) * w + xx / zoom) * c + ch]);
  };
  for (int col = 0; col < cols; ++col) {
    std::string title = col == 0 ? "clean" : "sev. ";
    if (col > 0) title += std::to_string(col);
    text(label_w + col * (cell_w + kGap), kGap / 2, title);
  }
  for (int r = 0; r < rows; ++r) {
    const int y = header + r * (cell_h + kGap);
    const std::string& name = shifts[static_cast<std::size_t>(r)].name;
    text(kGap, y + cell_h / 2 - 4 * kText, name);
    paste(one, label_w, y);
    for (int s = 1; s <= kShiftSeverities; ++s) {
      QUALM_ASSIGN_OR_RETURN(Dataset shifted, ApplyImageShift(one, name, s, seed));
      paste(shifted, label_w + s * (cell_w + kGap), y);
    }
  }
  QUALM_ASSIGN_OR_RETURN(std::string png, EncodePng(sheet, sheet_h, sheet_w, c));
  return frontends::WriteFileAtomically(path, png);
}

}  // namespace qualm::study

// IDX reader/writer; see qualm/frontends/idx.h.
#include "qualm/frontends/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "io_util.h"

namespace qualm::frontends {
namespace {

std::string ElementTypeName(std::uint8_t t) {
  switch (t) {
    case 0x08: return "ubyte";
    case 0x09: return "sbyte";
    case 0x0B: return "i16";
    case 0x0C: return "i32";
    case 0x0D: return "f32";
    case 0x0E: return "f64";
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", t);
  return std::string("unknown type ") + buf;
}

std::uint32_t BigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

void PutBigEndian32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

std::string DimsString(const std::vector<std::uint32_t>& dims, std::size_t from) {
  std::string s;
  for (std::size_t i = from; i < dims.size(); ++i) {
    if (i > from) s += "x";
    s += std::to_string(dims[i]);
  }
  return s;
}

Result<std::vector<std::uint8_t>> Inflate(const std::string& path, const std::vector<std::uint8_t>& in) {
  std::vector<std::uint8_t> out;
  z_stream zs{};
  // 16 + MAX_WBITS: gzip wrapper only (we only get here after seeing its magic).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Internal(path + ": zlib inflateInit2 failed");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  // The gzip trailer holds the uncompressed size mod 2^32: a good first guess,
  // capped by deflate's maximum ratio (~1032:1) so a lying trailer cannot make us allocate gigabytes.
  std::size_t guess = in.size() * 4;
  if (in.size() >= 18) {
    const std::uint8_t* t = in.data() + in.size() - 4;
    const std::size_t isize = std::uint32_t{t[0]} | (std::uint32_t{t[1]} << 8) | (std::uint32_t{t[2]} << 16) |
                              (std::uint32_t{t[3]} << 24);
    guess = std::max<std::size_t>(std::min<std::size_t>(isize + 1, in.size() * 1040), 1024);
  }
  out.resize(guess);
  std::size_t produced = 0;
  int ret = Z_OK;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    const std::size_t room = std::min<std::size_t>(out.size() - produced, 1u << 30);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(room);
    ret = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (ret == Z_STREAM_END) {
      // Concatenated gzip members are legal: keep going if more input follows.
      if (zs.avail_in == 0) break;
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      // Trailing garbage after a complete member: gzip(1) warns and ignores it; so do we.
      break;
    }
    if (ret == Z_BUF_ERROR || (ret == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) {
      inflateEnd(&zs);
      return DataLoss(path + ": truncated gzip stream: the compressed data ends after " + std::to_string(produced) +
                      " decompressed bytes");
    }
    if (ret != Z_OK) {
      std::string why = zs.msg ? zs.msg : "zlib error " + std::to_string(ret);
      inflateEnd(&zs);
      return DataLoss(path + ": corrupt gzip stream (" + why + ") after " + std::to_string(produced) +
                      " decompressed bytes");
    }
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> ReadFileMaybeGzip(const std::string& path) {
  QUALM_ASSIGN_OR_RETURN(std::string raw, detail::ReadWholeFile(path));
  std::vector<std::uint8_t> bytes(raw.begin(), raw.end());
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return Inflate(path, bytes);
  return bytes;
}

Result<IdxArray> ReadIdxUbyte(const std::string& path, int expected_rank, std::size_t max_items) {
  QUALM_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, ReadFileMaybeGzip(path));
  if (bytes.size() < 4) {
    return DataLoss(path + ": not an IDX file: " + std::to_string(bytes.size()) + " bytes, shorter than the header");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02x %02x %02x %02x", bytes[0], bytes[1], bytes[2], bytes[3]);
    return InvalidArgument(path + ": not an IDX file: bad magic " + buf + " (expected 00 00 <type> <rank>)");
  }
  const std::uint8_t type = bytes[2];
  const int rank = bytes[3];
  if (type != 0x08) {
    return InvalidArgument(path + ": IDX element type is " + ElementTypeName(type) + "; only ubyte (0x08) is supported");
  }
  if (rank == 0) return InvalidArgument(path + ": IDX header has 0 dimensions");
  if (expected_rank > 0 && rank != expected_rank) {
    return InvalidArgument(path + ": IDX file has " + std::to_string(rank) + " dimensions, expected " +
                           std::to_string(expected_rank));
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(rank);
  if (bytes.size() < header) {
    return DataLoss(path + ": truncated: the IDX header needs " + std::to_string(header) + " bytes, the stream has " +
                    std::to_string(bytes.size()));
  }
  IdxArray out;
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    const std::uint32_t d = BigEndian32(&bytes[4 + 4 * static_cast<std::size_t>(i)]);
    out.dims.push_back(d);
    total *= d;
    if (total > (std::uint64_t{1} << 40)) return InvalidArgument(path + ": IDX dimensions are implausibly large");
  }
  const std::uint64_t have = bytes.size() - header;
  if (have != total) {
    const std::string what = rank == 1 ? std::to_string(out.dims[0]) + " items"
                                       : std::to_string(out.dims[0]) + " items of " + DimsString(out.dims, 1);
    if (have < total) {
      return DataLoss(path + ": truncated: header says " + what + " (" + std::to_string(total) +
                      " bytes) but the stream ends after " + std::to_string(have) + " bytes of data");
    }
    return DataLoss(path + ": header says " + what + " (" + std::to_string(total) + " bytes) but the stream has " +
                    std::to_string(have - total) + " extra bytes after the data");
  }
  out.header_items = out.dims[0];
  std::uint64_t keep = total;
  if (max_items > 0 && max_items < out.dims[0]) {
    keep = total / out.dims[0] * max_items;
    out.dims[0] = static_cast<std::uint32_t>(max_items);
  }
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header),
                  bytes.begin() + static_cast<std::ptrdiff_t>(header + keep));
  return out;
}

Result<Dataset> LoadIdxPair(const std::string& images_path, const std::string& labels_path, const std::string& name,
                            const IdxOptions& options) {
  if (options.num_classes <= 0 || options.num_classes > 256) {
    return InvalidArgument(name + ": IDX num_classes must be in [1, 256], got " + std::to_string(options.num_classes));
  }
  if (!options.class_names.empty() && options.class_names.size() != static_cast<std::size_t>(options.num_classes)) {
    return InvalidArgument(name + ": " + std::to_string(options.class_names.size()) + " class names for " +
                           std::to_string(options.num_classes) + " classes");
  }
  QUALM_ASSIGN_OR_RETURN(IdxArray images, ReadIdxUbyte(images_path, 0, options.limit));
  if (images.dims.size() != 3 && images.dims.size() != 4) {
    return InvalidArgument(images_path + ": an image IDX file must have 3 (N,H,W) or 4 (N,H,W,C) dimensions, got " +
                           std::to_string(images.dims.size()));
  }
  QUALM_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxUbyte(labels_path, 1, options.limit));
  // Compare the header counts, not the kept prefix: a mismatched pair is an error even under `limit`.
  if (images.header_items != labels.header_items) {
    return InvalidArgument(images_path + " has " + std::to_string(images.header_items) + " images but " + labels_path +
                           " has " + std::to_string(labels.header_items) + " labels");
  }
  const std::size_t n = images.dims[0];
  const int h = static_cast<int>(images.dims[1]);
  const int w = static_cast<int>(images.dims[2]);
  const int c = images.dims.size() == 4 ? static_cast<int>(images.dims[3]) : 1;
  Dataset ds;
  ds.name = name;
  ds.sample_type = SampleType::kFloat32;
  ds.sample_shape = {h, w, c};
  ds.num_classes = options.num_classes;
  ds.class_names = options.class_names;
  ds.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = labels.data[i];
    if (label >= options.num_classes) {
      return InvalidArgument(labels_path + ": label " + std::to_string(label) + " of sample " + std::to_string(i) +
                             " is out of range for " + std::to_string(options.num_classes) + " classes");
    }
    ds.labels[i] = label;
  }
  ds.f32.resize(images.data.size());
  for (std::size_t i = 0; i < images.data.size(); ++i) ds.f32[i] = static_cast<float>(images.data[i]) / 255.0f;
  return ds;
}

Status SaveIdxPair(const Dataset& dataset, const std::string& images_path, const std::string& labels_path, bool gzip) {
  if (dataset.sample_type != SampleType::kFloat32 || dataset.sample_shape.size() != 3) {
    return InvalidArgument(dataset.name + ": SaveIdxPair needs f32 images of shape {H, W, C}");
  }
  if (dataset.f32.size() != dataset.size() * dataset.sample_size()) {
    return InvalidArgument(dataset.name + ": pixel count does not match the number of samples");
  }
  const bool grey = dataset.sample_shape[2] == 1;
  std::vector<std::uint8_t> img = {0, 0, 0x08, static_cast<std::uint8_t>(grey ? 3 : 4)};
  PutBigEndian32(img, static_cast<std::uint32_t>(dataset.size()));
  PutBigEndian32(img, static_cast<std::uint32_t>(dataset.sample_shape[0]));
  PutBigEndian32(img, static_cast<std::uint32_t>(dataset.sample_shape[1]));
  if (!grey) PutBigEndian32(img, static_cast<std::uint32_t>(dataset.sample_shape[2]));
  img.reserve(img.size() + dataset.f32.size());
  for (float v : dataset.f32) {
    const float clamped = std::clamp(v, 0.0f, 1.0f);
    img.push_back(static_cast<std::uint8_t>(std::lround(clamped * 255.0f)));
  }
  std::vector<std::uint8_t> lab = {0, 0, 0x08, 1};
  PutBigEndian32(lab, static_cast<std::uint32_t>(dataset.size()));
  for (std::int32_t l : dataset.labels) {
    if (l < 0 || l > 255) return InvalidArgument(dataset.name + ": label " + std::to_string(l) + " does not fit IDX ubyte");
    lab.push_back(static_cast<std::uint8_t>(l));
  }
  auto write = [gzip](const std::string& path, const std::vector<std::uint8_t>& bytes) -> Status {
    if (gzip) {
      gzFile f = gzopen(path.c_str(), "wb");
      if (!f) return IoError(path + ": cannot create file");
      std::size_t off = 0;
      while (off < bytes.size()) {
        const unsigned n = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - off, 1u << 30));
        if (gzwrite(f, bytes.data() + off, n) != static_cast<int>(n)) {
          gzclose(f);
          return IoError(path + ": write error");
        }
        off += n;
      }
      if (gzclose(f) != Z_OK) return IoError(path + ": write error on close");
      return Status::Ok();
    }
    std::ofstream f(path, std::ios::binary);
    if (!f) return IoError(path + ": cannot create file");
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) return IoError(path + ": write error");
    return Status::Ok();
  };
  QUALM_RETURN_IF_ERROR(write(images_path, img));
  return write(labels_path, lab);
}

}  // namespace qualm::frontends

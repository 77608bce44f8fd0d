// IDX reader/writer; see qualm/frontends/idx.h.
#include "qualm/frontends/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>

#include "io_util.h"
#include "qualm/kernels/checked.h"

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

// The bytes of a raw or gzip file, produced on demand: the IDX reader pulls
// the 4-byte preamble, then the dimensions, then exactly the data the header
// declares, so a gzip bomb is stopped at what its header allows (and at
// InputLimits::max_decompressed_bytes), never inflated first and checked after.
class ByteStream {
 public:
  ByteStream(std::string path, std::string raw, std::uint64_t max_inflated)
      : path_(std::move(path)), raw_(std::move(raw)), max_(max_inflated) {
    gzip_ = raw_.size() >= 2 && static_cast<std::uint8_t>(raw_[0]) == 0x1f && static_cast<std::uint8_t>(raw_[1]) == 0x8b;
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;
  ~ByteStream() {
    if (open_) inflateEnd(&zs_);
  }
  bool gzip() const { return gzip_; }
  std::uint64_t produced() const { return produced_; }
  // Bytes left in a raw file (unknown for gzip).
  std::uint64_t raw_left() const { return raw_.size() - pos_; }

  // Appends up to `n` bytes to `out`; fewer only at the end of the stream.
  // Going past max_decompressed_bytes is an error, as is a broken gzip stream.
  Status Read(std::uint64_t n, std::vector<std::uint8_t>& out) {
    if (!gzip_) {
      const std::uint64_t take = std::min<std::uint64_t>(n, raw_.size() - pos_);
      out.insert(out.end(), raw_.begin() + static_cast<std::ptrdiff_t>(pos_),
                 raw_.begin() + static_cast<std::ptrdiff_t>(pos_ + take));
      pos_ += take;
      produced_ += take;
      return Status::Ok();
    }
    if (produced_ + n > max_ + 1) n = max_ + 1 - produced_;  // one byte past the limit detects the excess
    while (n > 0 && !ended_) {
      if (!open_) {
        // 16 + MAX_WBITS: gzip wrapper only (we only get here after seeing its magic).
        if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) return Internal(path_ + ": zlib inflateInit2 failed");
        open_ = true;
        zs_.next_in = reinterpret_cast<Bytef*>(raw_.data());
        zs_.avail_in = static_cast<uInt>(std::min<std::size_t>(raw_.size(), 1u << 30));
        in_pos_ = zs_.avail_in;
      }
      // Inflate in chunks of at most 1 MiB: memory grows with what the stream really holds.
      const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, 1u << 20));
      const std::size_t old = out.size();
      out.resize(old + chunk);
      zs_.next_out = out.data() + old;
      zs_.avail_out = static_cast<uInt>(chunk);
      if (zs_.avail_in == 0 && in_pos_ < raw_.size()) Refill();
      const int ret = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t got = chunk - zs_.avail_out;
      out.resize(old + got);
      produced_ += got;
      n -= got;
      if (ret == Z_STREAM_END) {
        if (zs_.avail_in == 0 && in_pos_ < raw_.size()) Refill();
        // Concatenated gzip members are legal: keep going if more input follows.
        if (zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b) {
          inflateReset(&zs_);
          continue;
        }
        // Trailing garbage after a complete member: gzip(1) warns and ignores it; so do we.
        ended_ = true;
        break;
      }
      if (ret == Z_OK && zs_.avail_in == 0 && in_pos_ < raw_.size()) continue;
      if (ret == Z_BUF_ERROR || (ret == Z_OK && zs_.avail_in == 0 && zs_.avail_out != 0))
        return DataLoss(path_ + ": truncated gzip stream: the compressed data ends after " +
                        std::to_string(produced_) + " decompressed bytes");
      if (ret != Z_OK) {
        const std::string why = zs_.msg ? zs_.msg : "zlib error " + std::to_string(ret);
        return DataLoss(path_ + ": corrupt gzip stream (" + why + ") after " + std::to_string(produced_) +
                        " decompressed bytes");
      }
    }
    if (produced_ > max_)
      return InvalidArgument(path_ + ": the gzip stream inflates to more than the limit max_decompressed_bytes=" +
                             std::to_string(max_) + " bytes");
    return Status::Ok();
  }

 private:
  void Refill() {
    const std::size_t take = std::min<std::size_t>(raw_.size() - in_pos_, 1u << 30);
    zs_.next_in = reinterpret_cast<Bytef*>(raw_.data() + in_pos_);
    zs_.avail_in = static_cast<uInt>(take);
    in_pos_ += take;
  }

  std::string path_, raw_;
  std::uint64_t max_;
  bool gzip_ = false, open_ = false, ended_ = false;
  z_stream zs_{};
  std::size_t in_pos_ = 0;   // gzip: compressed bytes handed to zlib so far
  std::uint64_t pos_ = 0;    // raw: bytes consumed
  std::uint64_t produced_ = 0;
};

}  // namespace

Result<std::vector<std::uint8_t>> ReadFileMaybeGzip(const std::string& path, const InputLimits& limits) {
  QUALM_ASSIGN_OR_RETURN(std::string raw, detail::ReadWholeFile(path));
  ByteStream in(path, std::move(raw), limits.max_decompressed_bytes);
  std::vector<std::uint8_t> bytes;
  QUALM_RETURN_IF_ERROR(in.Read(limits.max_decompressed_bytes, bytes));
  // Exactly at the limit: one more byte tells a stream that ends there from one that goes on.
  std::vector<std::uint8_t> probe;
  QUALM_RETURN_IF_ERROR(in.Read(1, probe));
  if (!probe.empty())
    return InvalidArgument(path + ": the gzip stream inflates to more than the limit max_decompressed_bytes=" +
                           std::to_string(limits.max_decompressed_bytes) + " bytes");
  return bytes;
}

Result<IdxArray> ReadIdxUbyte(const std::string& path, int expected_rank, std::size_t max_items,
                              const InputLimits& limits) {
  QUALM_ASSIGN_OR_RETURN(std::string raw, detail::ReadWholeFile(path));
  ByteStream in(path, std::move(raw), limits.max_decompressed_bytes);
  std::vector<std::uint8_t> bytes;
  QUALM_RETURN_IF_ERROR(in.Read(4, bytes));
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
  QUALM_RETURN_IF_ERROR(in.Read(header - 4, bytes));
  if (bytes.size() < header) {
    return DataLoss(path + ": truncated: the IDX header needs " + std::to_string(header) + " bytes, the stream has " +
                    std::to_string(bytes.size()));
  }
  IdxArray out;
  std::vector<std::int64_t> dims64;
  for (int i = 0; i < rank; ++i) {
    const std::uint32_t d = BigEndian32(&bytes[4 + 4 * static_cast<std::size_t>(i)]);
    out.dims.push_back(d);
    dims64.push_back(d);
  }
  // Checked: a wrapped product would let a 16-byte file claim a million images.
  auto product = CheckedProduct(dims64, std::numeric_limits<std::int64_t>::max(), path + ": IDX dimensions");
  if (!product.ok()) return product.status();
  const auto total = static_cast<std::uint64_t>(*product);
  const std::string what = rank == 1 ? std::to_string(out.dims[0]) + " items"
                                     : std::to_string(out.dims[0]) + " items of " + DimsString(out.dims, 1);
  if (in.gzip() && total > limits.max_decompressed_bytes - std::min<std::uint64_t>(header, limits.max_decompressed_bytes))
    return InvalidArgument(path + ": header says " + what + " (" + std::to_string(total) +
                           " bytes), more than the limit max_decompressed_bytes=" +
                           std::to_string(limits.max_decompressed_bytes));
  // A raw file's size is known: compare before copying anything.
  if (!in.gzip() && in.raw_left() < total)
    return DataLoss(path + ": truncated: header says " + what + " (" + std::to_string(total) +
                    " bytes) but the stream ends after " + std::to_string(in.raw_left()) + " bytes of data");
  out.header_items = out.dims[0];
  std::uint64_t keep = total;
  if (max_items > 0 && max_items < out.dims[0]) {
    keep = total / out.dims[0] * max_items;
    out.dims[0] = static_cast<std::uint32_t>(max_items);
  }
  QUALM_RETURN_IF_ERROR(in.Read(keep, out.data));
  // The rest of the declared data is read and dropped in bounded chunks: the
  // stream's length is still checked against the header.
  std::uint64_t have = out.data.size();
  std::vector<std::uint8_t> scratch;
  bool stream_ended = have < keep;
  while (!stream_ended && have < total) {
    scratch.clear();
    const std::uint64_t step = std::min<std::uint64_t>(total - have, 1u << 20);
    QUALM_RETURN_IF_ERROR(in.Read(step, scratch));
    have += scratch.size();
    stream_ended = scratch.size() < step;
  }
  if (have < total) {
    return DataLoss(path + ": truncated: header says " + what + " (" + std::to_string(total) +
                    " bytes) but the stream ends after " + std::to_string(have) + " bytes of data");
  }
  // Extra bytes after the data. A raw file's are counted; a gzip stream is
  // not inflated further than one byte past the declared data (a bomb behind
  // a small header stops here).
  if (!in.gzip()) {
    if (in.raw_left() > 0)
      return DataLoss(path + ": header says " + what + " (" + std::to_string(total) + " bytes) but the stream has " +
                      std::to_string(in.raw_left()) + " extra bytes after the data");
  } else {
    scratch.clear();
    QUALM_RETURN_IF_ERROR(in.Read(1, scratch));
    if (!scratch.empty())
      return DataLoss(path + ": header says " + what + " (" + std::to_string(total) +
                      " bytes) but the gzip stream has more data after it (stopped after " +
                      std::to_string(in.produced()) + " decompressed bytes)");
  }
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
  QUALM_ASSIGN_OR_RETURN(IdxArray images, ReadIdxUbyte(images_path, 0, options.limit, options.limits));
  if (images.dims.size() != 3 && images.dims.size() != 4) {
    return InvalidArgument(images_path + ": an image IDX file must have 3 (N,H,W) or 4 (N,H,W,C) dimensions, got " +
                           std::to_string(images.dims.size()));
  }
  for (std::size_t i = 1; i < images.dims.size(); ++i)
    if (images.dims[i] == 0 || images.dims[i] > static_cast<std::uint32_t>(std::numeric_limits<int>::max()))
      return InvalidArgument(images_path + ": image dimensions " + DimsString(images.dims, 1) +
                             " must each be in [1, 2^31 - 1]");
  QUALM_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxUbyte(labels_path, 1, options.limit, options.limits));
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

// qualm/frontends/idx.h: IDX files (the MNIST / Fashion-MNIST container).
//
// An IDX file is a big-endian header followed by raw data:
//   bytes 0-1  zero
//   byte  2    element type: 0x08 ubyte, 0x09 sbyte, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dimensions d
//   then d big-endian u32 dimension sizes, then prod(dims) elements, row-major.
// Files may be gzip-compressed (detected by the gzip magic 1f 8b, never by the
// file name) or stored raw. The data sets qualm reads use ubyte only: images
// are idx3 (N, H, W) -- or idx4 (N, H, W, C) -- and labels are idx1 (N).
//
// Every problem comes back as a Status naming the file: bad magic, unsupported
// element type, wrong number of dimensions, a stream shorter or longer than the
// header says, a truncated or corrupt gzip stream, image and label counts that
// disagree, labels out of range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/frontends/input_limits.h"
#include "qualm/status.h"

namespace qualm::frontends {

// Reads a whole file; when it starts with the gzip magic it is inflated
// (concatenated gzip members are accepted, CRC and length are checked by zlib).
// A truncated gzip stream is a DataLoss error, not a short read; a stream that
// inflates past limits.max_decompressed_bytes is an error once it gets there.
Result<std::vector<std::uint8_t>> ReadFileMaybeGzip(const std::string& path, const InputLimits& limits = {});

// A parsed IDX file of unsigned bytes.
struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {10000, 28, 28}
  std::vector<std::uint8_t> data;   // prod(dims) bytes
  std::uint32_t header_items = 0;   // dims[0] as the header says, before max_items
};

// Reads an IDX file whose element type is ubyte. `expected_rank` > 0 must
// match the header's number of dimensions (0 accepts any rank). `max_items` > 0
// keeps only the first max_items entries of the leading axis; the length of
// the whole stream is still checked against the header. The header is read
// first: its dimension product is checked (no wrapping), and a gzip stream
// is inflated only as far as the header declares (plus the check for extra
// bytes), within limits.max_decompressed_bytes.
Result<IdxArray> ReadIdxUbyte(const std::string& path, int expected_rank = 0, std::size_t max_items = 0,
                              const InputLimits& limits = {});

struct IdxOptions {
  std::size_t limit = 0;                 // keep only the first `limit` samples (0 = all)
  int num_classes = 10;                  // labels must be in [0, num_classes)
  std::vector<std::string> class_names;  // empty, or num_classes entries
  InputLimits limits;
};

// Images (idx3 ubyte (N,H,W) or idx4 ubyte (N,H,W,C)) + labels (idx1 ubyte
// (N)) -> a Dataset: f32 pixels = byte / 255 in [0, 1], sample_shape {H, W, C}
// (C = 1 for idx3), labels as given. The two files must hold the same N.
Result<Dataset> LoadIdxPair(const std::string& images_path, const std::string& labels_path, const std::string& name,
                            const IdxOptions& options = {});

// Writes a float image data set back to an IDX pair (values clamped to [0,1],
// times 255, rounded to nearest); gzip-compressed when `gzip`. Used to export
// generated shifted sets and by the tests. Labels must fit in a byte.
Status SaveIdxPair(const Dataset& dataset, const std::string& images_path, const std::string& labels_path,
                   bool gzip = true);

}  // namespace qualm::frontends

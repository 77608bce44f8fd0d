// qualm/frontends/input_limits.h: the resource limits every data parser
// enforces before it allocates or decodes (docs/LIMITS.md lists them with
// their defaults and the reasons for them).
//
// A data file is untrusted input: a 9 MB gzip stream may inflate to gigabytes,
// a 1 KB PNG may declare 900 megapixels. Each parser reads the sizes a file
// declares (gzip stream, IDX header, image header, file size), checks them
// against these limits with checked arithmetic (qualm/kernels/checked.h), and
// only then allocates. An error names the file, the size and the limit, so a
// user with a legitimately larger input knows which field to raise (the CLI's
// --input-limit NAME=VALUE; DataOptions::limits in the library).
//
// Tensor sizes are not here: kMaxTensorElements and kMaxTensorRank
// (checked.h) come from the kernels' int indexing and cannot be raised.
#pragma once

#include <cstdint>
#include <string>

#include "qualm/status.h"

namespace qualm::frontends {

struct InputLimits {
  // Bytes a gzip-compressed IDX stream may inflate to (header + data). The
  // Fashion-MNIST training images are 47 MB; 1 GiB leaves room for larger sets.
  std::uint64_t max_decompressed_bytes = std::uint64_t{1} << 30;
  // Pixels (height x width) of one image in an image folder, checked from the
  // image header before decoding: 8192 x 8192.
  std::uint64_t max_image_pixels = std::uint64_t{1} << 26;
  // Bytes of one mail message (SpamAssassin: the largest is under 1 MB).
  std::uint64_t max_mail_bytes = std::uint64_t{16} << 20;
  // Bytes of one text file (text folders, vocabulary JSON).
  std::uint64_t max_text_file_bytes = std::uint64_t{64} << 20;
};

// Sets one field from "name=value" (name as in the struct, e.g.
// "max_image_pixels=100000000"); a positive integer with an optional K, M or
// G suffix (powers of 1024). Errors name the accepted names.
Status SetInputLimit(InputLimits& limits, const std::string& name_eq_value);

}  // namespace qualm::frontends

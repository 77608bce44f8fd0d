// qualm/study/npy.h: NumPy .npy files (format version 1.0), the study's
// per-input records, so `numpy.load("top1.npy")` reads them directly.
//
// Only what the records need: little-endian int32 ('<i4') and float32 ('<f4')
// arrays in C order, of rank 1 or 2. The header is the format's Python dict
// literal, padded with spaces to a multiple of 64 bytes and ended by '\n'.
// The reader accepts exactly what the writer writes (and the same dict with
// other spacing, as numpy writes it); anything else is an error that says why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

std::string NpyBytesI32(const std::vector<std::int32_t>& values, const std::vector<std::size_t>& shape);
std::string NpyBytesF32(const std::vector<float>& values, const std::vector<std::size_t>& shape);

struct NpyArray {
  std::string dtype;  // "<i4" or "<f4"
  std::vector<std::size_t> shape;
  std::vector<std::int32_t> i32;
  std::vector<float> f32;
};
Result<NpyArray> ParseNpy(const std::string& bytes, const std::string& what);
Result<NpyArray> ReadNpy(const std::string& path);

}  // namespace qualm::study

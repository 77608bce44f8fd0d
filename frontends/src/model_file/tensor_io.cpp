// The data section's tensors: the writer's table (file order, 64-byte aligned
// offsets) and the reader that bounds-checks each reference against the data
// section. Shared by every header version.
//
// Decoding requires tensors to come in file order without overlap, so the
// memory a crafted file can make us allocate is bounded by its size.
#include <algorithm>
#include <cstring>
#include <limits>

#include "model_file_internal.h"
#include "qualm/frontends/model_file.h"

namespace qualm::frontends::model_file {

namespace {

constexpr std::uint64_t kAlign = kModelFileAlignment;
constexpr int kMaxRank = 8;
constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;

std::uint64_t AlignUp(std::uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

}  // namespace

Result<DType> DTypeFromName(const std::string& name) {
  for (int i = 0; i < 256; ++i) {
    const auto t = static_cast<DType>(i);
    const std::string n = DTypeName(t);
    if (n != "?" && n == name) return t;
  }
  return InvalidArgument("unknown dtype '" + name + "'");
}

Json ShapeJson(const std::vector<std::int64_t>& dims) {
  Json j = Json::array();
  for (auto d : dims) j.push_back(d);
  return j;
}

Result<std::vector<std::int64_t>> DecodeDims(const Json& j, const std::string& what) {
  if (!j.is_array()) return InvalidArgument(what + " must be an array");
  if (j.size() > kMaxRank) return InvalidArgument(what + " has rank " + std::to_string(j.size()) + " > 8");
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < j.size(); ++i) {
    Json wrap = {{"d", j[i]}};
    QUALM_ASSIGN_OR_RETURN(std::int64_t d, GetInt(wrap, "d", 0, kMaxDim, what + "[" + std::to_string(i) + "]"));
    dims.push_back(d);
  }
  return dims;
}

Json TensorTable::Add(const Tensor& t) {
  const std::uint64_t offset = size;
  const std::uint64_t bytes = t.bytes();
  tensors.push_back(&t);
  offsets.push_back(offset);
  size = AlignUp(offset + bytes);
  return Json{{"dtype", DTypeName(t.dtype())},
              {"shape", ShapeJson(t.shape().dims())},
              {"offset", offset},
              {"bytes", bytes}};
}

Result<Tensor> TensorReader::Read(const Json& ref, const std::string& what) {
  if (!ref.is_object()) return InvalidArgument(what + " must be a JSON object");
  for (const char* k : {"dtype", "shape", "offset", "bytes"})
    if (!ref.contains(k)) return InvalidArgument(what + " is missing '" + k + "'");
  QUALM_ASSIGN_OR_RETURN(std::string dtype_name, DecodeString(ref["dtype"], what + ": 'dtype'"));
  auto dtype = DTypeFromName(dtype_name);
  if (!dtype.ok()) return dtype.status().WithContext(what);
  QUALM_ASSIGN_OR_RETURN(std::vector<std::int64_t> dims, DecodeDims(ref["shape"], what + ": 'shape'"));
  const auto max = static_cast<std::int64_t>(std::numeric_limits<std::int64_t>::max());
  QUALM_ASSIGN_OR_RETURN(std::int64_t offset, GetInt(ref, "offset", 0, max, what));
  QUALM_ASSIGN_OR_RETURN(std::int64_t bytes, GetInt(ref, "bytes", 0, max, what));
  // Element count with overflow checks: bounded by the data section.
  std::uint64_t expect = DTypeSize(*dtype);
  bool too_large = false;
  for (auto d : dims) {
    const auto ud = static_cast<std::uint64_t>(d);
    too_large = too_large || (ud != 0 && expect > size_ / ud);
    if (!too_large) expect *= ud;
  }
  const Shape shape(dims);
  if (too_large && std::find(dims.begin(), dims.end(), 0) == dims.end())
    return InvalidArgument(what + ": a " + dtype_name + " " + shape.ToString() +
                           " tensor is larger than the data section (" + std::to_string(size_) + " bytes)");
  if (too_large) expect = 0;
  if (expect != static_cast<std::uint64_t>(bytes))
    return InvalidArgument(what + ": " + std::to_string(bytes) + " bytes do not hold a " + dtype_name + " " +
                           shape.ToString() + " tensor");
  const auto off = static_cast<std::uint64_t>(offset), n = static_cast<std::uint64_t>(bytes);
  if (off % kAlign != 0)
    return InvalidArgument(what + ": offset " + std::to_string(off) + " is not a multiple of 64");
  if (off < next_)
    return InvalidArgument(what + ": offset " + std::to_string(off) + " overlaps the previous tensor (ends at " +
                           std::to_string(next_) + ")");
  if (n > size_ || off > size_ - n)
    return InvalidArgument(what + ": bytes [" + std::to_string(off) + ", " + std::to_string(off + n) +
                           ") lie outside the data section of " + std::to_string(size_) + " bytes");
  next_ = off + n;
  Tensor t(*dtype, shape);
  if (n > 0) std::memcpy(t.raw(), data_ + off, n);
  return t;
}

}  // namespace qualm::frontends::model_file

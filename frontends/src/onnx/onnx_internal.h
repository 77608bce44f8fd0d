// frontends/src/onnx/onnx_internal.h: what the ONNX importer and exporter
// share: TensorProto <-> plain vectors, attribute reading, and the layout
// permutations between ONNX (NCHW, OIHW, Flatten in (c, h, w) order) and qualm
// (NHWC, OHWI, flatten in (h, w, c) order).
//
// Only the files in this folder include protobuf / ONNX headers; the public
// header (qualm/frontends/onnx.h) does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "qualm/status.h"

namespace qualm::frontends::onnx_io {

// A constant (initializer or Constant node output) in ONNX layout. `f` holds
// the float value: the data for FLOAT tensors, the integers converted for
// integer ones. `ints` holds the integers as stored (INT8, UINT8, INT32, INT64).
struct ConstTensor {
  int elem_type = 0;  // onnx::TensorProto::DataType
  std::vector<std::int64_t> dims;
  std::vector<float> f;
  std::vector<std::int64_t> ints;
  bool is_float() const { return elem_type == onnx::TensorProto::FLOAT; }
  std::int64_t size() const;
};

// FLOAT, INT8, UINT8, INT32, INT64; raw_data or the typed fields. External
// data, other types and inconsistent sizes are errors naming the tensor.
Result<ConstTensor> ReadTensor(const onnx::TensorProto& t);

onnx::TensorProto FloatTensor(const std::string& name, const std::vector<std::int64_t>& dims,
                              const std::vector<float>& v);
// elem_type INT8, INT32 or INT64; values stored in raw_data (little-endian).
onnx::TensorProto IntTensor(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                            const std::vector<std::int64_t>& v);

// Attributes of one node.
const onnx::AttributeProto* FindAttr(const onnx::NodeProto& n, const std::string& name);
std::int64_t AttrInt(const onnx::NodeProto& n, const std::string& name, std::int64_t fallback);
float AttrFloat(const onnx::NodeProto& n, const std::string& name, float fallback);
std::string AttrString(const onnx::NodeProto& n, const std::string& name, const std::string& fallback);
std::vector<std::int64_t> AttrInts(const onnx::NodeProto& n, const std::string& name,
                                   const std::vector<std::int64_t>& fallback);
void SetAttr(onnx::NodeProto* n, const std::string& name, std::int64_t v);
void SetAttr(onnx::NodeProto* n, const std::string& name, float v);
void SetAttr(onnx::NodeProto* n, const std::string& name, const std::vector<std::int64_t>& v);

// (a, b, h, w) -> (a, h, w, b): NCHW -> NHWC and OIHW -> OHWI alike.
template <typename T>
std::vector<T> ToChannelsLast(const std::vector<T>& v, std::int64_t a, std::int64_t b, std::int64_t h,
                              std::int64_t w) {
  std::vector<T> out(v.size());
  for (std::int64_t i = 0; i < a; ++i)
    for (std::int64_t c = 0; c < b; ++c)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((i * h + y) * w + x) * b + c] = v[((i * b + c) * h + y) * w + x];
  return out;
}
// The inverse: (a, h, w, b) -> (a, b, h, w).
template <typename T>
std::vector<T> ToChannelsFirst(const std::vector<T>& v, std::int64_t a, std::int64_t b, std::int64_t h,
                               std::int64_t w) {
  std::vector<T> out(v.size());
  for (std::int64_t i = 0; i < a; ++i)
    for (std::int64_t c = 0; c < b; ++c)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((i * b + c) * h + y) * w + x] = v[((i * h + y) * w + x) * b + c];
  return out;
}
// A dense weight [rows][C*H*W] whose columns follow ONNX's flatten order (c, h, w)
// -> columns in qualm's order (h, w, c), and back. Each row is one image.
template <typename T>
std::vector<T> DenseColumnsToHwc(const std::vector<T>& v, std::int64_t rows, std::int64_t c, std::int64_t h,
                                 std::int64_t w) {
  return ToChannelsLast(v, rows, c, h, w);
}
template <typename T>
std::vector<T> DenseColumnsToChw(const std::vector<T>& v, std::int64_t rows, std::int64_t c, std::int64_t h,
                                 std::int64_t w) {
  return ToChannelsFirst(v, rows, c, h, w);
}
// [rows][cols] -> [cols][rows]
template <typename T>
std::vector<T> Transpose2d(const std::vector<T>& v, std::int64_t rows, std::int64_t cols) {
  std::vector<T> out(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = v[r * cols + c];
  return out;
}

// Metadata keys the exporter writes and the importer reads back.
inline constexpr const char* kMetaRequantMode = "qualm.requant_mode";
inline constexpr const char* kMetaArch = "qualm.arch";
// Model::metadata keys with this prefix (a text model's vocabulary, sequence
// length) travel as ONNX metadata_props both ways.
inline constexpr const char* kMetaTextPrefix = "text.";

}  // namespace qualm::frontends::onnx_io

// tests/onnx/onnx_case.h: one ONNX operator conformance case (Debian
// libonnx-testdata, /usr/share/libonnx-testdata/data/node/test_*/) as plain
// data, plus the layout conversions and comparisons the conformance tests share.
//
// A case directory holds model.onnx (a graph of ONE node for the cases used
// here) and test_data_set_0/{input,output}_N.pb, serialized TensorProtos. Input
// file N belongs to the N-th graph input (outputs alike); the loader maps them to
// the node's input / output POSITIONS, so that optional inputs and outputs that
// the node leaves out (empty name) read as absent. Graph initializers, if any,
// are node inputs too.
//
// This header does not include protobuf: only onnx_case.cpp does, which keeps
// the tests' compile time and include graph small.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qualm_onnx {

// onnx::TensorProto::DataType values this loader reads.
enum class ElemType : int { kFloat = 1, kUint8 = 2, kInt8 = 3, kInt32 = 6, kInt64 = 7 };
const char* ElemTypeName(ElemType t);

struct Tensor {
  std::string name;
  ElemType type = ElemType::kFloat;
  std::vector<std::int64_t> dims;  // empty: a scalar
  std::vector<float> f;            // kFloat
  std::vector<std::int64_t> ints;  // every integer type, values as stored

  std::int64_t size() const;
  bool is_float() const { return type == ElemType::kFloat; }
  std::int64_t dim(int i) const { return dims.at(static_cast<std::size_t>(i)); }
  std::string ShapeString() const;  // "[1, 3, 5, 5] float"
};

struct Attribute {
  enum Kind { kInt, kFloat, kString, kInts, kFloats, kOther } kind = kOther;
  std::int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<std::int64_t> ints;
  std::vector<float> floats;
};

struct Case {
  std::string name;  // directory name, e.g. "test_conv_with_strides_padding"
  std::string op_type;
  int opset = 0;  // default-domain opset the model imports
  int node_count = 0;
  std::map<std::string, Attribute> attrs;
  std::vector<std::optional<Tensor>> inputs;   // by node input position; nullopt = left out
  std::vector<std::optional<Tensor>> outputs;  // by node output position; nullopt = not checked

  bool Has(const std::string& attr) const { return attrs.count(attr) != 0; }
  std::int64_t Int(const std::string& attr, std::int64_t fallback) const;
  float Float(const std::string& attr, float fallback) const;
  std::string Str(const std::string& attr, const std::string& fallback) const;
  std::vector<std::int64_t> Ints(const std::string& attr, const std::vector<std::int64_t>& fallback) const;
  const Tensor* Input(std::size_t i) const {
    return i < inputs.size() && inputs[i] ? &*inputs[i] : nullptr;
  }
  const Tensor* Output(std::size_t i) const {
    return i < outputs.size() && outputs[i] ? &*outputs[i] : nullptr;
  }
};

// The data root: $QUALM_ONNX_NODE_DATA if set, else the Debian path.
std::string DataRoot();
// Names of the case directories under DataRoot() that start with `prefix`, sorted.
std::vector<std::string> ListCases(const std::string& prefix);
// Loads DataRoot()/name. On failure returns nullopt and sets *error (file and reason).
std::optional<Case> LoadCase(const std::string& name, std::string* error);

// ---------------------------------------------------------------------------
// Layouts. ONNX images are NCHW and conv weights OIHW; qualm's are NHWC and
// OHWI: the same permutation, (a, b, h, w) -> (a, h, w, b).
template <typename T>
std::vector<T> NchwToNhwc(const std::vector<T>& v, std::int64_t n, std::int64_t c, std::int64_t h,
                          std::int64_t w) {
  std::vector<T> out(v.size());
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < c; ++b)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((a * h + y) * w + x) * c + b] = v[((a * c + b) * h + y) * w + x];
  return out;
}
template <typename T>
std::vector<T> NhwcToNchw(const std::vector<T>& v, std::int64_t n, std::int64_t c, std::int64_t h,
                          std::int64_t w) {
  std::vector<T> out(v.size());
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = 0; b < c; ++b)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) out[((a * c + b) * h + y) * w + x] = v[((a * h + y) * w + x) * c + b];
  return out;
}
// [rows][cols] -> [cols][rows]
template <typename T>
std::vector<T> Transpose2d(const std::vector<T>& v, std::int64_t rows, std::int64_t cols) {
  std::vector<T> out(v.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[c * rows + r] = v[r * cols + c];
  return out;
}

// ---------------------------------------------------------------------------
// Spatial padding of a 2-D window op from ONNX attributes (pads / auto_pad).
struct Pads2d {
  int top = 0, left = 0, bottom = 0, right = 0;
};
// pads = [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end); auto_pad
// SAME_UPPER / SAME_LOWER put the odd unit of total padding at the end / the
// beginning; VALID and NOTSET (without pads) mean none. `dilated_k` is
// dilation * (k - 1) + 1 per axis. Returns false (with *why) for an auto_pad value it
// does not know.
bool OnnxPads2d(const Case& c, int in_h, int in_w, int dilated_kh, int dilated_kw, int stride_h, int stride_w,
                Pads2d* out, std::string* why);

// ---------------------------------------------------------------------------
// Comparisons. Each returns "" when the result matches, otherwise one line
// naming the case, the output, the first mismatching index (with its ONNX
// coordinates) and both values, and how many elements disagree.
//
// Float: |got - want| <= atol + rtol * |want| element-wise (NaN never matches).
std::string CompareFloat(const std::string& what, const std::vector<float>& got, const Tensor& want, double atol,
                         double rtol);
// Integer: exact, every element.
std::string CompareExact(const std::string& what, const std::vector<std::int64_t>& got, const Tensor& want);

// "[0, 2, 1, 3]": the row-major coordinates of flat index i in `dims`.
std::string Coordinates(const std::vector<std::int64_t>& dims, std::int64_t i);

}  // namespace qualm_onnx

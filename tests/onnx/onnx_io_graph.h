// tests/onnx/onnx_io_graph.h: the ONNX import / export tests' tools, built on
// the ONNX protobuf API directly (not on the code under test):
//   * GraphBuilder: helper functions that write small ONNX models (inputs,
//     initializers, nodes with attributes, QDQ weights);
//   * NaiveRun: an independent, deliberately simple NCHW interpreter of the
//     ops the importer accepts, in double precision, with ONNX's QDQ semantics
//     (QuantizeLinear rounds half to even and saturates), to check imported
//     models against the graph they came from.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace qualm_onnx_io {

struct Attr {
  std::string name;
  enum Kind { kInt, kFloat, kInts, kString } kind = kInt;
  std::int64_t i = 0;
  float f = 0;
  std::vector<std::int64_t> ints;
  std::string s;
  static Attr Int(std::string n, std::int64_t v) { return {std::move(n), kInt, v, 0, {}, {}}; }
  static Attr Float(std::string n, float v) { return {std::move(n), kFloat, 0, v, {}, {}}; }
  static Attr Ints(std::string n, std::vector<std::int64_t> v) { return {std::move(n), kInts, 0, 0, std::move(v), {}}; }
  static Attr Str(std::string n, std::string v) { return {std::move(n), kString, 0, 0, {}, std::move(v)}; }
};

class GraphBuilder {
 public:
  explicit GraphBuilder(int opset = 13);
  // A float input [batch, dims...]; batch < 0 writes a symbolic "N".
  void Input(const std::string& name, std::int64_t batch, const std::vector<std::int64_t>& dims);
  void Output(const std::string& name, std::int64_t classes);
  void Float(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& v);
  // elem_type: onnx::TensorProto::INT8 / UINT8 / INT32 / INT64 (typed fields, not raw_data).
  void Int(const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
           const std::vector<std::int64_t>& v);
  void Node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
            const std::vector<std::string>& out, const std::vector<Attr>& attrs = {});
  // Random float weights in [-r, r].
  std::vector<float> Random(const std::string& name, const std::vector<std::int64_t>& dims, float r, std::mt19937& rng);
  // Q -> DQ of `x` with a scalar int8 (or uint8) scale / zero point; returns the DQ output name.
  std::string QDQ(const std::string& x, float scale, int zero_point, bool uint8 = false);
  // An int8 weight behind DequantizeLinear (per output channel, axis 0, symmetric,
  // values in [-127, 127]) and an int32 bias at s_in * s_w; returns their DQ names.
  std::string QWeight(const std::string& name, const std::vector<std::int64_t>& dims, std::mt19937& rng,
                      std::vector<float>* scales);
  std::string QBias(const std::string& name, std::int64_t n, float s_in, const std::vector<float>& w_scales,
                    std::mt19937& rng);

  onnx::ModelProto& proto() { return m_; }
  std::string Bytes() const;

 private:
  onnx::ModelProto m_;
  int counter_ = 0;
};

// A tensor of the interpreter: full dims (with batch), values as double
// (integers of quantized tensors included).
struct NTensor {
  std::vector<std::int64_t> dims;
  std::vector<double> v;
  int elem_type = onnx::TensorProto::FLOAT;
};

// Runs the graph on `input` (NCHW / [N, F]); returns the graph output, or
// throws std::runtime_error for an op it does not know (a test bug).
NTensor NaiveRun(const onnx::ModelProto& m, const NTensor& input);

// NCHW [n][c][h][w] <-> NHWC
std::vector<float> NchwToNhwc(const std::vector<float>& v, std::int64_t n, std::int64_t c, std::int64_t h,
                              std::int64_t w);

}  // namespace qualm_onnx_io

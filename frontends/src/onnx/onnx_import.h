// frontends/src/onnx/onnx_import.h: the importer's state, shared by the graph
// walk (onnx_import.cpp) and the QDQ -> int8 step (onnx_import_qdq.cpp).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "onnx_internal.h"
#include "qualm/engine/model.h"
#include "qualm/frontends/onnx.h"

namespace qualm::frontends::onnx_io {

// A constant with, when it came out of DequantizeLinear, its quantized form.
struct ImportedConst {
  ConstTensor value;            // float (dequantized) value, ONNX layout
  bool quantized = false;       // came from DequantizeLinear(int tensor)
  ConstTensor q;                // the stored integers
  std::vector<float> scale;     // one, or one per slice of `axis`
  std::vector<std::int64_t> zero_point;
  int axis = 1;
};

// An activation: which qualm node produces it and its ONNX per-sample dims.
struct ImportedValue {
  int node = -1;
  std::vector<std::int64_t> dims;   // ONNX dims without batch: {C, H, W} or {F}
  std::vector<std::int64_t> chw;    // set when a Flatten made {F} out of {C, H, W}
};

// A QuantizeLinear output: the activation it quantizes and the parameters
// (uint8 ones already shifted to int8: zero point - 128, the same real values).
struct QuantizedValue {
  ImportedValue source;
  kernels::QuantParams params;
};

struct Importer {
  Importer(const onnx::ModelProto& p, const OnnxImportOptions& o, const std::string& f)
      : proto(p), options(o), file(f) {}
  const onnx::ModelProto& proto;
  OnnxImportOptions options;
  std::string file;  // for messages
  Model model;
  std::map<std::string, ImportedConst> consts;
  std::map<std::string, ImportedValue> values;
  std::map<std::string, int> uses;  // consumers of each ONNX value name
  // QDQ: the int8 parameters of qualm node outputs, from QuantizeLinear.
  std::map<int, kernels::QuantParams> node_params;
  std::map<std::string, QuantizedValue> qvalues;
  // Per qualm conv2d / dense node: its ONNX weight / bias constants.
  std::map<int, ImportedConst> weights, biases;
  bool saw_qdq = false;
  std::string graph_output;

  // "node 'conv_3' (Conv)"
  static std::string Where(const onnx::NodeProto& n);
};

// QuantizeLinear of an activation (records the producer's int8 parameters) and
// DequantizeLinear of a constant (an int8 weight / int32 bias) or of a
// QuantizeLinear output (the activation again).
Status ImportQuantizeLinear(Importer& imp, const onnx::NodeProto& n);
Status ImportDequantizeLinear(Importer& imp, const onnx::NodeProto& n);

// After the walk: turns the recorded Q/DQ parameters and int8 constants into an
// int8 QuantSpec on imp.model (scheme int8), or an error naming the node that
// does not map onto qualm's int8 contract.
Status BuildQdqSpec(Importer& imp);

}  // namespace qualm::frontends::onnx_io

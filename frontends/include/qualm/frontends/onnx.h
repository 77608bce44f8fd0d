// qualm/frontends/onnx.h: ONNX import and export (Debian's libonnx-dev).
//
// Import turns an ONNX ModelProto into a qualm::Model: a float model, or an
// int8 model when the graph is in QDQ form (QuantizeLinear / DequantizeLinear
// pairs around every value, int8 weights and int32 biases behind
// DequantizeLinear). Export writes the inverse: a float model as plain ONNX
// ops, an int8 model in QDQ form. docs/onnx.md has the op coverage table
// (supported, declined and why) and what differs between ONNX's QDQ arithmetic
// and qualm's int8 kernels.
//
// Layouts. ONNX images are NCHW with OIHW conv weights; qualm's are NHWC with
// OHWI weights. The importer permutes the weights, and the rows of the first
// Gemm / MatMul after a Flatten (ONNX flattens in (c, h, w) order, qualm in
// (h, w, c) order), so the imported model reads qualm's NHWC samples; the
// exporter does the inverse, so the exported model reads NCHW tensors.
//
// Input preprocessing. qualm's image data sets deliver pixel / 255 (in
// [0, 1]). An ONNX model trained on other input (raw 0..255 pixels, or
// x / 255 * a + b) is imported with OnnxImportOptions::input_scale and
// input_offset, which say what the ONNX model expects in terms of the raw
// pixel p: x = p * input_scale + input_offset (the default, 1/255 and 0, is
// qualm's own convention and adds nothing). Otherwise the importer puts a
// depthwise 1x1 convolution "onnx.input_preprocess" right after the input
// (weight 255 * input_scale, bias input_offset per channel: an exact
// per-element affine map in both executors) and records both values in the
// model's metadata ("onnx.input_scale", "onnx.input_offset"). The model file
// format is unchanged: metadata and a graph node are what any reader already
// loads, so old readers read these files.
//
// Errors: every failure is a Status naming the file and, for graph problems,
// the ONNX node ("node 'conv_3' (Conv): attribute ceil_mode=1 is not supported").
// No exception escapes (protobuf and the ONNX checker are wrapped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qualm/engine/model.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::frontends {

struct OnnxImportOptions {
  // What the ONNX model expects from the raw pixel p: p * input_scale + input_offset.
  float input_scale = 1.0f / 255.0f;
  float input_offset = 0.0f;
  // Fold BatchNormalization into the preceding Conv / Gemm (LowerForInt8's
  // double-precision fold). Off: the BN stays a qualm batch_norm node, which
  // computes exactly what the ONNX op computes (PTQ folds it later anyway).
  bool fold_batch_norm = false;
  // Requantization of an imported QDQ model (qualm's contract, kernels/requant.h).
  // Unset: the mode a qualm export recorded ("qualm.requant_mode"), else gemmlowp.
  std::optional<kernels::RequantMode> requant_mode;
  std::string arch = "onnx";  // Model::arch of the result
};

// Parses and converts; `name_for_errors` prefixes every message.
Result<Model> ImportOnnxBytes(const std::string& bytes, const std::string& name_for_errors,
                              const OnnxImportOptions& options = {});
Result<Model> ImportOnnx(const std::string& path, const OnnxImportOptions& options = {});

// The serialized ModelProto (opset 14, IR version 7). Float models: every op
// as its ONNX op. int8 models: QDQ form (see docs/onnx.md). The weight-only
// schemes (weight-only-int8, fp16-weights, bf16-weights) are written as float
// models: their float weights are the dequantized values, so that is exact.
// Declined: the dynamic scheme (ONNX has no standard form for qualm's
// per-sample activation quantization) and int8 embedding / LSTM / GRU (qualm's
// integer recurrent ops have no QDQ form).
// The result passes onnx::checker::check_model (ExportOnnx checks it).
Result<std::string> ExportOnnxBytes(const Model& model);
// Atomic write (frontends/atomic_file.h) after the checker accepted the model.
Status ExportOnnx(const Model& model, const std::string& path);

// onnx::checker::check_model on serialized bytes, its exception as a Status.
Status CheckOnnxBytes(const std::string& bytes, const std::string& name_for_errors);

}  // namespace qualm::frontends

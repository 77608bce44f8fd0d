// qualm/engine/quant_spec.h: how a Model is quantized (the "quant" record a
// model carries and the model file stores, format version 2).
//
// A quantized model is its float graph plus one QuantSpec: the scheme, the
// requantization mode and, per node, the quantized constants and the int8
// parameters of the node's output value. The float parameters stay in the
// model (an int8 model file also holds the BN-folded float graph it was
// quantized from, so it can be inspected, fine-tuned or re-quantized); the
// integer executor reads only the quantized constants below.
//
// Schemes (QuantSchemeName is the CLI and file spelling):
//   float             no quantization (QuantSpec::nodes is empty)
//   int8              full integer: every value int8 per tensor (output below),
//                     conv/dense/LSTM/GRU weights int8 per channel, int32 bias;
//                     only the final logits are dequantized
//   dynamic           int8 weights per channel; activations are quantized per
//                     sample at run time (hybrid kernels, float outputs)
//   weight-only-int8  int8 weights per channel, dequantized once: float compute
//   fp16-weights      weights rounded to IEEE binary16 (nearest even): float compute
//   bf16-weights      weights rounded to bfloat16 (nearest even): float compute
// For the three "float compute" schemes the model's float weights *are* the
// dequantized values (so the float executor runs them unchanged) and the
// compact form is kept in the constants for the file and for inspection.
//
// Constant names per op (dtype in brackets; [C] = per output channel/row):
//   conv2d, dense  int8 / dynamic / weight-only-int8:
//                    "weight" [i8, float weight's shape], "weight_scale" [f32, C];
//                    int8 only: "bias" [i32, C] at s_in * s_w[c] (when the op has a bias)
//                  fp16-weights / bf16-weights: "weight" [f16 / bf16]
//   embedding      int8: "table" [i8, vocab x dim] at the node's output params
//   lstm           int8 / dynamic / weight-only-int8: "w_x" [i8], "w_x_scale" [f32, 4H],
//                    "w_h" [i8], "w_h_scale" [f32, 4H]; int8 only: "bias" [i32, 4H]
//                    at s_x * s_wx[row] and NodeQuant::cell_exponent
//   gru            as lstm with 3H rows; int8 only: "b_x" [i32] at s_x * s_wx[row],
//                    "b_h" [i32] at s_h * s_wh[row]
// An int8 graph holds only ops with an integer kernel: input, conv2d, dense,
// max/avg/global-average pool, relu, add, embedding, lstm, gru (PTQ folds batch
// norm into the preceding convolution or turns it into a depthwise 1x1
// convolution, and drops dropout).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "qualm/engine/tensor.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm {

struct Param;

enum class QuantScheme : std::uint8_t {
  kFloat = 0,
  kInt8 = 1,
  kDynamic = 2,
  kWeightOnlyInt8 = 3,
  kFp16Weights = 4,
  kBf16Weights = 5,
};
const char* QuantSchemeName(QuantScheme s);
Result<QuantScheme> ParseQuantScheme(const std::string& name);
std::vector<std::string> QuantSchemeNames();

struct QuantConstant {
  std::string name;  // see the table above
  Tensor value;
};

struct NodeQuant {
  // int8 scheme: the node's output is an int8 value with these parameters.
  // True for every node of an int8 model except a token-id input; always
  // false in the other schemes (their activations are float).
  bool has_output = false;
  kernels::QuantParams output;
  int cell_exponent = 0;                 // int8 LSTM: cell scale 2^cell_exponent
  std::vector<QuantConstant> constants;  // op-defined names, see above

  const Tensor* Find(const std::string& name) const;
  Tensor* Find(const std::string& name);
};

struct QuantSpec {
  QuantScheme scheme = QuantScheme::kFloat;
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  std::vector<NodeQuant> nodes;  // parallel to Model::nodes; empty for kFloat
  // Provenance: observer, calibration data and samples, QAT, options.
  std::map<std::string, std::string> info;

  bool quantized() const { return scheme != QuantScheme::kFloat; }
  // Whether the requantization mode means anything: only int8 models
  // requantize (the other schemes keep float activations).
  bool uses_requant_mode() const { return scheme == QuantScheme::kInt8; }
};

// info keys written by the weight-only schemes (dynamic, weight-only-int8):
// how many layers carry weights, and how many of them were quantized.
// weight-only-int8 skips small layers, and may quantize none at all; such a
// model computes exactly what its float original computes, and reports must
// say so instead of showing "0 disagreements" as if it were a result.
inline constexpr const char* kInfoWeightedLayers = "layers.weighted";
inline constexpr const char* kInfoQuantizedLayers = "layers.quantized";
// The number of quantized layers recorded in info, or -1 when not recorded
// (int8, fp16 and bf16 quantize every layer).
int QuantizedLayerCount(const QuantSpec& spec);

}  // namespace qualm

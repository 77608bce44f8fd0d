// engine/src/quant/weights.h (internal): quantizing a node's float weights into
// the int8 constants its QuantSpec record holds (quant_spec.h names them), for
// the int8 rules of the ops (ops/<op>.cpp) and the weight-only schemes (ptq.cpp).
#pragma once

#include <string>

#include "qualm/engine/model.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/status.h"

namespace qualm {

// Per-row symmetric int8 weights of `p` (rows = first dimension), with an
// optional float bias quantized at input_scale * s_w[row]. Per tensor: the
// whole tensor as one "channel", its scale repeated per row (the kernels take
// per-row scales) and the bias quantized at that scale.
Result<kernels::QuantizedWeightsS8> QuantizeRows(const Node& node, const Param& p, const Param* bias, float input_scale,
                                                 bool per_tensor = false);
// Adds constants `name` (int8, the parameter's shape) and `name`_scale (f32 per row).
void AddWeights(NodeQuant& nq, const std::string& name, const Param& p, const kernels::QuantizedWeightsS8& q);
// Adds constant `name` (int32, one per row).
void AddBias(NodeQuant& nq, const std::string& name, const kernels::QuantizedWeightsS8& q);
// The int8 params of an LSTM / GRU hidden state: h lies in (-1, 1) at every step.
kernels::QuantParams HiddenStateParams();

}  // namespace qualm

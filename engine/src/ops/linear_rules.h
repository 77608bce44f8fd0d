// engine/src/ops/linear_rules.h (internal): what conv2d and dense share in the
// op table: their initialization and their int8 rule.
#pragma once

#include "../op_table.h"

namespace qualm {

// He-normal weight (He et al. 2015, std sqrt(2 / fan_in)), zero bias.
void InitializeLinear(Node& node, Rng& rng);
// Output: the params of the only consumer if that is a ReLU (the ReLU is then
// an exact clamp, as TFLite's fused activation), else the node's own; weights
// per output channel (or per tensor), bias int32 at s_in * s_w[c].
Status LinearInt8Rule(const Int8RuleInput& in, NodeQuant& nq);
// Folds a per-output-channel affine into the weight rows (OHWI / [out][in])
// and the bias, in double; `Op` gains a bias if it had none.
void AbsorbAffineIntoRows(Node& node, const ChannelAffine& f);
template <typename Op>
void AbsorbAffine(Node& node, const ChannelAffine& f) {
  std::get<Op>(node.op).has_bias = true;
  AbsorbAffineIntoRows(node, f);
}

}  // namespace qualm

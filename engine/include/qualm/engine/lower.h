// qualm/engine/lower.h: graph rewrites that prepare a float model for integer
// execution (the first step of full-integer post-training quantization).
//
// LowerForInt8 returns a float model that computes the same function as `m`
// in inference mode (up to float rounding of the folded constants) and holds
// only ops with an int8 kernel:
//   * Dropout is removed (it is the identity at inference).
//   * A batch norm whose input is produced by a conv2d or dense node that has no
//     other consumer is folded into that node (TFLite / PyTorch "conv-bn
//     fusion"), in double precision:
//       a[c] = gamma[c] / sqrt(running_var[c] + eps)
//       w'[c][...] = w[c][...] * a[c]       b'[c] = (b[c] - running_mean[c]) * a[c] + beta[c]
//     (b = 0 for a conv without bias; the folded node always has a bias).
//   * Any other batch norm over an {H, W, C} value becomes a depthwise 1x1
//     convolution (groups = C) with weight a[c] and bias beta[c] - mean[c] * a[c]:
//     in int8 that is a per-channel affine op with its own int8 weight per
//     channel (the pre-activation BN of ResNet-20 reads a value that also feeds
//     the shortcut, so it cannot be folded into the producer).
//   * A batch norm over a rank-1 value without a foldable producer is an
//     Unimplemented error.
// Node names are kept (a folded BN disappears; its converted form keeps the
// BN's name); metadata is copied; the result passes InferShapes.
#pragma once

#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

Result<Model> LowerForInt8(const Model& m);

// How many nodes read each node's output (index = node).
std::vector<int> ConsumerCounts(const Model& m);

}  // namespace qualm

// qualm/engine/zoo.h: the study's architectures (see study-protocol.md).
//
//   lenet1    conv 4@5x5, max pool 2, conv 12@5x5, max pool 2, dense 10 (ReLU)
//   lenet5    conv 6@5x5 (same), max pool 2, conv 16@5x5, max pool 2, dense 120, 84, 10 (ReLU)
//   resnet20  pre-activation ResNet (He et al. 2016, "Identity Mappings"):
//             conv 16@3x3, 3 stages x 3 blocks at 16/32/64 channels, blocks
//             BN-ReLU-conv-BN-ReLU-conv + shortcut (1x1 stride-2 projection of the
//             pre-activated input where the shape changes), BN-ReLU, global avg pool, dense
//   nin       narrower Network-in-Network (Lin et al. 2014): three mlpconv blocks
//             (5x5/1x1/1x1 at 48/32/32, 5x5/1x1/1x1 at 64/64/64, 3x3/1x1/1x1 at 64/64/classes)
//             with batch norm after each spatial conv, max pool, avg pool, dropout, global avg pool
//   lstm      embedding 128 -> LSTM 50 (last hidden state) -> dense classes
//   gru       embedding 128 -> GRU 75 (last hidden state) -> dense classes
#pragma once

#include <string>
#include <vector>

#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

struct ZooOptions {
  // Images: per-sample {H, W, C}. Text: {seq_len}.
  std::vector<std::int64_t> input_shape;
  int num_classes = 10;
  int vocab = 20000;  // text models
};

// Builds the graph (parameters zero; call InitializeParameters).
Result<Model> BuildZooModel(const std::string& arch, const ZooOptions& options);
// Names accepted by BuildZooModel.
std::vector<std::string> ZooArchitectures();
bool IsTextArchitecture(const std::string& arch);
// How the study trains each architecture: study/recipes.h.

}  // namespace qualm

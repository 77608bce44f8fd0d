// bench/peer/peer_cases.h: qualm against oneDNN on the study's layer shapes,
// in one process (bench/bench_vs_onednn.cpp runs them under Google Benchmark,
// `qualm bench` under its own short timer; both print the same table).
//
// One PeerCase is one layer shape at one batch size, data type and thread
// count, with one callable per implementation, everything (operands, Prepare,
// packing, oneDNN primitives) built before the callables are returned:
//   qualm          fast::conv2d_f32 / dense_f32 / lstm_f32 / gru_f32 (float),
//                  fast::conv2d_s8 / dense_s8 (int8)
//   onednn         oneDNN f32 primitives (float; lstm_forward / lbr_gru_forward
//                  for the recurrent layers); oneDNN int8 with its native
//                  fp32 output scales (int8: what a oneDNN user runs)
//   onednn-s32     int8 only: oneDNN's s32 accumulators + qualm's requantization
//                  (the bit-exact `--backend onednn` path)
// Shapes (per sample, from engine/src/zoo.cpp on 28x28x1 inputs):
//   lenet5   conv1 28x28x1->6 5x5 pad 2, conv2 14x14x6->16 5x5, fc1 400->120,
//            fc2 120->84, fc3 84->10
//   resnet20 the 3x3 stem 28x28x1->16 and 3x3 convs 28x28x16->16, 14x14x32->32,
//            7x7x64->64 (pad 1), fc 64->10
//   nin      mlpconv convs 28x28x1->48 5x5, 14x14x32->64 5x5, 7x7x64->64 3x3,
//            1x1 cccp convs 28x28x48->32, 14x14x64->64, 7x7x64->10
//   lstm     the float LSTM of the zoo's text model: input 128 (the embedding),
//            hidden 50, 200 steps (the study's sequence length), zero initial
//            state, writing every step's h and h_n
//   gru      the same for the GRU: input 128, hidden 75, 200 steps
// The recurrent layers are float only: their int8 peers (oneDNN's int8 RNN,
// other arithmetic than qualm's integer cells) are bench/bench_rnn_s8.cpp's.
// Rates count 2 operations per multiply-add of the op's definition (padding
// taps included; for LSTM / GRU the gate products, batch x T x gates x hidden
// x (input + hidden) multiply-adds, not the pointwise cell).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qualm/status.h"

namespace qualm_peer {

struct PeerImpl {
  std::string name;  // "qualm", "onednn", "onednn-s32"
  std::string kernel;  // the kernel / oneDNN implementation it runs
  std::function<void()> run;
};

struct PeerCase {
  std::string model, layer;  // "resnet20", "conv 28x28x16->16 k3"
  std::string dtype;         // "f32" / "s8"
  int batch = 1, threads = 1;
  double ops = 0;            // operations per run (2 per MAC)
  std::vector<std::string> impls;  // the implementations' names, qualm first
  // Builds operands and the named implementation (outside any timing); the
  // returned run owns them. Cases are built one at a time so that a long
  // list never holds every case's buffers at once.
  std::function<qualm::Result<PeerImpl>(const std::string& impl)> make;
  std::string Name() const;  // "s8/resnet20/conv 28x28x16->16 k3/b64/t1"
};

struct PeerOptions {
  std::vector<std::string> models{"lenet5", "resnet20", "nin", "lstm", "gru"};
  std::vector<int> batches{1, 64};
  std::vector<int> threads{1, 2};
  std::vector<std::string> dtypes{"f32", "s8"};
};

// The model names MakePeerCases knows.
std::vector<std::string> PeerModels();
// Builds every case; InvalidArgument for an unknown model. Without oneDNN in
// the build the cases hold the qualm implementation only.
qualm::Result<std::vector<PeerCase>> MakePeerCases(const PeerOptions& options);

}  // namespace qualm_peer

// engine/src/quant/int8_nodes.h (internal): one prepared int8 graph node.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

struct Int8Binding {
  const Node* node = nullptr;
  const NodeQuant* quant = nullptr;                // this node's record
  std::vector<const NodeQuant*> input_quant;       // records of the producers
  std::vector<const Tensor*> inputs;               // producers' int8 buffers (int32 ids for a text input)
  std::vector<Shape> input_shapes;                 // per sample
  Tensor* output = nullptr;                        // int8 [max_batch][out_shape]
  Shape output_shape;
  int max_batch = 0;
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  // kFast: conv2d / dense on the fast int8 GEMM, relu / add / pools / the
  // input quantization on the fast elementwise kernels (all bit-identical).
  Backend backend = Backend::kReference;
  int threads = 1;
  // Backend::kOnednn (then `backend` is kFast): conv2d / dense run oneDNN's
  // s32 accumulators and qualm's requantization (bit-identical).
  bool onednn = false;
  // Output clamp of a conv2d / dense / add node (its kernel's act_min /
  // act_max): a following ReLU fused into it (int8_executor.cpp) narrows it.
  std::int32_t act_min = -128, act_max = 127;
};

// Whether node `relu` (a ReluOp) of a quantized graph is a plain clamp of its
// input (kernels::IsPlainClamp), and if so its bounds.
struct ReluClamp {
  bool plain = false;
  std::int32_t act_min = -128, act_max = 127;
};
ReluClamp ReluAsClamp(const Node& relu, const NodeQuant& input, const NodeQuant& output, kernels::RequantMode mode);

class Int8NodeExec {
 public:
  virtual ~Int8NodeExec() = default;
  virtual void Run(int n) = 0;
  // int16 elements of shared scratch Run needs (recurrent nodes, fast conv2d / dense).
  virtual std::size_t ScratchInt16() const { return 0; }
  void set_scratch(std::int16_t* s) { scratch_ = s; }
  // The oneDNN implementation this node runs (Backend::kOnednn), else empty.
  virtual std::string OnednnImpl() const { return {}; }

 protected:
  std::int16_t* scratch_ = nullptr;
};

Result<std::unique_ptr<Int8NodeExec>> MakeInt8Exec(const Int8Binding& b);
// The input node of a float-input model: quantize_s8 from *src (the caller's
// input pointer, set before each Run) into b.output.
std::unique_ptr<Int8NodeExec> MakeInt8InputQuantize(const float* const* src, const Int8Binding& b);

}  // namespace qualm

// qualm/engine/mixed_precision.h: an int8 model run with a chosen set of nodes
// computed in float: the mechanism behind flip attribution (the counterfactual
// float suffix), the single-layer mixed-precision check, and the QAT forward
// pass of a saved QAT model.
//
// An int8 model holds its lowered float graph (quant_spec.h), node for node the
// graph its integer kernels run. The executor runs that float graph on the
// float executor and, after every node (a ForwardHook, as QAT does), keeps two
// copies of the node's value in step:
//   kInt8   the node's integer kernel runs on the int8 values of its inputs
//           (Int8Executor::RunNode); the float copy is its dequantized result.
//   kFloat  the node's float op runs on the float copies of its inputs (which
//           are dequantized int8 values where the inputs are kInt8); the int8
//           copy is that float result quantized to the node's own output
//           parameters (quantize_s8, ties away from zero, as the input is), so
//           an int8 consumer reads it "re-quantized at the output".
// Consumers read the copy their own precision needs. Hence:
//   * every node kInt8: the QAT forward pass of qat.h (float executor, each
//     output replaced by its integer kernel's dequantized result); its
//     predictions equal the int8 model's (measured by the backend matrix);
//   * every node kFloat: the lowered float model (LowerForInt8), no rounding;
//   * nodes 0..k kInt8, the rest kFloat (SetInt8Prefix(k)): the int8 model up
//     to and including node k, dequantized, then the float model from k + 1 on;
//   * one node kFloat, the rest kInt8 (SetFloatNodes({k})): the int8 model
//     with layer k kept in float and re-quantized at its output.
// A fused conv/dense + ReLU pair stays consistent: the conv's int8 params are
// the ReLU's (ptq.h), so quantizing a float conv output clamps it as the fused
// kernel does, and a float ReLU of a dequantized fused output is the identity.
//
// Cost: one float and one int8 forward pass per batch (a kInt8 node's float op
// runs and is overwritten; simpler than a per-node dispatch and still cheap).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/int8_executor.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

enum class NodePrecision : std::uint8_t { kInt8, kFloat };

struct MixedPrecisionOptions {
  int max_batch = 256;
  // The float ops run on the frozen reference kernels by default: the study's
  // deterministic float baseline. The int8 backends are bit-identical anyway.
  Backend float_backend = Backend::kReference;
  Backend int8_backend = Backend::kFast;
  int threads = 1;
};

class MixedPrecisionExecutor final : public Inference {
 public:
  // `int8_model` (scheme int8) must outlive the executor. Every node starts kInt8.
  static Result<std::unique_ptr<MixedPrecisionExecutor>> Create(const Model& int8_model,
                                                                const MixedPrecisionOptions& options);
  ~MixedPrecisionExecutor() override;
  MixedPrecisionExecutor(const MixedPrecisionExecutor&) = delete;
  MixedPrecisionExecutor& operator=(const MixedPrecisionExecutor&) = delete;

  // One entry per node. A token-id input (node 0 of a text model) is ids
  // either way.
  Status SetPrecision(const std::vector<NodePrecision>& precision);
  // Nodes 0..k kInt8, k+1.. kFloat; k in [-1, nodes - 1] (-1: all float).
  Status SetInt8Prefix(int k);
  // The listed nodes kFloat, every other node kInt8.
  Status SetFloatNodes(const std::vector<int>& nodes);
  const std::vector<NodePrecision>& precision() const { return precision_; }

  void Run(const void* input, int n) override;
  const float* logits() const override;
  int num_classes() const override;
  int max_batch() const override { return options_.max_batch; }
  // "mixed (int8 nodes 0..5, float 6..11; float reference, int8 fast ...)".
  std::string PathDescription() const override;
  int num_nodes() const;
  const Model& model() const { return *int8_model_; }

 private:
  class Hook;
  MixedPrecisionExecutor() = default;
  const Model* int8_model_ = nullptr;
  std::unique_ptr<Model> float_graph_;  // the int8 model's float graph, quant cleared
  MixedPrecisionOptions options_;
  std::unique_ptr<Executor> float_;
  std::unique_ptr<Int8Executor> int8_;
  std::unique_ptr<Hook> hook_;
  std::vector<NodePrecision> precision_;
};

// The predictions of `int8_model` with nodes 0..k in int8 and the rest in
// float, for every k from -1 to nodes - 1, on the inputs `indices` of `data`:
// result[k + 1][j] is the prediction for input indices[j] (argmax, ties to the
// lowest class). Batches the inputs; one pass over them per k.
Result<std::vector<std::vector<std::int32_t>>> SweepInt8Prefix(const Model& int8_model, const Dataset& data,
                                                               const std::vector<std::size_t>& indices,
                                                               const MixedPrecisionOptions& options);

// Predictions of a mixed run on a whole data set (batched).
Result<std::vector<std::int32_t>> PredictMixed(MixedPrecisionExecutor& ex, const Dataset& data);

}  // namespace qualm

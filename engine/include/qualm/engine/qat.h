// qualm/engine/qat.h: quantization-aware training whose forward pass IS the
// integer model's forward pass.
//
// Fake quantization usually simulates int8 in float (round(x / s) * s after a
// float convolution), which rounds differently from the deployed integer
// kernels: the trained model and its int8 conversion then disagree on some
// inputs. qualm's QAT instead replaces, after every node of the float forward
// pass, the node's float output by the dequantized output of the node's own
// integer reference kernel (the Int8Executor's node), computed from the int8
// output of the previous nodes and from int8 weights quantized from the
// current float weights exactly as PTQ does (BuildInt8Spec). So:
//   * the forward pass of the QAT model is, bit for bit, the forward pass of
//     its converted int8 model (Convert()): they agree on every input, and
//     every layer's values are identical (the per-layer difference is 0 by
//     construction; CompareWithInt8 measures it rather than assuming it);
//   * the backward pass is the float network's, evaluated at the quantized
//     activations (straight-through estimator for the activation and weight
//     rounding: the rounding steps pass gradients unchanged, clamping passes
//     them through the float ReLU masks);
//   * activation ranges come from one observer per value (default PyTorch's
//     moving-average min/max, constant 0.01) fed with each node's float output
//     before it is replaced. The first training step is a float step that seeds
//     the observers; every later step quantizes with the ranges observed so far.
// The model is trained in its lowered form (LowerForInt8: batch norm folded,
// dropout removed), so QAT also covers the folded constants.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/int8_executor.h"
#include "qualm/engine/observers.h"
#include "qualm/engine/train.h"

namespace qualm {

struct QatOptions {
  ObserverOptions observer = MovingAverageOptions{};
  kernels::RequantMode mode = kernels::RequantMode::kGemmlowp;
  int lstm_cell_exponent = -11;
  int max_batch = 256;  // largest forward batch (training or evaluation)
};

class Qat : public TrainingHook {
 public:
  // Replaces *model by its lowered form (the one to train with a Trainer,
  // with set_hook(this)). The model must be a float model.
  static Result<std::unique_ptr<Qat>> Create(Model* model, const QatOptions& options);

  Status BeforeStep(int n) override;
  void AfterNode(Executor& ex, int node, int n) override;
  // Accuracy of the converted int8 model (== the QAT forward pass).
  Result<double> Validate(const Dataset& validation) override;

  // The int8 model of the current weights and ranges (scheme int8, the lowered
  // float weights kept, quant.info["qat"] = observer).
  Result<Model> Convert() const;
  // Runs the QAT forward pass (inference: observers untouched) on `input`
  // through a float executor built by the caller on model().
  Status BeginInference(int n);

  // Checkpointing (resumable QAT runs). The state of the min/max and
  // moving-average observers is exactly their current range, so it is saved
  // as that range (float bit patterns) and restored by feeding it back as one
  // two-value batch, which sets both observers to exactly that state.
  // Histogram observers keep more state: not resumable (resumable() false).
  bool resumable() const;
  std::string StateString() const;
  Status RestoreState(const std::string& json);
  Model& model() { return *model_; }

 private:
  Qat() = default;
  Result<QuantSpec> CurrentSpec() const;
  Model* model_ = nullptr;
  QatOptions options_;
  std::vector<std::unique_ptr<Observer>> observers_;  // per value (null: not observed)
  bool seeded_ = false;
  bool observe_ = false;   // this forward feeds the observers
  bool replace_ = false;   // this forward replaces outputs by integer results
  QuantSpec spec_;
  std::unique_ptr<Int8Executor> int8_;
};

// Per-layer agreement of a QAT forward pass with an int8 model (the converted
// model, typically reloaded from its file) on a data set.
struct LayerDiff {
  std::string node;
  int max_units = 0;          // largest |q_qat - q_int8| over all elements, in quantized units
  std::int64_t differing = 0;  // elements that differ
};
struct QatAgreement {
  std::size_t samples = 0;
  std::vector<std::size_t> disagreements;  // inputs whose top-1 predictions differ
  std::vector<LayerDiff> layers;           // one per node with int8 output
  int max_units() const;
};
// Runs the QAT forward pass on qat.model(); `int8` must have the same graph.
Result<QatAgreement> CompareWithInt8(Qat& qat, const Model& int8, const Dataset& data, int batch_size = 256);

}  // namespace qualm

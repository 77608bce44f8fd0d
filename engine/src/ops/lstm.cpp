// lstm (LstmOp): gates i, f, g, o; kernels/recurrent.h (float), recurrent_s8.h
// (TFLite's 8x8_16 integer LSTM), recurrent_hybrid.h; executors in
// recurrent_ops.cpp, hybrid_ops.cpp and quant/int8_nodes.cpp.
#include "../quant/weights.h"
#include "recurrent_rules.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) { return InferRecurrent<LstmOp>(in, 4, {"bias"}); }

void Initialize(Node& node, Rng& rng) {
  InitializeRecurrent<LstmOp>(node, rng);
  // Forget-gate bias 1 (Jozefowicz et al. 2015): remember by default.
  const int h = std::get<LstmOp>(node.op).hidden;
  float* b = node.param("bias").value.f32();
  for (int k = 0; k < h; ++k) {
    b[k] = 0.0f;
    b[h + k] = 1.0f;
    b[2 * h + k] = 0.0f;
    b[3 * h + k] = 0.0f;
  }
}

// Output (the hidden state): HiddenStateParams(); cell scale
// 2^lstm_cell_exponent; w_x and bias at the input's scale, w_h at the hidden
// state's.
Status Int8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  const bool pt = in.options.per_tensor_weights;
  const Node& node = in.node;
  nq.output = HiddenStateParams();
  nq.cell_exponent = in.options.lstm_cell_exponent;
  QUALM_ASSIGN_OR_RETURN(auto qx, QuantizeRows(node, node.param("w_x"), &node.param("bias"), in.in->output.scale, pt));
  QUALM_ASSIGN_OR_RETURN(auto qh, QuantizeRows(node, node.param("w_h"), nullptr, nq.output.scale, pt));
  AddWeights(nq, "w_x", node.param("w_x"), qx);
  AddWeights(nq, "w_h", node.param("w_h"), qh);
  AddBias(nq, "bias", qx);
  return Status::Ok();
}

}  // namespace

template <>
const OpEntry& OpEntryOf<LstmOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(Initialize);
    x.make_float = QUALM_ENGINE_ONLY(MakeLstmExec);
    x.make_hybrid = QUALM_ENGINE_ONLY(MakeHybridExec);
    x.make_int8 = MakeLstmS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(Int8Rule);
    x.weights = {"w_x", "w_h"};
    return x;
  }();
  return e;
}

}  // namespace qualm

// gru (GruOp): gates z, r, n; kernels/recurrent.h (float), recurrent_s8.h
// (integer GRU), recurrent_hybrid.h; executors in recurrent_ops.cpp,
// hybrid_ops.cpp and quant/int8_nodes.cpp.
#include "../quant/weights.h"
#include "recurrent_rules.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) { return InferRecurrent<GruOp>(in, 3, {"b_x", "b_h"}); }

// Output (the hidden state): HiddenStateParams(); w_x and b_x at the input's
// scale, w_h and b_h at the hidden state's.
Status Int8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  const bool pt = in.options.per_tensor_weights;
  const Node& node = in.node;
  nq.output = HiddenStateParams();
  QUALM_ASSIGN_OR_RETURN(auto qx, QuantizeRows(node, node.param("w_x"), &node.param("b_x"), in.in->output.scale, pt));
  QUALM_ASSIGN_OR_RETURN(auto qh, QuantizeRows(node, node.param("w_h"), &node.param("b_h"), nq.output.scale, pt));
  AddWeights(nq, "w_x", node.param("w_x"), qx);
  AddWeights(nq, "w_h", node.param("w_h"), qh);
  AddBias(nq, "b_x", qx);
  AddBias(nq, "b_h", qh);
  return Status::Ok();
}

}  // namespace

template <>
const OpEntry& OpEntryOf<GruOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(InitializeRecurrent<GruOp>);
    x.make_float = QUALM_ENGINE_ONLY(MakeGruExec);
    x.make_hybrid = QUALM_ENGINE_ONLY(MakeHybridExec);
    x.make_int8 = MakeGruS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(Int8Rule);
    x.weights = {"w_x", "w_h"};
    return x;
  }();
  return e;
}

}  // namespace qualm

// relu (ReluOp, with relu6): kernels/elementwise.h, eltwise_s8.h (rescale with
// the activation's clamp); executors in elementwise_ops.cpp and
// quant/int8_nodes.cpp. Its int8 params are its own calibrated ones; the
// conv2d / dense before it adopts them (linear_rules.h).
#include <variant>

#include "../op_table.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  NodeShapes r;
  r.out = in.in[0];
  return r;
}

Status Int8Rule(const Int8RuleInput&, NodeQuant&) { return Status::Ok(); }

}  // namespace

template <>
const OpEntry& OpEntryOf<ReluOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.make_float = MakeReluExec;
    x.make_int8 = MakeReluS8Exec;
    x.int8_rule = Int8Rule;
    return x;
  }();
  return e;
}

}  // namespace qualm

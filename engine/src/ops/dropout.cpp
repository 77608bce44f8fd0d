// dropout (DropoutOp): inverted dropout, active only in training;
// kernels/elementwise.h; executor in elementwise_ops.cpp. LowerForInt8 removes
// it (the identity at inference).
#include <variant>

#include "../op_table.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  const auto& op = std::get<DropoutOp>(in.node.op);
  if (!(op.rate >= 0.0f && op.rate < 1.0f)) return InvalidArgument(NodeWhere(in.node) + ": rate must be in [0, 1)");
  return InferSameShape(in, 1);
}

}  // namespace

template <>
const OpEntry& OpEntryOf<DropoutOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.make_float = QUALM_ENGINE_ONLY(MakeDropoutExec);
    x.lower = LowerRule::kIdentity;
    return x;
  }();
  return e;
}

}  // namespace qualm

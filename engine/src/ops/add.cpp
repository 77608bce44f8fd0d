// add (AddOp): two inputs of the same shape. kernels/elementwise.h,
// eltwise_s8.h; executors in elementwise_ops.cpp and quant/int8_nodes.cpp.
#include "../op_table.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 2));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  if (!(in.in[0] == in.in[1]))
    return InvalidArgument(NodeWhere(in.node) + ": input shapes differ: " + in.in[0].ToString() + " vs " +
                           in.in[1].ToString());
  NodeShapes r;
  r.out = in.in[0];
  return r;
}

Status Int8Rule(const Int8RuleInput&, NodeQuant&) { return Status::Ok(); }

}  // namespace

template <>
const OpEntry& OpEntryOf<AddOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.make_float = MakeAddExec;
    x.make_int8 = MakeAddS8Exec;
    x.int8_rule = Int8Rule;
    return x;
  }();
  return e;
}

}  // namespace qualm

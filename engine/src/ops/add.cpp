// add (AddOp): two inputs of the same shape. kernels/elementwise.h,
// eltwise_s8.h; executors in elementwise_ops.cpp and quant/int8_nodes.cpp.
#include "../op_table.h"

namespace qualm {

template <>
const OpEntry& OpEntryOf<AddOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = [](const InferInput& in) { return InferSameShape(in, 2); };
    x.make_float = QUALM_ENGINE_ONLY(MakeAddExec);
    x.make_int8 = MakeAddS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(KeepCalibratedParams);
    return x;
  }();
  return e;
}

}  // namespace qualm

// relu (ReluOp, with relu6): kernels/elementwise.h, eltwise_s8.h (rescale with
// the activation's clamp); executors in elementwise_ops.cpp and
// quant/int8_nodes.cpp. Its int8 params are its own calibrated ones; the
// conv2d / dense before it adopts them (linear_rules.h).
#include <variant>

#include "../op_table.h"

namespace qualm {

template <>
const OpEntry& OpEntryOf<ReluOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = [](const InferInput& in) { return InferSameShape(in, 1); };
    x.make_float = QUALM_ENGINE_ONLY(MakeReluExec);
    x.make_int8 = MakeReluS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(KeepCalibratedParams);
    return x;
  }();
  return e;
}

}  // namespace qualm

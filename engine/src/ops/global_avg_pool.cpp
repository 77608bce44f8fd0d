// global_avg_pool (GlobalAvgPoolOp): [H, W, C] -> [C]. kernels/pool.h,
// pool_s8.h; executors in pool_ops.cpp and quant/int8_nodes.cpp.
#include "pool_rules.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  QUALM_RETURN_IF_ERROR(ExpectRank(in.node, in.in[0], 3, "HWC"));
  NodeShapes r;
  r.out = Shape{in.in[0][2]};
  return r;
}

}  // namespace

template <>
const OpEntry& OpEntryOf<GlobalAvgPoolOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.make_float = QUALM_ENGINE_ONLY(MakeGlobalAvgPoolExec);
    x.make_int8 = MakeGlobalAvgPoolS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(PoolInt8Rule);
    return x;
  }();
  return e;
}

}  // namespace qualm

// max_pool (MaxPoolOp): kernels/pool.h, pool_s8.h; executors in pool_ops.cpp
// and quant/int8_nodes.cpp.
#include "pool_rules.h"

namespace qualm {

template <>
const OpEntry& OpEntryOf<MaxPoolOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = InferPool2d<MaxPoolOp>;
    x.make_float = QUALM_ENGINE_ONLY(MakeMaxPoolExec);
    x.make_int8 = MakeMaxPoolS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(PoolInt8Rule);
    return x;
  }();
  return e;
}

}  // namespace qualm

// engine/src/ops/pool_rules.h (internal): what max_pool, avg_pool and
// global_avg_pool share in the op table.
#pragma once

#include <variant>

#include "../op_params.h"
#include "../op_table.h"

namespace qualm {

// MaxPoolOp or AvgPoolOp over an {H, W, C} input.
template <typename Op>
Result<NodeShapes> InferPool2d(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  const Shape& s = in.in[0];
  QUALM_RETURN_IF_ERROR(ExpectRank(in.node, s, 3, "HWC"));
  const kernels::Pool2dParams p = ToPoolParams(std::get<Op>(in.node.op), s, 1);
  QUALM_RETURN_IF_ERROR(kernels::Validate(p).WithContext(NodeWhere(in.node)));
  NodeShapes r;
  r.out = Shape{p.out_h(), p.out_w(), p.channels};
  return r;
}

// Pools keep their input's params: the int8 kernels require it, and pooling
// commutes with dequantization.
inline Status PoolInt8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  nq.output = in.in->output;
  return Status::Ok();
}

}  // namespace qualm

// conv2d (Conv2dOp): float kernels in conv_dense_ops.cpp, hybrid in
// hybrid_ops.cpp, int8 in quant/int8_nodes.cpp; kernels/conv2d*.h.
#include <variant>

#include "../op_params.h"
#include "linear_rules.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  const auto& op = std::get<Conv2dOp>(in.node.op);
  const Shape& s = in.in[0];
  QUALM_RETURN_IF_ERROR(ExpectRank(in.node, s, 3, "HWC"));
  const kernels::Conv2dParams p = ToConvParams(op, s, 1);
  QUALM_RETURN_IF_ERROR(kernels::Validate(p).WithContext(NodeWhere(in.node)));
  NodeShapes r;
  r.out = Shape{p.out_h(), p.out_w(), p.out_c};
  r.params.push_back({"weight", Shape{p.out_c, p.kernel_h, p.kernel_w, p.in_c / p.groups}, true});
  if (op.has_bias) r.params.push_back({"bias", Shape{p.out_c}, true});
  return r;
}

}  // namespace

template <>
const OpEntry& OpEntryOf<Conv2dOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(InitializeLinear);
    x.make_float = QUALM_ENGINE_ONLY(MakeConv2dExec);
    x.make_hybrid = QUALM_ENGINE_ONLY(MakeHybridExec);
    x.make_int8 = MakeConv2dS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(LinearInt8Rule);
    x.absorb_affine = QUALM_ENGINE_ONLY(AbsorbAffine<Conv2dOp>);
    x.weights = {"weight"};
    return x;
  }();
  return e;
}

}  // namespace qualm

// dense (DenseOp): the input is flattened per sample. Float kernels in
// conv_dense_ops.cpp, hybrid in hybrid_ops.cpp, int8 in quant/int8_nodes.cpp;
// kernels/dense*.h.
#include <variant>

#include "linear_rules.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  const auto& op = std::get<DenseOp>(in.node.op);
  if (op.out_features <= 0) return InvalidArgument(NodeWhere(in.node) + ": out_features must be positive");
  NodeShapes r;
  r.out = Shape{op.out_features};
  r.params.push_back({"weight", Shape{op.out_features, in.in[0].elements()}, true});
  if (op.has_bias) r.params.push_back({"bias", Shape{op.out_features}, true});
  return r;
}

}  // namespace

template <>
const OpEntry& OpEntryOf<DenseOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(InitializeLinear);
    x.make_float = QUALM_ENGINE_ONLY(MakeDenseExec);
    x.make_hybrid = QUALM_ENGINE_ONLY(MakeHybridExec);
    x.make_int8 = MakeDenseS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(LinearInt8Rule);
    x.absorb_affine = QUALM_ENGINE_ONLY(AbsorbAffine<DenseOp>);
    x.weights = {"weight"};
    return x;
  }();
  return e;
}

}  // namespace qualm

// batch_norm (BatchNormOp) over the last axis: kernels/batchnorm.h; executor in
// elementwise_ops.cpp. No int8 kernel: LowerForInt8 (quant/lower.cpp) folds it
// into its producer or turns it into a depthwise 1x1 conv2d.
#include <variant>

#include "../op_table.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  QUALM_RETURN_IF_ERROR(ExpectFloatInputs(in));
  const auto& op = std::get<BatchNormOp>(in.node.op);
  const Shape& s = in.in[0];
  if (s.rank() < 1) return InvalidArgument(NodeWhere(in.node) + ": needs at least one axis");
  if (!(op.epsilon > 0.0f)) return InvalidArgument(NodeWhere(in.node) + ": epsilon must be positive");
  const std::int64_t c = s[s.rank() - 1];
  NodeShapes r;
  r.out = s;
  r.params = {{"gamma", Shape{c}, true},
              {"beta", Shape{c}, true},
              {"running_mean", Shape{c}, false},
              {"running_var", Shape{c}, false}};
  return r;
}

void Initialize(Node& node, Rng&) {
  node.param("gamma").value.Fill(1.0f);
  node.param("beta").value.Zero();
  node.param("running_mean").value.Zero();
  node.param("running_var").value.Fill(1.0f);
}

}  // namespace

template <>
const OpEntry& OpEntryOf<BatchNormOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(Initialize);
    x.make_float = QUALM_ENGINE_ONLY(MakeBatchNormExec);
    x.lower = LowerRule::kBatchNorm;
    return x;
  }();
  return e;
}

}  // namespace qualm

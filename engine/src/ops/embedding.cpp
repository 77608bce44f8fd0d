// embedding (EmbeddingOp): int32 ids [T] -> [T, dim]; parameter "table"
// [vocab, dim]. kernels/embedding.h; executors in recurrent_ops.cpp and
// quant/int8_nodes.cpp (an exact int8 gather).
#include <algorithm>
#include <variant>

#include "../op_table.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm {
namespace {

Result<NodeShapes> Infer(const InferInput& in) {
  QUALM_RETURN_IF_ERROR(ExpectInputs(in, 1));
  const auto& op = std::get<EmbeddingOp>(in.node.op);
  const Shape& s = in.in[0];
  if (!in.in_int[0]) return InvalidArgument(NodeWhere(in.node) + ": expects token ids (int32) input");
  QUALM_RETURN_IF_ERROR(ExpectRank(in.node, s, 1, "sequence"));
  if (op.vocab <= 0 || op.dim <= 0) return InvalidArgument(NodeWhere(in.node) + ": vocab and dim must be positive");
  NodeShapes r;
  r.out = Shape{s[0], op.dim};
  r.params.push_back({"table", Shape{op.vocab, op.dim}, true});
  return r;
}

void Initialize(Node& node, Rng& rng) { FillUniform(node.param("table").value, 0.05f, rng); }

// The table is stored at ChooseQuantParams(min(table), max(table)) and the
// output takes the same params, so the gather is exact and never clips.
Status Int8Rule(const Int8RuleInput& in, NodeQuant& nq) {
  const auto& op = std::get<EmbeddingOp>(in.node.op);
  const Tensor& t = in.node.param("table").value;
  const auto [lo, hi] = std::minmax_element(t.f32(), t.f32() + t.elements());
  QUALM_ASSIGN_OR_RETURN(nq.output, kernels::ChooseQuantParams(*lo, *hi, -128, 127));
  Tensor table(DType::kI8, Shape{op.vocab, op.dim});
  for (std::int64_t k = 0; k < t.elements(); ++k)
    table.data<std::int8_t>()[k] = static_cast<std::int8_t>(kernels::QuantizeValue(
        t.f32()[k], nq.output.scale, nq.output.zero_point, -128, 127, kernels::RoundingMode::kHalfAwayFromZero));
  nq.constants.push_back({"table", std::move(table)});
  return Status::Ok();
}

}  // namespace

template <>
const OpEntry& OpEntryOf<EmbeddingOp>() {
  // Assigned member by member: the entry lists only what the op has.
  static const OpEntry e = [] {
    OpEntry x;
    x.infer = Infer;
    x.initialize = QUALM_ENGINE_ONLY(Initialize);
    x.make_float = QUALM_ENGINE_ONLY(MakeEmbeddingExec);
    x.make_int8 = MakeEmbeddingS8Exec;
    x.int8_rule = QUALM_ENGINE_ONLY(Int8Rule);
    return x;
  }();
  return e;
}

}  // namespace qualm

// Graph lowering for int8 execution (qualm/engine/lower.h).
#include "qualm/engine/lower.h"

#include <cmath>
#include <variant>

#include "../op_table.h"

namespace qualm {
namespace {

ChannelAffine BatchNormFactors(const Node& bn) {
  const auto& op = std::get<BatchNormOp>(bn.op);
  const float* gamma = bn.param("gamma").value.f32();
  const float* beta = bn.param("beta").value.f32();
  const float* mean = bn.param("running_mean").value.f32();
  const float* var = bn.param("running_var").value.f32();
  const auto c = static_cast<std::size_t>(bn.param("gamma").value.elements());
  ChannelAffine f;
  f.scale.resize(c);
  f.shift.resize(c);
  for (std::size_t i = 0; i < c; ++i) {
    f.scale[i] = static_cast<double>(gamma[i]) / std::sqrt(static_cast<double>(var[i]) + static_cast<double>(op.epsilon));
    f.shift[i] = static_cast<double>(beta[i]) - static_cast<double>(mean[i]) * f.scale[i];
  }
  return f;
}

Node DepthwiseFromBatchNorm(const Node& bn, const ChannelAffine& f, int input) {
  const auto c = static_cast<std::int64_t>(f.scale.size());
  Conv2dOp op;
  op.out_channels = static_cast<int>(c);
  op.groups = static_cast<int>(c);
  op.has_bias = true;
  Node n{bn.name, op, {input}, {}};
  n.params.push_back(Param{"weight", Tensor(DType::kF32, Shape{c, 1, 1, 1}), true});
  n.params.push_back(Param{"bias", Tensor(DType::kF32, Shape{c}), true});
  for (std::int64_t i = 0; i < c; ++i) {
    n.param("weight").value.f32()[i] = static_cast<float>(f.scale[static_cast<std::size_t>(i)]);
    n.param("bias").value.f32()[i] = static_cast<float>(f.shift[static_cast<std::size_t>(i)]);
  }
  return n;
}

}  // namespace

std::vector<int> ConsumerCounts(const Model& m) {
  std::vector<int> counts(m.nodes.size(), 0);
  for (const auto& n : m.nodes)
    for (int in : n.inputs) ++counts[static_cast<std::size_t>(in)];
  return counts;
}

Result<Model> LowerForInt8(const Model& m) {
  QUALM_ASSIGN_OR_RETURN(std::vector<Shape> shapes, InferShapes(m));
  const std::vector<int> consumers = ConsumerCounts(m);
  Model out;
  out.arch = m.arch;
  out.input_type = m.input_type;
  out.input_shape = m.input_shape;
  out.num_classes = m.num_classes;
  out.metadata = m.metadata;
  std::vector<int> map(m.nodes.size(), -1);
  // new index -> original index, to ask "does the producer have other consumers".
  std::vector<int> origin;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& n = m.nodes[i];
    const LowerRule rule = EntryOf(n.op).lower;
    if (rule == LowerRule::kIdentity) {
      map[i] = map[static_cast<std::size_t>(n.inputs[0])];
      continue;
    }
    if (rule == LowerRule::kBatchNorm) {
      const int in_old = n.inputs[0];
      const int in_new = map[static_cast<std::size_t>(in_old)];
      Node& producer = out.nodes[static_cast<std::size_t>(in_new)];
      const ChannelAffine f = BatchNormFactors(n);
      const auto absorb = EntryOf(producer.op).absorb_affine;
      const bool foldable = absorb && consumers[static_cast<std::size_t>(origin[static_cast<std::size_t>(in_new)])] == 1;
      if (foldable) {
        absorb(producer, f);
        map[i] = in_new;
        continue;
      }
      if (shapes[i].rank() != 3)
        return Unimplemented("node '" + n.name + "': a batch norm over a rank-" + std::to_string(shapes[i].rank()) +
                             " value that does not follow a conv2d or dense node has no int8 form");
      out.nodes.push_back(DepthwiseFromBatchNorm(n, f, in_new));
      map[i] = static_cast<int>(out.nodes.size()) - 1;
      origin.push_back(static_cast<int>(i));
      continue;
    }
    Node copy = n;
    for (int& in : copy.inputs) in = map[static_cast<std::size_t>(in)];
    out.nodes.push_back(std::move(copy));
    map[i] = static_cast<int>(out.nodes.size()) - 1;
    origin.push_back(static_cast<int>(i));
  }
  auto check = InferShapes(static_cast<const Model&>(out));
  if (!check.ok()) return check.status().WithContext("lowering for int8");
  return out;
}

}  // namespace qualm

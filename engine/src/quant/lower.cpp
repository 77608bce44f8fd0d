// Graph lowering for int8 execution (qualm/engine/lower.h).
#include "qualm/engine/lower.h"

#include <cmath>

namespace qualm {
namespace {

struct BnFactors {
  std::vector<double> scale, shift;  // y = scale * x + shift, per channel
};

BnFactors BatchNormFactors(const Node& bn) {
  const auto& op = std::get<BatchNormOp>(bn.op);
  const float* gamma = bn.params[0].value.f32();
  const float* beta = bn.params[1].value.f32();
  const float* mean = bn.params[2].value.f32();
  const float* var = bn.params[3].value.f32();
  const auto c = static_cast<std::size_t>(bn.params[0].value.elements());
  BnFactors f;
  f.scale.resize(c);
  f.shift.resize(c);
  for (std::size_t i = 0; i < c; ++i) {
    f.scale[i] = static_cast<double>(gamma[i]) / std::sqrt(static_cast<double>(var[i]) + static_cast<double>(op.epsilon));
    f.shift[i] = static_cast<double>(beta[i]) - static_cast<double>(mean[i]) * f.scale[i];
  }
  return f;
}

// Folds `f` into a conv2d / dense node whose output channels are the rows of
// its weight (OHWI / [out][in]); adds a bias when there was none.
void FoldInto(Node& producer, const BnFactors& f) {
  Tensor& w = producer.params[0].value;
  const std::int64_t out_c = w.shape()[0];
  const std::int64_t per = w.elements() / out_c;
  bool had_bias = false;
  if (auto* c = std::get_if<Conv2dOp>(&producer.op)) { had_bias = c->has_bias; c->has_bias = true; }
  if (auto* d = std::get_if<DenseOp>(&producer.op)) { had_bias = d->has_bias; d->has_bias = true; }
  if (!had_bias) producer.params.push_back(Param{"bias", Tensor(DType::kF32, Shape{out_c}), true});
  float* wp = w.f32();
  float* bp = producer.params[1].value.f32();
  for (std::int64_t o = 0; o < out_c; ++o) {
    const auto k = static_cast<std::size_t>(o);
    for (std::int64_t i = 0; i < per; ++i)
      wp[o * per + i] = static_cast<float>(static_cast<double>(wp[o * per + i]) * f.scale[k]);
    bp[o] = static_cast<float>(static_cast<double>(bp[o]) * f.scale[k] + f.shift[k]);
  }
}

Node DepthwiseFromBatchNorm(const Node& bn, const BnFactors& f, int input) {
  const auto c = static_cast<std::int64_t>(f.scale.size());
  Conv2dOp op;
  op.out_channels = static_cast<int>(c);
  op.groups = static_cast<int>(c);
  op.has_bias = true;
  Node n{bn.name, op, {input}, {}};
  n.params.push_back(Param{"weight", Tensor(DType::kF32, Shape{c, 1, 1, 1}), true});
  n.params.push_back(Param{"bias", Tensor(DType::kF32, Shape{c}), true});
  for (std::int64_t i = 0; i < c; ++i) {
    n.params[0].value.f32()[i] = static_cast<float>(f.scale[static_cast<std::size_t>(i)]);
    n.params[1].value.f32()[i] = static_cast<float>(f.shift[static_cast<std::size_t>(i)]);
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
    if (std::holds_alternative<DropoutOp>(n.op)) {
      map[i] = map[static_cast<std::size_t>(n.inputs[0])];
      continue;
    }
    if (std::holds_alternative<BatchNormOp>(n.op)) {
      const int in_old = n.inputs[0];
      const int in_new = map[static_cast<std::size_t>(in_old)];
      Node& producer = out.nodes[static_cast<std::size_t>(in_new)];
      const BnFactors f = BatchNormFactors(n);
      const bool foldable = (std::holds_alternative<Conv2dOp>(producer.op) || std::holds_alternative<DenseOp>(producer.op)) &&
                            consumers[static_cast<std::size_t>(origin[static_cast<std::size_t>(in_new)])] == 1;
      if (foldable) {
        FoldInto(producer, f);
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

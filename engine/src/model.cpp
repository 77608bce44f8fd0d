#include "qualm/engine/model.h"

#include <cmath>
#include <set>
#include <type_traits>

#include "op_table.h"
#include "qualm/engine/random.h"
#include "qualm/kernels/checked.h"

namespace qualm {

const char* OpName(const OpParams& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kName; }, op);
}

std::string NodeWhere(const Node& n) { return "node '" + n.name + "' (" + OpName(n.op) + ")"; }

const Param* Node::FindParam(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

Param* Node::FindParam(std::string_view name) {
  for (auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const Param& Node::param(std::string_view name) const {
  const Param* p = FindParam(name);
  QUALM_DCHECK(p != nullptr);
  return *p;
}

Param& Node::param(std::string_view name) {
  Param* p = FindParam(name);
  QUALM_DCHECK(p != nullptr);
  return *p;
}

int Model::AddNode(std::string name, OpParams op, std::vector<int> inputs) {
  nodes.push_back(Node{std::move(name), std::move(op), std::move(inputs), {}});
  return static_cast<int>(nodes.size()) - 1;
}

Param* Model::FindParam(int node, const std::string& name) {
  for (auto& p : nodes[static_cast<std::size_t>(node)].params)
    if (p.name == name) return &p;
  return nullptr;
}

const Param* Model::FindParam(int node, const std::string& name) const {
  for (const auto& p : nodes[static_cast<std::size_t>(node)].params)
    if (p.name == name) return &p;
  return nullptr;
}

std::int64_t Model::ParameterCount() const {
  std::int64_t n = 0;
  for (const auto& node : nodes)
    for (const auto& p : node.params)
      if (p.trainable) n += p.value.elements();
  return n;
}

namespace {

template <typename M>
Result<std::vector<Shape>> InferShapesImpl(M& model) {
  std::vector<Shape> shapes;
  std::vector<bool> is_int;
  std::set<std::string> names;
  if (model.nodes.empty()) return InvalidArgument("model has no nodes");
  if (model.num_classes <= 0) return InvalidArgument("model has no classes");
  for (std::size_t i = 0; i < model.nodes.size(); ++i) {
    auto& node = model.nodes[i];
    if (!names.insert(node.name).second) return InvalidArgument("duplicate node name '" + node.name + "'");
    if ((i == 0) != std::holds_alternative<InputOp>(node.op))
      return InvalidArgument("node 0 and only node 0 must be the input (node '" + node.name + "')");
    std::vector<Shape> in;
    std::vector<bool> in_int;
    for (int k : node.inputs) {
      if (k < 0 || static_cast<std::size_t>(k) >= i)
        return InvalidArgument(NodeWhere(node) + ": input " + std::to_string(k) + " is not an earlier node");
      in.push_back(shapes[static_cast<std::size_t>(k)]);
      in_int.push_back(is_int[static_cast<std::size_t>(k)]);
    }
    QUALM_ASSIGN_OR_RETURN(NodeShapes ns, EntryOf(node.op).infer(InferInput{model, node, in, in_int}));
    // Every inferred size is checked once here (checked.h), whatever op made it.
    if (auto n = CheckedProduct(ns.out.dims(), kMaxTensorElements, NodeWhere(node) + ": output"); !n.ok())
      return n.status();
    for (const auto& spec : ns.params)
      if (auto n = CheckedProduct(spec.shape.dims(), kMaxTensorElements, NodeWhere(node) + ": parameter " + spec.name);
          !n.ok())
        return n.status();
    if constexpr (!std::is_const_v<M>) {
      if (node.params.empty())
        for (const auto& spec : ns.params) node.params.push_back(Param{spec.name, Tensor(DType::kF32, spec.shape), spec.trainable});
    }
    if (node.params.size() != ns.params.size())
      return InvalidArgument(NodeWhere(node) + ": has " + std::to_string(node.params.size()) + " parameters, expects " +
                             std::to_string(ns.params.size()));
    for (std::size_t k = 0; k < ns.params.size(); ++k) {
      const Param& p = node.params[k];
      if (p.name != ns.params[k].name || !(p.value.shape() == ns.params[k].shape) || p.value.dtype() != DType::kF32)
        return InvalidArgument(NodeWhere(node) + ": parameter " + std::to_string(k) + " is '" + p.name + "' " +
                               p.value.shape().ToString() + ", expects '" + ns.params[k].name + "' " +
                               ns.params[k].shape.ToString() + " f32");
    }
    shapes.push_back(ns.out);
    is_int.push_back(ns.int_out);
  }
  const Shape& last = shapes.back();
  if (last.rank() != 1 || last[0] != model.num_classes)
    return InvalidArgument("the last node '" + model.nodes.back().name + "' outputs " + last.ToString() + ", expects [" +
                           std::to_string(model.num_classes) + "] logits");
  return shapes;
}

}  // namespace

Result<std::vector<Shape>> InferShapes(Model& model) { return InferShapesImpl(model); }
Result<std::vector<Shape>> InferShapes(const Model& model) { return InferShapesImpl(model); }

Status InitializeParameters(Model& model, std::uint64_t seed) {
  auto shapes = InferShapes(model);
  if (!shapes.ok()) return shapes.status();
  // One stream for the whole model, drawn node by node in graph order.
  Rng rng(seed);
  for (auto& node : model.nodes)
    if (const auto init = EntryOf(node.op).initialize) init(node, rng);
  return Status::Ok();
}

}  // namespace qualm

#include "qualm/engine/model.h"

#include <cmath>
#include <set>
#include <type_traits>

#include "qualm/engine/random.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/pool.h"

namespace qualm {

const char* OpName(const OpParams& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kName; }, op);
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

struct ParamSpec {
  std::string name;
  Shape shape;
  bool trainable;
};

struct NodeShapes {
  Shape out;
  bool int_out = false;
  std::vector<ParamSpec> params;
};

std::string Where(const Node& n) { return "node '" + n.name + "' (" + OpName(n.op) + ")"; }

Status ExpectRank(const Node& n, const Shape& s, int rank, const char* what) {
  if (s.rank() != rank)
    return InvalidArgument(Where(n) + ": expects " + what + " input of rank " + std::to_string(rank) + ", got " +
                           s.ToString());
  return Status::Ok();
}

int I(std::int64_t v) { return static_cast<int>(v); }

// Output shape, dtype and parameter specs of one node from its input shapes.
Result<NodeShapes> InferNode(const Model& m, const Node& n, const std::vector<Shape>& in,
                             const std::vector<bool>& in_int) {
  NodeShapes r;
  auto need_inputs = [&](std::size_t k) -> Status {
    if (in.size() != k)
      return InvalidArgument(Where(n) + ": expects " + std::to_string(k) + " input(s), has " +
                             std::to_string(in.size()));
    return Status::Ok();
  };
  auto need_float = [&]() -> Status {
    for (bool b : in_int)
      if (b) return InvalidArgument(Where(n) + ": expects float input, got token ids");
    return Status::Ok();
  };
  Status st = std::visit(
      [&](const auto& op) -> Status {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, InputOp>) {
          QUALM_RETURN_IF_ERROR(need_inputs(0));
          if (m.input_shape.empty()) return InvalidArgument("model has no input shape");
          r.out = Shape(m.input_shape);
          r.int_out = m.input_type == SampleType::kInt32;
        } else {
          QUALM_RETURN_IF_ERROR(need_inputs(std::is_same_v<T, AddOp> ? 2 : 1));
          if constexpr (!std::is_same_v<T, EmbeddingOp>) QUALM_RETURN_IF_ERROR(need_float());
          const Shape& s = in[0];
          if constexpr (std::is_same_v<T, Conv2dOp>) {
            QUALM_RETURN_IF_ERROR(ExpectRank(n, s, 3, "HWC"));
            kernels::Conv2dParams p;
            p.in_h = I(s[0]); p.in_w = I(s[1]); p.in_c = I(s[2]);
            p.out_c = op.out_channels; p.kernel_h = op.kernel_h; p.kernel_w = op.kernel_w;
            p.stride_h = op.stride_h; p.stride_w = op.stride_w; p.dilation_h = op.dilation_h;
            p.dilation_w = op.dilation_w; p.pad_top = op.pad_top; p.pad_left = op.pad_left;
            p.pad_bottom = op.pad_bottom; p.pad_right = op.pad_right; p.groups = op.groups;
            QUALM_RETURN_IF_ERROR(kernels::Validate(p).WithContext(Where(n)));
            r.out = Shape{p.out_h(), p.out_w(), p.out_c};
            r.params.push_back({"weight", Shape{p.out_c, p.kernel_h, p.kernel_w, p.in_c / p.groups}, true});
            if (op.has_bias) r.params.push_back({"bias", Shape{p.out_c}, true});
          } else if constexpr (std::is_same_v<T, DenseOp>) {
            if (op.out_features <= 0) return InvalidArgument(Where(n) + ": out_features must be positive");
            r.out = Shape{op.out_features};
            r.params.push_back({"weight", Shape{op.out_features, s.elements()}, true});
            if (op.has_bias) r.params.push_back({"bias", Shape{op.out_features}, true});
          } else if constexpr (std::is_same_v<T, MaxPoolOp> || std::is_same_v<T, AvgPoolOp>) {
            QUALM_RETURN_IF_ERROR(ExpectRank(n, s, 3, "HWC"));
            kernels::Pool2dParams p;
            p.in_h = I(s[0]); p.in_w = I(s[1]); p.channels = I(s[2]);
            p.kernel_h = op.kernel_h; p.kernel_w = op.kernel_w; p.stride_h = op.stride_h; p.stride_w = op.stride_w;
            p.pad_top = op.pad_top; p.pad_left = op.pad_left; p.pad_bottom = op.pad_bottom;
            p.pad_right = op.pad_right;
            QUALM_RETURN_IF_ERROR(kernels::Validate(p).WithContext(Where(n)));
            r.out = Shape{p.out_h(), p.out_w(), p.channels};
          } else if constexpr (std::is_same_v<T, GlobalAvgPoolOp>) {
            QUALM_RETURN_IF_ERROR(ExpectRank(n, s, 3, "HWC"));
            r.out = Shape{s[2]};
          } else if constexpr (std::is_same_v<T, ReluOp> || std::is_same_v<T, DropoutOp>) {
            if constexpr (std::is_same_v<T, DropoutOp>)
              if (!(op.rate >= 0.0f && op.rate < 1.0f)) return InvalidArgument(Where(n) + ": rate must be in [0, 1)");
            r.out = s;
          } else if constexpr (std::is_same_v<T, BatchNormOp>) {
            if (s.rank() < 1) return InvalidArgument(Where(n) + ": needs at least one axis");
            if (!(op.epsilon > 0.0f)) return InvalidArgument(Where(n) + ": epsilon must be positive");
            const std::int64_t c = s[s.rank() - 1];
            r.out = s;
            r.params = {{"gamma", Shape{c}, true}, {"beta", Shape{c}, true},
                        {"running_mean", Shape{c}, false}, {"running_var", Shape{c}, false}};
          } else if constexpr (std::is_same_v<T, AddOp>) {
            if (!(in[0] == in[1]))
              return InvalidArgument(Where(n) + ": input shapes differ: " + in[0].ToString() + " vs " +
                                     in[1].ToString());
            r.out = s;
          } else if constexpr (std::is_same_v<T, EmbeddingOp>) {
            if (!in_int[0]) return InvalidArgument(Where(n) + ": expects token ids (int32) input");
            QUALM_RETURN_IF_ERROR(ExpectRank(n, s, 1, "sequence"));
            if (op.vocab <= 0 || op.dim <= 0) return InvalidArgument(Where(n) + ": vocab and dim must be positive");
            r.out = Shape{s[0], op.dim};
            r.params.push_back({"table", Shape{op.vocab, op.dim}, true});
          } else if constexpr (std::is_same_v<T, LstmOp> || std::is_same_v<T, GruOp>) {
            QUALM_RETURN_IF_ERROR(ExpectRank(n, s, 2, "[T, features]"));
            if (op.hidden <= 0) return InvalidArgument(Where(n) + ": hidden must be positive");
            const std::int64_t h = op.hidden, gates = std::is_same_v<T, LstmOp> ? 4 : 3;
            r.out = op.return_sequences ? Shape{s[0], h} : Shape{h};
            r.params.push_back({"w_x", Shape{gates * h, s[1]}, true});
            r.params.push_back({"w_h", Shape{gates * h, h}, true});
            if constexpr (std::is_same_v<T, LstmOp>) {
              r.params.push_back({"bias", Shape{gates * h}, true});
            } else {
              r.params.push_back({"b_x", Shape{gates * h}, true});
              r.params.push_back({"b_h", Shape{gates * h}, true});
            }
          }
        }
        return Status::Ok();
      },
      n.op);
  if (!st.ok()) return st;
  return r;
}

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
        return InvalidArgument(Where(node) + ": input " + std::to_string(k) + " is not an earlier node");
      in.push_back(shapes[static_cast<std::size_t>(k)]);
      in_int.push_back(is_int[static_cast<std::size_t>(k)]);
    }
    QUALM_ASSIGN_OR_RETURN(NodeShapes ns, InferNode(model, node, in, in_int));
    if constexpr (!std::is_const_v<M>) {
      if (node.params.empty())
        for (const auto& spec : ns.params) node.params.push_back(Param{spec.name, Tensor(DType::kF32, spec.shape), spec.trainable});
    }
    if (node.params.size() != ns.params.size())
      return InvalidArgument(Where(node) + ": has " + std::to_string(node.params.size()) + " parameters, expects " +
                             std::to_string(ns.params.size()));
    for (std::size_t k = 0; k < ns.params.size(); ++k) {
      const Param& p = node.params[k];
      if (p.name != ns.params[k].name || !(p.value.shape() == ns.params[k].shape) || p.value.dtype() != DType::kF32)
        return InvalidArgument(Where(node) + ": parameter " + std::to_string(k) + " is '" + p.name + "' " +
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
  Rng rng(seed);
  for (auto& node : model.nodes) {
    auto fill_normal = [&](Tensor& t, float stddev) {
      float* p = t.f32();
      for (std::int64_t i = 0; i < t.elements(); ++i) p[i] = rng.Normal() * stddev;
    };
    auto fill_uniform = [&](Tensor& t, float bound) {
      float* p = t.f32();
      for (std::int64_t i = 0; i < t.elements(); ++i) p[i] = rng.Uniform(-bound, bound);
    };
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, Conv2dOp> || std::is_same_v<T, DenseOp>) {
            Tensor& w = node.params[0].value;
            const std::int64_t fan_in = w.elements() / w.shape()[0];
            fill_normal(w, std::sqrt(2.0f / static_cast<float>(fan_in)));  // He et al. 2015
            if (node.params.size() > 1) node.params[1].value.Zero();
          } else if constexpr (std::is_same_v<T, BatchNormOp>) {
            node.params[0].value.Fill(1.0f);
            node.params[1].value.Zero();
            node.params[2].value.Zero();
            node.params[3].value.Fill(1.0f);
          } else if constexpr (std::is_same_v<T, EmbeddingOp>) {
            fill_uniform(node.params[0].value, 0.05f);
          } else if constexpr (std::is_same_v<T, LstmOp> || std::is_same_v<T, GruOp>) {
            const float bound = 1.0f / std::sqrt(static_cast<float>(op.hidden));
            for (auto& p : node.params) fill_uniform(p.value, bound);
            if constexpr (std::is_same_v<T, LstmOp>) {
              // Forget-gate bias 1 (Jozefowicz et al. 2015): remember by default.
              float* b = node.params[2].value.f32();
              for (int k = 0; k < op.hidden; ++k) {
                b[k] = 0.0f;
                b[op.hidden + k] = 1.0f;
                b[2 * op.hidden + k] = 0.0f;
                b[3 * op.hidden + k] = 0.0f;
              }
            }
          }
        },
        node.op);
  }
  return Status::Ok();
}

}  // namespace qualm

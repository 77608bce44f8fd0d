// qualm/engine/model.h: a model is a DAG of nodes in topological order.
//
// Node i produces value i; node 0 is the input; the last node produces the
// logits. Each node owns its parameter tensors in a fixed, op-defined order
// (see ParamNames), trainable or not (batch-norm running statistics are not).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/ops.h"
#include "qualm/engine/quant_spec.h"
#include "qualm/engine/tensor.h"
#include "qualm/status.h"

namespace qualm {

struct Param {
  std::string name;   // "weight", "bias", "running_mean", ...
  Tensor value;
  bool trainable = true;
};

struct Node {
  std::string name;           // unique, e.g. "stage2.block1.conv1"
  OpParams op;
  std::vector<int> inputs;    // indices of earlier nodes
  std::vector<Param> params;  // in the op's order, with the op's names (ops.h)

  // The parameter called `name`, or null.
  const Param* FindParam(std::string_view name) const;
  Param* FindParam(std::string_view name);
  // The parameter called `name` of a node that passed InferShapes, which
  // guarantees every parameter its op names (asserted in debug builds).
  const Param& param(std::string_view name) const;
  Param& param(std::string_view name);
};

// "node 'conv1' (conv2d)", for error messages.
std::string NodeWhere(const Node& n);

struct Model {
  std::string arch;                       // "lenet5", "resnet20", ...
  SampleType input_type = SampleType::kFloat32;
  std::vector<std::int64_t> input_shape;  // one sample, e.g. {28, 28, 1} or {200}
  int num_classes = 0;
  std::vector<Node> nodes;
  // Free-form provenance and frontend data (training config, seed, data set,
  // kernel path, tokenizer vocabulary...). Saved with the model.
  std::map<std::string, std::string> metadata;
  // How the model is quantized (quant_spec.h); scheme kFloat for a float model.
  QuantSpec quant;

  int AddNode(std::string name, OpParams op, std::vector<int> inputs);
  Param* FindParam(int node, const std::string& name);
  const Param* FindParam(int node, const std::string& name) const;
  std::int64_t ParameterCount() const;  // trainable elements
};

// Checks the graph (topological order, input counts, unique names), infers
// every value's per-sample shape, and creates missing parameters with the
// right shapes (zero-filled). Returns per-node output shapes *without* batch.
Result<std::vector<Shape>> InferShapes(Model& model);
// Const variant: also checks that existing parameters have the right shapes.
Result<std::vector<Shape>> InferShapes(const Model& model);

// Seeded initialization: He-normal for conv/dense, uniform(-1/sqrt(H), 1/sqrt(H))
// for recurrent weights (LSTM forget-gate bias 1), uniform(-0.05, 0.05) for
// embeddings, gamma 1 / beta 0 / running var 1 for batch norm.
Status InitializeParameters(Model& model, std::uint64_t seed);

}  // namespace qualm

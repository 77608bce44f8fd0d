// engine/src/op_table.h (internal): the op table.
//
// Everything the engine knows about an op is one OpEntry, defined in that op's
// own file engine/src/ops/<op>.cpp (conv2d.cpp, lstm.cpp, ...): its shape and
// parameter rule, its initialization, its float executor (and backward), its
// hybrid (dynamic-scheme) and int8 executors, how int8 lowering treats it and
// its int8 quantization rule (PTQ and QAT share it). The float executor, the
// int8 executor, shape inference, initialization, lowering, PTQ and QAT all
// ask this table and never test an op's type themselves.
//
// The list of ops is QUALM_OP_LIST in qualm/engine/ops.h. Adding an op:
//   1. its parameter struct and one line in QUALM_OP_LIST (ops.h);
//   2. engine/src/ops/<op>.cpp defining OpEntryOf<NewOp>() (the build fails at
//      link time, naming the op, until it exists), plus its kernels and
//      executor classes if no existing family file has them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/model.h"
#include "qualm/engine/ptq.h"
#include "qualm/engine/random.h"
#include "qualm/status.h"

namespace qualm {

class NodeExec;
struct NodeBinding;
class Int8NodeExec;
struct Int8Binding;

// Shape inference of one node.
struct ParamSpec {
  std::string name;
  Shape shape;
  bool trainable = true;
};
struct NodeShapes {
  Shape out;             // per-sample output shape
  bool int_out = false;  // the output is int32 token ids (only the input of a text model)
  std::vector<ParamSpec> params;
};
struct InferInput {
  const Model& model;
  const Node& node;
  const std::vector<Shape>& in;     // per-sample input shapes, in node.inputs order
  const std::vector<bool>& in_int;  // whether each input holds token ids
};

// y[c] = scale[c] * x[c] + shift[c] over the last axis (a batch norm in
// inference mode), computed in double.
struct ChannelAffine {
  std::vector<double> scale, shift;
};

// How LowerForInt8 (lower.h) treats a node.
enum class LowerRule {
  kKeep,       // copied as it is
  kIdentity,   // removed: its consumers read its input (dropout)
  kBatchNorm,  // folded into its producer, or turned into a depthwise conv
};

// What an op's int8 rule (BuildInt8Spec, ptq.h) sees of the graph.
struct Int8RuleInput {
  const Model& model;   // the lowered float model
  const Node& node;
  const NodeQuant* in;  // the record of the node's first input (null for the input node)
  const kernels::QuantParams& value;  // calibrated params of this node's value
  // The node whose only input this value is, if exactly one node reads it
  // (null otherwise), with that node's calibrated params.
  const Node* only_consumer;
  const kernels::QuantParams* only_consumer_value;
  const Int8SpecOptions& options;
};

struct OpEntry {
  Result<NodeShapes> (*infer)(const InferInput&) = nullptr;
  // Seeded initialization of the node's parameters; null when it has none.
  void (*initialize)(Node&, Rng&) = nullptr;
  // The float executor's node (forward and backward).
  Result<std::unique_ptr<NodeExec>> (*make_float)(const NodeBinding&) = nullptr;
  // The dynamic scheme's node for a node with int8 weight constants; null:
  // the op has no weights to quantize and runs its float node.
  Result<std::unique_ptr<NodeExec>> (*make_hybrid)(const NodeBinding&) = nullptr;
  // The int8 executor's node; null: the op has no int8 kernel (lowering must
  // remove it).
  Result<std::unique_ptr<Int8NodeExec>> (*make_int8)(const Int8Binding&) = nullptr;
  // The node's int8 output params and quantized constants; null with make_int8.
  Status (*int8_rule)(const Int8RuleInput&, NodeQuant&) = nullptr;
  LowerRule lower = LowerRule::kKeep;
  // Folds a channel affine applied to the node's output into the node's own
  // parameters (LowerForInt8's batch-norm folding); null: cannot.
  void (*absorb_affine)(Node&, const ChannelAffine&) = nullptr;
  // The weight matrices the weight-only schemes quantize (dynamic,
  // weight-only-int8), by parameter name; empty: none.
  std::vector<std::string> weights;
};

// The runtime library (runtime/, qualm_runtime) runs int8 models only and
// compiles the op files with QUALM_INT8_RUNTIME defined: its entries keep the
// shape rule, the lowering rule and the int8 executor, and the members wrapped
// in QUALM_ENGINE_ONLY (float and hybrid executors with their backward passes,
// initialization, quantization rules, batch-norm folding) are null there, so
// none of that code is linked into it. The arithmetic of what remains is the
// same object code either way. (The runtime compiles the op files with
// -Wno-unused-function: their local rules are then unused.)
#ifdef QUALM_INT8_RUNTIME
#define QUALM_ENGINE_ONLY(f) nullptr
#else
#define QUALM_ENGINE_ONLY(f) f
#endif

// One definition per op, in engine/src/ops/<op>.cpp.
template <typename Op>
const OpEntry& OpEntryOf();
#define QUALM_DECLARE_OP_ENTRY(Op) \
  template <>                      \
  const OpEntry& OpEntryOf<Op>();
QUALM_OP_LIST(QUALM_DECLARE_OP_ENTRY)
#undef QUALM_DECLARE_OP_ENTRY

// The entry of a node's op.
const OpEntry& EntryOf(const OpParams& op);

// Helpers for the ops' shape rules.
Status ExpectInputs(const InferInput& in, std::size_t count);
Status ExpectFloatInputs(const InferInput& in);
Status ExpectRank(const Node& n, const Shape& s, int rank, const char* what);
// The shape rule of an op with `inputs` float inputs of one shape, which is
// also its output's (relu, dropout, add), and no parameters.
Result<NodeShapes> InferSameShape(const InferInput& in, std::size_t inputs);
// The int8 rule of an op whose output keeps its calibrated params and that has
// no constants (relu, add).
Status KeepCalibratedParams(const Int8RuleInput& in, NodeQuant& nq);
// Helpers for the ops' initializations (draw order: element order).
void FillNormal(Tensor& t, float stddev, Rng& rng);
void FillUniform(Tensor& t, float bound, Rng& rng);

// The executors' per-op factories (family files engine/src/ops/*_ops.cpp and
// engine/src/quant/int8_nodes.cpp), which the op files put in their entries.
Result<std::unique_ptr<NodeExec>> MakeConv2dExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeDenseExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeMaxPoolExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeAvgPoolExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeGlobalAvgPoolExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeReluExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeAddExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeBatchNormExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeDropoutExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeEmbeddingExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeLstmExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeGruExec(const NodeBinding& b);
// Dynamic scheme: conv2d / dense / LSTM / GRU with int8 weight constants.
Result<std::unique_ptr<NodeExec>> MakeHybridExec(const NodeBinding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeConv2dS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeDenseS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeMaxPoolS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeAvgPoolS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeGlobalAvgPoolS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeReluS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeAddS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeEmbeddingS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeLstmS8Exec(const Int8Binding& b);
Result<std::unique_ptr<Int8NodeExec>> MakeGruS8Exec(const Int8Binding& b);

}  // namespace qualm

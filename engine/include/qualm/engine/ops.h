// qualm/engine/ops.h: the model graph's operators as plain data, and the op list.
//
// One small named struct per op holding only its hyper-parameters; shapes are
// inferred at prepare time and parameters (weights) live in the Node, named as
// the comment above each struct says. Each struct lists its fields once in
// VisitFields, from which the model file, `qualm info` and equality are
// derived, so adding a field means editing one line.
//
// QUALM_OP_LIST at the end is the list of ops; OpParams is generated from it,
// and so is the engine's op table (engine/src/op_table.h), whose row for an op
// lives in engine/src/ops/<op>.cpp. Adding an op: its struct here, one line in
// QUALM_OP_LIST, and its ops/<op>.cpp (README, "Adding an op").
#pragma once

#include <string>
#include <variant>

namespace qualm {

// The graph's entry: one sample's shape comes from the Model.
struct InputOp {
  static constexpr const char* kName = "input";
  template <class F> void VisitFields(F&&) {}
};

// Parameters: weight [out_c][kh][kw][in_c/groups] (OHWI), bias [out_c] if has_bias.
struct Conv2dOp {
  static constexpr const char* kName = "conv2d";
  int out_channels = 1, kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1, groups = 1;
  bool has_bias = true;
  template <class F> void VisitFields(F&& f) {
    f("out_channels", out_channels); f("kernel_h", kernel_h); f("kernel_w", kernel_w);
    f("stride_h", stride_h); f("stride_w", stride_w); f("pad_top", pad_top); f("pad_left", pad_left);
    f("pad_bottom", pad_bottom); f("pad_right", pad_right); f("dilation_h", dilation_h);
    f("dilation_w", dilation_w); f("groups", groups); f("has_bias", has_bias);
  }
};

// Parameters: weight [out][in], bias [out]. Input is flattened per sample.
struct DenseOp {
  static constexpr const char* kName = "dense";
  int out_features = 1;
  bool has_bias = true;
  template <class F> void VisitFields(F&& f) { f("out_features", out_features); f("has_bias", has_bias); }
};

struct MaxPoolOp {
  static constexpr const char* kName = "max_pool";
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  template <class F> void VisitFields(F&& f) {
    f("kernel_h", kernel_h); f("kernel_w", kernel_w); f("stride_h", stride_h); f("stride_w", stride_w);
    f("pad_top", pad_top); f("pad_left", pad_left); f("pad_bottom", pad_bottom); f("pad_right", pad_right);
  }
};

struct AvgPoolOp {
  static constexpr const char* kName = "avg_pool";
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool count_include_pad = false;
  template <class F> void VisitFields(F&& f) {
    f("kernel_h", kernel_h); f("kernel_w", kernel_w); f("stride_h", stride_h); f("stride_w", stride_w);
    f("pad_top", pad_top); f("pad_left", pad_left); f("pad_bottom", pad_bottom); f("pad_right", pad_right);
    f("count_include_pad", count_include_pad);
  }
};

// [N][H][W][C] -> [N][C]
struct GlobalAvgPoolOp {
  static constexpr const char* kName = "global_avg_pool";
  template <class F> void VisitFields(F&&) {}
};

struct ReluOp {
  static constexpr const char* kName = "relu";
  bool relu6 = false;
  template <class F> void VisitFields(F&& f) { f("relu6", relu6); }
};

// Over the last axis. Parameters: gamma, beta; buffers: running_mean, running_var.
struct BatchNormOp {
  static constexpr const char* kName = "batch_norm";
  float epsilon = 1e-5f, momentum = 0.1f;
  template <class F> void VisitFields(F&& f) { f("epsilon", epsilon); f("momentum", momentum); }
};

// Two inputs of the same shape.
struct AddOp {
  static constexpr const char* kName = "add";
  template <class F> void VisitFields(F&&) {}
};

// Inverted dropout, active only in training.
struct DropoutOp {
  static constexpr const char* kName = "dropout";
  float rate = 0.5f;
  template <class F> void VisitFields(F&& f) { f("rate", rate); }
};

// int32 ids [N][T] -> [N][T][dim]. Parameter: table [vocab][dim].
struct EmbeddingOp {
  static constexpr const char* kName = "embedding";
  int vocab = 1, dim = 1;
  template <class F> void VisitFields(F&& f) { f("vocab", vocab); f("dim", dim); }
};

// [N][T][I] -> [N][T][H] (return_sequences) or [N][H] (last hidden state).
// Parameters: w_x [4H][I], w_h [4H][H], bias [4H]; gates i, f, g, o.
struct LstmOp {
  static constexpr const char* kName = "lstm";
  int hidden = 1;
  bool return_sequences = false;
  template <class F> void VisitFields(F&& f) { f("hidden", hidden); f("return_sequences", return_sequences); }
};

// Parameters: w_x [3H][I], w_h [3H][H], b_x [3H], b_h [3H]; gates z, r, n.
struct GruOp {
  static constexpr const char* kName = "gru";
  int hidden = 1;
  bool return_sequences = false;
  template <class F> void VisitFields(F&& f) { f("hidden", hidden); f("return_sequences", return_sequences); }
};

// The op list (model files store ops by name, so the order is free).
#define QUALM_OP_LIST(X) \
  X(InputOp)             \
  X(Conv2dOp)            \
  X(DenseOp)             \
  X(MaxPoolOp)           \
  X(AvgPoolOp)           \
  X(GlobalAvgPoolOp)     \
  X(ReluOp)              \
  X(BatchNormOp)         \
  X(AddOp)               \
  X(DropoutOp)           \
  X(EmbeddingOp)         \
  X(LstmOp)              \
  X(GruOp)

namespace detail {
// std::variant<Ops...> from "Op1, Op2, ..., OpN, OpListEnd" (the macro
// expansion below leaves a trailing separator, which OpListEnd absorbs).
struct OpListEnd {};
template <typename Done, typename... Rest>
struct VariantOfOps;
template <typename... Done>
struct VariantOfOps<std::variant<Done...>, OpListEnd> {
  using type = std::variant<Done...>;
};
template <typename... Done, typename Next, typename... Rest>
struct VariantOfOps<std::variant<Done...>, Next, Rest...> {
  using type = typename VariantOfOps<std::variant<Done..., Next>, Rest...>::type;
};
}  // namespace detail

#define QUALM_OP_TYPE_AND_COMMA(Op) Op,
using OpParams = detail::VariantOfOps<std::variant<>, QUALM_OP_LIST(QUALM_OP_TYPE_AND_COMMA) detail::OpListEnd>::type;
#undef QUALM_OP_TYPE_AND_COMMA

const char* OpName(const OpParams& op);

}  // namespace qualm

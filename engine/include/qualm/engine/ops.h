// qualm/engine/ops.h: the model graph's operators as plain data.
//
// One small named struct per op holding only its hyper-parameters; shapes are
// inferred at prepare time and parameters (weights) live in the Node. Each struct
// lists its fields once in VisitFields, from which the model file, `qualm info`
// and equality are derived, so adding a field means editing one line.
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

using OpParams = std::variant<InputOp, Conv2dOp, DenseOp, MaxPoolOp, AvgPoolOp, GlobalAvgPoolOp, ReluOp,
                              BatchNormOp, AddOp, DropoutOp, EmbeddingOp, LstmOp, GruOp>;

const char* OpName(const OpParams& op);

}  // namespace qualm
